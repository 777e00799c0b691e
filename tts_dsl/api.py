"""The Python API: load and check programs, open stores, evaluate, get DataFrames.

    import tts_dsl
    prog = tts_dsl.load("programs/asc.tts")                 # parse + check
    store = tts_dsl.open_store("../shared/replay", "Qwen3-8B", "aime24")
    df = tts_dsl.evaluate(prog, store, params={"max_samples": 16})
    df[["accuracy", "avg_cost"]]
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable

from .evaluation.runner import EvalResult, run
from .lang import ast as A
from .lang.builder import parse_program
from .lang.checker import CheckedProgram, check_program
from .engines import fast
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


def read_source(path: str | Path, limits: Limits | None = None) -> str:
    """The text of a program file. At most 4 bytes per allowed character are read (plus one):
    ``/dev/zero`` or a huge file is refused with L001, not read into memory."""
    p = Path(path)
    report = Reporter(str(p), "parse")
    cap = (limits or Limits()).max_source_chars * 4
    try:
        with open(p, "rb") as fh:
            raw = fh.read(cap + 1)
        if len(raw) > cap:
            report.source_too_long(NOWHERE, cap // 4, cap // 4, at_least=True)
            raise DiagnosticsError(report.diagnostics)
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
    return check(read_source(path, limits), str(path), limits)


def compile(program: CheckedProgram, beta: float | None = None, params: dict | None = None,  # noqa: A001
            traced: bool = False, limits: Limits | None = None, episodes: int | None = None) -> Executable:
    """Bind the params at ``beta`` (with overrides) and compile to an executable. ``episodes``:
    how many episodes it will run, when known (the native engine is not worth compiling for a
    few; see ``engines.fast.attach``)."""
    exe = compile_program(program, bind(program, beta, params), limits, traced)
    return exe if traced else fast.attach(exe, limits, episodes)


def open_store(root: str | Path | None = None, model: str | None = None, dataset: str | None = None,
               **synthetic_kw) -> Store:
    """A replay store; without ``root``, the embedded synthetic default store."""
    if root is None:
        return synthetic_store(**synthetic_kw)
    return load_store(root, model, dataset)


def _as_checked(program) -> CheckedProgram:
    if isinstance(program, CheckedProgram):
        return program
    if isinstance(program, Path) or (isinstance(program, str) and "\n" not in program):
        path = find_program(program)  # a path, or a shipped program's name
        if path.suffix == ".tts" or path.is_file():
            return load(path)
    if isinstance(program, str):
        return check(program)
    raise TypeError(f"expected a CheckedProgram, a .tts path or program text, got {type(program).__name__}")


def evaluate_one(program, store: Store | None = None, beta: float | None = None, params: dict | None = None,
                 seeds: int | Iterable[int] = 100, limits: Limits | None = None) -> EvalResult:
    """One evaluation in this process. ``beta`` must be in [0, 1]; None means 0.5 for
    programs whose params use beta (and the result says 0.5), None otherwise. ``seeds``: N
    (1..10000) or a list."""
    from .evaluation.sweep import check_beta, check_seeds

    prog = _as_checked(program)
    store = store if store is not None else open_store()
    seeds = check_seeds(seeds)
    beta = default_beta(prog, None if beta is None else check_beta(beta))
    exe = compile(prog, beta, params, limits=limits, episodes=len(store.questions) * len(seeds))
    return run(exe, store, seeds, limits)


def evaluate(program, stores: Store | list[Store] | None = None, beta=None, params: dict | None = None,
             seeds: int | Iterable[int] = 100, limits: Limits | None = None):
    """Evaluate on one or more stores and betas, in this process (:func:`sweep` runs in
    parallel); one DataFrame row per (store, beta). ``beta``: None, a number, a list or a
    numpy array, each in [0, 1].

    Columns: program, model, dataset, beta, accuracy, avg_cost, episodes, seeds, wall_s,
    action_cap, step_cap, error, and ``param.<name>`` for every knob value.
    """
    import pandas as pd

    from .evaluation.sweep import check_betas

    prog = _as_checked(program)
    if stores is None:
        stores = [open_store()]
    elif isinstance(stores, Store):
        stores = [stores]
    betas = check_betas(beta) or [None]
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
    from .engines.analysis import bound_diagnostics
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
    diags += bound_diagnostics(checked, limits, overrides=overrides)
    report["ok"] = not any(d.severity == "error" for d in diags)
    report["name"] = checked.name
    report["diagnostics"] = [d.to_dict() for d in diags]
    text = source.source if isinstance(source, A.Program) else source
    report["_text"] = "\n\n".join(d.render(text) for d in diags)
    report["params"] = [{"name": p.name, "type": str(p.ty), "direction": p.direction or "constant",
                         "uses_beta": p.uses_beta} for p in checked.params]
    report["schedule"] = [r.to_dict() for r in results]
    if report["ok"]:
        report["engine"] = fast.engine_for(checked, limits)
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


def trace(program, store: Store | str | Path | None = None, question: int = 0, seed: int = 0,
          beta: float | None = None, params: dict | None = None, limits: Limits | None = None,
          model: str | None = None, dataset: str | None = None) -> dict:
    """``tts-dsl trace`` from Python: one episode's trace record (``docs/traces.md``).
    ``program``: a checked program, a path, a shipped program's name or program text;
    ``store``: a :class:`Store`, a store path (with ``model``/``dataset``) or None (the
    synthetic store). Raises :class:`ValueError` for a question out of range or a bad beta,
    :class:`DiagnosticsError` for bad params, and
    :class:`tts_dsl.reporting.traces.TraceError` (holding the records up to the error) for a
    runtime error."""
    from .evaluation.sweep import check_beta, resolve_stores
    from .reporting.traces import trace_episodes

    prog = _as_checked(program)
    if isinstance(store, (str, Path)):
        refs = resolve_stores(str(store), model, dataset)
        if len(refs) != 1:
            raise ValueError(f"{store} holds {len(refs)} stores; pick one with model= and dataset=")
        store = refs[0].load()
    store = store if store is not None else open_store()
    beta = None if beta is None else check_beta(beta)
    if not 0 <= question < len(store.questions):
        raise ValueError(f"question {question} is out of range: {store.label} has {len(store.questions)} questions "
                         f"(0..{len(store.questions) - 1})")
    exe = compile(prog, default_beta(prog, beta), params, traced=True, limits=limits)
    return trace_episodes(exe, store, [question], [seed], limits, file=prog.file)[0]


def compare_configs(programs, betas_given=None, sets: dict | None = None, sweeps: dict | None = None,
                    limits: Limits | None = None) -> list:
    """The rows of a comparison (``tts-dsl compare``): each program (a path or a shipped
    program's name) at each beta (programs whose params use beta; 0.5 by default) and each
    combination of its ``sweeps`` values, with the ``sets`` overrides it declares. Raises
    ValueError for a set or sweep no program declares, DiagnosticsError for a bad program."""
    from .reporting.compare import Config

    sets, sweeps, limits = sets or {}, sweeps or {}, limits or Limits()
    configs = []
    used_sets, used_sweeps = set(), set()
    names_seen: dict = {}
    for path in map(str, map(find_program, programs)):
        src = read_source(path)
        checked = check(src, path, limits)
        pnames = {p.name for p in checked.params}
        mine_sets = {k: v for k, v in sets.items() if k in pnames}
        used_sets |= set(mine_sets)
        mine_sweeps = {k: v for k, v in sweeps.items() if k in pnames}
        used_sweeps |= set(mine_sweeps)
        betas = (betas_given or [0.5]) if checked.uses_beta else [None]
        name = checked.name
        if name in names_seen and names_seen[name] != path:
            name = f"{name}({path})"
        names_seen[name] = path
        keys = list(mine_sweeps)
        for b in betas:
            for combo in itertools.product(*(mine_sweeps[k] for k in keys)) if keys else [()]:
                params = {**mine_sets, **dict(zip(keys, combo))}
                bind(checked, b, params)  # params errors (ranges, types) before running anything
                configs.append(Config(name, path, src, b, params, dict(zip(keys, combo))))
    for k in sets:
        if k not in used_sets:
            raise ValueError(f"--set {k}: no program declares a param '{k}'")
    for k in sweeps:
        if k not in used_sweeps:
            raise ValueError(f"--sweep {k}: no program declares a param '{k}'")
    return configs


def choose_baseline(configs, spec: str | None = None):
    """The row to pair against: ``spec`` is a row label ('sc n=64') or a program name (its
    first row); None is the first row."""
    if not configs:
        return None
    if spec is None:
        return configs[0]
    for c in configs:
        if c.label == spec:
            return c
    for c in configs:
        if c.program == spec or c.file == spec:
            return c
    labels = ", ".join(repr(c.label) for c in configs[:12])
    raise ValueError(f"--baseline {spec!r} matches no row; rows: {labels}{', …' if len(configs) > 12 else ''}")


def compare_report(configs: list, refs: list, seeds: int = 100, limits: Limits | None = None, executor=None,
                   baseline=None, n_boot: int = 2000, n_perm: int = 10000, ci_seed: int = 0, level: float = 0.95,
                   cost_range: tuple | None = None, overrides: dict | None = None, progress=None):
    """Evaluate every :class:`tts_dsl.reporting.compare.Config` on every store
    (:class:`tts_dsl.evaluation.sweep.StoreRef`) and build the report (accuracy with
    bootstrap intervals, paired tests against ``baseline``, frontier areas). Returns
    ``(report, cells)``; ``to_markdown(report)`` renders it."""
    import numpy as np

    from .evaluation.cache import tool_version
    from .evaluation.executors import get_executor
    from .evaluation.sweep import Task, program_hash, seed_list
    from .reporting.compare import Cell, add_provenance, build_report

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
    add_provenance(rep, tool_version(), {r.label: r.load().digest for r in refs},
                   {c.program: program_hash(c.source) for c in configs}, seed_list(range(seeds)))
    return rep, cells


def find_program(ref: str | Path) -> Path:
    """A program file: ``ref`` itself when it exists, else the shipped program of that name
    (``asc`` or ``asc.tts``, see :func:`shipped_programs`), else ``ref`` unchanged (reading
    it then reports the missing file)."""
    p = Path(ref)
    if p.exists() or len(p.parts) != 1:
        return p
    shipped = shipped_programs()
    if shipped is not None:
        cand = shipped / (p.name if p.suffix == ".tts" else f"{p.name}.tts")
        if cand.is_file():
            return cand
    return p


def program_summary(path: str | Path) -> str | None:
    """The first line of a program's leading comment (None without one)."""
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                s = line.strip()
                if s.startswith("#"):
                    return s.lstrip("# ")[:200]
                if s:
                    return None
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _sources(programs, limits: Limits) -> list[tuple[str, str]]:
    """Programs as (text, file): paths, shipped programs' names, program text, checked programs."""
    if isinstance(programs, (str, Path, CheckedProgram)):
        programs = [programs]
    out = []
    for p in programs:
        if isinstance(p, CheckedProgram):
            out.append((p.source, p.file))
        elif isinstance(p, str) and "\n" in p:  # program text
            check(p, "<program>", limits)
            out.append((p, "<program>"))
        else:
            path = str(find_program(p))
            src = read_source(path)
            check(src, path, limits)
            out.append((src, path))
    return out


def _executor(executor, jobs: int | None, address: str | None = None):
    from .evaluation.executors import get_executor

    return get_executor(executor, jobs, address) if isinstance(executor, str) else executor


def sweep(programs, store: str | Path | None = None, model: str | None = None, dataset: str | None = None,
          beta=None, params: dict | None = None, seeds=100, limits: Limits | None = None, jobs: int | None = None,
          executor="local", address: str | None = None, episodes: bool = False, progress=None):
    """``tts-dsl eval`` from Python: every program on every store, over the betas, in
    parallel (``jobs`` worker processes, default all cores; ``jobs=1`` runs in this process).

    ``programs``: a path, a shipped program's name (``"asc"``), program text or a checked
    program, or a list of them. ``store``/``model``/``dataset`` as the CLI's ``--store``,
    ``--model``, ``--dataset`` (None: the embedded synthetic store). ``beta``: None (0.5 for
    programs whose params use beta), a number, a list, a numpy array or a spec like
    ``"0:1:0.1"``; each must be in [0, 1]. ``seeds``: N (seeds 0..N-1, 1 <= N <= 10000) or a
    list. Programs whose params ignore beta are evaluated once, with ``beta`` None in the row.

    Returns a DataFrame, one row per (program, store, beta), with the columns of
    ``eval --out`` (provenance included: ``tool``, ``store_hash``, ``program_hash``,
    ``seed_list``); with ``episodes=True`` also ``correct`` and ``cost``, numpy arrays of
    shape (seeds, questions). Raises ValueError for a bad beta or seeds, DiagnosticsError
    for a bad program or param, StoreError for a bad store. Ctrl-C raises
    :class:`tts_dsl.evaluation.sweep.Interrupted` holding the rows finished so far."""
    import numpy as np
    import pandas as pd

    from .evaluation.sweep import check_betas, check_seeds, plan_sweep, resolve_stores

    limits = limits or Limits()
    betas = check_betas(beta)
    seeds = check_seeds(seeds)
    refs = resolve_stores(None if store is None else str(store), model, dataset)
    for r in refs:
        r.load()
    tasks, _ = plan_sweep(_sources(programs, limits), refs, betas, dict(params or {}), seeds, limits, episodes)
    ex = _executor(executor, jobs, address)
    rows = ex.map(tasks, progress) if progress is not None else ex.map(tasks)
    if episodes:
        for r in rows:
            for k in ("correct", "cost"):
                v = r.pop(f"_{k}", None)
                r[k] = np.asarray(v, dtype=np.int64) if v else None
    return pd.DataFrame(rows)


def compare(programs, store: str | Path | None = None, model: str | None = None, dataset: str | None = None,
            beta=None, params: dict | None = None, sweeps: dict | None = None, baseline: str | None = None,
            seeds: int = 100, n_boot: int = 2000, n_perm: int = 10000, ci_seed: int = 0, level: float = 0.95,
            cost_range: tuple | None = None, limits: Limits | None = None, jobs: int | None = None,
            executor="local", address: str | None = None, progress=None):
    """``tts-dsl compare`` from Python (parallel by default): returns the report
    (:class:`tts_dsl.reporting.compare.Report`; ``.markdown()`` is what the CLI prints,
    ``.frame()`` its CSV as a DataFrame, ``.json()`` its ``--json``). ``sweeps``:
    ``{"n": [4, 8, 16]}``, one row per value; ``baseline``: a row label or a program name
    (default: the first row); ``beta``, ``seeds`` and the store as for :func:`sweep`."""
    from .evaluation.sweep import check_betas, check_seeds, resolve_stores

    limits = limits or Limits()
    betas = check_betas(beta)
    if not isinstance(seeds, int):
        raise ValueError("compare takes a number of seeds N (seeds 0..N-1)")
    n_seeds = len(check_seeds(seeds))
    if isinstance(programs, (str, Path)):
        programs = [programs]
    refs = resolve_stores(None if store is None else str(store), model, dataset)
    for r in refs:
        r.load()
    configs = compare_configs(programs, betas, dict(params or {}), dict(sweeps or {}), limits)
    base = choose_baseline(configs, baseline)
    rep, _ = compare_report(configs, refs, n_seeds, limits, _executor(executor, jobs, address), base, n_boot,
                            n_perm, ci_seed, level, cost_range, dict(params or {}), progress)
    return rep


class DiscoveryResult:
    """What :func:`discover` returns: a finished discovery run. ``run_dir`` holds it all
    (``candidates.jsonl``, ``final.json``, ``report.md``, ``best.tts``); ``final`` is
    ``final.json``'s content. ``selected`` is the winner under the config's rule,
    ``winners`` the winner under each rule, ``scores[label]`` a winner's (or seed program's)
    scores: ``search_hv``, ``validation_hv`` and its ``validation_interval`` ``(lo, hi)``,
    ``heldout_hv`` (None where not judged)."""

    def __init__(self, run_dir: str | Path, final: dict):
        self.run_dir = Path(run_dir)
        self.final = final

    @property
    def selected(self) -> str | None:
        return self.final.get("selected")

    @property
    def winners(self) -> dict:
        return dict(self.final.get("winners") or {})

    @property
    def stop_reason(self) -> str | None:
        return self.final.get("stop_reason")

    @property
    def scores(self) -> dict:
        def hv(e, part):
            s = e.get(f"{part}_score")
            return s.get("hv") if s else None

        out = {}
        for label, e in (self.final.get("programs") or {}).items():
            iv = e.get("validation_interval")
            out[label] = {"search_hv": hv(e, "search"), "validation_hv": hv(e, "validation"),
                          "validation_interval": (iv["lo"], iv["hi"]) if iv else None,
                          "heldout_hv": hv(e, "heldout")}
        return out

    @property
    def final_json(self) -> Path:
        return self.run_dir / "final.json"

    @property
    def report(self) -> Path:
        return self.run_dir / "report.md"

    @property
    def best(self) -> Path | None:
        """``best.tts``, the selected program (None when nothing was selected)."""
        p = self.run_dir / "best.tts"
        return p if p.is_file() else None

    @property
    def failed(self) -> bool:
        """The run stopped on repeated proposer failures (``tts-dsl discover`` exits 1)."""
        return str(self.stop_reason or "").startswith("proposer error")

    def selection_line(self) -> str | None:
        """The winner and its scores, as ``tts-dsl discover`` prints them."""
        sel = self.selected
        if not sel:
            return None
        e = self.final["programs"][sel]
        line = f"selected {sel} ({self.final['rule']} rule): search hv {e['search_score']['hv']:.3f}"
        if e.get("validation_score"):
            iv = e["validation_interval"]
            line += f", validation hv {e['validation_score']['hv']:.3f} [{iv['lo']:.2f}, {iv['hi']:.2f}]"
        if "beats_every_seed" in e:
            line += ("; beats every seed program significantly" if e["beats_every_seed"] else
                     "; does not beat every seed program significantly")
        return line

    def summary(self) -> str:
        """What ``tts-dsl discover`` prints at the end (stdout)."""
        lines = [f"{self.final['rounds']} round(s), {self.final['valid']} valid; stopped: {self.stop_reason}"]
        sel = self.selection_line()
        if sel:
            lines.append(sel)
        lines.append(f"report: {self.report}; best program: {self.run_dir / 'best.tts'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        sc = self.scores.get(self.selected) or {}
        hv = "".join(f", {k[:-3]} hv {sc[k]:.3f}" for k in ("search_hv", "validation_hv") if sc.get(k) is not None)
        return (f"<DiscoveryResult {self.run_dir}: selected {self.selected}{hv}; "
                f"{self.final.get('rounds')} rounds, {self.final.get('valid')} valid>")


def discovery_config(config, overrides: dict | None = None):
    """A :class:`tts_dsl.discovery.DiscoverConfig` from a TOML file's path, a dict of its
    tables (relative paths against the current directory) or a config, with the non-None
    ``overrides`` (``max_rounds``, ``jobs``, ...) applied. Raises
    :class:`tts_dsl.discovery.ConfigError` with the messages of ``tts-dsl discover``."""
    import copy

    from .discovery.config import DiscoverConfig, config_from_dict, load_config

    if isinstance(config, DiscoverConfig):
        cfg = copy.deepcopy(config)
    elif isinstance(config, dict):
        cfg = config_from_dict(config)
    else:
        cfg = load_config(config)
    for k, v in (overrides or {}).items():
        if v is not None:
            setattr(cfg, k, v)
    return cfg


def open_discovery(config=None, resume: str | Path | None = None, out: str | Path | None = None,
                   overrides: dict | None = None, log=None, **kw):
    """The :class:`tts_dsl.discovery.Discovery` ``tts-dsl discover`` runs: a new run from
    ``config`` (see :func:`discovery_config`) in ``out`` (default: the config's ``run.out``),
    or the run in ``resume`` continued, with ``overrides``. Raises ValueError for both or
    neither, FileExistsError for an ``out`` that holds a run, FileNotFoundError for a
    ``resume`` that does not, ConfigError for a bad config."""
    from .discovery.loop import Discovery

    if (config is None) == (resume is None):
        raise ValueError("give exactly one of a config (a new run) or resume=DIR (continue a run)")
    if resume is not None:
        return Discovery.resume(resume, overrides, log=log, **kw)
    cfg = discovery_config(config, overrides)
    return Discovery.start(cfg, Path(out) if out else cfg.path(cfg.out), log=log, **kw)


def discover(config=None, *, resume: str | Path | None = None, out: str | Path | None = None,
             max_rounds: int | None = None, max_wall_s: float | None = None, max_llm_calls: int | None = None,
             max_usd: float | None = None, jobs: int | None = None, parallel: int | None = None, log=None,
             proposer=None, executor=None) -> DiscoveryResult:
    """``tts-dsl discover`` from Python: propose, validate, evaluate and select controllers
    (docs/discovery.md); returns a :class:`DiscoveryResult` (the run directory, the selected
    program and the winners, their scores, ``final.json`` and ``report.md``).

    ``config``: a TOML config's path (relative paths in it against its directory), a dict of
    its tables, or a :class:`tts_dsl.discovery.DiscoverConfig`; the run goes to ``out``
    (default: the config's ``run.out``). ``resume=DIR`` instead continues the run in DIR
    after its last complete record (as ``--resume``). ``max_rounds``, ``max_wall_s``,
    ``max_llm_calls``, ``max_usd``, ``jobs`` and ``parallel`` override the config as the
    CLI's options do. Evaluation is parallel by default: ``jobs`` worker processes, else
    the config's ``[evaluation] jobs``, else all cores. ``log``: a callable that takes each
    progress line (default: silent; ``log=print`` shows them). ``proposer``/``executor``:
    objects used instead of the configured ones.

    Raises what the CLI reports as errors: ValueError for both or neither of ``config`` and
    ``resume``, :class:`tts_dsl.discovery.ConfigError` for a bad config, FileExistsError
    for an ``out`` that already holds a run, FileNotFoundError for a ``resume`` without one,
    :class:`tts_dsl.discovery.proposers.ProposerError` when the pre-flight check fails
    (nothing was evaluated) or when repeated proposer failures stopped the run (then
    ``ex.result`` is the :class:`DiscoveryResult`). Ctrl-C raises KeyboardInterrupt; the
    records so far are kept, and ``discover(resume=run_dir)`` continues."""
    from .discovery.proposers import ProposerError

    overrides = {"max_rounds": max_rounds, "max_wall_s": max_wall_s, "max_llm_calls": max_llm_calls,
                 "max_usd": max_usd, "jobs": jobs, "parallel": parallel}
    d = open_discovery(config, resume, out, overrides, log, proposer=proposer, executor=executor)
    try:
        final = d.run()
    except ProposerError as ex:  # the pre-flight check
        raise ProposerError(preflight_message(ex), fatal=True) from None
    res = DiscoveryResult(d.archive.root, final)
    if res.failed:
        err = ProposerError(f"the run stopped on a proposer failure: {res.stop_reason}", fatal=True)
        err.result = res
        raise err
    return res


def preflight_message(ex: Exception) -> str:
    """A failed pre-flight check (``d.run()`` raised ProposerError before any evaluation)."""
    return f"{ex}; nothing was evaluated"


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
    "compare_report", "shipped_programs", "find_program", "program_summary", "sweep", "compare",
    "compare_configs", "choose_baseline", "discover", "DiscoveryResult", "discovery_config", "open_discovery",
    "CheckedProgram", "Executable", "EvalResult", "Store", "StoreError", "Diagnostic", "DiagnosticsError",
    "Limits", "Binding", "list_models", "list_datasets",
]
