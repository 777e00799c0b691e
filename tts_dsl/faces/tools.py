"""What the MCP tools do, without MCP: a :class:`Sandbox` (the workspace directory, the store
roots and the program directories given on the command line) and the functions behind
each tool. Functions named ``run_*`` execute programs; the server calls them in a worker
process with a time cap (:mod:`tts_dsl.faces.worker`), so they take and return plain data.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import api
from ..lang.diagnostics import did_you_mean

SYNTHETIC = "synthetic"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ToolInputError(ValueError):
    """A bad argument: the message says what to send instead."""


# ----------------------------------------------------------------- the sandbox
@dataclass
class Sandbox:
    workspace: Path
    store_roots: dict = field(default_factory=dict)  # name -> Path
    program_dirs: dict = field(default_factory=dict)  # name -> Path (read-only)
    max_seeds: int = 1000
    max_evaluations: int = 64
    max_output_chars: int = 60_000

    @classmethod
    def create(cls, workspace, store_roots=(), program_dirs=(), **kw) -> "Sandbox":
        ws = Path(workspace).resolve()
        (ws / "programs").mkdir(parents=True, exist_ok=True)
        (ws / "tmp").mkdir(exist_ok=True)
        roots = _named_dirs(store_roots, "--store-root")
        progs = {}
        shipped = api.shipped_programs()
        if shipped is not None:
            progs["programs"] = shipped
        progs.update(_named_dirs(program_dirs, "--programs"))
        progs["workspace"] = ws / "programs"
        return cls(ws, roots, progs, **kw)

    # ------------------------------------------------------------ programs
    def list_programs(self) -> list[dict]:
        out = []
        for name, d in self.program_dirs.items():
            for p in sorted(d.glob("*.tts")):
                first = api.program_summary(p)
                out.append({"id": f"{name}/{p.name}", "writable": name == "workspace", "summary": first})
        return out

    def program_path(self, pid: str) -> Path:
        d, _, fname = pid.partition("/")
        if d not in self.program_dirs or not NAME_RE.match(fname) or not fname.endswith(".tts"):
            ids = ", ".join(p["id"] for p in self.list_programs()[:20])
            raise ToolInputError(f"no program {pid!r}; programs: {ids}")
        p = self.program_dirs[d] / fname
        if not p.is_file():
            hint = did_you_mean(pid, [x["id"] for x in self.list_programs()])
            raise ToolInputError(f"no program {pid!r}" + (f"; {hint}" if hint else "; see list_programs"))
        return p

    def read_program(self, pid: str) -> str:
        return self.program_path(pid).read_text(encoding="utf-8")

    def program_source(self, program: str) -> tuple[str, str]:
        """A tool's ``program`` argument: program text, or the id of a listed program
        (``programs/asc.tts``). Returns (text, file name for diagnostics)."""
        if "\n" not in program and program.strip().endswith(".tts"):
            pid = program.strip()
            return self.read_program(pid), pid
        return program, "<program>"

    def save_program(self, name: str, text: str) -> str:
        fname = name if name.endswith(".tts") else f"{name}.tts"
        if not NAME_RE.match(fname) or "/" in fname or fname.startswith("."):
            raise ToolInputError(f"bad program name {name!r}: use letters, digits, '_', '-' and '.'")
        if len(text) > api.Limits().max_source_chars:
            raise ToolInputError("program too long")
        path = self.program_dirs["workspace"] / fname
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        return f"workspace/{fname}"

    # -------------------------------------------------------------- stores
    def list_stores(self) -> list[dict]:
        out = [{"id": SYNTHETIC, "about": "the embedded deterministic synthetic store (30 questions, 128 branches); "
                                        "'synthetic:SEED' for another seed"}]
        for name, root in self.store_roots.items():
            for m in api.list_models(root):
                for d in api.list_datasets(root, m):
                    out.append({"id": f"{name}/{m}/{d}", "model": m, "dataset": d})
        return out

    def store_ref(self, sid: str) -> dict:
        """A store id -> the plain arguments of a StoreRef (checked against the roots)."""
        sid = sid.strip()
        if sid == SYNTHETIC or sid.startswith(SYNTHETIC + ":"):
            seed = sid.partition(":")[2] or "0"
            if not seed.isdigit() or int(seed) > 10**6:
                raise ToolInputError(f"bad store {sid!r}: use 'synthetic' or 'synthetic:SEED'")
            return {"root": None, "model": None, "dataset": None, "synthetic_seed": int(seed)}
        parts = sid.split("/")
        ids = [s["id"] for s in self.list_stores()]
        if len(parts) != 3 or parts[0] not in self.store_roots or sid not in ids:
            hint = did_you_mean(sid, ids)
            raise ToolInputError(f"no store {sid!r}" + (f"; {hint}" if hint else "") +
                                 f"; stores: {', '.join(ids[:20])}")
        return {"root": str(self.store_roots[parts[0]]), "model": parts[1], "dataset": parts[2]}

    # ------------------------------------------------------------- output
    def bounded(self, obj) -> str:
        """JSON text of ``obj``, cut to ``max_output_chars`` (the cut is said)."""
        text = obj if isinstance(obj, str) else json.dumps(obj, indent=1, allow_nan=False, default=str)
        if len(text) <= self.max_output_chars:
            return text
        return (text[: self.max_output_chars] +
                f"\n... [output truncated at {self.max_output_chars:,} of {len(text):,} characters; "
                "ask for less: fewer stores, betas or events]")


def _named_dirs(values, option: str) -> dict:
    out = {}
    for v in values:
        name, sep, path = str(v).partition("=")
        if not sep:
            path, name = name, Path(name).resolve().name
        p = Path(path).resolve()
        if not p.is_dir():
            raise ToolInputError(f"{option} {v}: no such directory")
        if not NAME_RE.match(name) or name in out or name in (SYNTHETIC, "workspace"):
            raise ToolInputError(f"{option} {v}: give it a unique name: NAME=DIR")
        out[name] = p
    return out


# ----------------------------------------------------- run in the worker process
def run_check(source: str, file: str) -> dict:
    rep = api.check_report(source, file)
    out = {k: v for k, v in rep.items() if not k.startswith("_")}
    lines = api.schedule_table(rep.get("_results") or [])
    head = f"{file}: {'ok' if rep['ok'] else 'invalid'}" + (f" (controller {rep['name']})" if rep.get("name") else "")
    out["text"] = "\n".join([head, *lines] + ([rep["_text"]] if rep.get("_text") else []))
    return out


def _store_refs(stores: list[dict]):
    from ..evaluation.sweep import StoreRef

    return [StoreRef(**s) for s in stores]


def _limits(max_actions: int | None, max_seconds: float | None) -> "api.Limits":
    lim = api.Limits()
    if max_actions is not None:
        lim = lim.with_(max_actions=max_actions)
    return lim.with_(max_seconds=max_seconds)


def run_evaluate(source: str, file: str, stores: list[dict], betas: list | None, params: dict, seeds: int,
                 max_actions: int | None = None, max_seconds: float | None = None) -> dict:
    """Rows as ``tts-dsl eval --json`` prints them (schema eval-row.v1.json)."""
    from ..evaluation.executors import get_executor
    from ..evaluation.sweep import make_tasks
    from ..lang.schedule import bind

    limits = _limits(max_actions, max_seconds)
    checked = api.check(source, file, limits)
    bind(checked, betas[0] if betas else None, params)  # params errors before running
    if not betas:
        betas = [api.default_beta(checked) if any(k.uses_beta and k.name not in params
                                                  for k in checked.params) else None]
    tasks = make_tasks([(source, file)], _store_refs(stores), betas, params, range(seeds), limits)
    rows = get_executor("local", 1).map(tasks)
    return {"program": checked.name, "rows": rows}


def run_trace(source: str, file: str, store: dict, question: int, seed: int, beta: float | None, params: dict,
              fmt: str, max_events: int, max_actions: int | None = None) -> dict:
    from ..reporting.timeline import render_timeline
    from ..reporting.traces import TraceError

    limits = _limits(max_actions, None)
    checked = api.check(source, file, limits)
    st = _store_refs([store])[0].load()
    error = None
    try:
        rec = api.trace(checked, st, question, seed, beta, params, limits)
    except TraceError as ex:
        if not ex.records:
            raise
        rec, error = ex.records[-1], ex.diagnostic.render(source)
    if fmt == "text":
        out = {"timeline": render_timeline(rec, decisions=True, max_events=max_events)}
    else:
        n = len(rec["events"])
        rec = {**rec, "events": rec["events"][:max_events]}
        out = {"record": rec, "events_omitted": max(0, n - max_events)}
    if error:
        out["error"] = error
    return out


def run_compare(programs: list[tuple[str, str]], stores: list[dict], betas: list | None, seeds: int,
                n_boot: int) -> dict:
    from ..reporting.compare import Config, to_markdown

    limits = api.Limits()
    configs = []
    for source, file in programs:
        checked = api.check(source, file, limits)
        name = checked.name if all(c.program != checked.name for c in configs) else f"{checked.name}({file})"
        for b in ((betas or [0.5]) if checked.uses_beta else [None]):
            configs.append(Config(name, file, source, b, {}, {}))
    rep, cells = api.compare_report(configs, _store_refs(stores), seeds, limits, None, configs[0], n_boot)
    return {"report": to_markdown(rep), "rows": [{k: v for k, v in r.items() if not str(k).startswith("_")}
                                                for r in rep.rows],
            "errors": [f"{c.config.label} on {c.store}: {c.error}" for c in cells if c.error]}
