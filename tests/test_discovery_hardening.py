"""Discovery hardening (issues 15 and 16): the schedule gate fails on "unknown", the config is
validated against a schema up front, records are bounded, the proposer is checked before any
evaluation, and every phase reports progress off a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tts_dsl.discovery import config_from_dict
from tts_dsl.discovery.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "discovery"
GOOD = (FIX / "good.tts").read_text()


def make_cfg(tmp_path, proposer=None, **run):
    table = {
        "run": {"out": str(tmp_path / "run"), "max_rounds": 3, "max_repairs": 2,
                "seed_programs": [str(ROOT / "programs" / "sc.tts"), str(ROOT / "programs" / "cmc.tts")],
                "betas": [0.0, 1.0], "jobs": 1, "plots": False, **run},
        "search": {"synthetic": [{"seed": 11, "questions": 5, "branches": 24}], "seeds": 3},
        "heldout": {"synthetic": [{"seed": 99, "questions": 5, "branches": 24}], "seeds": 3},
        "smoke": {"questions": 3, "branches": 16, "seeds": 2},
        "proposer": proposer or {"kind": "evolve"},
    }
    return config_from_dict(table, str(tmp_path))


def fenced(src: str) -> str:
    return f"Sure.\n\n```tts\n{src}```\n"


# ------------------------------------------------------- 1. unknown fails the schedule stage
UNSETTLED = "n: int increasing in [1, 64] = max(2, round(2 + 10 * log(beta + 0.5) - beta * beta))"


def test_unknown_schedule_is_rejected_by_default_and_allowed_by_flag(tmp_path):
    from tts_dsl.discovery.validate import validate

    src = GOOD.replace("n: int increasing in [1, 64] = max(2, round(2 + 10 * beta))", UNSETTLED)
    assert src != GOOD
    v = validate(fenced(src), "cand.tts", {}, make_cfg(tmp_path))
    assert not v.ok and v.stage == "schedule", (v.stage, v.diagnostics)
    assert any("could not prove" in d["message"] for d in v.diagnostics)
    assert make_cfg(tmp_path).allow_unknown_schedules is False
    v = validate(fenced(src), "cand.tts", {}, make_cfg(tmp_path, allow_unknown_schedules=True))
    assert v.ok, (v.stage, v.diagnostics)
    assert any("could not prove" in d["message"] for d in v.warnings)
    # a proved knob passes either way
    assert validate(fenced(GOOD), "cand.tts", {}, make_cfg(tmp_path)).ok


# ------------------------------------------------------- 2. the config's schema, through the CLI
BAD_CONFIGS = [
    ("max_rounds", "[run]\nmax_rounds = \"3\"\n"),
    ("max_wall_s", "[run]\nmax_wall_s = \"ten\"\n"),
    ("out", "[run]\nout = 7\n"),
    ("seed_programs", "[run]\nseed_programs = 5\n"),
    ("cache", "[run]\ncache = \".\"\n"),
    ("cache", "[run]\ncache = 3\n"),
    ("betas", "[smoke]\nbetas = \"0:1:x\"\n"),
    ("betas", "[run]\nbetas = \"fast\"\n"),
    ("questions", "[smoke]\nquestions = \"6\"\n"),
    ("seeds", "[cascade]\nseeds = 2.5\n"),
    ("budget_chars", "[prompt]\nbudget_chars = \"big\"\n"),
    ("temperature", "[proposer]\ntemperature = \"hot\"\n"),
    ("command", "[proposer]\nkind = \"command\"\ncommand = 3\n"),
    ("models", "[search]\nmodels = 4\n"),
    ("seeds", "[search]\nseeds = \"100\"\n"),
    ("window", "[score]\nwindow = [\"a\", \"b\"]\n"),
    ("area_range", "[evaluation]\narea_range = \"1:2\"\n"),
    ("allow_unknown_schedules", "[run]\nallow_unknown_schedules = \"yes\"\n"),
    ("jobs", "[evaluation]\njobs = \"8\"\n"),
]


def _toml(extra: str) -> str:
    """A valid config with the tables of ``extra`` merged in (extra's keys come first in a table)."""
    base = {"run": "max_rounds = 1\nplots = false\n",
            "search": "synthetic = [{seed = 1, questions = 3, branches = 8}]\nseeds = 2\n",
            "proposer": "kind = \"evolve\"\n"}
    tables: dict[str, str] = {}
    cur = None
    for line in extra.splitlines(keepends=True):
        if line.startswith("["):
            cur = line.strip()[1:-1]
            tables.setdefault(cur, "")
        else:
            tables[cur] += line
    out = ""
    for name in dict.fromkeys(list(tables) + list(base)):
        body = tables.get(name, "")
        keys = {ln.split("=")[0].strip() for ln in body.splitlines()}
        body += "".join(ln + "\n" for ln in base.get(name, "").splitlines() if ln.split("=")[0].strip() not in keys)
        out += f"[{name}]\n{body}"
    return out


@pytest.mark.parametrize("key,extra", BAD_CONFIGS, ids=[f"{k}-{i}" for i, (k, _) in enumerate(BAD_CONFIGS)])
def test_bad_config_is_a_clean_error_naming_the_key(tmp_path, key, extra):
    cfg = tmp_path / "d.toml"
    cfg.write_text(_toml(extra))
    r = subprocess.run([sys.executable, "-m", "tts_dsl", "discover", "--config", str(cfg),
                        "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert lines and key in lines[0], r.stderr
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------- 3. records are bounded
def test_a_reply_with_thousands_of_diagnostics_writes_a_bounded_record(tmp_path):
    from tts_dsl.discovery import records as R
    from tts_dsl.discovery.records import Attempt, Candidate
    from tts_dsl.discovery.validate import validate

    body = "\n".join(f"let v{i} = undefined_name_{i} + other_{i}" for i in range(1000))  # 2,000 errors
    reply = fenced(f"controller x\n{body}\nanswer none\n") + "x" * 600_000
    v = validate(reply, "cand.tts", {}, make_cfg(tmp_path))
    assert not v.ok and v.stage == "check"
    att = Attempt(0, response=reply, validation=v.to_dict())
    c = Candidate(1, "invalid", "check", "evolve", [], v.source, None, None, "sys", "p" * 1_000_000,
                  [att], 1, 0, 0, 0.0, [0.0], [0, 1], [])
    line = json.dumps(c.to_dict())
    assert len(line) < 2 * R.MAX_TEXT_CHARS + R.MAX_DIAGNOSTICS * 8 * R.MAX_DIAGNOSTIC_CHARS + 50_000
    a = c.to_dict()["attempts"][0]
    assert len(a["validation"]["diagnostics"]) <= R.MAX_DIAGNOSTICS
    assert len(v.diagnostics) > R.MAX_DIAGNOSTICS
    assert a["validation"]["diagnostics_cut"] == len(v.diagnostics) - R.MAX_DIAGNOSTICS
    assert "more characters cut" in a["response"] and a["response"].startswith(reply[:1000])
    assert "more characters cut" in c.to_dict()["prompt"]
    # many diagnostics, cut to the cap with a count of the rest
    many = {"ok": False, "stage": "check", "diagnostics": [{"code": "E101", "message": "m" * 5000}] * 4000}
    d = Attempt(0, response="r", validation=many).to_dict()["validation"]
    assert len(d["diagnostics"]) == R.MAX_DIAGNOSTICS and d["diagnostics_cut"] == 4000 - R.MAX_DIAGNOSTICS
    assert len(d["diagnostics"][0]["message"]) < R.MAX_DIAGNOSTIC_CHARS + 100
    # short records are unchanged
    small = Attempt(0, response="ok", validation={"ok": True, "diagnostics": []})
    assert Attempt.from_dict(small.to_dict()) == small


# ------------------------------------------------------- 4. pre-flight and proposer failures
def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _discover(tmp_path, proposer: str, timeout=300):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f"""[run]
max_rounds = 5
max_repairs = 1
plots = false
seed_programs = ["{ROOT / 'programs' / 'sc.tts'}"]
betas = [0.0, 1.0]
jobs = 1
[search]
synthetic = [{{seed = 1, questions = 4, branches = 16}}]
seeds = 2
[cascade]
enabled = false
[smoke]
questions = 3
branches = 16
seeds = 2
[proposer]
{proposer}
""")
    r = subprocess.run([sys.executable, "-m", "tts_dsl", "discover", "--config", str(cfg), "--out",
                        str(tmp_path / "run")], capture_output=True, text=True, timeout=timeout)
    return r


def test_preflight_stops_at_once_on_a_closed_port(tmp_path):
    import time

    t = time.perf_counter()
    r = _discover(tmp_path, f'kind = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:{_closed_port()}/v1"\n'
                            'max_retries = 4\nbackoff_s = 2.0\n')
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    err = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert err and "unreachable" in err[0] and "127.0.0.1" in err[0], r.stderr
    assert "seed program" not in r.stderr  # nothing was evaluated
    assert not (tmp_path / "run" / "state.json").exists()
    assert time.perf_counter() - t < 60


def test_preflight_command_must_exist(tmp_path):
    r = _discover(tmp_path, 'kind = "command"\ncommand = ["no-such-agent-xyz", "--go"]\n')
    assert r.returncode == 2 and "no-such-agent-xyz" in r.stderr and "Traceback" not in r.stderr


def test_consecutive_proposer_failures_stop_the_run_nonzero(tmp_path):
    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.stderr.write('model overloaded\\n')\nsys.exit(1)\n")
    r = _discover(tmp_path, f'kind = "command"\ncommand = ["{sys.executable}", "{script}"]\n')
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    # each failure's cause is on the console, and the stop names it
    assert r.stderr.count("model overloaded") >= 3, r.stderr
    assert "3 failures in a row" in r.stderr
    recs = [json.loads(x) for x in (tmp_path / "run" / "candidates.jsonl").read_text().splitlines()]
    assert sum(len(c["attempts"]) for c in recs) == 3


# ------------------------------------------------------- 5. progress in every phase, max_wall_s
def test_every_phase_prints_progress_and_the_report_says_it_ran_past_max_wall_s(tmp_path, monkeypatch):
    from tts_dsl.discovery.loop import Discovery

    monkeypatch.setenv("TTS_DSL_PROGRESS_EVERY", "0")
    lines: list[str] = []
    cfg = make_cfg(tmp_path, max_rounds=2, max_wall_s=0.001)
    d = Discovery.start(cfg, tmp_path / "run", log=lines.append)
    final = d.run()
    text = "\n".join(lines)
    assert "seed programs (evaluations):" in text and "final stage (evaluations):" in text, text
    seed_lines = [ln for ln in lines if ln.startswith("seed programs (evaluations):")]
    assert any("/" in ln and "elapsed" in ln for ln in seed_lines)
    final_lines = [ln for ln in lines if ln.startswith("final stage (evaluations):")]
    assert len(final_lines) >= 2  # the header and counted lines
    assert final["stop_reason"].startswith("max_wall_s")
    assert "ran past max_wall_s" in final["wall_note"]
    assert "ran past max_wall_s" in (tmp_path / "run" / "report.md").read_text()


def test_round_lines_carry_counts(tmp_path):
    from tts_dsl.discovery.loop import Discovery

    lines: list[str] = []
    d = Discovery.start(make_cfg(tmp_path, max_rounds=2), tmp_path / "run", log=lines.append)
    final = d.run()
    assert "wall_note" not in final
    rounds = [ln for ln in lines if "(round " in ln]
    assert rounds and rounds[-1].count("/2") == 1 and "elapsed" in rounds[-1], lines
