"""Traces: the traced interpreter gives the same results, decoded traces follow the
documented schema and agree with hand computations, the CLI writes and draws them."""

from __future__ import annotations

import io
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tts_dsl import api
from tts_dsl.cli import main
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.limits import Limits
from tts_dsl.replay.store import permutation
from tts_dsl.reporting.timeline import render_timeline
from tts_dsl.reporting.traces import (SCHEMA, decode_value, parse_selection, read_jsonl, trace_episodes,
                                      validate_record, write_jsonl)

from conftest import PROGRAMS, default_and_slow

BASELINES = ["sc", "asc", "esc", "parallel_probe", "cmc"]
SMALL = {"sc": {"n": 8}, "asc": {"max_samples": 8}, "esc": {"max_samples": 16},
         "parallel_probe": {"num_chains": 6, "warm_up": 2, "T": 5}, "cmc": {}}


def prog(name):
    return api.load(PROGRAMS / f"{name}.tts")


def traces_of(src_or_name, store, questions=None, seeds=(0,), beta=None, params=None, limits=None):
    c = prog(src_or_name) if src_or_name in BASELINES else api.check(src_or_name)
    exe = api.compile(c, beta if beta is not None else (0.5 if c.uses_beta else None), params, traced=True,
                      limits=limits)
    qs = range(len(store.questions)) if questions is None else questions
    return trace_episodes(exe, store, qs, seeds, limits)


@pytest.mark.parametrize("name", BASELINES)
def test_traced_results_equal_untraced(name, small_store):
    c = prog(name)
    beta = 0.5 if c.uses_beta else None
    plain = run(api.compile(c, beta), small_store, range(4))
    seen = []
    traced = run(api.compile(c, beta, traced=True), small_store, range(4),
                 tracer=lambda q, s, ev, a, cost, why: seen.append((q.index, s, a, cost)))
    assert traced.correct == plain.correct and traced.cost == plain.cost
    assert traced.accuracy == plain.accuracy and traced.avg_cost == plain.avg_cost
    assert len(seen) == 4 * len(small_store.questions)


@pytest.mark.parametrize("name", BASELINES)
def test_decoded_traces_are_valid_and_agree_with_the_run(name, small_store):
    c = prog(name)
    beta = 0.5 if c.uses_beta else None
    exe = api.compile(c, beta, SMALL[name])
    plain = run(exe, small_store, range(2))
    recs = traces_of(name, small_store, seeds=(0, 1), params=SMALL[name])
    assert len(recs) == 2 * len(small_store.questions)
    for r in recs:
        assert validate_record(r) == [], validate_record(r)
        assert r["schema"] == SCHEMA
        q = small_store.questions[r["question"]]
        assert r["cost"] == plain.cost[r["seed"]][r["question"]]
        assert r["correct"] == bool(plain.correct[r["seed"]][r["question"]])
        assert r["gold"] == q.answers[q.gold]
        assert sum(e["charged"] for e in r["events"] if e["kind"] in ("open", "read", "advance", "prune")) == r["cost"]
        # per-branch summaries add up to the episode cost and follow the seed's order
        assert sum(b["charged"] for b in r["branches"]) == r["cost"]
        order = permutation(q.n_branches, r["seed"])
        assert [b["source"] for b in r["branches"]] == list(order[:r["opened"]])
        json.dumps(r, allow_nan=False)  # strict JSON


def test_sc_trace_by_hand(small_store):
    """SC@3 on question 2, seed 5: three reads of the first three branches of the seed's
    order, each charged its full length; the answer is their majority."""
    q = small_store.questions[2]
    order = permutation(q.n_branches, 5)
    (r,) = traces_of("sc", small_store, [2], [5], params={"n": 3})
    acts = [e for e in r["events"] if e["kind"] == "read"]
    assert [e["branch"] for e in acts] == [0, 1, 2]
    assert [e["charged"] for e in acts] == [q.tokens[order[i]] for i in range(3)]
    assert [e["answer"] for e in acts] == [q.answers[q.final[order[i]]] for i in range(3)]
    assert [e["step"] for e in acts] == [1, 2, 3]
    assert [e["cost"] for e in acts] == [sum(q.tokens[order[i]] for i in range(k + 1)) for k in range(3)]
    finals = [q.answers[q.final[order[i]]] for i in range(3)]
    assert r["answer"] == Counter(finals).most_common(1)[0][0]  # ties: first seen (Counter keeps order)
    assert r["ended"] == "answer" and r["actions"] == 3 and r["opened"] == 3
    assert all(b["mode"] == "read" and b["finished"] for b in r["branches"])


