"""The command line behaves the same way everywhere: exit statuses as docs/cli.md states
them, one error style, -q always --quiet, status on stderr and data on stdout, JSON shapes
that do not depend on the number of inputs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tts_dsl.cli import cli, main

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
VALID = "controller x\nanswer majority(completed)\n"
TYPO = "controller x\nanswer majorty(completed)\n"


def run(capsys, *args, stdin: str | None = None):
    if stdin is not None:
        old = sys.stdin
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(list(args))
    finally:
        if stdin is not None:
            sys.stdin = old
    out, err = capsys.readouterr()
    return code, out, err


def test_check_reads_stdin(capsys):
    code, out, err = run(capsys, "check", "-", stdin=VALID)
    assert code == 0 and out.startswith("<stdin>: ok (controller x;")
    code, out, err = run(capsys, "check", "--json", "-", stdin=TYPO)
    assert code == 1
    [rep] = json.loads(out)
    assert rep["file"] == "<stdin>" and rep["diagnostics"][0]["code"] == "E309"


def test_check_json_is_always_a_list(capsys):
    one = str(PROGRAMS / "sc.tts")
    code, out, _ = run(capsys, "check", "--json", one)
    assert code == 0 and isinstance(json.loads(out), list) and len(json.loads(out)) == 1
    code, out, _ = run(capsys, "check", "--json", one, one)
    assert isinstance(json.loads(out), list) and len(json.loads(out)) == 2


def test_missing_file_exits_2_everywhere(capsys, tmp_path):
    missing = str(tmp_path / "nope.tts")
    for args in (["check", missing], ["check", "--json", missing], ["eval", missing], ["fmt", missing],
                 ["trace", missing], ["compare", missing, missing]):
        code, out, err = run(capsys, *args)
        assert code == 2, (args, err)
        assert "no such program file" in (err + out)
    bad = tmp_path / "bad.tts"
    bad.write_text(TYPO)
    code, _, _ = run(capsys, "check", str(bad))
    assert code == 1  # an invalid program stays 1
    code, _, _ = run(capsys, "check", str(bad), missing)
    assert code == 2  # bad command-line input wins


def test_one_error_style(capsys):
    for args in (["check", "--bogus", "x"], ["eval", str(PROGRAMS / "sc.tts"), "--seeds", "0"],
                 ["eval", str(PROGRAMS / "sc.tts"), "--beta", "2"], ["frobnicate"]):
        code, out, err = run(capsys, *args)
        assert code == 2, args
        assert "Error:" not in err and "error: " in err, err
        assert "None" not in err


def test_no_python_none_in_messages(capsys, tmp_path):
    root = tmp_path / "store"
    (root / "m").mkdir(parents=True)
    (root / "m" / "d.json").write_text("{}")
    code, out, err = run(capsys, "eval", str(PROGRAMS / "sc.tts"), "--store", str(root), "--model", "m",
                         "--dataset", "zzz")
    assert code == 2 and "None" not in err


def test_fmt_diff_exits_1_with_changes(capsys, tmp_path):
    ugly = tmp_path / "u.tts"
    ugly.write_text("controller   x\nanswer   majority(completed)\n")
    code, out, _ = run(capsys, "fmt", "--diff", str(ugly))
    assert code == 1 and out.startswith("---")
    code, out, _ = run(capsys, "fmt", "--diff", str(PROGRAMS / "sc.tts"))
    assert code == 0 and out == ""


def test_q_means_quiet_everywhere():
    """No command gives -q another meaning (trace's question is --question/-Q)."""
    for name, cmd in cli.commands.items():
        for p in cmd.params:
            if "-q" in getattr(p, "opts", []):
                assert p.name == "quiet", (name, p.name)
    trace = cli.commands["trace"]
    assert any("-Q" in p.opts for p in trace.params if p.name == "question")


def test_eval_status_on_stderr_data_on_stdout(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "r.csv"
    p = subprocess.run([sys.executable, "-m", "tts_dsl", "eval", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "esc.tts"),
                        "--seeds", "3", "-j", "1", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].split()[:3] == ["program", "model", "dataset"]
    assert "evaluations in" not in p.stdout and "wrote" not in p.stdout
    assert "2 evaluations in" in p.stderr and f"wrote {out}" in p.stderr
    # off a terminal, progress is lines with counts (here one line per finished task)
    p = subprocess.run([sys.executable, "-m", "tts_dsl", "eval", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "esc.tts"),
                        "--seeds", "3", "-j", "1", "--no-cache"], capture_output=True, text=True,
                       env={**env, "TTS_DSL_PROGRESS_EVERY": "0"}, timeout=300)
    assert "evaluating: 2 tasks" in p.stderr and "evaluating: 1/2 (50%)" in p.stderr and "ETA" in p.stderr
    assert "evaluating: 2/2 (100%)" in p.stderr


def test_progress_lines_and_bar():
    from tts_dsl.cli.progress import Progress, fmt_seconds

    buf = io.StringIO()
    with Progress(4, "work", stream=buf) as pr:
        for _ in range(4):
            pr.update(1)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "work: 4 tasks" and lines[-1].startswith("work: 4/4 (100%)")
    buf = io.StringIO()
    with Progress(4, "work", enabled=False, stream=buf) as pr:
        pr.update(4)
    assert buf.getvalue() == ""
    assert fmt_seconds(75) == "1 min 15 s" and fmt_seconds(3.2) == "3 s"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_closed_pipe_exits_quietly():
    """``tts-dsl check ... | head -1``: no traceback, no 'invalid program' status (1), but
    141 like any Unix tool whose reader went away."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    files = [str(p) for p in sorted(PROGRAMS.glob("*.tts"))] * 40  # > 64 KB, more than a pipe holds
    p = subprocess.Popen([sys.executable, "-m", "tts_dsl", "check", *files], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    p.wait(timeout=120)
    assert p.returncode == 141, err
    assert err == ""


def test_compare_json(capsys):
    code, out, err = run(capsys, "compare", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "esc.tts"), "--seeds", "3",
                         "--bootstrap", "100", "--permutations", "100", "-j", "1", "--json")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["stores"] == ["synthetic/default"] and rep["baseline"] == "sc"
    assert {r["program"] for r in rep["rows"]} == {"sc", "esc"}
    esc = next(r for r in rep["rows"] if r["program"] == "esc")
    assert esc["acc_lo"] <= esc["accuracy"] <= esc["acc_hi"] and esc["p_value"] is not None
