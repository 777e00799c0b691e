"""Evaluating candidates: beta curves per store through the executor interface, the
frontier area that ranks them, and a cache keyed by (program hash, store digest, beta
grid, seeds) so nothing is evaluated twice, across rounds and across resumes."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..evaluation.sweep import StoreRef, make_tasks
from ..lang.limits import Limits
from .config import DiscoverConfig, StoreSpec


def _frontier():
    """The reporting module's frontier functions, or the local fallback."""
    try:
        from ..reporting.frontier import frontier_area, pareto

        return frontier_area, pareto
    except ImportError:  # pragma: no cover - the reporting module is part of the package now
        return _frontier_area, _pareto


def _pareto(points):
    pts = sorted({(float(c), float(a)) for c, a in points if c and c > 0}, key=lambda p: (p[0], -p[1]))
    out, best = [], -math.inf
    for c, a in pts:
        if a > best:
            out.append((c, a))
            best = a
    return out


def _frontier_area(points, lo, hi):  # pragma: no cover - fallback only
    front = _pareto(points)
    if not front:
        return 0.0
    L, H = math.log(lo), math.log(hi)
    xs = [L] + [math.log(c) for c, _ in front if L < math.log(c) < H] + [H]
    total = 0.0
    for x0, x1 in zip(xs, xs[1:]):
        v = 0.0
        for c, a in front:
            if math.log(c) <= x0:
                v = a
        total += v * (x1 - x0)
    return total / (H - L) if H > L else 0.0


def frontier_area(points, lo, hi) -> float:
    return _frontier()[0](points, lo, hi)


def pareto(points):
    return _frontier()[1](points)


# ------------------------------------------------------------------- stores
def resolve_stores(spec: StoreSpec, cfg: DiscoverConfig) -> list[StoreRef]:
    from ..replay.store import StoreError, list_datasets, list_models

    refs: list[StoreRef] = []
    if spec.root is not None:
        root = cfg.path(spec.root)
        try:
            models_here = list_models(root)
        except StoreError as ex:
            raise StoreError(f"store root {root}: {ex}") from None
        models = models_here if spec.models in (["all"], []) else list(spec.models)
        for m in models:
            if m not in models_here:
                raise StoreError(f"{root}: no model '{m}' (models here: {', '.join(models_here)})")
            ds_here = list_datasets(root, m)
            for d in (ds_here if spec.datasets in (["all"], []) else spec.datasets):
                if d not in ds_here:
                    raise StoreError(f"{root}/{m}: no dataset '{d}' (datasets: {', '.join(ds_here)})")
                refs.append(StoreRef(str(root), m, d))
    for sy in spec.synthetic:
        refs.append(StoreRef(None, synthetic_seed=int(sy.get("seed", 0)),
                             synthetic_questions=int(sy.get("questions", 30)),
                             synthetic_branches=int(sy.get("branches", 128))))
    return refs


def ref_label(ref: StoreRef) -> str:
    if ref.root is None:
        return f"synthetic{ref.synthetic_seed}/q{ref.synthetic_questions}b{ref.synthetic_branches}"
    return ref.label


def seeds_of(spec: StoreSpec) -> tuple:
    return tuple(range(spec.seed_start, spec.seed_start + spec.seeds))


# ---------------------------------------------------------------- evaluation
@dataclass
class Curves:
    """Per store label: the rows (beta, accuracy, avg_cost, error) in beta order."""

    stores: dict

    def errors(self) -> list[str]:
        out = []
        for label, rows in self.stores.items():
            for r in rows:
                if r.get("error"):
                    out.append(f"{label} beta={r['beta']}: {r['error']}")
        return out

    def points(self, label) -> list[tuple[float, float]]:
        return [(r["avg_cost"], r["accuracy"]) for r in self.stores[label]
                if not r.get("error") and r.get("avg_cost") is not None]

    def mean_curve(self) -> list[dict]:
        """Per beta: the accuracy and cost averaged over stores."""
        labels = list(self.stores)
        if not labels:
            return []
        out = []
        for i, r0 in enumerate(self.stores[labels[0]]):
            rows = [self.stores[lb][i] for lb in labels if i < len(self.stores[lb])]
            if any(r.get("error") or r.get("accuracy") is None for r in rows):
                continue
            out.append({"beta": r0["beta"],
                        "accuracy": round(sum(r["accuracy"] for r in rows) / len(rows), 4),
                        "avg_cost": sum(r["avg_cost"] for r in rows) / len(rows)})
        return out

    def to_dict(self) -> dict:
        return self.stores


