"""Sweeps: many (program, beta, store) evaluations fanned out over an executor.

A :class:`Task` is self-contained and picklable (program text, not objects), so any
executor can run it; results come back in task order whatever the number of workers,
and each task is computed independently, so numbers never depend on the worker count.
"""

from __future__ import annotations

import math

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable

from ..lang.limits import Limits


@dataclass(frozen=True)
class StoreRef:
    """Where a store comes from: a replay root (or file), or the synthetic generator."""

    root: str | None = None
    model: str | None = None
    dataset: str | None = None
    synthetic_seed: int = 0
    synthetic_questions: int = 30
    synthetic_branches: int = 128

    def load(self):
        return _load_store(self)

    @property
    def label(self) -> str:
        if self.root is None:
            return "synthetic/default"
        return f"{self.model}/{self.dataset}"


@lru_cache(maxsize=16)
def _load_store(ref: StoreRef):
    from ..replay.store import load_store
    from ..replay.synthetic import synthetic_store

    if ref.root is None:
        return synthetic_store(ref.synthetic_seed, ref.synthetic_questions, ref.synthetic_branches)
    return load_store(ref.root, ref.model, ref.dataset)


@dataclass(frozen=True)
class Task:
    source: str
    file: str
    store: StoreRef
    beta: float | None = None
    params: tuple = ()  # sorted (name, value) pairs
    seeds: tuple = tuple(range(100))
    limits: Limits = field(default_factory=Limits)
    keep_episodes: bool = False


@lru_cache(maxsize=64)
def _checked(source: str, file: str, limits: Limits):
    from ..lang.builder import parse_program
    from ..lang.checker import check_program

    return check_program(parse_program(source, file, limits), limits)


def run_task(task: Task, store=None) -> dict:
    """Evaluate one task; returns the result row (plus per-episode arrays if asked).
    ``store``: the task's store already loaded (an executor that ships stores passes it);
    by default it is loaded from ``task.store``.

    User errors (a param out of range at this beta, a runtime error) come back in the
    ``error`` column, never as exceptions."""
    from ..engines.python import compile_program
    from ..lang.diagnostics import DiagnosticsError
    from ..lang.schedule import bind
    from .runner import EvalResult, run

    checked = _checked(task.source, task.file, task.limits)
    if store is None:
        store = task.store.load()
    try:
        binding = bind(checked, task.beta, dict(task.params))
        exe = compile_program(checked, binding, task.limits)
    except DiagnosticsError as ex:
        r = EvalResult(checked.name, store.model, store.dataset, task.beta, {})
        r.error = ex.diagnostics[0]
        row = r.row()
        row["error"] = "; ".join(d.message for d in ex.diagnostics)
        return row
    res = run(exe, store, task.seeds, task.limits, keep_episodes=task.keep_episodes)
    row = res.row()
    if res.error is not None:
        row["error"] = res.error.render(checked.source).splitlines()[0]
    if task.keep_episodes:
        row["_correct"] = res.correct
        row["_cost"] = res.cost
    return row


def default_jobs() -> int:
    return max(1, os.cpu_count() or 1)


class LocalExecutor:
    """Runs tasks in this process (jobs=1) or in a pool of worker processes."""

    name = "local"

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or default_jobs()

    def map(self, tasks: list[Task], progress: Callable[[int], None] | None = None) -> list[dict]:
        results: list = [None] * len(tasks)
        if self.jobs <= 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                results[i] = run_task(t)
                if progress:
                    progress(1)
            return results
        with ProcessPoolExecutor(max_workers=min(self.jobs, len(tasks))) as pool:
            futs = {pool.submit(run_task, t): i for i, t in enumerate(tasks)}
            for f in as_completed(futs):
                results[futs[f]] = f.result()
                if progress:
                    progress(1)
        return results


def make_tasks(programs: Iterable[tuple[str, str]], stores: Iterable[StoreRef], betas: Iterable,
               params: dict | None = None, seeds=range(100), limits: Limits | None = None,
               keep_episodes: bool = False) -> list[Task]:
    """One task per (program, store, beta), in that nesting order."""
    limits = limits or Limits()
    ptuple = tuple(sorted((params or {}).items()))
    stores = list(stores)
    betas = list(betas)
    out = []
    for source, file in programs:
        for st in stores:
            for b in betas:
                out.append(Task(source, file, st, b, ptuple, tuple(seeds), limits, keep_episodes))
    return out


MAX_BETAS = 1_001  # points in one beta grid (0:1:0.001)


class _GridError(ValueError):
    pass


def parse_beta_spec(spec: str) -> list[float]:
    """``0.5`` | ``0,0.5,1`` | ``0:1:0.1`` (inclusive grid). Values are clipped to [0, 1]."""
    spec = spec.strip()
    try:
        if ":" in spec:
            parts = [float(x) for x in spec.split(":")]
            if len(parts) != 3:
                raise ValueError
            lo, hi, step = parts
            if not all(math.isfinite(x) for x in parts) or step <= 0 or hi < lo:
                raise ValueError
            if not (0.0 <= lo and hi <= 1.0):
                raise _GridError(f"beta {lo if lo < 0 else hi} is outside [0, 1]")
            if (hi - lo) / step + 1 > MAX_BETAS:
                raise _GridError(f"beta grid {spec!r} has {(hi - lo) / step + 1:,.0f} points; the limit is "
                                 f"{MAX_BETAS:,} (use a larger step)")
            n = int(round((hi - lo) / step + 1e-9))
            vals = [round(lo + i * step, 10) for i in range(n + 1)]
            vals = [v for v in vals if v <= hi + 1e-12]
        else:
            vals = [float(x) for x in spec.split(",") if x.strip()]
            if len(vals) > MAX_BETAS:
                raise _GridError(f"{len(vals):,} betas; the limit is {MAX_BETAS:,}")
    except _GridError:
        raise
    except ValueError:
        raise ValueError(f"bad beta spec {spec!r}: use 0.5, 0,0.5,1 or 0:1:0.1") from None
    if not vals:
        raise ValueError(f"bad beta spec {spec!r}")
    for v in vals:
        if not (0.0 <= v <= 1.0):
            raise ValueError(f"beta {v} is outside [0, 1]")
    return vals
