"""Comparison reports: a Table-1-style table of accuracy and tokens per store with
bootstrap confidence intervals, paired comparisons against a baseline, and frontiers.

Statistics (also in ``docs/reports.md``):

* Per cell (a configuration on a store) the evaluation gives ``correct[s, q]`` (0/1) and
  ``cost[s, q]`` for seeds ``s`` and questions ``q``. Accuracy is ``100 * mean`` of
  ``correct`` (the replay protocol's figure, before rounding); tokens the mean of ``cost``.
  The per-question accuracy ``a_q`` is the mean over seeds.
* Bootstrap over questions (percentile method, ``B`` resamples, default 2000): resample the
  questions of each store with replacement and recompute the mean of ``a_q``; the interval is
  the 2.5th and 97.5th percentiles (numpy's linear interpolation) of the ``B`` values. The
  resampled question indices are drawn by ``numpy.random.default_rng([seed, crc32(store)])``
  as one ``integers(0, n, size=(B, n))`` matrix per store, so a store's draws do not depend
  on the other stores or programs, and every program on a store sees the same draws (the
  intervals of a paired difference use them too). The "average" column averages the stores;
  its bootstrap resamples each store independently and averages the resampled means.
* Paired difference against a baseline: ``d_q = a_q(program) - a_q(baseline)`` on the same
  questions; the estimate is the mean ``d`` (average: mean over stores of the per-store mean),
  its interval the bootstrap of it with the same draws.
* Paired test: a two-sided sign-flip permutation test over questions. Under the null
  hypothesis the program and the baseline are exchangeable on each question, so each ``d_q``
  is as likely to have the other sign. The statistic is ``|T|``, ``T`` the estimate above;
  ``p = (1 + #{|T*| >= |T|}) / (1 + R)`` over ``R`` random sign vectors (default 10000, drawn
  by ``default_rng([seed, 1])``). When the total number of questions ``n`` has ``2**n <= R``
  all sign vectors are enumerated and ``p = #{|T*| >= |T|} / 2**n`` exactly.
* Token ratio: the program's mean tokens divided by the baseline's (average: ratio of the
  mean over stores of the mean tokens).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .frontier import frontier_area, pareto

LEVEL = 0.95


# ------------------------------------------------------------------ statistics
def store_rng(seed: int, label: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), zlib.crc32(label.encode("utf-8"))])


def bootstrap_indices(n: int, b: int, seed: int, label: str) -> np.ndarray:
    """The ``(b, n)`` matrix of resampled question indices for the store ``label``."""
    return store_rng(seed, label).integers(0, n, size=(b, n))


def bootstrap_means(per_q: Sequence[np.ndarray], idx: Sequence[np.ndarray]) -> np.ndarray:
    """For each resample, the mean over stores of the mean of the resampled values."""
    per_store = [np.asarray(v, dtype=float)[ix].mean(axis=1) for v, ix in zip(per_q, idx)]
    return np.mean(per_store, axis=0)


def percentile_interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    a = (1.0 - level) / 2.0
    lo, hi = np.percentile(samples, [100 * a, 100 * (1 - a)])
    return float(lo), float(hi)


def bootstrap_ci(per_q: Sequence[np.ndarray], idx: Sequence[np.ndarray], level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of the mean over stores of the per-store mean of ``per_q``."""
    return percentile_interval(bootstrap_means(per_q, idx), level)


