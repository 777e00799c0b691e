"""Stores that lie: every malformed store gives one clear error naming the file, the
question index and the field; ``tts-dsl store validate`` summarises good stores; nothing
is ever written into a store."""

from __future__ import annotations

import copy
import json
import os

import pytest
from click.testing import CliRunner

from tts_dsl.cli import cli
from tts_dsl.replay.store import StoreError, load_store
from tts_dsl.replay.synthetic import synthetic_json
from tts_dsl.replay.validate import find_store_files, validate_file, validate_path

GOOD = synthetic_json(seed=3, n_questions=3, n_branches=8)


def _write(tmp_path, data, name="m/d.json"):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    elif isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_text(json.dumps(data), encoding="utf-8")
    return p


def _mutate(fn):
    d = copy.deepcopy(GOOD)
    fn(d)
    return d


def _set(q, key, value):
    def f(d):
        d[q][key] = value
    return f


def _branch(q, b, pos, value):
    def f(d):
        d[q]["each_branch"][b][pos] = value
    return f


def _delete(q, key):
    def f(d):
        del d[q][key]
    return f


# (case id, data or mutation, expected fragments of the first error besides the file name)
CASES = [
    ("truncated", json.dumps(GOOD)[:500], ["invalid JSON", "line 1"]),
    ("not a list", "\"questions\"", ["expected a JSON list of questions", "str"]),
    ("store object without questions", {"junk_answers": ["ERR"]}, ["'questions'", "missing"]),
    ("store object with an unknown field", {"questions": GOOD, "junk": ["ERR"]}, ["'junk'", "unknown store field"]),
    ("junk_answers not strings", {"questions": GOOD, "junk_answers": ["ERR", 0]}, ["'junk_answers'",
                                                                                  "list of strings"]),
    ("empty store", [], ["no questions"]),
    ("question not object", _mutate(lambda d: d.__setitem__(1, [1, 2])), ["question 1", "expected an object"]),
    ("missing gold", _mutate(_delete(2, "gold_answer")), ["question 2", "'gold_answer'", "missing"]),
    ("missing probe_freq", _mutate(_delete(0, "probe_freq")), ["question 0", "'probe_freq'", "missing"]),
    ("missing each_branch", _mutate(_delete(1, "each_branch")), ["question 1", "'each_branch'", "missing"]),
    ("empty branches", _mutate(_set(1, "each_branch", [])), ["question 1", "'each_branch'", "non-empty"]),
    ("branches not list", _mutate(_set(0, "each_branch", {"a": 1})), ["question 0", "'each_branch'"]),
    ("branch not triple", _mutate(lambda d: d[2]["each_branch"].__setitem__(5, [["1"], 10])),
     ["question 2", "'each_branch[5]'", "[probes, tokens, final]"]),
    ("empty probes", _mutate(_branch(1, 3, 0, [])), ["question 1", "'each_branch[3][0]'", "non-empty"]),
    ("probe not string", _mutate(_branch(0, 2, 0, ["1", 7])), ["question 0", "'each_branch[2][0]'", "int 7"]),
    ("final not string", _mutate(_branch(2, 0, 2, 42)), ["question 2", "'each_branch[0][2]'", "string", "int"]),
    ("gold not string", _mutate(_set(1, "gold_answer", 17)), ["question 1", "'gold_answer'", "string"]),
    ("gold null", _mutate(_set(0, "gold_answer", None)), ["question 0", "'gold_answer'", "NoneType"]),
    ("negative tokens", _mutate(_branch(1, 1, 1, -5)), ["question 1", "'each_branch[1][1]'", "-5"]),
    ("string tokens", _mutate(_branch(0, 4, 1, "900")), ["question 0", "'each_branch[4][1]'", "'900'"]),
    ("bool tokens", _mutate(_branch(0, 4, 1, True)), ["question 0", "'each_branch[4][1]'", "True"]),
    ("nan tokens", json.dumps(_mutate(_branch(2, 1, 1, float("nan")))), ["question 2", "'each_branch[1][1]'", "nan"]),
    ("fractional tokens", _mutate(_branch(2, 1, 1, 12.5)), ["question 2", "'each_branch[1][1]'", "12.5"]),
    ("inconsistent probe_freq", _mutate(_set(2, "probe_freq", 250)), ["question 2", "'probe_freq'", "250", "500"]),
    ("zero probe_freq", _mutate(_set(0, "probe_freq", 0)), ["question 0", "'probe_freq'", "positive"]),
    ("float probe_freq", _mutate(_set(0, "probe_freq", 500.0)), ["question 0", "'probe_freq'", "500.0"]),
    ("non-utf8", json.dumps(GOOD).encode()[:200] + b"\xff\xfe" + json.dumps(GOOD).encode()[200:],
     ["not UTF-8", "byte 200"]),
    ("deep nesting", "[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    ("huge integer", '[{"gold_answer": "1", "probe_freq": ' + "9" * 5000 + ', "each_branch": []}]',
     ["invalid JSON"]),
]