def score(curves: Curves, ranges: dict) -> dict:
    """Frontier area per store (over that store's cost range), their mean, and the best
    mean accuracy over the beta grid (the paper's selection statistic)."""
    per = {}
    for label in curves.stores:
        lo, hi = ranges[label]
        per[label] = round(frontier_area(curves.points(label), lo, hi), 6)
    mc = curves.mean_curve()
    best = max(mc, key=lambda r: (r["accuracy"], -r["avg_cost"])) if mc else None
    return {"area": round(sum(per.values()) / len(per), 6) if per else 0.0, "area_per_store": per,
            "best_accuracy": best["accuracy"] if best else None,
            "best_accuracy_cost": best["avg_cost"] if best else None,
            "best_accuracy_beta": best["beta"] if best else None}


def ranges_from(curves_list: list[Curves], fixed=None) -> dict:
    """Cost range per store: ``fixed`` for all, or the span of every given program's costs."""
    labels = list(curves_list[0].stores) if curves_list else []
    out = {}
    for lb in labels:
        if fixed:
            out[lb] = (float(fixed[0]), float(fixed[1]))
            continue
        cs = [c for cv in curves_list for c, _ in cv.points(lb)]
        lo, hi = (min(cs), max(cs)) if cs else (1.0, 2.0)
        out[lb] = (lo, hi if hi > lo else lo * 2)
    return out


class Evaluator:
    """Evaluates program text on a list of stores over a beta grid, with a cache."""

    def __init__(self, cfg: DiscoverConfig, cache_path: Path | None, executor=None):
        self.cfg = cfg
        self.cache_path = cache_path
        self.cache: dict = {}
        self.executor = executor
        self.limits = Limits().with_(max_seconds=cfg.max_seconds)
        self._digests: dict = {}
        if cache_path is not None and cache_path.exists():
            for line in cache_path.read_text(encoding="utf-8").splitlines():
                try:
                    d = json.loads(line)
                    self.cache[d["key"]] = d["rows"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line after a crash

    def _executor(self):
        if self.executor is None:
            from ..evaluation.executors import get_executor

            self.executor = get_executor(self.cfg.executor, self.cfg.jobs, self.cfg.address)
        return self.executor

    def digest(self, ref: StoreRef) -> str:
        if ref not in self._digests:
            self._digests[ref] = ref.load().digest
        return self._digests[ref]

    def key(self, phash: str, ref: StoreRef, betas, seeds) -> str:
        raw = json.dumps([phash, self.digest(ref), list(betas), [seeds[0], len(seeds)] if seeds else []])
        return hashlib.sha256(raw.encode()).hexdigest()[:24]

    def evaluate(self, source: str, file: str, phash: str, uses_beta: bool, refs: list[StoreRef],
                 seeds: tuple, progress=None) -> Curves:
        betas = list(self.cfg.betas) if uses_beta else [None]
        todo, keys = [], {}
        for ref in refs:
            k = self.key(phash, ref, betas, seeds)
            keys[ref] = k
            if k not in self.cache:
                todo.append(ref)
        if todo:
            tasks = make_tasks([(source, file)], todo, betas, None, seeds, self.limits)
            rows = self._executor().map(tasks, progress)
            for i, ref in enumerate(todo):
                mine = rows[i * len(betas):(i + 1) * len(betas)]
                slim = [{"beta": r.get("beta"), "accuracy": r.get("accuracy"), "avg_cost": r.get("avg_cost"),
                         "error": r.get("error")} for r in mine]
                self.cache[keys[ref]] = slim
                self._append(keys[ref], slim)
        return Curves({ref_label(ref): self.cache[keys[ref]] for ref in refs})

    def _append(self, key, rows):
        if self.cache_path is None:
            return
        line = json.dumps({"key": key, "rows": rows}) + "\n"
        append_line(self.cache_path, line)


def append_line(path: Path, line: str) -> None:
    """Append one complete line with a single write, then fsync (a crash leaves at most a
    torn last line, which readers skip)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