def sign_flip_pvalue(diffs: Sequence[np.ndarray], n_perm: int = 10000, seed: int = 0) -> float:
    """Two-sided paired sign-flip permutation test of mean-over-stores of mean(d) == 0.

    Exact (all ``2**n`` sign vectors) when ``2**n <= n_perm``, else Monte Carlo."""
    diffs = [np.asarray(d, dtype=float) for d in diffs]
    sizes = [len(d) for d in diffs]
    n = sum(sizes)
    if n == 0:
        return 1.0
    # T = sum_q w_q d_q with w_q = 1 / (n_stores * n_store(q))
    w = np.concatenate([np.full(len(d), 1.0 / (len(diffs) * len(d))) for d in diffs])
    wd = w * np.concatenate(diffs)
    t_obs = abs(float(wd.sum()))
    tol = 1e-12 * max(1.0, t_obs)
    if n <= 30 and (1 << n) <= n_perm:
        codes = np.arange(1 << n, dtype=np.int64)
        signs = 1.0 - 2.0 * ((codes[:, None] >> np.arange(n)) & 1)
        t = np.abs(signs @ wd)
        return float(np.count_nonzero(t >= t_obs - tol)) / float(1 << n)
    rng = np.random.default_rng([int(seed), 1])
    hits = 0
    done = 0
    chunk = 2000
    while done < n_perm:
        m = min(chunk, n_perm - done)
        signs = rng.integers(0, 2, size=(m, n)) * 2.0 - 1.0
        hits += int(np.count_nonzero(np.abs(signs @ wd) >= t_obs - tol))
        done += m
    return (1.0 + hits) / (1.0 + n_perm)


# ------------------------------------------------------------------- the data
@dataclass
class Config:
    """One row of the report: a program at a beta and/or with param values."""

    program: str
    file: str
    source: str
    beta: float | None = None
    params: dict = field(default_factory=dict)  # explicit overrides (sweeps, --set)
    shown: dict = field(default_factory=dict)  # what varies, for the label

    @property
    def config(self) -> str:
        parts = [] if self.beta is None else [f"beta={self.beta:g}"]
        parts += [f"{k}={v}" for k, v in self.shown.items()]
        return " ".join(parts)

    @property
    def label(self) -> str:
        return f"{self.program} {self.config}".strip()


@dataclass
class Cell:
    config: Config
    store: str
    correct: np.ndarray | None  # [seeds, questions]
    cost: np.ndarray | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.correct is not None and self.correct.size > 0

    @property
    def per_q(self) -> np.ndarray:
        return self.correct.mean(axis=0) * 100.0

    @property
    def accuracy(self) -> float:
        return float(self.correct.mean() * 100.0)

    @property
    def tokens(self) -> float:
        return float(self.cost.mean())


@dataclass
class Report:
    stores: list
    configs: list
    baseline: Config | None
    rows: list  # dicts, kind=cell (per store and "average")
    frontier: list  # dicts, kind=frontier
    cost_range: tuple | None
    settings: dict

    def markdown(self, title: str | None = None, frontier: bool | None = None) -> str:
        """The Markdown ``tts-dsl compare`` prints."""
        return to_markdown(self, title, frontier)

    def frame(self):
        """The numbers as a DataFrame (the ``--csv`` columns)."""
        return to_frame(self)

    def json(self) -> dict:
        """The ``--json`` object."""
        return to_json(self)

    def __repr__(self) -> str:
        return (f"Report({len(self.configs)} rows x {len(self.stores)} stores, "
                f"baseline={self.baseline.label if self.baseline is not None else None!r})")


AVERAGE = "average"


