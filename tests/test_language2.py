"""The language, second edition (issue 13): diagnostics that say what went wrong, and the
constructs added after the first edition."""

from __future__ import annotations

import pytest

from tts_dsl import api
from tts_dsl.lang.diagnostics import DiagnosticsError

HEAD = "controller t\n"


def one(src: str):
    with pytest.raises(DiagnosticsError) as ei:
        api.check(src, "t.tts")
    ds = [d for d in ei.value.diagnostics if d.severity == "error"]
    assert ds, "expected an error"
    return ds[0]


# ------------------------------------------------------------- diagnostics (point 10)
def test_string_literal_says_answers_have_no_literals():
    d = one(HEAD + 'let real = [b for b in branches where b.latest != "ERR"]\nanswer none\n')
    assert d.code == "E003" and (d.span.line, d.span.col) == (2, 51)
    assert "answers have no literals" in d.message
    assert "valid(a)" in d.hint and "real(xs)" in d.hint


def test_var_after_a_statement_says_declarations_come_first():
    d = one(HEAD + "var x: int = 0\nlet y = 1\nvar z: int = 0\nanswer none\n")
    assert d.code == "E003" and (d.span.line, d.span.col) == (4, 1)
    assert "declarations come first" in d.message and "reserved" not in d.message
    assert "above the first statement" in d.hint
    d = one(HEAD + "let y = 1\nbranch var z: int = 0\nanswer none\n")
    assert "'branch' after a statement" in d.message
    d = one(HEAD + "let y = 1\nif y > 0 {\n  var z: int = 0\n}\nanswer none\n")
    assert "declarations come first" in d.message and "let NAME = VALUE" in d.hint


def test_var_as_a_name_is_still_a_reserved_word():
    d = one(HEAD + "let var = 1\nanswer none\n")
    assert d.message == "'var' is a reserved word"


@pytest.mark.parametrize("cond, fix", [
    ("0.5 < x < 3", "'0.5 < x and x < 3'"),
    ("len(completed) <= x + 1 < max(2, 3)", "'len(completed) <= x + 1 and x + 1 < max(2, 3)'"),
    ("x == 1 == true", "'x == 1 and 1 == true'"),
])
def test_chained_comparison_gets_the_and_form(cond, fix):
    d = one(HEAD + f"let x = 1.0\nif {cond} {{\n  pass\n}}\nanswer none\n")
    assert d.code == "E003" and d.message == "comparisons do not chain"
    assert d.hint == f"write {fix}"


def test_assigning_through_an_index_is_explained():
    src = HEAD + "branch var locked: bool = false\nopen\nbranches[-1].locked = true\nanswer none\n"
    d = one(src)
    assert d.code == "E003" and (d.span.line, d.span.col) == (4, 9)
    assert "can be assigned" in d.message
    assert d.hint == "name the branch first: 'let b = branches[-1]', then 'b.locked = ...'"
    d = one(HEAD + "branch var n: int = 0\nfirst(branches).n = 1\nanswer none\n")
    assert "can be assigned" in d.message and "let b = first(branches)" in d.hint


# ------------------------------------------------------------- shared helpers
def _runs(src: str, beta=None, seeds=range(3)):
    """Every engine's episodes of ``src`` on a small synthetic store (all must agree)."""
    from test_differential import _episodes
    from tts_dsl.engines.python import compile_program
    from tts_dsl.engines.reference import interpret_program
    from tts_dsl.lang.limits import Limits
    from tts_dsl.lang.schedule import bind

    checked = api.check(src)
    limits, binding = Limits(), bind(checked, beta)
    paths = [compile_program(checked, binding, limits), compile_program(checked, binding, limits, traced=True),
             interpret_program(checked, binding, limits)]
    runs = [_episodes(p, STORE, seeds, limits) for p in paths]
    assert runs[0] == runs[1] == runs[2]
    return runs[0]


def _traced(src: str, label: str, question: int = 0, seed: int = 0) -> list:
    t = api.trace(api.check(src), STORE, question, seed)
    return [e["fields"] for e in t["events"] if e.get("kind") == "trace" and e.get("label") == label]