def test_probe_trace_by_hand(small_store):
    """open then advance the same branch: answers are its probes in order, 500 tokens each,
    then its final answer charged the rest of its length."""
    src = """controller deep
repeat 60 {
  open else break
  break
}
for b in branches {
  repeat 60 {
    advance b else break
  }
}
answer majority(completed)
"""
    q = small_store.questions[0]
    j = permutation(q.n_branches, 0)[0]
    (r,) = traces_of(src, small_store, [0], [0])
    acts = [e for e in r["events"] if e["kind"] in ("open", "advance") and e["status"] == "ok"]
    probes = [q.answers[a] for a in q.probes[j]]
    assert [e["answer"] for e in acts] == probes + [q.answers[q.final[j]]]
    assert [e["interval"] for e in acts] == list(range(1, len(probes) + 2))
    assert all(e["charged"] == q.probe_freq for e in acts[:-1])
    assert acts[-1]["charged"] == max(0, q.tokens[j] - q.probe_freq * len(probes))
    assert acts[-1]["finished"] and r["branches"][0]["final_revealed"]
    noop = [e for e in r["events"] if e["kind"] == "advance" and e["status"] == "no-op"]
    assert len(noop) == 1  # the advance after the branch finished
    assert r["cost"] == max(q.tokens[j], q.probe_freq * len(probes))


def test_only_changed_variables_and_program_events(small_store):
    src = """controller vars
var x: int = 0
var best: answer = none
repeat 3 {
  x = 0
}
x = 1
read
let v = votes(completed)
best = v.winner
trace "after read" {n: opened, w: v.winner, xs: [x, x + 1]}
answer best
"""
    (r,) = traces_of(src, small_store, [1], [0])
    sets = [(e["name"], e["value"]) for e in r["events"] if e["kind"] == "set"]
    q = small_store.questions[1]
    fin = q.answers[q.final[permutation(q.n_branches, 0)[0]]]
    assert sets == [("x", 0), ("x", 1), ("v", {"winner": fin, "top1": 1, "top2": 0}), ("best", fin)]
    (t,) = [e for e in r["events"] if e["kind"] == "trace"]
    assert t["label"] == "after read" and t["fields"] == {"n": 1, "w": fin, "xs": [1, 2]}
    assert t["line"] == 11
    assert r["end_line"] == 12 and r["answer"] == fin
    iters = [e["n"] for e in r["events"] if e["kind"] == "iter"]
    assert iters == [0, 1, 2]


def test_end_reasons(small_store):
    nb = small_store.questions[0].n_branches
    src = f"""controller greedy
repeat {nb + 5} {{
  open else break
}}
answer majority([b.latest for b in branches])
"""
    (r,) = traces_of(src, small_store, [0], [0])
    assert r["pool_exhausted"] and r["opened"] == nb and r["ended"] == "answer"
    assert validate_record(r) == []
    (r,) = traces_of(src, small_store, [0], [0], limits=Limits().with_(max_actions=3))
    assert r["ended"] == "action_cap" and r["answer"] is None and r["actions"] == 3 and not r["correct"]
    assert r["end_line"] == 3
    text = render_timeline(r)
    assert "action cap reached" in text


def test_prune_and_decisions_recorded(small_store):
    (r,) = traces_of("parallel_probe", small_store, [3], [1], params={"num_chains": 8, "warm_up": 1,
                                                                     "prune_patience": 1, "T": 50})
    prunes = [e for e in r["events"] if e["kind"] == "prune" and e["status"] == "ok"]
    pruned = [b["index"] for b in r["branches"] if b["pruned"]]
    assert sorted(e["branch"] for e in prunes) == sorted(pruned)
    ifs = [e for e in r["events"] if e["kind"] == "if"]
    assert ifs and all(e["arm"] in (0, "else", None) or isinstance(e["arm"], int) for e in ifs)
    assert "[if line" in render_timeline(r, decisions=True)
    assert "[if line" not in render_timeline(r)


