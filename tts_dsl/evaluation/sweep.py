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
    questions: tuple | None = None  # store question indices to run (None: all, in file order)


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
    from ..engines import fast
    from ..engines.python import compile_program
    from ..lang.diagnostics import DiagnosticsError
    from ..lang.schedule import bind
    from .runner import EvalResult, run

    checked = _checked(task.source, task.file, task.limits)
    if store is None:
        store = task.store.load()
    try:
        binding = bind(checked, task.beta, dict(task.params))
        episodes = len(task.seeds) * (len(task.questions) if task.questions is not None else len(store.questions))
        exe = fast.attach(compile_program(checked, binding, task.limits, deferred=True), task.limits, episodes)
    except DiagnosticsError as ex:
        r = EvalResult(checked.name, store.model, store.dataset, task.beta, {})
        r.error = ex.diagnostics[0]
        row = {**r.row(), **provenance_columns(task, store)}
        row["error"] = "; ".join(d.message for d in ex.diagnostics)
        return row
    res = run(exe, store, task.seeds, task.limits, questions=task.questions, keep_episodes=task.keep_episodes)
    row = {**res.row(), **provenance_columns(task, store)}
    if res.error is not None:
        row["error"] = res.error.render(checked.source).splitlines()[0]
    if task.keep_episodes:
        row["_correct"] = res.correct
        row["_cost"] = res.cost
    return row


def seed_list(seeds) -> str:
    """Seeds as text: ``0-99`` for a run of consecutive seeds, else a comma list."""
    seeds = list(seeds)
    if seeds and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ",".join(map(str, seeds))


def program_hash(source: str) -> str:
    """The program's identity in result rows: a hash of its text."""
    import hashlib

    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def provenance_columns(task: Task, store) -> dict:
    """What produced a row: tool version, store content hash, program hash, the seeds."""
    from .cache import tool_version

    return {"tool": tool_version(), "store_hash": store.digest, "program_hash": program_hash(task.source),
            "seed_list": seed_list(task.seeds)}


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
    import sys
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    # numba, when it loads, probes SciPy's BLAS (importing scipy.linalg: about 0.2 s per
    # process) for linear algebra tts-dsl never compiles; a worker runs only tts-dsl's tasks,
    # so it skips the probe (numba then just has no BLAS)
    if "scipy.linalg" not in sys.modules:
        sys.modules["scipy.linalg"] = None


def _kill_workers(pool) -> None:
    import signal

    for pid in list(getattr(pool, "_processes", None) or {}):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def descendants(root: int) -> dict[int, str]:
    """Every live process under ``root`` (children, their children, ...): pid -> command
    line, read from /proc (empty where there is no /proc)."""
    from pathlib import Path

    kids: dict[int, list] = {}
    proc = Path("/proc")
    for d in (proc.iterdir() if proc.is_dir() else ()):
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            kids.setdefault(int(fields[1]), []).append((int(d.name), cmd))
    out: dict[int, str] = {}
    stack = [root]
    while stack:
        for pid, cmd in kids.get(stack.pop(), []):
            out[pid] = cmd
            stack.append(pid)
    return out


class SecondInterrupt:
    """While the running tasks finish after a first Ctrl-C, a second one calls ``kill`` (the
    executor's way to stop its workers now) and exits at once (status 130). Only the main
    thread can handle signals; elsewhere this does nothing."""

    def __init__(self, kill: Callable[[], None] | None = None):
        self.kill = kill
        self.old = None

    def __enter__(self):
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self.old = signal.signal(signal.SIGINT, self._now)
        return self

    def _now(self, signum, frame):
        import sys

        try:
            if self.kill is not None:
                self.kill()
            sys.stderr.write("interrupted again: quitting now\n")
            sys.stderr.flush()
        finally:
            os._exit(130)

    def __exit__(self, *exc):
        import signal

        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        return False


def say_waiting(running: int) -> None:
    """What the first Ctrl-C of a sweep says, whichever executor runs it."""
    _say(f"interrupted: cancelled the queued tasks, waiting for {running} running (Ctrl-C again to quit now)")