def build_report(cells: list[Cell], stores: list[str], configs: list[Config], baseline: Config | None = None,
                 n_boot: int = 2000, n_perm: int = 10000, seed: int = 0, level: float = LEVEL,
                 cost_range: tuple | None = None, overrides: dict | None = None) -> Report:
    """Compute every number of the report from evaluated cells."""
    by = {(c.config.label, c.store): c for c in cells}
    nq = {}
    for c in cells:
        if c.ok:
            nq.setdefault(c.store, c.correct.shape[1])
    idx = {s: bootstrap_indices(nq[s], n_boot, seed, s) for s in stores if s in nq}
    rows = []
    for cfg in configs:
        mine = [by.get((cfg.label, s)) for s in stores]
        base = [by.get((baseline.label, s)) for s in stores] if baseline is not None else [None] * len(stores)
        groups = [(s, [m], [b]) for s, m, b in zip(stores, mine, base)]
        if len(stores) > 1:
            groups.append((AVERAGE, mine, base))
        for label, ms, bs in groups:
            row = {"kind": "cell", "program": cfg.program, "config": cfg.config, "label": cfg.label,
                   "beta": cfg.beta, "store": label, "accuracy": None, "acc_lo": None, "acc_hi": None,
                   "tokens": None, "baseline": baseline.label if baseline is not None else None,
                   "delta_acc": None, "delta_lo": None, "delta_hi": None, "p_value": None, "token_ratio": None,
                   "error": None}
            errs = [m.error for m in ms if m is not None and m.error]
            if any(m is None or not m.ok for m in ms):
                row["error"] = errs[0] if errs else "not evaluated"
                rows.append(row)
                continue
            names = [m.store for m in ms]
            pq = [m.per_q for m in ms]
            ix = [idx[s] for s in names]
            row["accuracy"] = float(np.mean([m.accuracy for m in ms]))
            row["tokens"] = float(np.mean([m.tokens for m in ms]))
            row["acc_lo"], row["acc_hi"] = bootstrap_ci(pq, ix, level)
            if baseline is not None and all(b is not None and b.ok for b in bs) and cfg.label != baseline.label:
                if all(b.correct.shape[1] == m.correct.shape[1] for b, m in zip(bs, ms)):
                    d = [m.per_q - b.per_q for m, b in zip(ms, bs)]
                    row["delta_acc"] = float(np.mean([x.mean() for x in d]))
                    row["delta_lo"], row["delta_hi"] = bootstrap_ci(d, ix, level)
                    row["p_value"] = sign_flip_pvalue(d, n_perm, seed)
                    bt = float(np.mean([b.tokens for b in bs]))
                    row["token_ratio"] = row["tokens"] / bt if bt > 0 else None
            rows.append(row)
    frontier, rng = frontier_rows(rows, stores, cost_range)
    seeds = sorted({c.correct.shape[0] for c in cells if c.ok})
    return Report(stores, configs, baseline, rows, frontier, rng,
                  {"bootstrap": n_boot, "permutations": n_perm, "seed": seed, "level": level,
                   "questions": {s: nq[s] for s in stores if s in nq},
                   "seeds": seeds[0] if len(seeds) == 1 else None, "overrides": dict(overrides or {})})


def union_range(curves) -> tuple[float, float] | None:
    cs = [p[0] for pts in curves for p in pts if p[0] is not None and p[0] > 0]
    return (min(cs), max(cs)) if cs else None


def frontier_rows(rows: list[dict], stores: list[str], cost_range: tuple | None = None):
    """Per program and store (and the average), the frontier area over a common cost range:
    ``cost_range`` if given, else from the cheapest to the most expensive point of any
    program on that store (the same range for every program). Returns (rows, ranges)."""
    cols = stores + ([AVERAGE] if len(stores) > 1 else [])
    out = []
    ranges = {}
    for s in cols:
        curves: dict[str, list] = {}
        for r in rows:
            if r["store"] == s and r["accuracy"] is not None:
                curves.setdefault(r["program"], []).append((r["tokens"], r["accuracy"]))
        rng = tuple(cost_range) if cost_range else union_range(curves.values())
        ranges[s] = rng
        for prog, pts in curves.items():
            area = frontier_area(pts, rng[0], rng[1]) if rng else None
            out.append({"kind": "frontier", "program": prog, "store": s, "frontier_area": area,
                        "cost_lo": rng[0] if rng else None, "cost_hi": rng[1] if rng else None,
                        "points": len(pts), "pareto_points": len(pareto(pts))})
    return out, ranges


# ------------------------------------------------------------------- rendering
def _k(tokens: float | None) -> str:
    if tokens is None:
        return "-"
    return f"{tokens / 1000:.1f}k"


def _acc(r) -> str:
    if r["accuracy"] is None:
        return "error" if r.get("error") else "-"
    return f"{r['accuracy']:.2f} [{r['acc_lo']:.1f}, {r['acc_hi']:.1f}]"


