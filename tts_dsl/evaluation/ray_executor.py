"""The Ray executor: the same ``map(tasks, progress) -> rows`` contract as
:class:`~tts_dsl.evaluation.sweep.LocalExecutor`, run on a Ray cluster.

What goes where (see docs/cluster.md):

- The driver (this process) loads every store a run needs, once, and ``ray.put``\\ s it
  into the cluster object store once per executor (one ObjectRef per :class:`StoreRef`).
  Cluster nodes never read replay files; they need only ``tts-dsl`` installed.
- A task ships only the small :class:`~tts_dsl.evaluation.sweep.Task` (program text,
  beta, params, seeds, limits) plus the store's ObjectRef. A worker process fetches and
  unpickles each store once and keeps it (keyed by the ObjectRef), then evaluates the
  task with :func:`~tts_dsl.evaluation.sweep.run_task`, the very function the local
  executor runs, so the rows are identical to the digit whatever the number of workers.
- Rows stream back as they finish (``progress(1)`` per row) and are placed by task index.
- A worker or node that dies has its in-flight tasks resubmitted (at most
  ``max_attempts`` times each); a task's slot is filled once, by its first completed
  attempt, so nothing is counted twice. An exception raised *inside* a task is a bug
  (user errors come back in the ``error`` column) and is re-raised, not retried.

Ray is an optional extra (``pip install "tts-dsl[ray]"``); importing this module without
it raises ImportError, which :func:`~tts_dsl.evaluation.executors.get_executor` turns
into a clear message.
"""

from __future__ import annotations

import os
import pickle
import socket
import traceback
from collections import OrderedDict
from typing import Callable

import ray
from ray import exceptions as rex

from .executors import ExecutorError
from .sweep import Task, run_task

# A worker keeps this many stores unpickled (a real AIME store is ~0.3 MB pickled).
_WORKER_CACHE_SIZE = 16
_worker_stores: OrderedDict = OrderedDict()


class RayExecutorError(ExecutorError):
    """The cluster could not be reached, or a task kept failing for infrastructure reasons."""


def _store_in_worker(box: list):
    """``box`` is ``[ObjectRef]``: wrapped in a list so Ray does not resolve (and
    unpickle) it on every call; the worker resolves it once and caches the store."""
    ref = box[0]
    key = ref.hex()
    st = _worker_stores.get(key)
    if st is None:
        st = ray.get(ref)
        _worker_stores[key] = st
        while len(_worker_stores) > _WORKER_CACHE_SIZE:
            _worker_stores.popitem(last=False)
    else:
        _worker_stores.move_to_end(key)
    return st


class _Failure:
    """An exception raised inside a task, carried back as a value: Ray cannot ship every
    exception (e.g. one whose constructor does not take its ``args``), and the driver
    must re-raise the original type so callers see the same error as with ``local``."""

    def __init__(self, ex: BaseException):
        self.trace = "".join(traceback.format_exception(ex))
        self.exc = None
        try:
            self.exc = pickle.loads(pickle.dumps(ex))
        except Exception:  # noqa: BLE001 - any pickling failure means: describe it
            pass

    def rebuild(self) -> BaseException:
        if self.exc is not None:
            ex = self.exc
        else:
            ex = RuntimeError("a task failed in a Ray worker")
        ex.add_note("raised in a Ray worker:\n" + self.trace)
        return ex


def _evaluate(task: Task, box: list):
    store = _store_in_worker(box)
    try:
        return run_task(task, store)
    except Exception as ex:  # noqa: BLE001 - re-raised in the driver
        return _Failure(ex)


# Retries are done by the executor (not by Ray's max_retries) so that they are bounded,
# counted (``RayExecutor.retried``) and visible; a task never runs twice in one slot.
_remote_evaluate = ray.remote(num_cpus=1, max_retries=0)(_evaluate)

# Failures of the machinery (not of the program): the task is resubmitted.
_INFRA_ERRORS = tuple(
    getattr(rex, n) for n in ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError",
                              "ObjectFetchTimedOutError", "ReferenceCountingAssertionError",
                              "LocalRayletDiedError", "RaySystemError", "TaskUnschedulableError",
                              "ActorUnschedulableError")
    if hasattr(rex, n)
)