def test_validation_catches_corruption(small_store):
    (r,) = traces_of("cmc", small_store, [0], [0])
    assert validate_record(r) == []
    bad = json.loads(json.dumps(r))
    act = next(e for e in bad["events"] if e["kind"] == "advance")
    act["charged"] += 1
    assert any("sum of charges" in p for p in validate_record(bad))
    bad = json.loads(json.dumps(r))
    bad["events"][0]["kind"] = "teleport"
    assert any("unknown kind" in p for p in validate_record(bad))
    bad = json.loads(json.dumps(r))
    del bad["ended"]
    assert validate_record(bad) == ["record: missing 'ended'"]
    bad = json.loads(json.dumps(r))
    bad["correct"] = not bad["correct"]
    assert validate_record(bad) == ["record: 'correct' disagrees with answer and gold"]


def test_jsonl_round_trip(tmp_path, small_store):
    recs = traces_of("esc", small_store, [0, 1], [0, 3])
    p = tmp_path / "t.jsonl"
    with open(p, "w") as fh:
        assert write_jsonl(recs, fh) == 4
    assert read_jsonl(p) == json.loads(json.dumps(recs))


def test_decode_values():
    answers = ["12", "7"]
    assert decode_value(1, "answer", answers) == "7"
    assert decode_value(None, "answer", answers) is None
    assert decode_value([0, None, 1], "list[answer]", answers) == ["12", None, "7"]
    assert decode_value((0, 3, 1), "votes", answers) == {"winner": "12", "top1": 3, "top2": 1}
    assert decode_value(float("inf"), "float", answers) == "inf"
    assert decode_value([1.5, float("nan")], "list[float]", answers) == [1.5, "nan"]
    assert decode_value(1, "int", answers) == 1  # ints stay ints unless typed answer


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 49), min_size=1, max_size=8))
def test_parse_selection(values):
    spec = ",".join(str(v) for v in values)
    assert parse_selection(spec, 50, "question") == list(dict.fromkeys(values))
    lo, hi = min(values), max(values)
    assert parse_selection(f"{lo}-{hi}", 50, "question") == list(range(lo, hi + 1))


def test_parse_selection_errors():
    assert parse_selection(None, 3, "seed") == [0, 1, 2]
    assert parse_selection("all", 2, "seed") == [0, 1]
    for bad in ("3", "x", "2-1", "", "0-5"):
        with pytest.raises(ValueError):
            parse_selection(bad, 3, "question")