def _p(p: float | None) -> str:
    if p is None:
        return "-"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _delta(r) -> str:
    if r["delta_acc"] is None:
        return "-"
    return (f"{r['delta_acc']:+.2f} [{r['delta_lo']:+.1f}, {r['delta_hi']:+.1f}] p={_p(r['p_value'])} "
            f"×{r['token_ratio']:.2f}" if r["token_ratio"] is not None else
            f"{r['delta_acc']:+.2f} [{r['delta_lo']:+.1f}, {r['delta_hi']:+.1f}] p={_p(r['p_value'])}")


def to_markdown(rep: Report, title: str | None = None, frontier: bool | None = None) -> str:
    """The report as Markdown. ``frontier``: include the frontier-area table (default: when
    some program has 3 or more points, i.e. a beta or param sweep)."""
    cols = rep.stores + ([AVERAGE] if len(rep.stores) > 1 else [])
    cell = {(r["label"], r["store"]): r for r in rep.rows}
    lvl = int(round(rep.settings["level"] * 100))
    out = []
    if title:
        out += [f"## {title}", ""]
    out.append(f"Accuracy (%) with a {lvl}% bootstrap interval over questions, and mean tokens per question.")
    out.append("")
    head = ["program", "config"]
    for s in cols:
        head += [f"{s} acc", f"{s} tokens"]
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---", "---"] + ["--:"] * (2 * len(cols))) + "|")
    for cfg in rep.configs:
        line = [cfg.program, cfg.config or "defaults"]
        for s in cols:
            r = cell.get((cfg.label, s))
            line += [_acc(r) if r else "-", _k(r["tokens"]) if r else "-"]
        out.append("| " + " | ".join(line) + " |")
    if rep.baseline is not None:
        out += ["", f"Paired against **{rep.baseline.label}**: accuracy difference (points) with its {lvl}% "
                f"bootstrap interval, sign-flip permutation p-value, token ratio.", ""]
        out.append("| program | config | " + " | ".join(cols) + " |")
        out.append("|---|---|" + "|".join(["--:"] * len(cols)) + "|")
        for cfg in rep.configs:
            if cfg.label == rep.baseline.label:
                continue
            line = [cfg.program, cfg.config or "defaults"]
            for s in cols:
                r = cell.get((cfg.label, s))
                line.append(_delta(r) if r else "-")
            out.append("| " + " | ".join(line) + " |")
    if frontier is None:
        frontier = any(r["points"] >= 3 for r in rep.frontier)
    if rep.frontier and frontier:
        out += ["", "Frontier area: mean over log-cost of the best accuracy within each budget "
                "(0 below a program's cheapest point), over the common cost range of each column.", ""]
        fr = {(r["program"], r["store"]): r for r in rep.frontier}
        progs = []
        for cfg in rep.configs:
            if cfg.program not in progs:
                progs.append(cfg.program)
        out.append("| program | " + " | ".join(cols) + " |")
        out.append("|---|" + "|".join(["--:"] * len(cols)) + "|")
        for p in progs:
            line = [p]
            for s in cols:
                r = fr.get((p, s))
                line.append("-" if r is None or r["frontier_area"] is None else
                            f"{r['frontier_area']:.2f} ({r['pareto_points']}/{r['points']} pts)")
            out.append("| " + " | ".join(line) + " |")
        rng_line = ", ".join(f"{s}: {_k(rep.cost_range[s][0])}–{_k(rep.cost_range[s][1])}"
                             for s in cols if rep.cost_range and rep.cost_range.get(s))
        out.append("")
        out.append(f"Cost ranges: {rng_line}. (n/m pts: Pareto-optimal points / points.)")
    st = rep.settings
    nq = ", ".join(f"{s}: {n}" for s, n in st.get("questions", {}).items())
    seeds = f"{st['seeds']} ordering seeds per cell; " if st.get("seeds") else ""
    out += ["", f"{seeds}questions per store: {nq}. Bootstrap: {st['bootstrap']} resamples of the questions, "
            f"seed {st['seed']}; permutation test: {st['permutations']} sign vectors (exact when 2^n is smaller)."]
    if st.get("overrides"):
        out.append("Param overrides (in the programs that declare them): "
                   + ", ".join(f"{k}={v}" for k, v in st["overrides"].items()) + ".")
    pv = st.get("provenance")
    if pv:
        out.append(f"Provenance: tts-dsl {pv['tool']}; seeds {pv['seed_list']}; stores "
                   + ", ".join(f"{k} {v}" for k, v in pv["stores"].items()) + "; programs "
                   + ", ".join(f"{k} {v}" for k, v in pv["programs"].items()) + " (sha256 prefixes).")
    return "\n".join(out) + "\n"


