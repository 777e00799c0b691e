"""Evaluating candidates: a program's beta curves on a list of stores, through the executor
interface (local processes or Ray), with the provenance-keyed cache of
:mod:`tts_dsl.evaluation.cache` so nothing is evaluated twice, across rounds and resumes.

Every evaluation keeps its episodes and returns, per row, the per-question arrays
(``q_correct``, ``q_cost``: means over the ordering seeds), which the cache keeps too: one
evaluation of every question serves both parts of the split (:meth:`Evaluator.evaluate_parts`)
and the significance tests of :mod:`.scores`."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..evaluation.cache import EvalCache, cache_key, provenance
from ..evaluation.sweep import StoreRef, make_tasks
from ..lang.limits import Limits
from .config import DiscoverConfig
from .curves import Curves
from .scores import BUDGET_PROGRAM, Scoring, make_scoring
from .splits import Split, make_split, ref_label, seeds_of, store_refs

ROW_KEYS = ("beta", "accuracy", "avg_cost", "error")  # what a curve keeps of a result row


def curve_row(r: dict) -> dict:
    """A result row (with episodes) as a curve row: the figures, and per question the share
    of seeds answered correctly and the mean tokens (absent after an error)."""
    out = {k: r.get(k) for k in ROW_KEYS}
    correct, cost = r.get("_correct"), r.get("_cost")
    if not out["error"] and correct:
        ns = len(correct)
        out["q_correct"] = [sum(col) / ns for col in zip(*correct)]
        out["q_cost"] = [sum(col) / ns for col in zip(*cost)]
    return out


class Evaluator:
    """Evaluates program text on a list of stores over a beta grid, with a cache."""

    def __init__(self, cfg: DiscoverConfig, cache_path: Path | None, executor=None):
        self.cfg = cfg
        self.cache = EvalCache(cache_path)
        self.executor = executor
        self._own_executor = False  # made here (closed by close()), not passed in
        self.limits = Limits().with_(max_seconds=cfg.max_seconds)
        self._digests: dict = {}

    def _executor(self):
        if self.executor is None:
            from ..evaluation.executors import get_executor

            # kept: one batch per candidate, so the workers' start is paid once per run
            self.executor = get_executor(self.cfg.executor, self.cfg.jobs, self.cfg.address, keep=True)
            self._own_executor = True
        return self.executor

    def close(self) -> None:
        """Stop the executor this evaluator made (its worker processes); a passed-in one is
        the caller's."""
        if self._own_executor and self.executor is not None:
            self.executor.close()
            self.executor = None
            self._own_executor = False

    def digest(self, ref: StoreRef) -> str:
        if ref not in self._digests:
            self._digests[ref] = ref.load().digest
        return self._digests[ref]

    def evaluate(self, source: str, file: str, phash: str, uses_beta: bool, refs: list[StoreRef],
                 seeds: tuple, progress=None, *, questions: dict | None = None, betas=None) -> Curves:
        """``phash``: the program's canonical hash (the cache key's program part). A program
        that does not use beta is evaluated once per store. ``questions``: per store label,
        the question indices to run (a store not in it: all); ``betas``: instead of the
        configured grid (e.g. a cheap screen)."""
        grid = list(self.cfg.betas if betas is None else betas)
        betas = grid if uses_beta else [None]
        rows: dict = {}
        todo, provs, qs = [], {}, {}
        for ref in refs:
            q = (questions or {}).get(ref_label(ref))
            qs[ref] = None if q is None else tuple(int(x) for x in q)
            prov = provenance(phash, self.digest(ref), betas, seeds, self.limits, qs[ref], per_question=True)
            provs[ref] = (cache_key(prov), prov)
            hit = self.cache.get(provs[ref][0])
            if hit is None:
                todo.append(ref)
            else:
                rows[ref] = hit
        if todo:
            tasks = make_tasks([(source, file)], todo, betas, None, seeds, self.limits, keep_episodes=True,
                               questions={ref: qs[ref] for ref in todo if qs[ref] is not None})
            got = self._executor().map(tasks, progress)
            for i, ref in enumerate(todo):
                rows[ref] = [curve_row(r) for r in got[i * len(betas):(i + 1) * len(betas)]]
                self.cache.put(*provs[ref], rows[ref])
        return Curves({ref_label(ref): rows[ref] for ref in refs}, {ref_label(ref): qs[ref] for ref in refs})

    def evaluate_parts(self, source: str, file: str, phash: str, uses_beta: bool, split: Split,
                       progress=None) -> dict:
        """``{"search": Curves, "validation": Curves}``: one evaluation of every question of
        every store of the split, aggregated per part."""
        full = self.evaluate(source, file, phash, uses_beta, split.refs, split.seeds, progress)
        return parts_of(full, split)

    def setup_parts(self, entries: list, log=None) -> tuple[Split, Scoring, list[dict]]:
        """The run's setup: every seed program (``entries``: ``(id, source, file, hash,
        uses_beta)``) evaluated on every question, the stratified split made from them,
        SC@64 evaluated for the budgets, and the windows. Returns the split, the scoring and
        each entry's parts (:meth:`evaluate_parts`)."""
        log = log or (lambda msg: None)
        cfg = self.cfg
        refs = store_refs(cfg)
        seeds = seeds_of(cfg.search)
        fulls = []
        for sid, source, file, phash, uses_beta in entries:
            log(f"seed program {sid}: evaluating on {len(refs)} store(s), every question")
            fulls.append(self.evaluate(source, file, phash, uses_beta, refs, seeds))
        split = make_split(cfg, fulls, refs)
        log(f"split: {split.describe()}")
        bh = "budget:" + hashlib.sha256(BUDGET_PROGRAM.encode("utf-8")).hexdigest()[:24]
        budget = self.evaluate(BUDGET_PROGRAM, "budget_sc64.tts", bh, False, refs, seeds)
        parts = [parts_of(f, split) for f in fulls]
        scoring = make_scoring(parts, parts_of(budget, split), cfg.score.get("window"),
                               cfg.score.get("extend", "none") == "flat")
        return split, scoring, parts


def parts_of(full: Curves, split: Split) -> dict:
    """An all-questions evaluation restricted to the split's search and validation parts."""
    return {"search": full.restrict(split.questions("search")),
            "validation": full.restrict(split.questions("validation"))}
