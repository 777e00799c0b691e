"""A worker process with a hard time cap per call.

Tool calls that run a program (check, evaluate, trace, compare) go to one long-lived worker
process (started with ``spawn``, so it shares nothing with the server's threads). A call
that exceeds its cap kills the worker and raises :class:`CallTimeout`; the next call starts
a fresh worker, so a runaway program can never stall the server. The worker keeps its
loaded stores between calls. Its standard output is redirected to standard error, because
the server's standard output is the protocol channel.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
import threading
import time
import traceback


class CallTimeout(Exception):
    pass


class WorkerError(Exception):
    """The call raised in the worker: ``kind`` is the exception class name."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def _serve(conn, cwd: str | None, env: dict):
    os.dup2(2, 1)  # nothing the worker prints may reach the protocol channel
    sys.stdout = sys.stderr
    os.environ.update(env)
    if cwd:
        os.chdir(cwd)
    import importlib

    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        target, kwargs = msg
        mod, _, fn = target.rpartition(".")
        try:
            result = getattr(importlib.import_module(mod), fn)(**kwargs)
            conn.send(("ok", result))
        except Exception as ex:  # noqa: BLE001 - every failure goes back to the caller
            if os.environ.get("TTS_DSL_DEBUG"):
                traceback.print_exc()
            conn.send(("error", (type(ex).__name__, str(ex))))


class Worker:
    """``call("module.function", timeout, **kwargs)`` runs the function in the worker."""

    def __init__(self, cwd: str | None = None, env: dict | None = None):
        self.cwd = cwd
        self.env = dict(env or {})
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self.restarts = 0

    def _start(self):
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, self.cwd, self.env), daemon=True, name="tts-dsl-worker")
        proc.start()
        child.close()
        self._proc, self._conn = proc, parent

    def start(self):
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()

    def _kill(self):
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
            self._conn.close()
        self._proc = self._conn = None
        self.restarts += 1

    def call(self, target: str, timeout: float, **kwargs):
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()
            t0 = time.monotonic()
            try:
                self._conn.send((target, kwargs))
                ready = self._conn.poll(timeout)
            except (BrokenPipeError, EOFError, OSError):
                self._kill()
                raise WorkerError("WorkerDied", "the worker process died; it restarts on the next call") from None
            if not ready:
                self._kill()
                raise CallTimeout(f"the call exceeded its time cap of {timeout:g} s and was stopped "
                                  f"(after {time.monotonic() - t0:.1f} s)")
            try:
                status, payload = self._conn.recv()
            except (EOFError, OSError):
                self._kill()
                raise WorkerError("WorkerDied", "the worker process died; it restarts on the next call") from None
        if status == "error":
            raise WorkerError(*payload)
        return payload

    def close(self):
        with self._lock:
            if self._proc is not None:
                try:
                    self._conn.send(None)
                    self._proc.join(2)
                except (BrokenPipeError, OSError):
                    pass
                if self._proc.is_alive():
                    self._proc.kill()
                    self._proc.join(2)
            self._proc = self._conn = None