CSV_COLUMNS = ["kind", "program", "config", "label", "beta", "store", "accuracy", "acc_lo", "acc_hi", "tokens",
               "baseline", "delta_acc", "delta_lo", "delta_hi", "p_value", "token_ratio", "frontier_area",
               "cost_lo", "cost_hi", "points", "pareto_points", "error", "tool", "store_hash", "program_hash",
               "seed_list"]


def to_frame(rep: Report):
    import pandas as pd

    return pd.DataFrame(rep.rows + rep.frontier, columns=CSV_COLUMNS)


def add_provenance(rep: Report, tool: str, stores: dict, programs: dict, seed_list: str) -> None:
    """File what produced the report: in ``settings["provenance"]`` (the Markdown's last line,
    the JSON) and on every cell row (the CSV): tool version, store and program hashes, seeds."""
    rep.settings["provenance"] = {"tool": tool, "stores": dict(stores), "programs": dict(programs),
                                  "seed_list": seed_list}
    for r in rep.rows:
        r.update(tool=tool, store_hash=stores.get(r["store"]), program_hash=programs.get(r["program"]),
                 seed_list=seed_list)


def to_json(rep: Report) -> dict:
    """The report as one JSON-ready object (``compare --json``): ``settings``, ``stores``,
    ``baseline``, ``cost_range`` and the ``rows`` and ``frontier`` records of the CSV (NaN as
    null)."""

    def clean(v):
        if isinstance(v, float) and math.isnan(v):
            return None
        if isinstance(v, (np.floating, np.integer)):
            return clean(v.item())
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v

    return clean({"settings": rep.settings, "stores": rep.stores,
                  "baseline": rep.baseline.label if rep.baseline is not None else None,
                  "cost_range": rep.cost_range, "rows": rep.rows, "frontier": rep.frontier})


def write_csv(rep: Report, path) -> None:
    to_frame(rep).to_csv(path, index=False, float_format="%.6f")


def curves_for_plot(rep: Report) -> dict:
    """``{column: {program: [(tokens, accuracy, tag, acc_lo, acc_hi), ...]}}`` for
    :func:`plot_frontier_panels` (tag: the row's one varying value, e.g. its beta)."""
    cols = rep.stores + ([AVERAGE] if len(rep.stores) > 1 else [])
    out: dict = {s: {} for s in cols}
    for r in rep.rows:
        if r["accuracy"] is None or r["store"] not in out:
            continue
        tag = r["config"].split("=", 1)[1] if r["config"] and " " not in r["config"] else None
        out[r["store"]].setdefault(r["program"], []).append((r["tokens"], r["accuracy"], tag, r["acc_lo"],
                                                             r["acc_hi"]))
    return out


def plot_note(rep: Report) -> str:
    """What the figure's marks mean: the numbers next to points (the varying setting) and
    the error bars (the report's intervals)."""
    names = sorted({r["config"].split("=", 1)[0] for r in rep.rows
                    if r["config"] and " " not in r["config"] and "=" in r["config"]})
    level = round(100 * rep.settings.get("level", LEVEL))
    parts = []
    if names:
        parts.append(f"numbers next to points: {' / '.join(names)}")
    parts.append(f"bars: {level}% bootstrap intervals; hollow: dominated points")
    return "; ".join(parts)


def finite(x) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))