# ----------------------------------------------------------------------- CLI
def is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_cli_trace_timeline_and_png(tmp_path, capsys):
    png = tmp_path / "ep.png"
    rc = main(["trace", str(PROGRAMS / "cmc.tts"), "--question", "3", "--seed", "2", "--png", str(png)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "cmc on synthetic/default: question 3, seed 2, beta 0.5" in out
    assert "end: answer statement at line" in out
    assert is_png(png)


def test_cli_trace_json_and_read_picture(tmp_path, capsys):
    png = tmp_path / "read.png"
    rc = main(["trace", str(PROGRAMS / "asc.tts"), "--question", "1", "--json", "--png", str(png)])
    cap = capsys.readouterr()
    assert rc == 0
    rec = json.loads(cap.out)
    assert validate_record(rec) == [] and rec["question"] == 1 and rec["seed"] == 0
    assert is_png(png)


def test_cli_trace_bad_input(capsys):
    rc = main(["trace", str(PROGRAMS / "sc.tts"), "--question", "999"])
    err = capsys.readouterr().err
    assert rc == 2 and "question 999 is out of range" in err and "Traceback" not in err
    rc = main(["trace", str(PROGRAMS / "sc.tts"), "--set", "n=0"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and "sc.tts" in err


def test_cli_eval_writes_selected_traces(tmp_path, capsys):
    p = tmp_path / "t.jsonl"
    rc = main(["eval", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "cmc.tts"), "--seeds", "3", "-q",
               "--traces", str(p), "--trace-questions", "0,4-5", "--trace-seeds", "1-2"])
    assert rc == 0
    recs = read_jsonl(p)
    assert [(r["program"], r["seed"], r["question"]) for r in recs] == [
        (pg, s, q) for pg in ("sc", "cmc") for s in (1, 2) for q in (0, 4, 5)]
    assert all(validate_record(r) == [] for r in recs)
    capsys.readouterr()
    rc = main(["eval", str(PROGRAMS / "sc.tts"), "--seeds", "3", "--traces", str(p), "--trace-seeds", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and "seed 3 is out of range" in err


def test_timeline_marks_final_answer(small_store):
    (r,) = traces_of("esc", small_store, [0], [0])
    text = render_timeline(r)
    n_star = sum(1 for line in text.splitlines() if " *" in line and "read" in line)
    agree = sum(1 for e in r["events"] if e["kind"] == "read" and e["answer"] == r["answer"])
    assert n_star == agree > 0
    assert io.StringIO(text).read().count("\n") >= r["actions"]


BAD = """controller bad
var xs: list[int] = []
repeat 2 {
  open
}
if opened >= 2 {
  answer [b.latest for b in branches][xs[0]]
}
answer none
"""


def test_runtime_error_keeps_the_trace_up_to_the_error(small_store, tmp_path, capsys):
    from tts_dsl.reporting.traces import TraceError

    exe = api.compile(api.check(BAD), traced=True)
    with pytest.raises(TraceError) as ei:
        trace_episodes(exe, small_store, [1, 2], [0])
    (rec,) = ei.value.records
    assert rec["question"] == 1 and rec["ended"] == "error" and "list index out of range" in rec["error"]
    assert [e["kind"] for e in rec["events"] if e["kind"] == "open"] == ["open", "open"]
    assert validate_record(rec) == [] and rec["cost"] == 2 * small_store.questions[1].probe_freq
    p = tmp_path / "bad.tts"
    p.write_text(BAD)
    rc = main(["trace", str(p), "--question", "2"])
    cap = capsys.readouterr()
    assert rc == 1 and "end: runtime error" in cap.out
    assert "bad.tts:7:3: error[R001]" in cap.err and "Traceback" not in cap.err


TINY = None


def _tracing_never_changes_a_result_generated_programs(data):
    """For generated programs: traced and untraced runs agree on every episode, and every
    decoded trace (including one that ends in a runtime error) is schema-valid."""
    from strategies import valid_sources

    from tts_dsl.lang.diagnostics import DiagnosticsError
    from tts_dsl.replay.synthetic import synthetic_store
    from tts_dsl.reporting.traces import TraceError

    global TINY
    if TINY is None:
        TINY = synthetic_store(seed=3, n_questions=3, n_branches=16)
    src = data.draw(valid_sources())
    limits = Limits().with_(max_actions=400, max_steps=4000)
    try:
        c = api.check(src, limits=limits)
        plain_exe = api.compile(c, 0.5, limits=limits)
        traced_exe = api.compile(c, 0.5, traced=True, limits=limits)
    except DiagnosticsError:
        return
    plain = run(plain_exe, TINY, range(2), limits)
    try:
        recs = trace_episodes(traced_exe, TINY, range(3), range(2), limits)
    except TraceError as ex:
        assert plain.error is not None and plain.error.message == ex.diagnostic.message
        recs = ex.records
        assert recs and recs[-1]["ended"] == "error"
    else:
        assert plain.error is None
        assert [[r["cost"] for r in recs[s * 3:(s + 1) * 3]] for s in range(2)] == plain.cost
        assert [[int(r["correct"]) for r in recs[s * 3:(s + 1) * 3]] for s in range(2)] == plain.correct
    for r in recs:
        assert validate_record(r) == [], (src, validate_record(r))
        json.dumps(r, allow_nan=False)


# 8 generated programs in the default suite, 25 in the slow set (CI runs both)
test_tracing_never_changes_a_result_generated_programs, test_tracing_never_changes_a_result_generated_programs_more = \
    default_and_slow(_tracing_never_changes_a_result_generated_programs, given(st.data()), 8, 25)


def test_an_action_with_a_multi_line_else_keeps_its_own_line():
    # the else block was generated before the action's event, which then took the block's line
    src = ("controller tr\nrepeat 3 {\n  open else {\n    break\n  }\n  read else {\n    break\n  }\n}\n"
           "answer majority(completed)\n")
    lines = {(e["kind"], e["line"]) for e in api.trace(src)["events"] if e["kind"] in ("open", "read")}
    assert lines == {("open", 3), ("read", 6)}