from tts_dsl.replay.synthetic import synthetic_store  # noqa: E402

STORE = synthetic_store(7, n_questions=3, n_branches=10)


# ------------------------------------------------------------- sorted by several keys (point 7)
SORT3 = HEAD + """repeat 8 { open else break }
for b in branches where b.index % 3 != 0 { advance b }
for b in branches where b.index % 4 == 1 { advance b }
trace "s" {steps: [b.steps for b in branches], order: [b.index for b in branches sorted by b.steps desc, b.index % 2, b.index desc]}
answer [b.latest for b in branches sorted by b.steps desc, b.index % 2 desc take 3][0]
"""


def test_sorted_by_several_keys_is_lexicographic_and_stable():
    for q in range(3):
        (f,) = _traced(SORT3, "s", question=q)
        steps = f["steps"]
        want = sorted(range(len(steps)), key=lambda i: (-steps[i], i % 2, -i))
        assert f["order"] == want
        assert len(set(steps)) < len(steps)  # ties exist: the later keys decide
    assert {r[2] for r in _runs(SORT3)} == {0}


def test_sorted_ties_keep_list_order():
    src = HEAD + ("repeat 6 { open else break }\n"
                  "trace \"s\" {order: [b.index for b in branches sorted by b.steps desc, b.finished]}\n"
                  "answer none\n")
    assert _traced(src, "s")[0]["order"] == [0, 1, 2, 3, 4, 5]


def test_several_sort_keys_format_and_round_trip():
    src = HEAD + "let xs = [b.index for b in branches sorted by b.steps desc, b.cost, b.finished desc take 2]\nanswer none\n"
    out = api.format_source(src)
    assert "sorted by b.steps desc, b.cost, b.finished desc take 2" in out
    assert api.parse(out) == api.parse(src)
    q = api.parse(src).body[0].value.query
    assert [d for _, d in q.sort_keys()] == [True, False, True]


def test_every_sort_key_must_be_a_number():
    d = one(HEAD + "let xs = [b for b in branches sorted by b.steps, b.latest]\nanswer none\n")
    assert d.code == "E201" and "sorted by" in d.message and (d.span.line, d.span.col) == (2, 50)
    d = one(HEAD + "let xs = [b for b in branches sorted by b.steps, b.cost up]\nanswer none\n")
    assert d.code == "E005"


# ------------------------------------------------------------- repeat EXPR max CONST (point 4)
def _repeat_src(n: str, bound: str = "3") -> str:
    return HEAD + f"""params {{
  m: int = {bound}
}}
repeat 4 {{ open else break }}
let n = {n}
repeat n max m as i {{ trace "r" {{i: i}} }}
answer majority(completed) if len(completed) > 0 else branches[0].latest
"""


@pytest.mark.parametrize("n, iters", [("opened - 2", 2), ("opened", 3), ("opened * 10", 3), ("0", 0),
                                      ("2 - opened", 0)])
def test_repeat_with_a_computed_count_runs_min_of_count_and_bound(n, iters):
    src = _repeat_src(n)
    assert [f["i"] for f in _traced(src, "r")] == list(range(iters))
    assert {r[2] for r in _runs(src)} == {0}


def test_repeat_count_is_computed_once_when_the_loop_starts():
    src = HEAD + """var n: int = 2
repeat n max 9 as i {
  n = n + 1
  trace "r" {i: i}
}
answer none
"""
    assert len(_traced(src, "r")) == 2
    _runs(src)


def test_repeat_static_cost_uses_the_bound():
    from tts_dsl.engines.analysis import analyze, static_steps
    from tts_dsl.lang.schedule import bind

    c = api.check(HEAD + "repeat len([b for b in branches]) max 7 { pass }\nanswer none\n")
    an = analyze(c, bind(c, None))
    assert static_steps(c, an, nb=5) == 5 + 7  # the count's comprehension, then 7 iterations
    c = api.check(HEAD + "repeat 7 { pass }\nanswer none\n")
    assert static_steps(c, analyze(c, bind(c, None)), nb=5) == 7


