"""``tts-dsl mcp``: the server runs as a subprocess and is driven over stdio by the MCP
SDK's own client, as an agent CLI drives it."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from conftest import REPLAY, ROOT, require
from tts_dsl import schemas

mcp = require("mcp", "agents")

BROKEN = "controller x\nanswer majorty(completed)\n"
# a long busy loop on the Python engine (the 'for ... in branches' keeps the native engine, which
# would finish it at once, out)
SPIN = ("controller spin\nvar n: int = 0\nrepeat 100000 {\n  repeat 100000 {\n    n = n + 1\n  }\n"
        "  for b in branches {\n    n = n + 1\n  }\n}\nanswer majority(completed)\n")


def session(workspace, *args, time_cap: float = 30):
    params = mcp.StdioServerParameters(
        command=sys.executable,
        args=["-m", "tts_dsl", "mcp", "--workspace", str(workspace), "--time-cap", str(time_cap), *args],
        cwd=str(ROOT), env={"PYTHONPATH": str(ROOT)})
    return mcp.Client(params, read_timeout_seconds=120)


def text_of(result) -> str:
    assert len(result.content) == 1
    return result.content[0].text


async def call(client, tool, **args):
    r = await client.call_tool(tool, args)
    return r.is_error, text_of(r)


@pytest.mark.slow  # every MCP tool end to end over stdio (about 6 s); the reference-figure MCP test stays in the default suite; CI runs the slow set
def test_tools_resources_check_evaluate_trace_compare_and_the_time_cap(tmp_path):
    ws = tmp_path / "ws"

    async def go():
        async with session(ws, time_cap=20) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            assert names == {"language_reference", "check", "evaluate", "trace", "compare", "list_stores",
                             "list_programs", "read_program", "save_program"}
            uris = {str(r.uri) for r in (await c.list_resources()).resources}
            assert {"tts-dsl://language-reference", "tts-dsl://programs/asc.tts",
                    "tts-dsl://schemas/trace.v1.json"} <= uris
            ref = (await c.read_resource("tts-dsl://language-reference")).contents[0].text
            assert "beta_confidence" in ref and "### Grammar" in ref
            err, out = await call(c, "language_reference")
            assert not err and out == ref

            # check: diagnostics with code, position and hint; the schedule table for a good one
            err, out = await call(c, "check", program=BROKEN)
            rep = json.loads(out)
            assert not err and rep["ok"] is False and schemas.problems("check", rep) == []
            (d,) = rep["diagnostics"]
            assert (d["code"], d["line"], d["col"], d["hint"]) == ("E309", 2, 8, "did you mean 'majority'?")
            assert "^^^^^^^" in rep["text"]
            err, out = await call(c, "check", program="programs/cmc.tts")
            rep = json.loads(out)
            assert rep["ok"] and rep["name"] == "cmc" and schemas.problems("check", rep) == []
            assert all(k["status"] == "proved" for k in rep["schedule"]) and len(rep["schedule"]) >= 5
            assert rep["text"].startswith("programs/cmc.tts: ok (controller cmc)\n  n_init ")  # the knob table

            # programs: list, read, save into the workspace only
            progs = json.loads((await call(c, "list_programs"))[1])
            assert "programs/asc.tts" in {p["id"] for p in progs}
            err, out = await call(c, "read_program", program_id="programs/asc.tts")
            assert not err and out == (ROOT / "programs" / "asc.tts").read_text()
            for bad in ("../pyproject.toml", "programs/../../README.md", "/etc/passwd"):
                err, out = await call(c, "read_program", program_id=bad)
                assert err and "no program" in out
            err, out = await call(c, "save_program", name="mine", program=BROKEN)
            saved = json.loads(out)
            assert not err and saved["id"] == "workspace/mine.tts" and not saved["ok"]
            assert (ws / "programs" / "mine.tts").read_text() == BROKEN
            err, out = await call(c, "save_program", name="../escape", program=BROKEN)
            assert err and not (ws / "escape.tts").exists() and not (tmp_path / "escape.tts").exists()

            # evaluate on the synthetic store: rows as eval --json prints them
            err, out = await call(c, "evaluate", program="programs/cmc.tts", betas=[0.0, 1.0], seeds=5)
            res = json.loads(out)
            assert not err and [r["beta"] for r in res["rows"]] == [0.0, 1.0]
            for r in res["rows"]:
                assert schemas.problems("eval-row", r) == [] and r["episodes"] == 150 and r["error"] is None
            assert res["rows"][0]["avg_cost"] < res["rows"][1]["avg_cost"]
            err, out = await call(c, "evaluate", program="programs/asc.tts", params={"max_samples": 0})
            assert err and "max_samples" in out
            # stores only from the roots given on the command line (none here)
            err, out = await call(c, "evaluate", program="programs/asc.tts", stores=["replay/Qwen3-8B/aime24"])
            assert err and "no store" in out
            err, out = await call(c, "evaluate", program="programs/asc.tts", seeds=10 ** 6)
            assert err and "seeds" in out

            # trace: a timeline, or the record (schema trace.v1.json)
            err, out = await call(c, "trace", program="programs/esc.tts", question=2, max_events=5)
            assert not err and "esc on synthetic/default: question 2, seed 0" in out
            err, out = await call(c, "trace", program="programs/esc.tts", question=2, format="json")
            rec = json.loads(out)["record"]
            assert schemas.problems("trace", rec) == [] and rec["question"] == 2

            # compare: the report with intervals against the first program
            err, out = await call(c, "compare", programs=["programs/sc.tts", "programs/asc.tts"], seeds=5,
                                  bootstrap=200)
            cmp = json.loads(out)
            assert not err and "| asc" in cmp["report"] and cmp["errors"] == []
            asc = next(r for r in cmp["rows"] if r["program"] == "asc")
            assert asc["acc_lo"] <= asc["accuracy"] <= asc["acc_hi"] and asc["p_value"] is not None

            # a call over its time cap is stopped with an error, and the server keeps serving
            err, out = await call(c, "evaluate", program=SPIN, seeds=10, time_cap_s=1.5)
            assert err and "time cap" in out, out[:800]
            err, out = await call(c, "check", program=BROKEN)
            assert not err and json.loads(out)["diagnostics"][0]["code"] == "E309"
            err, out = await call(c, "evaluate", program="programs/sc.tts", seeds=2)
            assert not err and json.loads(out)["rows"][0]["episodes"] == 60

    asyncio.run(go())
    written = {p.relative_to(ws).as_posix() for p in ws.rglob("*")}
    assert written <= {"programs", "programs/mine.tts", "tmp"} | {p for p in written if p.startswith("tmp/")}


@pytest.mark.shared
def test_the_reference_figure_on_a_shared_store(tmp_path):
    async def go():
        async with session(tmp_path / "ws", "--store-root", f"aime={REPLAY}") as c:
            ids = {s["id"] for s in json.loads((await call(c, "list_stores"))[1])}
            assert {"synthetic", "aime/Qwen3-8B/aime24", "aime/Qwen3-0.6B/aime24"} <= ids
            err, out = await call(c, "evaluate", program="programs/asc.tts", stores=["aime/Qwen3-8B/aime24"])
            (row,) = json.loads(out)["rows"]
            assert not err and row["seeds"] == 100
            assert row["accuracy"] == 80.37 and f"{row['avg_cost']:.3f}" == "226033.221"

    asyncio.run(go())
