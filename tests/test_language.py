"""The language core: parsing, checking, diagnostics (positions, hints, JSON), semantics."""

from __future__ import annotations

import json

import pytest

from tts_dsl import api
from tts_dsl.lang import ast as A
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.replay.synthetic import synthetic_store

from conftest import PROGRAMS

HEAD = "controller t\n"


def diags(src: str):
    with pytest.raises(DiagnosticsError) as ei:
        api.check(src, "t.tts")
    return ei.value.diagnostics


def one(src: str):
    ds = [d for d in diags(src) if d.severity == "error"]
    assert ds, "expected an error"
    return ds[0]


# ------------------------------------------------------------------ parsing
def test_baselines_parse_and_check():
    for name in ("sc", "asc", "esc", "parallel_probe", "cmc"):
        c = api.load(PROGRAMS / f"{name}.tts")
        assert c.name == name


def test_baselines_are_short():
    for name in ("sc", "asc", "esc", "parallel_probe"):
        assert len((PROGRAMS / f"{name}.tts").read_text().splitlines()) < 40
    assert len((PROGRAMS / "cmc.tts").read_text().splitlines()) <= 120


def test_ast_equality_ignores_positions():
    a = api.parse(HEAD + "answer majority(completed)\n")
    b = api.parse("\n\n" + HEAD + "\n   answer   majority( completed )")
    assert a == b
    c = api.parse(HEAD + "answer majority(branches)\n")
    assert a != c


def test_semicolons_and_one_line_blocks():
    p = api.parse(HEAD + "repeat 3 { read else break }; answer majority(completed)")
    assert isinstance(p.body[0], A.Repeat)
    assert isinstance(p.body[0].body[0], A.Action)
    assert isinstance(p.body[1], A.AnswerStmt)


def test_else_on_next_line():
    src = HEAD + "let x = 1\nif x > 0 {\n  pass\n}\nelif x < 0 {\n  pass\n}\nelse {\n  pass\n}\nanswer none\n"
    p = api.parse(src)
    assert isinstance(p.body[1], A.If) and len(p.body[1].arms) == 2 and p.body[1].orelse is not None


def test_operator_precedence():
    p = api.parse(HEAD + "let x = 1 + 2 * 3 - 4 // 2\nanswer none")
    e = p.body[0].value
    assert isinstance(e, A.BinOp) and e.op == "-"
    assert e.left.op == "+" and e.left.right.op == "*"


def test_syntax_error_has_position_caret_and_hint():
    d = one(HEAD + "let x = 3\nif x = 3 {\n  answer none\n}\nanswer none\n")
    assert d.code == "E003" and d.stage == "parse"
    assert (d.span.line, d.span.col) == (3, 6)
    assert "==" in d.hint
    text = d.render(HEAD + "let x = 3\nif x = 3 {\n  answer none\n}\nanswer none\n")
    assert "t.tts:3:6" in text and "^" in text and "if x = 3 {" in text


def test_action_in_expression_is_explained():
    d = one(HEAD + "let b = open\nanswer none\n")
    assert "action" in d.message and "statement" in d.hint


def test_python_isms_get_hints():
    assert "repeat" in one(HEAD + "while true {\n}\nanswer none").hint
    assert "'true'" in one(HEAD + "let x = True\nanswer none").hint or \
        "true" in (one(HEAD + "let x = True\nanswer none").hint or "")
    assert "answer" in one(HEAD + "return none\n").hint


def test_reserved_word_as_name():
    d = one(HEAD + "let take = 3\nanswer none")
    assert "reserved" in d.message


def test_unclosed_block():
    d = one(HEAD + "repeat 3 {\n  read\n")
    assert d.code == "E002"
    assert "not closed" in (d.hint or "")


# ------------------------------------------------------------------ checker
def test_unknown_name_did_you_mean():
    d = one(HEAD + "answer majority(complted)\n")
    assert d.code == "E301" and "completed" in d.hint
    assert (d.span.line, d.span.col) == (2, 17)


def test_unknown_function_did_you_mean():
    d = one(HEAD + "answer majorty(completed)\n")
    assert d.code == "E309" and "majority" in d.hint


def test_type_error_expected_found():
    d = one(HEAD + "let x = len(completed) + votes(completed)\nanswer none\n")
    assert d.code == "E201" and d.found == "votes"


def test_answer_needs_answer_type():
    d = one(HEAD + "answer len(completed)\n")
    assert d.code == "E201" and d.expected == "answer"


def test_wrong_arity():
    d = one(HEAD + "answer majority(completed, completed)\n")
    assert d.code == "E310" and "majority" in d.message


def test_write_to_state_is_rejected():
    d = one(HEAD + "opened = 3\nanswer none\n")
    assert d.code == "E302" and "read-only" in d.message


def test_write_to_builtin_branch_attribute_is_rejected():
    d = one(HEAD + "for b in branches {\n  b.latest = none\n}\nanswer none\n")
    assert d.code == "E302"


