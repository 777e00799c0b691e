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
from .lang.diagnostics import NOWHERE, Diagnostic, DiagnosticsError, Reporter
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
    report = Reporter(str(p), "parse")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        report.unreadable_file(NOWHERE, p, "missing")
    except IsADirectoryError:
        report.unreadable_file(NOWHERE, p, "directory")
    except OSError as ex:
        report.unreadable_file(NOWHERE, p, "os", ex.strerror)
    else:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as ex:
            report.not_utf8(NOWHERE, p, ex.start)
    raise DiagnosticsError(report.diagnostics)


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


# ----------------------------------------------------- for tools, editors and agents
def check_report(source: str | A.Program, file: str = "<program>", overrides: dict | None = None,
                 strict: bool = False, limits: Limits | None = None) -> dict:
    """Check ``source`` (text, or a parsed program, which the checker annotates in place:
    names get their symbols even when there are errors) and prove its schedule; the object ``check --json`` prints
    (schema ``tts_dsl/schemas/check.v1.json``): ``file``, ``ok``, ``diagnostics``,
    ``params``, and for programs that check, ``name`` and ``schedule``. Private keys
    (``_text``: the rendered diagnostics, ``_results``, ``_checked``) start with ``_``."""
    from .lang.prover import prove, schedule_diagnostics

    report: dict = {"file": file, "ok": False, "diagnostics": [], "params": []}
    try:
        checked = check(source, file, limits)
        if overrides:
            bind(checked, None, overrides)
    except DiagnosticsError as ex:
        report["diagnostics"] = [d.to_dict() for d in ex.diagnostics]
        report["_text"] = ex.render()
        return report
    results = prove(checked)
    diags = list(checked.warnings) + schedule_diagnostics(checked, strict, results)
    report["ok"] = not any(d.severity == "error" for d in diags)
    report["name"] = checked.name
    report["diagnostics"] = [d.to_dict() for d in diags]
    text = source.source if isinstance(source, A.Program) else source
    report["_text"] = "\n\n".join(d.render(text) for d in diags)
    report["params"] = [{"name": p.name, "type": str(p.ty), "direction": p.direction or "constant",
                         "uses_beta": p.uses_beta} for p in checked.params]
    report["schedule"] = [r.to_dict() for r in results]
    report["_results"] = results
    report["_checked"] = checked
    report["_diagnostics"] = diags
    return report


def prove(program: CheckedProgram) -> list:
    """Prove, refute or give up on every knob's declared direction and range
    (a list of :class:`tts_dsl.lang.prover.KnobResult`, in declaration order)."""
    from .lang.prover import prove as _prove

    return _prove(program)


def schedule_table(results) -> list[str]:
    """The knob table ``tts-dsl check`` prints: one line per param (name, type, declared
    direction, proof status, values over beta in [0, 1]), from :func:`prove`'s results."""
    rows = []
    for r in results:
        p = r.param
        rng = ""
        if str(p.ty) == "bool":
            rng = str(bool(r.lo)).lower() if r.lo == r.hi and r.lo is not None else "false .. true"
        elif r.lo is not None and r.hi is not None:
            rng = f"{r.lo:g} .. {r.hi:g}" if r.lo != r.hi else f"{r.lo:g}"
        status = r.status
        if r.range_status != "proved":
            status += f", range {r.range_status}"
        rows.append((r.name, str(p.ty), r.declared or "constant", status, rng))
    if not rows:
        return []
    w = [max(len(x[i]) for x in rows) for i in range(5)]
    return ["  " + "  ".join(x[i].ljust(w[i]) for i in range(5)).rstrip() for x in rows]


def format_source(source: str, file: str = "<program>", limits: Limits | None = None) -> str:
    """The canonical layout of ``source`` (raises :class:`DiagnosticsError` if it does not parse)."""
    from .lang.formatter import format_source as _fmt

    return _fmt(source, file, limits)


def language_reference() -> str:
    """The language reference as Markdown, generated from the grammar and the built-ins
    (the text discovery prompts use)."""
    from .discovery.langref import language_reference as _ref

    return _ref()