def test_repeat_count_diagnostics():
    d = one(HEAD + "let n = opened\nrepeat n { pass }\nanswer none\n")
    assert d.code == "E305" and "repeat n max 8" in d.hint
    d = one(HEAD + "let n = opened\nrepeat 3 max n { pass }\nanswer none\n")
    assert d.code == "E305" and d.message == "the bound of a repeat must be constant during the episode"
    d = one(HEAD + "let n = opened\nrepeat n upto 3 { pass }\nanswer none\n")
    assert d.code == "E006" and "max" in d.hint
    d = one(HEAD + "let n = opened\nrepeat n max 99999999 { pass }\nanswer none\n")
    assert d.code == "L005"
    d = one(HEAD + "repeat 2.5 max 3 { pass }\nanswer none\n")
    assert d.code == "E201" and "repeat count" in d.message


def test_repeat_max_formats_and_round_trips():
    src = HEAD + "let n = opened\nrepeat n+1 max 4 as k {\n  pass\n}\nanswer none\n"
    out = api.format_source(src)
    assert "repeat n + 1 max 4 as k { pass }" in out
    assert api.parse(out) == api.parse(src)


# ------------------------------------------------------------- junk answers (point 1)
def _junk_store(tmp_path, junk=None):
    """One question, three branches: two end on the extractor failure "ERR", one on the gold "5"."""
    import json

    from tts_dsl.replay.store import load_store

    qs = [{"gold_answer": "5", "probe_freq": 100,
           "each_branch": [[["ERR"], 100, "ERR"], [["?"], 100, "ERR"], [["5"], 100, "5"]]}]
    data = qs if junk is None else {"junk_answers": junk, "questions": qs}
    p = tmp_path / "m" / "d.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(data), encoding="utf-8")
    return load_store(p)


JUNK_VOTE = HEAD + """repeat 3 { read else break }
let ok = [valid(a) for a in completed]
trace "j" {ok: ok, n: len(real(completed)), none_ok: valid(none)}
answer majority(real(completed))
"""
PLAIN_VOTE = HEAD + "repeat 3 { read else break }\nanswer majority(completed)\n"


def test_junk_is_a_property_of_the_store(tmp_path):
    s = _junk_store(tmp_path)
    q = s.questions[0]
    assert s.junk_answers == ("ERR", "?", "")
    assert {q.answers[i] for i in q.junk} == {"ERR", "?"}
    s2 = _junk_store(tmp_path, junk=["5"])
    assert s2.junk_answers == ("5",) and {s2.questions[0].answers[i] for i in s2.questions[0].junk} == {"5"}
    assert _junk_store(tmp_path, junk=[]).questions[0].junk == frozenset()


def test_votes_skip_junk_only_when_asked(tmp_path):
    s = _junk_store(tmp_path)
    assert api.evaluate_one(api.check(PLAIN_VOTE), s, seeds=4).accuracy == 0.0  # junk counts as answers
    assert api.evaluate_one(api.check(JUNK_VOTE), s, seeds=4).accuracy == 100.0
    # the store decides what is junk
    assert api.evaluate_one(api.check(JUNK_VOTE), _junk_store(tmp_path, junk=["5"]), seeds=4).accuracy == 0.0


def test_valid_and_real_in_every_engine(tmp_path):
    from test_differential import _episodes
    from tts_dsl.engines.python import compile_program
    from tts_dsl.engines.reference import interpret_program
    from tts_dsl.lang.limits import Limits
    from tts_dsl.lang.schedule import bind

    s = _junk_store(tmp_path)
    c = api.check(JUNK_VOTE)
    limits, binding = Limits(), bind(c, None)
    paths = [compile_program(c, binding, limits), compile_program(c, binding, limits, traced=True),
             interpret_program(c, binding, limits)]
    runs = [_episodes(p, s, range(4), limits) for p in paths]
    assert runs[0] == runs[1] == runs[2]
    gold = s.questions[0].gold
    assert all(r[0] == gold for r in runs[0])
    (f,) = _traced_on(JUNK_VOTE, s, "j")
    assert sorted(f["ok"]) == [False, False, True] and f["n"] == 1 and f["none_ok"] is False


