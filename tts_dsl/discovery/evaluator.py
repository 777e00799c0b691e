"""Evaluating candidates: a program's beta curves on a list of stores, through the executor
interface (local processes or Ray), with the provenance-keyed cache of
:mod:`tts_dsl.evaluation.cache` so nothing is evaluated twice, across rounds and resumes."""

from __future__ import annotations

from pathlib import Path

from ..evaluation.cache import EvalCache, cache_key, provenance
from ..evaluation.sweep import StoreRef, make_tasks
from ..lang.limits import Limits
from .config import DiscoverConfig
from .curves import Curves
from .splits import ref_label

ROW_KEYS = ("beta", "accuracy", "avg_cost", "error")  # what a curve keeps of a result row


class Evaluator:
    """Evaluates program text on a list of stores over a beta grid, with a cache."""

    def __init__(self, cfg: DiscoverConfig, cache_path: Path | None, executor=None):
        self.cfg = cfg
        self.cache = EvalCache(cache_path)
        self.executor = executor
        self.limits = Limits().with_(max_seconds=cfg.max_seconds)
        self._digests: dict = {}

    def _executor(self):
        if self.executor is None:
            from ..evaluation.executors import get_executor

            self.executor = get_executor(self.cfg.executor, self.cfg.jobs, self.cfg.address)
        return self.executor

    def digest(self, ref: StoreRef) -> str:
        if ref not in self._digests:
            self._digests[ref] = ref.load().digest
        return self._digests[ref]

    def evaluate(self, source: str, file: str, phash: str, uses_beta: bool, refs: list[StoreRef],
                 seeds: tuple, progress=None) -> Curves:
        """``phash``: the program's canonical hash (the cache key's program part). A program
        that does not use beta is evaluated once per store."""
        betas = list(self.cfg.betas) if uses_beta else [None]
        rows: dict = {}
        todo, provs = [], {}
        for ref in refs:
            prov = provenance(phash, self.digest(ref), betas, seeds, self.limits)
            provs[ref] = (cache_key(prov), prov)
            hit = self.cache.get(provs[ref][0])
            if hit is None:
                todo.append(ref)
            else:
                rows[ref] = hit
        if todo:
            tasks = make_tasks([(source, file)], todo, betas, None, seeds, self.limits)
            got = self._executor().map(tasks, progress)
            for i, ref in enumerate(todo):
                mine = got[i * len(betas):(i + 1) * len(betas)]
                rows[ref] = [{k: r.get(k) for k in ROW_KEYS} for r in mine]
                self.cache.put(*provs[ref], rows[ref])
        return Curves({ref_label(ref): rows[ref] for ref in refs})