def _probe(address: str, timeout: float = 5.0) -> None:
    """Ray waits (for minutes) on an address where no head listens: fail fast instead."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise RayExecutorError(f"bad Ray address {address!r}: use HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as ex:
        raise RayExecutorError(f"no Ray head answers at {address} ({ex.strerror or ex}); start one with "
                               f"'ray start --head' or check the address") from None


class RayExecutor:
    """Fan tasks out over a Ray cluster.

    ``address=None`` starts a private single-node Ray on 127.0.0.1 with ``jobs`` CPUs
    (default: all cores), on first use; ``address="auto"`` joins the cluster already
    running on this machine; ``"HOST:PORT"`` joins a cluster's head (``ray://HOST:10001``
    goes through Ray Client). If this process already runs Ray (``ray.is_initialized()``),
    that session is used as is. With an existing cluster, ``jobs`` caps the number of
    tasks in flight (default: no cap; Ray schedules one task per CPU).
    """

    name = "ray"

    def __init__(self, address: str | None = None, jobs: int | None = None, max_attempts: int = 4,
                 runtime_env: dict | None = None):
        if jobs is not None and jobs < 1:
            raise ValueError("jobs must be at least 1")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.address = address
        self.jobs = jobs
        self.max_attempts = max_attempts
        self.runtime_env = runtime_env
        self.retried = 0  # tasks resubmitted after a worker/node failure, over this executor's life
        self._started = False  # whether this executor started Ray (and so may shut it down)
        self._shipped: dict = {}  # StoreRef -> ObjectRef, one put per store per executor
        if address is not None:  # join now: a wrong address fails here, cleanly, through get_executor
            _probe(address)
            self._connect()

    # -- cluster -------------------------------------------------------------------------
    def _connect(self) -> None:
        if ray.is_initialized():
            return
        kw = dict(include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                  configure_logging=True)
        if self.runtime_env:
            kw["runtime_env"] = self.runtime_env
        if self.address is None:
            # a private cluster; never phone home from tests or CI
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
            kw.update(address="local", num_cpus=self.jobs or os.cpu_count() or 1,
                      _node_ip_address="127.0.0.1")
        else:
            kw.update(address=self.address)
        try:
            ray.init(**kw)
        except (ConnectionError, RuntimeError, ValueError) as ex:
            where = "a local Ray instance" if self.address is None else f"the Ray cluster at {self.address}"
            raise RayExecutorError(f"cannot start or reach {where}: {ex}") from None
        self._started = True

    def close(self) -> None:
        """Shut Ray down if this executor started (or joined) it; drop the shipped stores."""
        self._shipped.clear()
        if self._started and ray.is_initialized():
            ray.shutdown()
        self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _ship(self, tasks: list[Task]) -> list:
        """One ``ray.put`` per distinct store (cached for this executor's life)."""
        session = ray.get_runtime_context().get_job_id()
        if self._shipped.get("session") != session:  # refs from an earlier Ray session are void
            self._shipped = {"session": session}
        boxes = []
        for t in tasks:
            ref = self._shipped.get(t.store)
            if ref is None:
                ref = ray.put(t.store.load())
                self._shipped[t.store] = ref
            boxes.append([ref])
        return boxes

    # -- the contract ------------------------------------------------------------------
    def map(self, tasks: list[Task], progress: Callable[[int], None] | None = None) -> list[dict]:
        tasks = list(tasks)
        if not tasks:
            return []
        self._connect()
        boxes = self._ship(tasks)
        cap = self.jobs if (self.jobs and not self._started_privately()) else len(tasks)
        results: list = [None] * len(tasks)
        done = [False] * len(tasks)
        attempts = [0] * len(tasks)
        queue = list(reversed(range(len(tasks))))  # indices still to submit; pop() gives task order
        inflight: dict = {}  # ObjectRef -> task index
        remaining = len(tasks)
        try:
            while remaining:
                while queue and len(inflight) < cap:
                    i = queue.pop()
                    attempts[i] += 1
                    inflight[_remote_evaluate.remote(tasks[i], boxes[i])] = i
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    i = inflight.pop(ref)
                    try:
                        row = ray.get(ref)
                    except rex.RayTaskError as ex:  # raised outside run_task (e.g. fetching the store)
                        raise ex.as_instanceof_cause() from None
                    except _INFRA_ERRORS as ex:  # the worker or node died: resubmit, bounded
                        if attempts[i] >= self.max_attempts:
                            raise RayExecutorError(
                                f"task {i} ({tasks[i].file} on {tasks[i].store.label}, beta={tasks[i].beta}) "
                                f"failed {attempts[i]} times: {type(ex).__name__}: {ex}") from None
                        self.retried += 1
                        queue.append(i)  # next to go
                        continue
                    if isinstance(row, _Failure):  # an exception inside run_task: a bug, not a retry
                        raise row.rebuild()
                    if done[i]:  # cannot happen (one attempt in flight per task); never count twice
                        continue
                    results[i] = row
                    done[i] = True
                    remaining -= 1
                    if progress:
                        progress(1)
        except BaseException:
            for ref in inflight:  # an error or Ctrl-C: leave nothing running on the cluster
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort
                    pass
            raise
        return results

    def _started_privately(self) -> bool:
        return self._started and self.address is None