def _traced_on(src, store, label):
    t = api.trace(api.check(src), store, 0, 0)
    return [e["fields"] for e in t["events"] if e.get("kind") == "trace" and e.get("label") == label]


def test_an_episode_without_the_junk_set_fails_loudly(tmp_path):
    from tts_dsl.engines.python import compile_program
    from tts_dsl.lang.limits import Limits
    from tts_dsl.lang.schedule import bind
    from tts_dsl.engines.runtime import RuntimeProblem

    q = _junk_store(tmp_path).questions[0]
    c = api.check(JUNK_VOTE)
    exe = compile_program(c, bind(c, None), Limits())
    with pytest.raises(RuntimeProblem, match="junk answers were not given"):
        exe.episode(q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, q.n_branches, (0, 1, 2), 100, 10000, None)


def test_store_validate_reports_the_junk_rate(tmp_path):
    from tts_dsl.replay.validate import validate_file

    s = _junk_store(tmp_path)
    v = validate_file(s.path)
    assert v.junk_answers == ["ERR", "?", ""]
    assert v.junk_probe_share == pytest.approx(2 / 3) and v.junk_final_share == pytest.approx(2 / 3)


def test_junk_builtins_type_check():
    d = one(HEAD + "let x = valid(3)\nanswer none\n")
    assert d.code == "E201" and "valid: expects an answer" in d.message
    d = one(HEAD + "let x = real([1, 2])\nanswer none\n")
    assert d.code == "E201" and "real: expects a list of answers" in d.message


# ------------------------------------------------------------- beta_confidence on real counts (point 8)
@pytest.mark.parametrize("n", [300, pytest.param(1500, marks=pytest.mark.slow)])  # the slow set tries more
def test_beta_confidence_on_real_counts_matches_scipy(n):
    from hypothesis import given, settings
    from hypothesis import strategies as hs
    from scipy.special import betainc  # the test extra's reference implementation

    from tts_dsl.lang.builtins import FUNCTIONS

    bc = FUNCTIONS["beta_confidence"].impl

    @settings(max_examples=n, deadline=None, database=None)
    @given(hs.floats(0.001, 5000), hs.floats(0, 5000))
    def agree(t1, t2):
        want = float(betainc(t2 + 1, t1 + 1, 0.5))  # P(X > 1/2) = I_{1/2}(top2 + 1, top1 + 1)
        # vote counts are at most the branch count (128 here): 12 digits there; the log-gamma
        # prefactor loses a few more digits for counts in the thousands
        rel = 1e-12 if t1 + t2 <= 256 else 1e-9
        # deep in the tail scipy underflows to 0 where the continued fraction still gives a
        # tiny value (3.4e-289 was seen): agree to 1e-250 absolute there, far below anything
        # a vote margin can resolve
        assert bc(t1, t2) == pytest.approx(want, rel=rel, abs=1e-250)

    agree()
    agree_small = given(hs.floats(0.001, 128), hs.floats(0, 128))(agree.hypothesis.inner_test)
    settings(max_examples=n, deadline=None, database=None)(agree_small)()
    for t1, t2 in [(2.5, 0.5), (7.25, 3.0), (0.5, 0.0), (64.5, 63.5), (1e-9, 0.0)]:
        assert bc(t1, t2) == pytest.approx(float(betainc(t2 + 1, t1 + 1, 0.5)), rel=1e-12)


