"""The Python API: load and check programs, open stores, evaluate, get DataFrames.

    import tts_dsl
    prog = tts_dsl.load("programs/asc.tts")                 # parse + check
    store = tts_dsl.open_store("../shared/replay", "Qwen3-8B", "aime24")
    df = tts_dsl.evaluate(prog, store, params={"max_samples": 16})
    df[["accuracy", "avg_cost"]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .evaluation.runner import EvalResult, run
from .lang import ast as A
from .lang.builder import parse_program
from .lang.checker import CheckedProgram, check_program
from .engines.python import Executable, compile_program
from .lang.diagnostics import Diagnostic, DiagnosticsError
from .lang.limits import Limits
from .lang.schedule import Binding, bind
from .replay.store import Store, StoreError, list_datasets, list_models, load_store
from .replay.synthetic import synthetic_store


def parse(source: str, file: str = "<program>", limits: Limits | None = None) -> A.Program:
    """Text -> AST (raises :class:`DiagnosticsError`)."""
    return parse_program(source, file, limits)


def check(source: str | A.Program, file: str = "<program>", limits: Limits | None = None) -> CheckedProgram:
    """Text (or AST) -> checked program (raises :class:`DiagnosticsError`)."""
    prog = source if isinstance(source, A.Program) else parse_program(source, file, limits)
    return check_program(prog, limits)


def read_source(path: str | Path) -> str:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DiagnosticsError([Diagnostic("F001", f"no such program file: {p}", stage="parse", file=str(p))]) from None
    except IsADirectoryError:
        raise DiagnosticsError([Diagnostic("F001", f"{p} is a directory, not a .tts file", stage="parse",
                                           file=str(p))]) from None
    except OSError as ex:
        raise DiagnosticsError([Diagnostic("F001", f"cannot read {p}: {ex.strerror}", stage="parse",
                                           file=str(p))]) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise DiagnosticsError([Diagnostic("F002", f"{p} is not UTF-8 text (byte {ex.start})", stage="parse",
                                           file=str(p))]) from None


def load(path: str | Path, limits: Limits | None = None) -> CheckedProgram:
    """Read, parse and check a ``.tts`` file."""
    return check(read_source(path), str(path), limits)


def compile(program: CheckedProgram, beta: float | None = None, params: dict | None = None,  # noqa: A001
            traced: bool = False, limits: Limits | None = None) -> Executable:
    """Bind the params at ``beta`` (with overrides) and compile to an executable."""
    return compile_program(program, bind(program, beta, params), limits, traced)


def open_store(root: str | Path | None = None, model: str | None = None, dataset: str | None = None,
               **synthetic_kw) -> Store:
    """A replay store; without ``root``, the embedded synthetic default store."""
    if root is None:
        return synthetic_store(**synthetic_kw)
    return load_store(root, model, dataset)


def _as_checked(program) -> CheckedProgram:
    if isinstance(program, CheckedProgram):
        return program
    if isinstance(program, (str, Path)) and Path(program).suffix == ".tts":
        return load(program)
    if isinstance(program, str):
        return check(program)
    raise TypeError(f"expected a CheckedProgram, a .tts path or program text, got {type(program).__name__}")


def evaluate_one(program, store: Store | None = None, beta: float | None = None, params: dict | None = None,
                 seeds: int | Iterable[int] = 100, limits: Limits | None = None) -> EvalResult:
    prog = _as_checked(program)
    store = store if store is not None else open_store()
    seeds = range(seeds) if isinstance(seeds, int) else seeds
    exe = compile(prog, beta, params, limits=limits)
    return run(exe, store, seeds, limits)


def evaluate(program, stores: Store | list[Store] | None = None, beta=None, params: dict | None = None,
             seeds: int | Iterable[int] = 100, limits: Limits | None = None):
    """Evaluate on one or more stores and betas; one DataFrame row per (store, beta).

    Columns: program, model, dataset, beta, accuracy, avg_cost, episodes, seeds, wall_s,
    action_cap, step_cap, error, and ``param.<name>`` for every knob value.
    """
    import pandas as pd

    prog = _as_checked(program)
    if stores is None:
        stores = [open_store()]
    elif isinstance(stores, Store):
        stores = [stores]
    betas = beta if isinstance(beta, (list, tuple)) else [beta]
    rows = []
    for st in stores:
        for b in betas:
            rows.append(evaluate_one(prog, st, b, params, seeds, limits).row())
    return pd.DataFrame(rows)


__all__ = [
    "parse", "check", "load", "compile", "open_store", "evaluate", "evaluate_one", "read_source",
    "CheckedProgram", "Executable", "EvalResult", "Store", "StoreError", "Diagnostic", "DiagnosticsError",
    "Limits", "Binding", "list_models", "list_datasets",
]