def test_write_to_param_is_rejected():
    d = one(HEAD + "params {\n  n: int = 3\n}\nn = 4\nanswer none\n")
    assert d.code == "E302"


def test_repeat_bound_must_be_constant():
    d = one(HEAD + "repeat len(completed) {\n  read\n}\nanswer none\n")
    assert d.code == "E305"


def test_unreachable_code():
    d = one(HEAD + "answer none\nread\n")
    assert d.code == "E402" and d.span.line == 3


def test_missing_final_answer():
    d = one(HEAD + "read\n")
    assert d.code == "E401"


def test_if_else_answer_counts_as_final():
    api.check(HEAD + "read\nif len(completed) > 0 {\n  answer completed[0]\n} else {\n  answer none\n}\n")


def test_break_outside_loop():
    assert one(HEAD + "break\nanswer none").code == "E404"


def test_bind_needs_leaving_else():
    d = one(HEAD + "open as b\nanswer b.latest\n")
    assert d.code == "E403"
    api.check(HEAD + "open as b else answer none\nanswer b.latest\n")


@pytest.mark.parametrize("src, word", [
    ("answer gold_answer", "gold"),
    ("for b in branches {\n  let f = b.final\n}\nanswer none", "final"),
    ("for b in branches {\n  let t = b.tokens\n}\nanswer none", "length"),
    ("for b in branches {\n  let p = b.probes\n}\nanswer none", "probes"),
    ("answer question", "question"),
])
def test_hidden_data_is_not_nameable(src, word):
    d = one(HEAD + src + "\n")
    assert d.code == "E307" and word in d.message


def test_beta_only_in_params():
    d = one(HEAD + "let x = beta\nanswer none\n")
    assert d.code == "E304"


def test_param_depending_on_beta_needs_direction():
    d = one(HEAD + "params {\n  n: int = round(2 + 6 * beta)\n}\nanswer none\n")
    assert d.code == "E109"


def test_param_int_from_float_hint():
    d = one(HEAD + "params {\n  n: int increasing = 2 + 6 * beta\n}\nanswer none\n")
    assert d.code == "E201" and "round" in d.hint


def test_dunder_names_rejected():
    d = one(HEAD + "let __class__ = 1\nanswer none\n")
    assert d.code == "E103"


def test_redeclaration():
    d = one(HEAD + "let x = 1\nlet x = 2\nanswer none\n")
    assert d.code == "E105"


def test_all_errors_reported_together():
    ds = diags(HEAD + "let a = foo\nlet b = bar\nanswer none\n")
    assert len([d for d in ds if d.code == "E301"]) == 2


def test_json_diagnostics_shape():
    d = one(HEAD + "answer majority(complted)\n")
    j = d.to_dict()
    assert set(["code", "message", "line", "col", "end", "hint", "stage", "severity", "file"]) <= set(j)
    json.dumps(j)


# ---------------------------------------------------------------- params
def test_param_override_and_range():
    c = api.check(HEAD + "params {\n  n: int in [1, 10] = 3\n}\nrepeat n {\n  read else break\n}\n"
                  "answer majority(completed)\n")
    exe = api.compile(c, params={"n": 5})
    assert exe.binding.values["n"] == 5
    with pytest.raises(DiagnosticsError) as ei:
        api.compile(c, params={"n": 50})
    assert ei.value.diagnostics[0].code == "P003"
    with pytest.raises(DiagnosticsError) as ei:
        api.compile(c, params={"m": 5})
    assert ei.value.diagnostics[0].code == "P001"
    with pytest.raises(DiagnosticsError) as ei:
        api.compile(c, params={"n": 2.5})
    assert ei.value.diagnostics[0].code == "P002"


def test_static_loop_bound_limit():
    c = api.check(HEAD + "params {\n  n: int = 3\n}\nrepeat n {\n  pass\n}\nanswer none\n")
    with pytest.raises(DiagnosticsError) as ei:
        api.compile(c, params={"n": 10 ** 7})
    assert ei.value.diagnostics[0].code == "L005"


# ------------------------------------------------------------- semantics
STORE = synthetic_store(seed=3, n_questions=4, n_branches=16)


def run(src, seeds=3, **kw):
    return api.evaluate_one(api.check(src), STORE, seeds=seeds, **kw)


def test_read_exhausts_pool_and_else_runs():
    r = run(HEAD + "var misses: int = 0\nrepeat 20 {\n  read else {\n    misses = misses + 1\n  }\n}\n"
            "answer majority(completed) if misses == 4 else none\n")
    assert r.ok
    total = sum(sum(q.tokens) for q in STORE.questions) / len(STORE.questions)
    assert r.avg_cost == pytest.approx(total)  # every branch read whole exactly once


