"""End-to-end tests of the command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest

from conftest import PROGRAMS, REPLAY, ROOT


def tts(*args, cwd=ROOT, timeout=300):
    exe = shutil.which("tts-dsl")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "tts_dsl", *args]
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in p.stderr, p.stderr
    return p


def kv(out: str) -> dict:
    d = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            d[parts[0]] = parts[1]
    return d


def test_eval_on_embedded_default_store():
    p = tts("eval", "programs/asc.tts")
    assert p.returncode == 0, p.stderr
    d = kv(p.stdout)
    assert d["program"] == "asc" and d["model"] == "synthetic" and d["episodes"] == "3000"
    assert 0 <= float(d["accuracy"]) <= 100 and float(d["avg_cost"]) > 0 and "wall_s" in d


@pytest.mark.shared
def test_eval_reproduces_reference_figure():
    p = tts("eval", "programs/asc.tts", "--store", str(REPLAY), "--model", "Qwen3-8B", "--dataset", "aime24")
    assert p.returncode == 0, p.stderr
    d = kv(p.stdout)
    assert d["accuracy"] == "80.37"
    assert int(float(d["avg_cost"])) == 226033


@pytest.mark.shared
def test_eval_set_overrides_param():
    p = tts("eval", "programs/asc.tts", "--store", str(REPLAY), "--model", "Qwen3-8B", "--dataset", "aime24",
            "--set", "max_samples=16")
    assert kv(p.stdout)["accuracy"] == "81.03"


@pytest.mark.shared
def test_eval_sweep_all_models_to_csv(tmp_path):
    out = tmp_path / "r.csv"
    p = tts("eval", "programs/cmc.tts", "--store", str(REPLAY), "--model", "all", "--dataset", "aime24",
            "--beta", "0,1", "--seeds", "5", "--out", str(out), "-q")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 8
    for col in ("program", "model", "dataset", "beta", "accuracy", "avg_cost", "episodes", "param.n_init"):
        assert col in rows[0]
    assert {r["model"] for r in rows} == {"Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B"}
    by = {(r["model"], float(r["beta"])): r for r in rows}
    assert by[("Qwen3-8B", 0.0)]["param.n_init"] == "2" and by[("Qwen3-8B", 1.0)]["param.n_init"] == "8"
    assert float(by[("Qwen3-8B", 1.0)]["avg_cost"]) > float(by[("Qwen3-8B", 0.0)]["avg_cost"])


def test_eval_beta_grid_spec(tmp_path):
    out = tmp_path / "r.csv"
    p = tts("eval", "programs/cmc.tts", "--beta", "0:1:0.5", "--seeds", "3", "--out", str(out), "-q")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [float(r["beta"]) for r in rows] == [0.0, 0.5, 1.0]
    assert "param.max_branch" in p.stdout  # the sweep table shows the knob values


def test_eval_json_rows():
    p = tts("eval", "programs/sc.tts", "--seeds", "2", "--json")
    row = json.loads(p.stdout.splitlines()[0])
    assert row["program"] == "sc" and row["episodes"] == 60


def test_check_all_programs():
    files = sorted(str(p.relative_to(ROOT)) for p in PROGRAMS.glob("*.tts"))
    p = tts("check", *files)
    assert p.returncode == 0, p.stderr
    assert "cmc" in p.stdout and "proved" in p.stdout


def test_check_typo_gives_positioned_diagnostic(tmp_path):
    bad = tmp_path / "typo.tts"
    bad.write_text("controller typo\nrepeat 4 {\n  read else break\n}\nanswer majorty(completed)\n")
    p = tts("check", str(bad))
    assert p.returncode == 1
    assert f"{bad}:5:8: error[E309]: unknown function 'majorty'" in p.stderr
    assert "^^^^^^^" in p.stderr and "did you mean 'majority'" in p.stderr
    assert len(p.stderr.splitlines()) < 25


def test_check_json(tmp_path):
    bad = tmp_path / "typo.tts"
    bad.write_text("controller typo\nanswer majority(complted)\n")
    p = tts("check", "--json", str(bad))
    assert p.returncode == 1
    [rep] = json.loads(p.stdout)  # always a list, one report per file
    d = rep["diagnostics"][0]
    assert (d["code"], d["line"], d["col"]) == ("E301", 2, 17)
    assert "completed" in d["hint"] and d["end"] == {"line": 2, "col": 25}


def test_check_refuted_schedule(tmp_path):
    bad = tmp_path / "s.tts"
    bad.write_text("controller s\nparams {\n  n: int increasing = round(10 - 8 * beta)\n}\nanswer none\n")
    p = tts("check", str(bad))
    assert p.returncode == 1 and "S001" in p.stderr and "refuted" in p.stderr


def test_check_behavior_reports_inversions(tmp_path):
    f = tmp_path / "shrink.tts"
    f.write_text("controller shrink\nparams {\n  n: int decreasing in [1, 128] = round(64 - 60 * beta)\n}\n"
                 "repeat n { read else break }\nanswer majority(completed)\n")
    p = tts("check", str(f), "--behavior", "--beta", "0,1", "--seeds", "2")
    assert p.returncode == 1
    assert "NOT non-decreasing" in p.stdout and "beta 0 ->" in p.stdout
    p = tts("check", "programs/cmc.tts", "--behavior", "--beta", "0,0.5,1", "--seeds", "3")
    assert p.returncode == 0 and "non-decreasing in beta" in p.stdout


def test_missing_store_is_one_clear_line(tmp_path):
    p = tts("eval", "programs/asc.tts", "--store", str(tmp_path / "nope"), "--model", "m", "--dataset", "d")
    assert p.returncode == 2
    assert "no such store" in p.stderr and len(p.stderr.splitlines()) <= 3


def test_broken_question_named(tmp_path):
    from tts_dsl.replay.synthetic import synthetic_json

    data = synthetic_json(seed=1, n_questions=3, n_branches=8)
    data[2]["each_branch"][5][1] = -7
    d = tmp_path / "store" / "M"
    d.mkdir(parents=True)
    (d / "ds.json").write_text(json.dumps(data))
    p = tts("eval", "programs/asc.tts", "--store", str(tmp_path / "store"), "--model", "M", "--dataset", "ds")
    assert p.returncode == 2
    assert "question 2" in p.stderr and "each_branch[5]" in p.stderr and "ds.json" in p.stderr


def test_unknown_param_and_missing_program(tmp_path):
    p = tts("eval", "programs/asc.tts", "--set", "max_sample=16")
    assert p.returncode == 1 and "no param 'max_sample'" in p.stderr and "max_samples" in p.stderr
    p = tts("eval", str(tmp_path / "nope.tts"))
    assert p.returncode != 0 and "no such program file" in p.stderr
    p = tts("eval", "programs/asc.tts", "--beta", "2")
    assert p.returncode == 2 and "outside [0, 1]" in p.stderr


@pytest.mark.shared
def test_unknown_model_suggests():
    p = tts("eval", "programs/asc.tts", "--store", str(REPLAY), "--model", "Qwen3-8b", "--dataset", "aime24")
    assert p.returncode == 2 and "Qwen3-8B" in p.stderr


def test_unwritable_out_is_a_clean_error_before_running():
    p = tts("eval", "programs/sc.tts", "--out", "/nonexistent-dir/x.csv")
    assert p.returncode == 2 and "cannot write" in p.stderr
