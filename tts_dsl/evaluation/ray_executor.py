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
- Ctrl-C, as with ``local``: the first submits nothing more, waits for the running tasks
  and raises :class:`~tts_dsl.evaluation.sweep.Interrupted` with the rows finished so far;
  a second kills the private Ray (head processes and workers) and exits at once (130).
  SIGTERM (:class:`~tts_dsl.evaluation.sweep.Terminated`) cancels the running tasks; Ray's
  own processes are shut down when the process exits.
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
import signal
import socket
import traceback
from collections import OrderedDict
from contextlib import contextmanager
from typing import Callable

import ray
from ray import exceptions as rex

from .executors import ExecutorError
from .sweep import Interrupted, SecondInterrupt, Task, Terminated, descendants, run_task, say_waiting

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


def _cancel(inflight: dict, force: bool = False) -> None:
    for ref in inflight:
        try:
            ray.cancel(ref, force=force)
        except Exception:  # noqa: BLE001 - best effort
            pass


@contextmanager
def _keep_sigterm_handler():
    """``ray.init`` installs Ray's own SIGTERM handler (a crash report, exit 15) over the
    caller's: put back a Python handler (the CLI's, which raises
    :class:`~tts_dsl.evaluation.sweep.Terminated` so that SIGTERM exits 143, cleanly)."""
    import threading

    main = threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if callable(old):
            signal.signal(signal.SIGTERM, old)


class _SigtermAsInterrupt:
    """While Ray waits, a SIGTERM handled by an exception (the CLI's
    :class:`~tts_dsl.evaluation.sweep.Terminated`) must come as KeyboardInterrupt: Ray's
    wait turns only that into an exception of its own (any other one raised by a signal
    handler becomes a SystemError). ``seen`` tells the two apart afterwards; the map then
    raises Terminated. A default SIGTERM (no Python handler) is left alone."""

    def __init__(self):
        self.seen = False
        self.old = None

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread() and callable(signal.getsignal(signal.SIGTERM)):
            self.old = signal.signal(signal.SIGTERM, self._term)
        return self

    def _term(self, signum, frame):
        self.seen = True
        raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGTERM, self.old)
        return False


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
    that session is used as is. ``jobs`` caps the number of tasks in flight (default: the
    cluster's CPUs, one task per CPU).
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
        with _keep_sigterm_handler():
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
        results: list = [None] * len(tasks)
        inflight: dict = {}  # ObjectRef -> task index
        sigterm = _SigtermAsInterrupt()
        try:
            with sigterm:
                try:
                    self._connect()
                    self._run(tasks, self._ship(tasks), results, inflight, progress)
                except KeyboardInterrupt:  # the first Ctrl-C: nothing more starts; the running tasks finish
                    if sigterm.seen:
                        raise
                    self._finish_running(inflight, results)
                    raise Interrupted(results) from None
        except BaseException:
            _cancel(inflight)  # an error or SIGTERM: leave nothing running on the cluster
            if sigterm.seen:
                raise Terminated() from None
            raise
        return results

    def _run(self, tasks: list[Task], boxes: list, results: list, inflight: dict, progress) -> None:
        done = [False] * len(tasks)
        attempts = [0] * len(tasks)
        queue = list(reversed(range(len(tasks))))  # indices still to submit; pop() gives task order
        remaining = len(tasks)
        while remaining:
            cap = self._capacity()
            while queue and len(inflight) < cap:
                i = queue.pop()
                attempts[i] += 1
                inflight[_remote_evaluate.remote(tasks[i], boxes[i])] = i
            ready, _ = ray.wait(list(inflight), num_returns=1)
            for ref in ready:
                i = inflight[ref]
                try:
                    row = ray.get(ref)
                except rex.RayTaskError as ex:  # raised outside run_task (e.g. fetching the store)
                    raise ex.as_instanceof_cause() from None
                except _INFRA_ERRORS as ex:  # the worker or node died: resubmit, bounded
                    del inflight[ref]
                    if attempts[i] >= self.max_attempts:
                        raise RayExecutorError(
                            f"task {i} ({tasks[i].file} on {tasks[i].store.label}, beta={tasks[i].beta}) "
                            f"failed {attempts[i]} times: {type(ex).__name__}: {ex}") from None
                    self.retried += 1
                    queue.append(i)  # next to go
                    continue
                del inflight[ref]  # only now: a Ctrl-C during the get still finds it in flight
                if isinstance(row, _Failure):  # an exception inside run_task: a bug, not a retry
                    raise row.rebuild()
                if done[i]:  # cannot happen (one attempt in flight per task); never count twice
                    continue
                results[i] = row
                done[i] = True
                remaining -= 1
                if progress:
                    progress(1)

    def _capacity(self) -> int:
        """Tasks in flight at once: ``jobs``, else the cluster's CPUs (read again as tasks finish,
        so nodes that join are used). Only running tasks are in flight: the queue stays here,
        where a Ctrl-C can drop it."""
        if self.jobs:
            return self.jobs
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _finish_running(self, inflight: dict, results: list) -> None:
        """After a first Ctrl-C: wait for the tasks in flight and keep their rows (a task that
        fails now is left out); a second Ctrl-C stops everything at once."""
        with SecondInterrupt(lambda: self._kill_now(inflight)):
            say_waiting(len(inflight))
            while inflight:
                ready, _ = ray.wait(list(inflight), num_returns=1)
                for ref in ready:
                    i = inflight.pop(ref)
                    try:
                        row = ray.get(ref)
                    except Exception:  # noqa: BLE001 - a task that failed while stopping: left out
                        continue
                    if not isinstance(row, _Failure):
                        results[i] = row

    def _kill_now(self, inflight: dict) -> None:
        """The second Ctrl-C, just before the process exits: a private Ray dies with it (its
        head processes and workers, which ``os._exit`` would leave behind); on a shared
        cluster only this run's tasks are cancelled."""
        if not self._started_privately():
            _cancel(inflight, force=True)
            return
        for pid, cmd in descendants(os.getpid()).items():  # gcs_server, raylet, agents, ray:: workers
            if "ray" not in cmd.lower():
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def _started_privately(self) -> bool:
        return self._started and self.address is None
