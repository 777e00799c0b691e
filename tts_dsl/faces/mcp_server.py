"""``tts-dsl mcp``: the language as Model Context Protocol tools, over stdio.

An agent CLI (Claude Code, Codex, Gemini CLI, ...) starts this server and gets checked,
sandboxed tools instead of a shell: the language reference, check, evaluate, trace,
compare, the stores and programs it may use, and a workspace to save programs in. Every
call that runs a program goes to a worker process with a hard time cap; every output is
cut to a size cap; stores come only from the ``--store-root`` directories, and nothing is
written outside ``--workspace``. See docs/agents.md.
"""

from __future__ import annotations

import json
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from .. import api
from .tools import Sandbox, ToolInputError
from .worker import CallTimeout, Worker, WorkerError

INSTRUCTIONS = """\
Tools for tts-dsl, a small checked language for test-time-scaling controllers (how an LLM's
inference budget is spent across parallel reasoning branches). Start with
language_reference, read a shipped program (list_programs, read_program), write your own,
run check until it is clean (diagnostics carry line, column, code and a hint), then
evaluate it on the stores from list_stores (accuracy % and avg_cost tokens per question,
under the replay protocol), trace one episode to see what it did, and compare programs
with bootstrap intervals. save_program keeps a program in the workspace. Program
arguments take program text, or the id of a listed program such as 'programs/asc.tts'."""

MAX_BETAS = 21
MAX_STORES = 8
MAX_PROGRAMS = 8


def _err(message: str) -> ToolError:
    return ToolError(message)


