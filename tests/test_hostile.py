"""Hostile input, second round (issue 15): crashes, bombs, lost data, terminal control.

Each test is the regression test of one attack; the classes are also in the adversarial
corpus (tests/adversarial/) and tools/fuzz.py."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tts_dsl import api
from tts_dsl.cli import cli
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.lang.limits import Limits
from tts_dsl.replay.store import StoreError, StoreLimits, questions_from_json

ROOT = Path(__file__).resolve().parent.parent
SC = str(ROOT / "programs" / "sc.tts")
CMC = ROOT / "programs" / "cmc.tts"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


# ------------------------------------------------------------------ crashes
@pytest.mark.parametrize("bound", ["repeat 5 // 0", "for i in range(1 // 0)", "repeat round(sqrt(-1))",
                                   "repeat round(exp(1000))"])
def test_constant_loop_bound_that_fails_is_a_check_error(tmp_path, bound):
    p = tmp_path / "b.tts"
    p.write_text(f"controller b\n{bound} {{ open else break }}\nanswer majority(completed)\n")
    r = invoke("check", p)
    assert r.exit_code == 1 and "error[L010]" in r.output and "internal error" not in r.output, r.output
    r = invoke("eval", p, "--seeds", 1, "-q")
    assert r.exit_code != 3 and "internal error" not in r.output, r.output


def test_param_loop_bound_overflow_is_clean():
    src = "controller b\nparams {\n  n: int = 1000000000000000\n}\nrepeat n * n { open else break }\nanswer none\n"
    rep = api.check_report(src)
    assert not rep["ok"] and [d["code"] for d in rep["diagnostics"]] == ["L010"]
    with pytest.raises(DiagnosticsError) as ei:
        api.compile(api.check(src), 0.5)
    assert ei.value.diagnostics[0].code == "L010"


@pytest.mark.parametrize("args, words", [
    (["--beta", "0:inf:1"], "bad beta spec"),
    (["--beta", "0:1:1e-8"], "the limit is 1,001"),
    (["--beta", "nan"], "outside [0, 1]"),
    (["--max-seconds", "inf"], "max_seconds must be"),
    (["--max-seconds", "1e300"], "max_seconds must be"),
    (["--limit", "max_seconds=1e308"], "max_seconds must be"),
])
def test_cli_numbers_out_of_range_are_user_errors(args, words):
    r = invoke("eval", SC, "--seeds", 1, "-q", *args)
    assert r.exit_code == 2 and words in r.output and "internal error" not in r.output, r.output


def test_limits_reject_non_finite_seconds():
    for bad in (math.inf, math.nan, 1e300, -1.0):
        with pytest.raises(ValueError):
            Limits(max_seconds=bad)
    assert Limits(max_seconds=None).max_seconds is None


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_out_to_a_full_device_is_a_user_error():
    r = invoke("eval", SC, "--seeds", 1, "-q", "--out", "/dev/full")
    assert r.exit_code == 2 and "No space left" in r.output, r.output


def test_compare_cost_range_must_be_finite():
    r = invoke("compare", SC, "--seeds", 1, "-q", "--cost-range", "1:inf")
    assert r.exit_code == 2 and "both finite" in r.output, r.output


def test_api_non_finite_param_override_is_a_diagnostic():
    checked = api.load(CMC)
    for v in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(DiagnosticsError) as ei:
            api.compile(checked, 0.5, params={"alpha": v})
        assert ei.value.diagnostics[0].code == "P002" and "finite" in ei.value.diagnostics[0].message


# ------------------------------------------------------------------ stores
Q = {"gold_answer": "1", "probe_freq": 500}


@pytest.mark.parametrize("tokens", [1e308, 10 ** 3999, 10 ** 12 + 1])
def test_store_token_counts_beyond_the_limit_are_rejected(tokens):
    with pytest.raises(StoreError) as ei:
        questions_from_json([dict(Q, each_branch=[[["1"], tokens, "1"]])], "s.json")
    assert "tokens; the limit is" in str(ei.value)


def test_store_limits_on_load_and_overridable(tmp_path, monkeypatch):
    many = [dict(Q, each_branch=[[["1"], 5, "1"]] * 5000)]
    with pytest.raises(StoreError, match="5,000 branches; the limit is 4,096"):
        questions_from_json(many, "s.json")
    assert len(questions_from_json(many, "s.json", limits=StoreLimits(max_branches=10_000))) == 1
    monkeypatch.setenv("TTS_DSL_STORE_LIMITS", "max_branches=10000")
    assert len(questions_from_json(many, "s.json")) == 1
    monkeypatch.setenv("TTS_DSL_STORE_LIMITS", "max_questions=1")
    with pytest.raises(StoreError, match="2 questions; the limit is 1"):
        questions_from_json([dict(Q, each_branch=[[["1"], 5, "1"]])] * 2, "s.json")
    monkeypatch.setenv("TTS_DSL_STORE_LIMITS", "max_probes=2")
    with pytest.raises(StoreError, match="3 probes; the limit is 2"):
        questions_from_json([dict(Q, each_branch=[[["1", "2", "3"], 5, "1"]])], "s.json")


def test_store_file_size_checked_before_reading(tmp_path):
    from tts_dsl.replay.store import load_file

    p = tmp_path / "big.json"
    p.write_text(json.dumps([dict(Q, each_branch=[[["1"], 5, "1"]])]))
    with pytest.raises(StoreError, match="the limit is 10"):
        load_file(p, limits=StoreLimits(max_bytes=10))
    if os.path.exists("/dev/zero"):
        t = time.perf_counter()
        with pytest.raises(StoreError):
            load_file("/dev/zero", limits=StoreLimits(max_bytes=1_000_000))
        assert time.perf_counter() - t < 5


# ------------------------------------------------------------------ bombs
def test_check_dev_zero_reads_a_bounded_prefix():
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    t = time.perf_counter()
    r = invoke("check", "/dev/zero")
    assert r.exit_code == 1 and "error[L001]" in r.output and "more than 100,000 characters" in r.output
    assert time.perf_counter() - t < 10


def test_round_with_huge_negative_ndigits_returns_at_once():
    from tts_dsl.lang.builtins import _round

    t = time.perf_counter()
    assert _round(5, -999999999999999) == 0.0 and _round(-5, -10 ** 15) == 0.0
    assert _round(12345, -2) == 12300.0 and _round(2.675, 2) == round(2.675, 2)
    src = "controller r\nparams {\n  k: float = round(5, -999999999999999)\n}\nanswer none\n"
    assert api.check_report(src)["ok"]
    assert time.perf_counter() - t < 5


def test_diagnostics_are_capped_per_file_with_a_summary():
    src = "controller t\n" + "".join(f"let x{i} = zz{i} + yy{i}\n" for i in range(400)) + "answer none\n"
    rep = api.check_report(src)
    ds = rep["diagnostics"]
    assert len(ds) == 101 and ds[-1]["code"] == "L011" and "more than 100 diagnostics" in ds[-1]["message"]
    assert not rep["ok"]


def test_json_output_caps_diagnostics_over_files():
    from tts_dsl.cli.check import cap_json_diagnostics

    reports = [{"file": f"f{i}", "diagnostics": [{"code": "E201"}] * 101} for i in range(12)]
    dropped = cap_json_diagnostics(reports)
    assert sum(len(r["diagnostics"]) for r in reports) == 1_000 and dropped == 12 * 101 - 1_000
    assert reports[9]["diagnostics_dropped"] == 101 - 91 and reports[11]["diagnostics_dropped"] == 101


# ------------------------------------------------------------------ data lost
def test_out_and_traces_refuse_to_overwrite_without_force(tmp_path):
    out, tr = tmp_path / "rows.csv", tmp_path / "t.jsonl"
    out.write_text("precious\n")
    tr.write_text("precious\n")
    r = invoke("eval", SC, "--seeds", 1, "-q", "--out", out)
    assert r.exit_code == 2 and "exists; use --force" in r.output and out.read_text() == "precious\n"
    r = invoke("eval", SC, "--seeds", 1, "-q", "--traces", tr)
    assert r.exit_code == 2 and "exists; use --force" in r.output and tr.read_text() == "precious\n"
    r = invoke("eval", SC, "--seeds", 1, "-q", "--out", out, "--traces", tr, "--force")
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("program,") and json.loads(tr.read_text().splitlines()[0])
    md = tmp_path / "r.md"
    md.write_text("precious\n")
    r = invoke("compare", SC, "--seeds", 1, "-q", "--out", md)
    assert r.exit_code == 2 and md.read_text() == "precious\n"


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    from tts_dsl.files import replacing

    p = tmp_path / "t.jsonl"
    p.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with replacing(p) as fh:
            fh.write("half")
            raise KeyboardInterrupt
    assert p.read_text() == "old\n" and [x.name for x in tmp_path.iterdir()] == ["t.jsonl"]


def test_eval_traces_interrupted_keep_previous_content(tmp_path, monkeypatch):
    import tts_dsl.reporting.traces as traces

    tr = tmp_path / "t.jsonl"
    tr.write_text("previous\n")

    def boom(tasks, fh, *a, **k):
        fh.write('{"partial": ')
        raise KeyboardInterrupt

    monkeypatch.setattr(traces, "trace_tasks", boom)
    r = invoke("eval", SC, "--seeds", 1, "-q", "--traces", tr, "--force")
    assert r.exit_code != 0 and tr.read_text() == "previous\n"


def test_fmt_write_keeps_mode_and_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.tts"
    real.write_text("controller   x\nanswer none\n")
    os.chmod(real, 0o664)
    link = tmp_path / "link.tts"
    link.symlink_to(real)
    r = invoke("fmt", "--write", link)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "controller x\n\nanswer none\n"
    assert (os.stat(real).st_mode & 0o777) == 0o664


# ------------------------------------------------------------------ terminal control
ESC = "\x1b]0;pwned\x07\x1b[2J"


def test_trace_escapes_control_characters_from_labels_and_answers(tmp_path):
    store = tmp_path / "m" / "d.json"
    store.parent.mkdir()
    store.write_text(json.dumps([{"gold_answer": "1", "probe_freq": 500,
                                  "each_branch": [[[f"7{ESC}"], 900, f"7{ESC}"], [["1"], 800, "1"]]}]))
    prog = tmp_path / "p.tts"
    prog.write_text(f'controller p\nrepeat 2 {{ read else break }}\ntrace "{ESC}" {{n: opened}}\n'
                    "answer majority(completed)\n")
    r = invoke("trace", prog, "--store", store)
    assert r.exit_code == 0, r.output
    assert "\x1b" not in r.output and "\x07" not in r.output and "\\x1b]0;pwned\\x07" in r.output
    r = invoke("store", "validate", store)
    assert "\x1b" not in r.output


def test_terminal_safe_keeps_text_and_escapes_controls():
    from tts_dsl.cli.common import terminal_safe

    assert terminal_safe("a\tb\nc é ≤") == "a\tb\nc é ≤"
    assert terminal_safe("\x1b[2J\x9b\u202e\x00") == "\\x1b[2J\\x9b\\u202e\\x00"


# ------------------------------------------------------------------ memorisation
def test_constant_data_is_bounded_and_configurable():
    table = ", ".join(str(9000 + i) for i in range(17))
    src = f"controller m\nvar good: list[int] = [{table}]\nanswer none\n"
    with pytest.raises(DiagnosticsError) as ei:
        api.check(src)
    d = ei.value.diagnostics[0]
    assert d.code == "L012" and "list literal of 17 elements; the limit is 16" in d.message
    assert api.check(src, limits=Limits(max_list_literal=17))
    many = "controller m\n" + "".join(f"let c{i} = {i}\n" for i in range(201)) + "answer none\n"
    with pytest.raises(DiagnosticsError) as ei:
        api.check(many)
    assert ei.value.diagnostics[0].code == "L012" and "201 number literals" in ei.value.diagnostics[0].message
    assert api.check(many, limits=Limits(max_literals=201))


def test_shipped_programs_are_far_inside_the_constant_data_limits():
    from tts_dsl.lang import ast as A

    for p in sorted((ROOT / "programs").glob("*.tts")):
        c = api.load(p)
        nums = sum(isinstance(n, A.Num) for n in A.walk(c.program))
        assert nums <= Limits().max_literals // 2, (p.name, nums)


def test_attack_classes_fuzz_clean():
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import fuzz

    res = fuzz.class_fuzz(80, seed=4)
    assert res["bad"] == 0, res["examples"]
    classes = {k.split()[0] for k in res["counts"]}
    assert {"bomb-bound", "bomb-param", "code-size", "store-overflow", "memory-bomb"} <= classes
    assert res["counts"].get("memory-bomb runtime-error", 0) > 0  # some bombs reach the budget (L013)