@pytest.mark.parametrize("case,data,frags", CASES, ids=[c[0] for c in CASES])
def test_malformed_store_gives_one_clear_error(tmp_path, case, data, frags):
    path = _write(tmp_path, data)
    before = path.read_bytes()
    with pytest.raises(StoreError) as ei:
        load_store(path)
    msg = str(ei.value)
    assert str(path) in msg, msg
    for f in frags:
        assert f in msg, (f, msg)
    assert "\n" not in msg and len(msg) < 400
    # the validator reports the same first error and never raises
    s = validate_file(path)
    assert not s.ok and s.errors[0] == msg
    assert path.read_bytes() == before  # nothing written


def test_good_store_summary(tmp_path):
    path = _write(tmp_path, GOOD, "mod/ds.json")
    s = validate_file(path)
    assert s.ok and not s.errors
    assert (s.model, s.dataset, s.questions, s.branches_total) == ("mod", "ds", 3, 24)
    assert s.branches_min == s.branches_max == 8 and s.probe_freq == 500
    nprobes = [len(b[0]) for q in GOOD for b in q["each_branch"]]
    tokens = [b[1] for q in GOOD for b in q["each_branch"]]
    assert (s.probes_min, s.probes_max) == (min(nprobes), max(nprobes))
    assert (s.tokens_min, s.tokens_max) == (min(tokens), max(tokens))
    outrun = sum(1 for q in GOOD for b in q["each_branch"] if len(b[0]) * 500 > b[1])
    assert s.outrun_share == pytest.approx(outrun / 24)
    finals = [len({b[2] for b in q["each_branch"]}) for q in GOOD]
    assert s.distinct_finals_max == max(finals)
    assert s.distinct_finals_mean == pytest.approx(sum(finals) / 3)


def test_warnings_for_suspicious_but_usable_stores(tmp_path):
    d = copy.deepcopy(GOOD)
    d[0]["each_branch"] = d[0]["each_branch"][:5]
    d[1]["gold_answer"] = " 12 "
    d[2]["extra"] = 1
    d[2]["each_branch"][0][1] = 10 ** 12
    s = validate_file(_write(tmp_path, d))
    assert s.ok
    text = "\n".join(s.warnings)
    assert "between 5 and 8 branches" in text
    assert "question 1, field 'gold_answer'" in text and "whitespace" in text
    assert "question 2: unknown key 'extra'" in text
    assert "question 2, field 'each_branch[0][1]'" in text and "implausibly long" in text


def test_directory_layouts(tmp_path):
    _write(tmp_path, GOOD, "m1/a.json")
    _write(tmp_path, GOOD, "m2/b.json")
    found = [(f.name, m, d) for f, m, d in find_store_files(tmp_path)]
    assert found == [("a.json", "m1", "a"), ("b.json", "m2", "b")]
    assert [s.model for s in validate_path(tmp_path / "m2")] == ["m2"]  # a model directory
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "notes.txt").write_text("x")
    with pytest.raises(StoreError, match="not a store: expected ROOT/<model>/<dataset>.json"):
        find_store_files(empty)
    with pytest.raises(StoreError, match="no such file or directory"):
        find_store_files(tmp_path / "missing")
    with pytest.raises(StoreError, match="not a store file"):
        find_store_files(empty / "notes.txt")
    with pytest.raises(StoreError, match="no dataset 'x'|no model 'sub'"):
        load_store(empty, "sub", "x")


def test_cli_validate_good_and_bad(tmp_path):
    good = _write(tmp_path, GOOD, "m/good.json")
    bad = _write(tmp_path, _mutate(_branch(1, 2, 1, -1)), "m/bad.json")
    stamp = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in (good, bad)}
    listing = sorted(os.listdir(tmp_path / "m"))
    r = CliRunner().invoke(cli, ["store", "validate", str(good)])
    assert r.exit_code == 0, r.output
    assert "ok (m/good" in r.output and "questions" in r.output and "probes outrun length" in r.output
    r = CliRunner().invoke(cli, ["store", "validate", str(tmp_path)])
    assert r.exit_code == 1
    assert f"error: {bad}: question 1, field 'each_branch[2][1]'" in r.output
    assert "1 of 2 stores valid" in r.output
    r = CliRunner().invoke(cli, ["store", "validate", "--json", str(good)])
    assert r.exit_code == 0 and json.loads(r.output)["questions"] == 3
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in (good, bad)} == stamp
    assert sorted(os.listdir(tmp_path / "m")) == listing  # no cache or temp files left behind


def test_cli_validate_reports_all_errors_on_request(tmp_path):
    d = copy.deepcopy(GOOD)
    d[0]["gold_answer"] = 1
    d[2]["probe_freq"] = -3
    p = _write(tmp_path, d)
    r = CliRunner().invoke(cli, ["store", "validate", str(p)])
    assert r.exit_code == 1 and "question 0" in r.output and "1 more problem" in r.output
    r = CliRunner().invoke(cli, ["store", "validate", "--all-errors", str(p)])
    assert "question 0, field 'gold_answer'" in r.output and "question 2, field 'probe_freq'" in r.output


@pytest.mark.shared
def test_real_stores_validate(replay_root):
    ss = validate_path(replay_root)
    assert len(ss) >= 4 and all(s.ok for s in ss)
    for s in ss:
        assert s.questions == 30 and s.branches_min == s.branches_max == 128 and s.probe_freq == 500
        assert 0.1 < s.outrun_share < 0.3  # the spec: about 15% of branches
