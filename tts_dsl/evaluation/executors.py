"""Executor selection. Everything that fans out (sweeps, multi-store evaluation, the
discovery loop) asks for an executor here and calls ``executor.map(tasks, progress)``;
nothing else knows which executor runs.

An executor has ``name``, ``map(tasks: list[Task], progress=None) -> list[dict]``
returning the rows of :func:`tts_dsl.evaluation.sweep.run_task` in task order, and
``close()``.
"""

from __future__ import annotations

from .sweep import LocalExecutor


class ExecutorError(Exception):
    pass


def get_executor(name: str = "local", jobs: int | None = None, address: str | None = None,
                 keep: bool = False):
    """``keep``: the caller maps many batches and calls ``close()`` at the end (the local
    pool's workers then stay up between batches; Ray keeps its connection either way)."""
    if name == "local":
        return LocalExecutor(jobs, keep=keep)
    if name == "ray":
        try:
            from .ray_executor import RayExecutor
        except ImportError as ex:
            raise ExecutorError(f"the ray executor needs the extra: pip install 'tts-dsl[ray]' ({ex})") from None
        return RayExecutor(address=address, jobs=jobs)
    raise ExecutorError(f"unknown executor '{name}' (choose local or ray)")