def build_server(sandbox: Sandbox, time_cap: float = 60.0, worker: Worker | None = None):
    """The MCP server object (``.run()`` serves stdio)."""
    worker = worker or Worker(cwd=str(sandbox.workspace), env={"TMPDIR": str(sandbox.workspace / "tmp"),
                                                                 "MPLBACKEND": "Agg"})
    server = MCPServer(name="tts-dsl", instructions=INSTRUCTIONS, version=_version(), log_level="WARNING")
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    def cap_of(requested: float | None) -> float:
        return time_cap if requested is None else max(0.1, min(float(requested), time_cap))

    def run(target: str, cap: float | None, **kwargs):
        try:
            return worker.call(f"tts_dsl.faces.tools.{target}", cap_of(cap), **kwargs)
        except CallTimeout as ex:
            raise _err(f"time cap: {ex}") from None
        except WorkerError as ex:
            if ex.kind == "DiagnosticsError":
                raise _err(str(ex)) from None
            raise _err(f"{ex.kind}: {ex}") from None

    def source(program: str) -> tuple[str, str]:
        try:
            return sandbox.program_source(program)
        except ToolInputError as ex:
            raise _err(str(ex)) from None

    def stores_of(stores: list[str] | None) -> list[dict]:
        stores = stores or ["synthetic"]
        if len(stores) > MAX_STORES:
            raise _err(f"at most {MAX_STORES} stores per call")
        try:
            return [sandbox.store_ref(s) for s in stores]
        except ToolInputError as ex:
            raise _err(str(ex)) from None

    def seeds_of(seeds: int) -> int:
        if not 1 <= seeds <= sandbox.max_seeds:
            raise _err(f"seeds must be in 1..{sandbox.max_seeds}")
        return seeds

    def betas_of(betas: list[float] | None) -> list[float] | None:
        if betas is not None and (len(betas) > MAX_BETAS or any(not 0 <= b <= 1 for b in betas)):
            raise _err(f"betas: at most {MAX_BETAS} values in [0, 1]")
        return betas or None

    @server.tool(annotations=read_only, structured_output=False)
    def language_reference() -> str:
        """The tts-dsl language reference (Markdown): grammar, actions, state, branch
        attributes, built-in functions, records, what a controller cannot see."""
        return api.language_reference()

    @server.tool(annotations=read_only, structured_output=False)
    def check(program: Annotated[str, Field(description="program text, or a listed program id")],
              time_cap_s: Annotated[float | None, Field(description="seconds (capped by the server)")] = None
              ) -> str:
        """Check a program: syntax, names, types, bounds, information safety, and a proof that
        each knob is monotone in beta as declared. Returns JSON (schema check.v1.json):
        ok, diagnostics (line, col, end, code, message, hint), params, schedule (per knob:
        declared and derived direction, status proved/refuted/unknown, min, max,
        counterexample), and text (the knob table and the diagnostics as `tts-dsl check`
        prints them)."""
        text, file = source(program)
        return sandbox.bounded(run("run_check", time_cap_s, source=text, file=file))

    @server.tool(annotations=read_only, structured_output=False)
    def evaluate(program: Annotated[str, Field(description="program text, or a listed program id")],
                 stores: Annotated[list[str] | None, Field(description="store ids from list_stores "
                                                                        "(default: ['synthetic'])")] = None,
                 betas: Annotated[list[float] | None, Field(description="betas in [0, 1]; default 0.5 for "
                                                                        "programs whose params use beta")] = None,
                 params: Annotated[dict[str, int | float | bool] | None,
                                   Field(description="param overrides, e.g. {\"max_samples\": 16}")] = None,
                 seeds: Annotated[int, Field(description="ordering seeds 0..N-1 (the protocol uses 100)")] = 100,
                 max_actions: Annotated[int | None, Field(description="action cap per episode")] = None,
                 time_cap_s: Annotated[float | None, Field(description="seconds (capped by the server)")] = None
                 ) -> str:
        """Evaluate a program under the replay protocol on stores and betas. Returns JSON
        {program, rows}: one row per (store, beta) with accuracy (%), avg_cost (tokens per
        question), episodes, error and param.NAME values (schema eval-row.v1.json)."""
        text, file = source(program)
        refs = stores_of(stores)
        bs = betas_of(betas)
        if len(refs) * len(bs or [0]) > sandbox.max_evaluations:
            raise _err(f"at most {sandbox.max_evaluations} (store, beta) evaluations per call")
        out = run("run_evaluate", time_cap_s, source=text, file=file, stores=refs, betas=bs, params=params or {},
                  seeds=seeds_of(seeds), max_actions=max_actions)
        return sandbox.bounded(out)

    @server.tool(annotations=read_only, structured_output=False)
    def trace(program: Annotated[str, Field(description="program text, or a listed program id")],
              store: Annotated[str, Field(description="a store id from list_stores")] = "synthetic",
              question: int = 0, seed: int = 0, beta: float | None = None,
              params: dict[str, int | float | bool] | None = None,
              format: Annotated[str, Field(description="'text' (a timeline) or 'json' (the trace record, "
                                                       "schema trace.v1.json)")] = "text",
              max_events: Annotated[int, Field(description="show at most this many actions/events")] = 200,
              time_cap_s: float | None = None) -> str:
        """Replay one episode (a question under an ordering seed) and show what the
        controller did: every action, revealed answers, tokens, variable changes, which
        arm each 'if' took, and why it stopped."""
        if format not in ("text", "json"):
            raise _err("format must be 'text' or 'json'")
        if not 1 <= max_events <= 5000:
            raise _err("max_events must be in 1..5000")
        text, file = source(program)
        out = run("run_trace", time_cap_s, source=text, file=file, store=stores_of([store])[0], question=question,
                  seed=seed, beta=beta, params=params or {}, fmt=format, max_events=max_events)
        return sandbox.bounded(out["timeline"] + (f"\n\nerror:\n{out['error']}" if out.get("error") else "")
                               if format == "text" else out)

    @server.tool(annotations=read_only, structured_output=False)
    def compare(programs: Annotated[list[str], Field(description="program texts or listed program ids; "
                                                                 "the first is the baseline")],
                stores: list[str] | None = None,
                betas: Annotated[list[float] | None, Field(description="betas for programs whose params "
                                                                       "use beta (default [0.5])")] = None,
                seeds: int = 100, bootstrap: int = 2000, time_cap_s: float | None = None) -> str:
        """Compare programs: accuracy with bootstrap intervals and tokens per store and on
        average, paired differences against the first program with p-values and token
        ratios, frontier areas. Returns JSON {report (Markdown), rows, errors}."""
        if not 1 <= len(programs) <= MAX_PROGRAMS:
            raise _err(f"give 1..{MAX_PROGRAMS} programs")
        if not 100 <= bootstrap <= 20000:
            raise _err("bootstrap must be in 100..20000")
        srcs = [source(p) for p in programs]
        srcs = [(t, f if f != "<program>" else f"<program {i + 1}>") for i, (t, f) in enumerate(srcs)]
        out = run("run_compare", time_cap_s, programs=srcs, stores=stores_of(stores), betas=betas_of(betas),
                  seeds=seeds_of(seeds), n_boot=bootstrap)
        return sandbox.bounded(out)

    @server.tool(annotations=read_only, structured_output=False)
    def list_stores() -> str:
        """The replay stores this server may read: 'synthetic' and ROOT/MODEL/DATASET ids."""
        return sandbox.bounded(sandbox.list_stores())

    @server.tool(annotations=read_only, structured_output=False)
    def list_programs() -> str:
        """The shipped programs and the workspace's, as ids for read_program and the
        program arguments, with each file's first comment line."""
        return sandbox.bounded(sandbox.list_programs())

    @server.tool(annotations=read_only, structured_output=False)
    def read_program(program_id: Annotated[str, Field(description="e.g. 'programs/asc.tts'")]) -> str:
        """The text of a listed program."""
        try:
            return sandbox.bounded(sandbox.read_program(program_id))
        except ToolInputError as ex:
            raise _err(str(ex)) from None

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
                 structured_output=False)
    def save_program(name: Annotated[str, Field(description="file name, e.g. 'mine' or 'mine.tts'")],
                     program: Annotated[str, Field(description="the program text")]) -> str:
        """Save a program in the workspace (overwriting one of the same name) and return its
        id. It is checked first; it is saved even if invalid, with the check result."""
        try:
            pid = sandbox.save_program(name, program)
        except ToolInputError as ex:
            raise _err(str(ex)) from None
        result = json.loads(check(pid))
        return sandbox.bounded({"id": pid, "ok": result["ok"], "diagnostics": result["diagnostics"]})

    # ------------------------------------------------------------ resources
    @server.resource("tts-dsl://language-reference", name="language-reference", mime_type="text/markdown",
                     description="The tts-dsl language reference.")
    def reference_resource() -> str:
        return api.language_reference()

    for prog in sandbox.list_programs():
        if prog["writable"]:
            continue
        _add_text_resource(server, f"tts-dsl://{prog['id']}", prog["id"], "text/plain",
                           prog["summary"] or "a tts-dsl program", sandbox.program_path(prog["id"]))
    from .. import schemas

    for name in schemas.NAMES:
        p = schemas.path(name)
        _add_text_resource(server, f"tts-dsl://schemas/{p.name}", f"schema {p.name}", "application/schema+json",
                           schemas.load(name).get("title", name), p)
    server._tts_worker = worker  # the CLI closes it on exit
    return server


def _add_text_resource(server, uri: str, name: str, mime: str, description: str, path):
    def read() -> str:
        return path.read_text(encoding="utf-8")

    server.resource(uri, name=name, mime_type=mime, description=description)(read)


def _version() -> str:
    from .. import __version__

    return __version__


def serve(workspace: str, store_roots=(), program_dirs=(), time_cap: float = 60.0, max_output_chars: int = 60_000,
          max_seeds: int = 1000):
    """Run the server over stdio until the client disconnects."""
    sandbox = Sandbox.create(workspace, store_roots, program_dirs, max_output_chars=max_output_chars,
                             max_seeds=max_seeds)
    server = build_server(sandbox, time_cap)
    worker = server._tts_worker
    worker.start()  # warm: the first call need not wait for the import
    try:
        server.run("stdio")
    finally:
        worker.close()


__all__ = ["build_server", "serve"]
