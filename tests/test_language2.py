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