def test_beta_confidence_whole_counts_stay_exact():
    from fractions import Fraction
    from math import comb

    from tts_dsl.lang.builtins import FUNCTIONS

    bc = FUNCTIONS["beta_confidence"].impl
    for t1 in range(1, 40):
        for t2 in range(0, 40):
            n = t1 + t2 + 1
            exact = float(Fraction(sum(comb(n, j) for j in range(t1 + 1)), 2 ** n))
            assert bc(t1, t2) == exact and bc(float(t1), float(t2)) == exact
    assert bc(0, 3) == bc(-0.5, 3) == 0.0
    # continuous across whole counts
    assert bc(5.000001, 2) == pytest.approx(bc(5, 2), abs=1e-6)


def test_beta_confidence_takes_weighted_votes():
    src = HEAD + """repeat 6 { open else break }
let w = weighted_votes([b.latest for b in branches], [0.5 + b.index for b in branches])
trace "c" {c: beta_confidence(w.top1, w.top2)}
answer w.winner
"""
    c = api.check(src)
    assert _runs(src)
    (f,) = _traced(src, "c")
    assert 0.0 <= f["c"] <= 1.0
    d = one(HEAD + "let x = beta_confidence(true, 1)\nanswer none\n")
    assert d.code == "E201" and "must be a number" in d.message
    assert c.name == "t"


def test_beta_confidence_real_path_errors():
    from tts_dsl.engines.runtime import RuntimeProblem
    from tts_dsl.lang.builtins import FUNCTIONS

    bc = FUNCTIONS["beta_confidence"].impl
    with pytest.raises(RuntimeProblem, match="top2 must be >= 0"):
        bc(1.5, -0.5)
    with pytest.raises(RuntimeProblem, match="finite"):
        bc(float("inf"), 1.0)
    with pytest.raises(RuntimeProblem, match="exceeds"):
        bc(15000.5, 15000.0)


# ------------------------------------------------------------- partition, for ... where snapshots (point 9)
PART = HEAD + """repeat 6 { open else break }
for b in branches where b.index % 2 == 0 { advance b }
let done, live = partition b in branches by b.steps > 1
let hi, lo = partition x in range(10) by x >= 4
trace "p" {done: [b.index for b in done], live: [b.index for b in live], hi: hi, lo: lo}
answer majority([b.latest for b in live + done])
"""


def test_partition_splits_in_one_pass_keeping_order():
    (f,) = _traced(PART, "p")
    assert f["hi"] == [4, 5, 6, 7, 8, 9] and f["lo"] == [0, 1, 2, 3]
    assert sorted(f["done"] + f["live"]) == list(range(6))
    assert f["done"] == sorted(f["done"]) and f["live"] == sorted(f["live"])
    assert all(i % 2 == 0 for i in f["done"])
    _runs(PART)


def test_partition_is_a_snapshot_unlike_two_filtered_loops():
    # two loops filtering the same list see different states: the first loop's actions
    # change what the second one selects; a partition decides every element at once
    src = HEAD + """var first: int = 0
var second: int = 0
repeat 4 { open else break }
for b in branches where b.steps < 3 { advance b; advance b; first = first + 1 }
for b in branches where b.steps < 3 { second = second + 1 }
let young, old = partition b in branches by b.steps < 3
trace "s" {first: first, second: second, young: len(young), old: len(old)}
answer none
"""
    (f,) = _traced(src, "s")
    # the first loop runs over all four although each stops qualifying once advanced
    assert f["first"] == 4 and f["second"] == 0 and (f["young"], f["old"]) == (0, 4)
    _runs(src)


def test_partition_static_cost_and_charge():
    from tts_dsl.engines.analysis import analyze, static_steps
    from tts_dsl.lang.schedule import bind

    c = api.check(HEAD + "let a, b = partition x in range(5) by x > 2\nanswer none\n")
    assert static_steps(c, analyze(c, bind(c, None)), nb=5) == 5


def test_partition_checks_and_formats():
    d = one(HEAD + "let a, b = partition x in range(5) by x + 1\nanswer none\n")
    assert d.code == "E201" and "a where filter" in d.message
    d = one(HEAD + "let a, a = partition x in range(5) by x > 1\nanswer none\n")
    assert d.code == "E105"
    d = one(HEAD + "let a, b = partition x in 3 by x > 1\nanswer none\n")
    assert d.code == "E201" and "loop over a list" in d.message
    src = HEAD + "let a,b=partition x in range(5)by x>1\nanswer none\n"
    out = api.format_source(src)
    assert "let a, b = partition x in range(5) by x > 1" in out and api.parse(out) == api.parse(src)