def test_advance_finished_branch_is_noop_with_else():
    src = HEAD + """var noops: int = 0
open as b else answer none
repeat 100 {
  advance b else {
    noops = noops + 1
  }
}
answer b.latest if b.finished and noops > 0 and b.steps <= 100 else none
"""
    r = run(src)
    assert r.ok and r.ended == {"answer": 12}


def test_action_cap_ends_episode():
    from tts_dsl.lang.limits import Limits

    src = HEAD + "repeat 1000 {\n  open else break\n  for b in branches {\n    prune b\n  }\n}\nanswer none\n"
    r = api.evaluate_one(api.check(src), STORE, seeds=1, limits=Limits(max_actions=10))
    assert r.ended == {"action_cap": 4}


def test_runtime_error_is_a_clean_diagnostic():
    r = run(HEAD + "let xs: list[int] = []\nlet y = xs[0]\nanswer none\n")
    assert not r.ok and r.error.code == "R001" and r.error.span.line == 3
    assert "index" in r.error.message


def test_completed_is_a_snapshot_when_stored():
    src = HEAD + """read else answer none
let before = completed
read else answer none
answer majority(completed) if len(before) == 1 and len(completed) == 2 else none
"""
    r = run(src)
    assert r.ok and r.accuracy is not None
    # the program answers only if the snapshot stayed at length 1
    r2 = run(HEAD + "read else answer none\nread else answer none\nanswer majority(completed)\n")
    assert r.accuracy == r2.accuracy


def test_history_reveals_only_what_was_advanced():
    src = HEAD + """open as b else answer none
advance b
answer b.latest if len(b.history) == 2 and b.steps == 2 and b.history[-1] == b.latest else none
"""
    r = run(src)
    r2 = run(HEAD + "open as b else answer none\nadvance b\nanswer b.latest\n")
    assert r.accuracy == r2.accuracy


def test_sorted_by_is_stable_and_take():
    src = HEAD + """repeat 5 {
  open else break
}
let firsts = [b.index for b in branches sorted by b.steps desc take 3]
answer branches[0].latest if firsts[0] == 0 and firsts[1] == 1 and firsts[2] == 2 and len(firsts) == 3 else none
"""
    r = run(src)
    r2 = run(HEAD + "open as b else answer none\nanswer b.latest\n")
    assert r.accuracy == r2.accuracy


def test_take_cannot_use_the_loop_variable():
    d = one(HEAD + "let xs = [b for b in branches sorted by b.steps take b.steps]\nanswer none\n")
    assert d.code == "E301" and "'b'" in d.message


def test_diagnostics_error_pickles_for_worker_processes():
    import pickle

    with pytest.raises(DiagnosticsError) as ei:
        api.check(HEAD + "answer majorty(completed)\n", "t.tts")
    back = pickle.loads(pickle.dumps(ei.value))
    assert back.diagnostics[0].code == "E309" and back.source == ei.value.source
    assert back.render() == ei.value.render()


@pytest.fixture
def fresh_parser(monkeypatch, tmp_path):
    """The parser built anew under ``TTS_DSL_CACHE=tmp_path`` (and again after the test)."""
    from tts_dsl.lang import parser as P

    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path))
    P._lark.cache_clear()
    yield P
    P._lark.cache_clear()


def _tree(P, name="cmc"):
    return P._lark().parse((PROGRAMS / f"{name}.tts").read_text())


def test_the_parse_tables_are_saved_in_the_cache_directory_and_used_again(fresh_parser, tmp_path):
    P = fresh_parser
    built = _tree(P)
    (saved,) = (tmp_path / "grammar").glob("tts-*.lark")
    assert saved.stat().st_size > 10_000
    P._lark.cache_clear()
    stamp = saved.stat().st_mtime_ns
    assert _tree(P) == built  # loaded from the file: the same trees
    assert saved.stat().st_mtime_ns == stamp  # read, not written again


def test_a_damaged_tables_file_is_rebuilt_and_parsing_is_unchanged(fresh_parser, tmp_path):
    P = fresh_parser
    built = _tree(P, "parallel_probe")
    (saved,) = (tmp_path / "grammar").glob("tts-*.lark")
    for junk in (b"", b"not a pickle\n\x80\x04garbage", saved.read_bytes()[:500]):
        saved.write_bytes(junk)
        P._lark.cache_clear()
        assert _tree(P, "parallel_probe") == built
        assert saved.stat().st_size > 10_000  # rewritten whole


def test_no_cache_directory_still_parses(fresh_parser, tmp_path, monkeypatch):
    P = fresh_parser
    monkeypatch.setenv("TTS_DSL_CACHE", "off")
    assert _tree(P, "sc").data
    blocked = tmp_path / "a-file"  # a cache root that cannot hold a directory (root ignores modes)
    blocked.write_text("")
    monkeypatch.setenv("TTS_DSL_CACHE", str(blocked))
    P._lark.cache_clear()
    assert _tree(P, "sc").data
    assert blocked.read_text() == ""