def vocabulary() -> dict:
    """Every name a program can use without declaring it, with its documentation, for
    editors and agents: ``keywords``, ``directions``, ``sort_orders``, ``actions``
    (name -> doc), ``functions`` (name -> (signature, doc, usable in params)), ``state``
    and ``branch_attrs`` (name -> (type, doc)), ``records`` (type -> field -> type),
    ``types`` (the type names, ``list`` and ``map`` included)."""
    from .lang import builtins as B
    from .lang.parser import DIRECTIONS, KEYWORDS, SORT_ORDERS
    from .lang.types import RECORDS, SCALARS

    return {
        "keywords": sorted(KEYWORDS), "directions": list(DIRECTIONS), "sort_orders": list(SORT_ORDERS),
        "actions": dict(B.ACTION_DOCS),
        "functions": {f.name: (f.signature, f.doc, f.schedule_ok) for f in B.FUNCTIONS.values()},
        "state": {s.name: (str(s.ty), s.doc) for s in B.STATE.values()},
        "branch_attrs": {a.name: (str(a.ty), a.doc) for a in B.BRANCH_ATTRS.values()},
        "records": {str(ty): {n: str(t) for n, (_, t) in fields.items()} for ty, fields in RECORDS.items()},
        "types": sorted(SCALARS) + ["list", "map"],
    }


def default_beta(program: CheckedProgram, beta: float | None = None) -> float | None:
    """The beta ``eval`` and ``trace`` use: the one given, else 0.5 for programs whose
    params use beta, else None (beta changes nothing)."""
    return beta if beta is not None else (0.5 if program.uses_beta else None)


def trace(program, store: Store | None = None, question: int = 0, seed: int = 0, beta: float | None = None,
          params: dict | None = None, limits: Limits | None = None) -> dict:
    """One episode's trace record (``docs/traces.md``). Raises :class:`ValueError` for a
    question out of range, :class:`DiagnosticsError` for bad params, and
    :class:`tts_dsl.reporting.traces.TraceError` (holding the records up to the error) for a
    runtime error."""
    from .reporting.traces import trace_episodes

    prog = _as_checked(program)
    store = store if store is not None else open_store()
    if not 0 <= question < len(store.questions):
        raise ValueError(f"question {question} is out of range: {store.label} has {len(store.questions)} questions "
                         f"(0..{len(store.questions) - 1})")
    exe = compile(prog, default_beta(prog, beta), params, traced=True, limits=limits)
    return trace_episodes(exe, store, [question], [seed], limits, file=prog.file)[0]


def compare_report(configs: list, refs: list, seeds: int = 100, limits: Limits | None = None, executor=None,
                   baseline=None, n_boot: int = 2000, n_perm: int = 10000, ci_seed: int = 0, level: float = 0.95,
                   cost_range: tuple | None = None, overrides: dict | None = None, progress=None):
    """Evaluate every :class:`tts_dsl.reporting.compare.Config` on every store
    (:class:`tts_dsl.evaluation.sweep.StoreRef`) and build the report (accuracy with
    bootstrap intervals, paired tests against ``baseline``, frontier areas). Returns
    ``(report, cells)``; ``to_markdown(report)`` renders it."""
    import numpy as np

    from .evaluation.executors import get_executor
    from .evaluation.sweep import Task
    from .reporting.compare import Cell, build_report

    limits = limits or Limits()
    tasks, keys = [], []
    for cfg in configs:
        for r in refs:
            tasks.append(Task(cfg.source, cfg.file, r, cfg.beta, tuple(sorted(cfg.params.items())),
                              tuple(range(seeds)), limits, True))
            keys.append((cfg, r.label))
    ex = executor if executor is not None else get_executor("local", 1)
    rows = ex.map(tasks, progress) if progress is not None else ex.map(tasks)
    cells = []
    for (cfg, label), row in zip(keys, rows):
        err = row.get("error")
        corr = np.asarray(row["_correct"], dtype=float) if not err and row.get("_correct") else None
        cost = np.asarray(row["_cost"], dtype=float) if not err and row.get("_cost") else None
        cells.append(Cell(cfg, label, corr, cost, err))
    rep = build_report(cells, [r.label for r in refs], configs, baseline if len(configs) > 1 else None,
                       n_boot, n_perm, ci_seed, level, cost_range, overrides or {})
    return rep, cells


def shipped_programs() -> Path | None:
    """The directory of the shipped ``.tts`` programs: inside the installed package (wheel)
    or in the checkout; None if neither is present."""
    here = Path(__file__).resolve().parent
    for d in (here / "programs", here.parent / "programs"):
        if d.is_dir() and any(d.glob("*.tts")):
            return d
    return None


__all__ = [
    "parse", "check", "load", "compile", "open_store", "evaluate", "evaluate_one", "read_source",
    "check_report", "prove", "schedule_table", "format_source", "language_reference", "vocabulary", "default_beta", "trace",
    "compare_report", "shipped_programs",
    "CheckedProgram", "Executable", "EvalResult", "Store", "StoreError", "Diagnostic", "DiagnosticsError",
    "Limits", "Binding", "list_models", "list_datasets",
]