def _say(msg: str) -> None:
    import sys

    try:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _largest_first(tasks: list[Task]) -> list[int]:
    """Task indices in submission order: higher beta first (more beta, more budget, so
    usually a longer task), so the last tasks to finish are short ones and no worker waits
    long for another at the end. Rows still come back in task order."""
    return sorted(range(len(tasks)), key=lambda i: -(tasks[i].beta or 0.0))


class LocalExecutor:
    """Runs tasks in this process (jobs=1) or in a pool of worker processes.

    ``keep=True`` keeps the pool between :meth:`map` calls (call :meth:`close`, or use the
    executor as a context manager): a caller that maps many small batches, like discovery
    with one batch per candidate, pays the workers' start (imports, the stores, the native
    engine's load: about a second each) once instead of per batch. A pool that failed or
    was interrupted is never reused.

    Ctrl-C: the first cancels the queued tasks, lets the running ones finish and raises
    :class:`Interrupted` with the rows finished so far; a second exits at once. Any other
    way out (SIGTERM as :class:`Terminated`, an error) kills the workers first."""

    name = "local"

    def __init__(self, jobs: int | None = None, keep: bool = False):
        self.jobs = jobs or default_jobs()
        self.keep = keep
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self, n: int) -> ProcessPoolExecutor:
        if self._pool is not None:
            return self._pool
        pool = ProcessPoolExecutor(max_workers=self.jobs if self.keep else min(self.jobs, n),
                                   initializer=_worker_init, initargs=(os.getpid(),))
        if self.keep:
            self._pool = pool
        return pool

    def close(self) -> None:
        """Stop a kept pool's workers (they finish nothing: call between maps)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def map(self, tasks: list[Task], progress: Callable[[int], None] | None = None) -> list[dict]:
        results: list = [None] * len(tasks)
        if self.jobs <= 1 or len(tasks) <= 1:
            return self._serial(tasks, results, progress)
        pool = self._get_pool(len(tasks))
        clean = False
        try:
            futs = {pool.submit(run_task, tasks[i]): i for i in _largest_first(tasks)}
            try:
                for f in as_completed(futs):
                    results[futs[f]] = f.result()
                    if progress:
                        progress(1)
            except KeyboardInterrupt:
                with SecondInterrupt(lambda: _kill_workers(pool)):
                    running = [f for f in futs if not f.cancel()]
                    say_waiting(sum(1 for f in running if not f.done()))
                    for f in running:
                        try:
                            results[futs[f]] = f.result()
                        except Exception:  # a task that failed while stopping: left out
                            pass
                clean = True
                self._pool = None  # interrupted: not reused
                raise Interrupted(results) from None
            clean = True
            return results
        finally:
            if not clean:
                self._pool = None
                _kill_workers(pool)
            if pool is not self._pool:
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
               keep_episodes: bool = False, questions: dict | None = None) -> list[Task]:
    """One task per (program, store, beta), in that nesting order. ``questions``: per store
    ref, the question indices to run (a store not in it, or None: all questions)."""
    limits = limits or Limits()
    ptuple = tuple(sorted((params or {}).items()))
    stores = list(stores)
    betas = list(betas)
    out = []
    for source, file in programs:
        for st in stores:
            for b in betas:
                qs = (questions or {}).get(st)
                out.append(Task(source, file, st, b, ptuple, tuple(seeds), limits, keep_episodes,
                                None if qs is None else tuple(qs)))
    return out


def plan_sweep(programs: list[tuple[str, str]], refs: list[StoreRef], betas: list[float] | None,
               overrides: dict, seeds, limits: Limits, keep_episodes: bool = False) -> tuple[list[Task], list[str]]:
    """The tasks of ``tts-dsl eval`` (and :func:`tts_dsl.sweep`): every program (text, file)
    on every store, over ``betas`` for programs with a knob that uses beta (0.5 without
    ``betas``), once (beta None) for the others. Params are bound first, so a knob out of
    range raises :class:`DiagnosticsError` before anything runs. Returns the tasks and the
    names of the knobs the betas move."""
    from ..lang.schedule import bind

    tasks: list[Task] = []
    knobs: list[str] = []
    for src, file in programs:
        checked = _checked(src, file, limits)
        bind(checked, betas[0] if betas else None, overrides)
        moved = [k.name for k in checked.params if k.uses_beta and k.name not in overrides]
        knobs += [k for k in moved if k not in knobs]
        mine = (betas or [0.5]) if moved else [None]  # beta changes nothing: evaluate once
        tasks += make_tasks([(src, file)], refs, mine, overrides, seeds, limits, keep_episodes)
    return tasks, knobs


def resolve_stores(store=None, model: str | None = None, dataset: str | None = None,
                   synthetic_seed: int = 0) -> list[StoreRef]:
    """``store`` (a replay root, a ``.json`` file, or None for the embedded synthetic store),
    ``model`` and ``dataset`` (a name, a comma list or ``all``) -> StoreRefs. Raises
    :class:`StoreError` for a missing or unknown store, ValueError for model/dataset without
    a store."""
    from pathlib import Path

    from ..lang.diagnostics import did_you_mean
    from ..replay.store import StoreError, list_datasets, list_models

    if store is None:
        if model or dataset:
            raise ValueError("a model or dataset needs a store (--store; without one the embedded synthetic "
                             "store is used)")
        return [StoreRef(None, synthetic_seed=synthetic_seed)]
    root = Path(store)
    if root.is_file():
        return [StoreRef(str(root), model or root.parent.name, dataset or root.stem)]
    if not root.exists():
        raise StoreError(f"{root}: no such store (expected a directory ROOT/<model>/<dataset>.json or a .json file)")
    models_here = list_models(root)
    if not models_here:
        raise StoreError(f"{root}: not a store: no <model>/<dataset>.json files here")
    if model in (None, "all"):
        models = models_here
    else:
        models = [m.strip() for m in model.split(",") if m.strip()]
        for m in models:
            if m not in models_here:
                hint = did_you_mean(m, models_here)
                raise StoreError(f"{root}: no model '{m}'; models here: {', '.join(models_here)}"
                                 + (f" ({hint})" if hint else ""))
    refs = []
    for m in models:
        ds_here = list_datasets(root, m)
        ds = ds_here if dataset in (None, "all") else [d.strip() for d in dataset.split(",") if d.strip()]
        for d in ds:
            if d not in ds_here:
                if dataset not in (None, "all") and len(models) > 1:
                    continue  # a dataset some models lack: skip for those
                raise StoreError(f"{root}/{m}: no dataset '{d}'; datasets: {', '.join(ds_here) or 'none'}")
            refs.append(StoreRef(str(root), m, d))
    if not refs:
        raise StoreError(f"{root}: no store matches --model {model or 'all'} --dataset {dataset or 'all'}")
    return refs


def check_beta(v) -> float:
    """One beta: a finite number in [0, 1] (the rule of ``--beta`` and of the Python API)."""
    import math
    import numbers

    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise ValueError(f"beta must be a number in [0, 1], got {v!r}")
    v = float(v)
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ValueError(f"beta {v:g} is outside [0, 1]")
    return v


def check_betas(beta) -> list[float] | None:
    """None (the default), a number, or a sequence / numpy array of numbers -> the betas."""
    if beta is None:
        return None
    if isinstance(beta, str):
        return parse_beta_spec(beta)
    try:
        items = list(beta.tolist() if hasattr(beta, "tolist") else beta)
    except TypeError:
        return [check_beta(beta)]
    if not isinstance(items, list):  # a numpy scalar's tolist() is the number itself
        return [check_beta(items)]
    if not items:
        raise ValueError("no betas given")
    return [check_beta(b) for b in items]


def check_seeds(seeds) -> tuple:
    """``N`` (seeds 0..N-1, 1 <= N <= 10000, as ``--seeds``) or an iterable of seeds."""
    import numbers

    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        if not 1 <= int(seeds) <= 10_000:
            raise ValueError(f"seeds must be between 1 and 10000, got {seeds}")
        return tuple(range(int(seeds)))
    out = tuple(int(s) for s in seeds)
    if not out:
        raise ValueError("no seeds given")
    if any(s < 0 for s in out):
        raise ValueError("seeds must be non-negative")
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
    return [check_beta(v) for v in vals]
