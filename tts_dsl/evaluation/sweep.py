"""Sweeps: many (program, beta, store) evaluations fanned out over an executor.

A :class:`Task` is self-contained and picklable (program text, not objects), so any
executor can run it; results come back in task order whatever the number of workers,
and each task is computed independently, so numbers never depend on the worker count.
"""

from __future__ import annotations

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


class Interrupted(KeyboardInterrupt):
    """The first Ctrl-C of a sweep: queued tasks were cancelled and running ones finished.
    ``rows`` holds the finished rows in task order (``None`` for the tasks never run)."""

    def __init__(self, rows: list):
        super().__init__("interrupted")
        self.rows = rows

    @property
    def done(self) -> list[dict]:
        return [r for r in self.rows if r is not None]


class Terminated(BaseException):
    """SIGTERM reached the process (see :func:`terminate_on_sigterm`): workers are killed,
    nothing waits."""


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` in the main thread, so pools kill their
    workers on the way out (the command line installs this)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return

    def _raise(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, _raise)


def _watch_parent(parent: int) -> None:  # pragma: no cover - runs in worker processes
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)  # the parent died (even by SIGKILL): a worker never outlives it


def _worker_init(parent: int) -> None:  # pragma: no cover - runs in worker processes
    """Workers ignore Ctrl-C (a terminal sends it to the whole process group; the parent
    decides: running tasks finish on the first, everything dies on the second) and exit
    when their parent is gone."""
    import signal
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _kill_workers(pool) -> None:
    import signal

    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class _SecondInterrupt:
    """While the running tasks finish after a first Ctrl-C, a second one kills the workers
    and exits at once (status 130). Only the main thread can handle signals; elsewhere this
    does nothing."""

    def __init__(self, pool=None):
        self.pool = pool
        self.old = None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._now)
        return self

    def _now(self, signum, frame):
        import sys

        if self.pool is not None:
            _kill_workers(self.pool)
        try:
            sys.stderr.write("interrupted again: quitting now\n")
            sys.stderr.flush()
        finally:
            os._exit(130)

    def __exit__(self, *exc):
        import signal

        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


def _say(msg: str) -> None:
    import sys

    try:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class LocalExecutor:
    """Runs tasks in this process (jobs=1) or in a pool of worker processes.

    Ctrl-C: the first cancels the queued tasks, lets the running ones finish and raises
    :class:`Interrupted` with the rows finished so far; a second exits at once. Any other
    way out (SIGTERM as :class:`Terminated`, an error) kills the workers first."""

    name = "local"

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or default_jobs()

    def map(self, tasks: list[Task], progress: Callable[[int], None] | None = None) -> list[dict]:
        results: list = [None] * len(tasks)
        if self.jobs <= 1 or len(tasks) <= 1:
            return self._serial(tasks, results, progress)
        pool = ProcessPoolExecutor(max_workers=min(self.jobs, len(tasks)), initializer=_worker_init,
                                   initargs=(os.getpid(),))
        clean = False
        try:
            futs = {pool.submit(run_task, t): i for i, t in enumerate(tasks)}
            try:
                for f in as_completed(futs):
                    results[futs[f]] = f.result()
                    if progress:
                        progress(1)
            except KeyboardInterrupt:
                with _SecondInterrupt(pool):
                    running = [f for f in futs if not f.cancel()]
                    pending = [f for f in running if not f.done()]
                    _say(f"interrupted: cancelled the queued tasks, waiting for {len(pending)} running "
                         f"(Ctrl-C again to quit now)")
                    for f in running:
                        try:
                            results[futs[f]] = f.result()
                        except Exception:  # a task that failed while stopping: left out
                            pass
                clean = True
                raise Interrupted(results) from None
            clean = True
            return results
        finally:
            if not clean:
                _kill_workers(pool)
            pool.shutdown(wait=clean, cancel_futures=True)

    def _serial(self, tasks, results, progress):
        """In-process: Ctrl-C interrupts the running task itself, so the rows finished before
        it are the partial result."""
        for i, t in enumerate(tasks):
            try:
                results[i] = run_task(t)
            except KeyboardInterrupt:
                raise Interrupted(results) from None
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


def parse_beta_spec(spec: str) -> list[float]:
    """``0.5`` | ``0,0.5,1`` | ``0:1:0.1`` (inclusive grid). Values are clipped to [0, 1]."""
    spec = spec.strip()
    try:
        if ":" in spec:
            parts = [float(x) for x in spec.split(":")]
            if len(parts) != 3:
                raise ValueError
            lo, hi, step = parts
            if step <= 0 or hi < lo:
                raise ValueError
            n = int(round((hi - lo) / step + 1e-9))
            vals = [round(lo + i * step, 10) for i in range(n + 1)]
            vals = [v for v in vals if v <= hi + 1e-12]
        else:
            vals = [float(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"bad beta spec {spec!r}: use 0.5, 0,0.5,1 or 0:1:0.1") from None
    if not vals:
        raise ValueError(f"bad beta spec {spec!r}")
    for v in vals:
        if not (0.0 <= v <= 1.0):
            raise ValueError(f"beta {v} is outside [0, 1]")
    return vals