# ------------------------------------------------------------- actions as conditions (point 5)
COND = HEAD + """var n: int = 0
repeat 5 {
  if open as b {
    n = n + 1
    if advance b { trace "adv" {i: b.index, s: b.steps} }
  } else {
    break
  }
}
for b in branches {
  if prune b { n = n + 10 }
  if prune b { n = n + 100 } else { n = n - 1 }
}
trace "n" {n: n}
answer majority([b.latest for b in branches])
"""


def test_actions_as_conditions_run_their_block_when_done():
    fs = _traced(COND, "adv")
    assert [f["i"] for f in fs] == [0, 1, 2, 3, 4] and all(f["s"] == 2 for f in fs)
    assert _traced(COND, "n") == [{"n": 5 + 5 * 10 - 5}]
    _runs(COND)


def test_open_as_condition_on_an_exhausted_pool_runs_the_else():
    src = HEAD + """var opened_here: int = 0
var failed: int = 0
repeat 12 {
  if open as b { opened_here = opened_here + 1 } else { failed = failed + 1 }
}
trace "c" {ok: opened_here, failed: failed}
answer none
"""
    assert _traced(src, "c") == [{"ok": 10, "failed": 2}]  # the store has 10 branches per question
    _runs(src)


def test_action_condition_binding_is_scoped_and_needs_no_else():
    api.check(HEAD + "if open as b { advance b }\nanswer none\n")
    d = one(HEAD + "if open as b { advance b }\nadvance b\nanswer none\n")
    assert d.code == "E301" and "'b'" in d.message
    # both arms answering: the statement always answers
    api.check(HEAD + "if read as b { answer b.latest } else { answer none }\n")


def test_action_condition_formats_and_round_trips():
    src = HEAD + "if open as b {advance b} else {pass}\nif prune branches[0] { pass }\nanswer none\n"
    out = api.format_source(src)
    assert "if open as b {\n  advance b\n} else {\n  pass\n}\nif prune branches[0] {\n  pass\n}" in out
    assert api.parse(out) == api.parse(src)


# ------------------------------------------------------------- branch var initial values reading the new branch (point 6)
NEW = HEAD + """params {
  k: int = 2
}
branch var first: answer = new.latest
branch var born: int = new.steps * 10 + new.index + k
branch var real_start: bool = valid(new.latest) and not new.finished
branch var plain: int = k
repeat 3 { open else break }
read
for b in branches { advance b }
trace "n" {first: [b.first for b in branches], born: [b.born for b in branches], ok: [b.real_start for b in branches], plain: [b.plain for b in branches]}
answer majority([b.first for b in branches])
"""


def test_branch_var_initial_values_read_the_new_branch():
    (f,) = _traced(NEW, "n")
    # opened branches were revealed one interval (steps 1); the read one none (steps 0)
    assert f["born"] == [12, 13, 14, 5]
    assert f["ok"] == [True, True, True, False] and f["plain"] == [2, 2, 2, 2]
    t = api.trace(api.check(NEW), STORE, 0, 0)
    opened = [e for e in t["events"] if e.get("kind") in ("open", "read")]
    assert len(opened) == 4
    _runs(NEW)


def test_branch_var_initial_values_see_only_the_new_branch():
    d = one(HEAD + "branch var a: int = len(branches)\nanswer none\n")
    assert d.code == "E306"
    d = one(HEAD + "branch var c: answer = new.history[0]\nanswer none\n")
    assert d.code == "E306"
    d = one(HEAD + "branch var c: int = 0\nbranch var e: int = new.c\nanswer none\n")
    assert d.code == "E306" and "'new.c'" in d.message
    d = one(HEAD + "let x = new.steps\nanswer none\n")
    assert d.code == "E301"
