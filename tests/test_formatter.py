"""The formatter: parse(format(p)) == p, formatting is idempotent, comments are kept, and
ASTs built in code print with the parentheses precedence needs."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import hostile_sources, raw_programs, valid_programs
from tts_dsl.cli import cli
from tts_dsl.lang import ast as A
from tts_dsl.lang.builder import parse_program
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.lang.formatter import FormatError, format_expr, format_program, format_source

from conftest import PROGRAMS, default_and_slow

def FAST(n):
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck))
SHIPPED = sorted(PROGRAMS.glob("*.tts"))


def _comments(text):
    return [c for _, _, c in parse_program(text).comments]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_programs_round_trip(path):
    src = path.read_text(encoding="utf-8")
    out = format_source(src, str(path))
    assert parse_program(out) == parse_program(src)
    assert format_source(out) == out
    assert _comments(out) == [c.rstrip() for c in _comments(src)]


def test_sc_is_canonical():
    src = (PROGRAMS / "sc.tts").read_text(encoding="utf-8")
    assert format_source(src) == src


def _round_trip_any_ast(prog):
    text = format_program(prog)
    again = parse_program(text)
    assert again == prog
    assert format_program(again) == text


# 20 examples in the default suite, 50 in the slow set (CI runs both)
test_round_trip_any_ast, test_round_trip_any_ast_more = default_and_slow(
    _round_trip_any_ast, given(raw_programs), 20, 50, suppress_health_check=list(HealthCheck))


@FAST(60)
@given(valid_programs(hostile=True))
def test_round_trip_typed_ast(prog):
    text = format_program(prog)
    assert parse_program(text) == prog
    assert format_source(text) == text


@FAST(100)
@given(hostile_sources)
def test_any_parsable_text_round_trips(src):
    try:
        prog = parse_program(src)
    except DiagnosticsError:
        return
    out = format_program(prog)
    assert parse_program(out) == prog
    assert format_source(out) == out


comment_text = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=15)


@FAST(40)
@given(valid_programs(), st.lists(st.tuples(st.integers(0, 10 ** 6), st.booleans(), comment_text), max_size=8))
def test_comments_are_kept_in_order(prog, inserts):
    lines = format_program(prog).split("\n")[:-1]
    expected = []
    # insert comments at line ends (after the code) or on their own lines, bottom-up
    for pos, own_line, text in sorted(inserts, key=lambda t: -(t[0] % (len(lines) + 1))):
        i = pos % (len(lines) + 1)
        c = "#" + text
        if own_line or i == len(lines):
            lines.insert(i, c)
        else:
            lines[i] = lines[i] + "  " + c
    src = "\n".join(lines) + "\n"
    expected = [c.rstrip() for c in _comments(src)]
    out = format_source(src)
    assert parse_program(out) == prog
    assert format_source(out) == out
    got = _comments(out)
    assert "".join(got).replace(" ", "") == "".join(expected).replace(" ", "")


def test_comment_placement():
    src = """# header
controller c  # on the header
params { n: int = 3 }
# before the loop
repeat n { read else break   # trailing
  # last in the block
}
answer majority(completed)
# at the end
"""
    assert format_source(src) == """# header
controller c  # on the header

params {
  n: int = 3
}

# before the loop
repeat n {
  read else break  # trailing
  # last in the block
}
answer majority(completed)
# at the end
"""


def test_layout_is_canonical():
    messy = "controller   m;var x:int=1+2*3\nif x==1{advance branches[0] else {pass}} elif not(x<2) {x=-(-x)}" \
            " else {answer (1 if x>2 else 3) if true else none}\nanswer none"
    assert format_source(messy) == """controller m

var x: int = 1 + 2 * 3

if x == 1 {
  advance branches[0] else {
    pass
  }
} elif not x < 2 {
  x = - -x
} else {
  answer (1 if x > 2 else 3) if true else none
}
answer none
"""


def n(v):
    return A.Num(v)


def nm(s):
    return A.Name(s)


@pytest.mark.parametrize("expr,text", [
    (A.BinOp("-", nm("a"), A.BinOp("-", nm("b"), nm("c"))), "a - (b - c)"),
    (A.BinOp("-", A.BinOp("-", nm("a"), nm("b")), nm("c")), "a - b - c"),
    (A.BinOp("*", A.BinOp("+", nm("a"), nm("b")), nm("c")), "(a + b) * c"),
    (A.BinOp("//", nm("a"), A.BinOp("*", nm("b"), nm("c"))), "a // (b * c)"),
    (A.Unary("-", A.BinOp("+", nm("a"), nm("b"))), "-(a + b)"),
    (A.Unary("not", A.Compare("<", nm("a"), nm("b"))), "not a < b"),
    (A.Compare("==", A.Unary("not", nm("a")), nm("b")), "(not a) == b"),
    (A.Compare("<", A.Compare("<", nm("a"), nm("b")), nm("c")), "(a < b) < c"),
    (A.BoolOp("and", A.BoolOp("or", nm("a"), nm("b")), nm("c")), "(a or b) and c"),
    (A.BoolOp("or", nm("a"), A.BoolOp("or", nm("b"), nm("c"))), "a or (b or c)"),
    (A.IfExp(nm("c"), A.IfExp(nm("d"), nm("a"), nm("b")), nm("e")), "(a if d else b) if c else e"),
    (A.IfExp(nm("c"), nm("a"), A.IfExp(nm("d"), nm("b"), nm("e"))), "a if c else b if d else e"),
    (A.Attr(n(5), "x"), "(5).x"),
    (A.Index(A.BinOp("+", nm("a"), nm("b")), n(0)), "(a + b)[0]"),
    (A.Attr(A.Unary("-", nm("a")), "x"), "(-a).x"),
    (A.BinOp("-", nm("a"), n(-3)), "a - -3"),
    (A.BinOp("*", n(-3), nm("a")), "-3 * a"),
    (A.Attr(n(-3), "x"), "(-3).x"),
    (n(float("inf")), "1e999"),
    (n(10 ** 5000), "1" + "0" * 5000),
    (n(0.1), "0.1"),
    (n(1e-300), "1e-300"),
    (A.Slice(nm("xs"), None, A.Unary("-", n(1))), "xs[:-1]"),
    (A.Comprehension(A.Attr(nm("b"), "latest"), A.Query("b", nm("branches"), nm("ok"), nm("k"), True, n(2))),
     "[b.latest for b in branches where ok sorted by k desc take 2]"),
])
def test_expressions_from_code(expr, text):
    assert format_expr(expr) == text
    if "e999" not in text and len(text) < 1000 and "(-3)" not in text and "-3" not in text:
        prog = parse_program(f"controller t\nlet q = {text}\nanswer none")
        assert prog.body[0].value == expr


def test_code_built_program_layout():
    prog = A.Program("built", [A.Param("k", A.TypeRef("int"), "increasing", n(1), n(8),
                                       A.Call("max", [n(1), A.Call("round", [A.BinOp("*", n(8.0), nm("beta"))])]))],
                     [A.VarDecl("v", A.TypeRef("list", A.TypeRef("answer")), A.ListLit([]))],
                     [A.VarDecl("off", A.TypeRef("int"), n(0), True)],
                     [A.Repeat(nm("k"), None, [A.Action("open", on_exhausted=[A.Break()])]),
                      A.AnswerStmt(A.Call("majority", [nm("completed")]))])
    text = format_program(prog)
    assert text == """controller built

params {
  k: int increasing in [1, 8] = max(1, round(8.0 * beta))
}

branch var off: int = 0
var v: list[answer] = []

repeat k { open else break }
answer majority(completed)
"""
    assert parse_program(text) == prog


@pytest.mark.parametrize("bad", [
    A.Program("x", [], [], [], [A.Trace('say "hi"', [])]),
    A.Program("x", [], [], [], [A.Trace("back\\slash", [])]),
    A.Program("if", [], [], [], []),
    A.Program("x", [], [], [], [A.Let("__import__('os')", None, n(1))]),
    A.Program("x", [], [], [], [A.AnswerStmt(A.Name("os.system"))]),
    A.Program("x", [], [], [], [A.AnswerStmt(A.BinOp("**", n(1), n(2)))]),
    A.Program("x", [], [], [], [A.Assign(A.Index(nm("a"), n(0)), n(1))]),
    A.Program("x", [], [], [], ["print('hi')"]),
])
def test_unwritable_asts_raise_format_error(bad):
    with pytest.raises(FormatError):
        format_program(bad)


def test_cli_fmt(tmp_path):
    messy = tmp_path / "m.tts"
    messy.write_text("controller m\nanswer   majority( completed )  # done\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["fmt", str(messy)])
    assert r.exit_code == 0 and r.output == "controller m\n\nanswer majority(completed)  # done\n"
    r = CliRunner().invoke(cli, ["fmt", "--check", str(messy)])
    assert r.exit_code == 1 and "not formatted" in r.output
    r = CliRunner().invoke(cli, ["fmt", "--diff", str(messy)])
    assert r.exit_code == 1 and "+answer majority(completed)" in r.output  # a diff: exit 1, like --check
    r = CliRunner().invoke(cli, ["fmt", "--write", str(messy)])
    assert r.exit_code == 0 and messy.read_text() == "controller m\n\nanswer majority(completed)  # done\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.tts"]  # no temp file left
    r = CliRunner().invoke(cli, ["fmt", "--check", str(messy), str(PROGRAMS / "sc.tts")])
    assert r.exit_code == 0 and "2 files already formatted" in r.output
    r = CliRunner().invoke(cli, ["fmt", "-"], input="controller s\nanswer  none")
    assert r.exit_code == 0 and r.output == "controller s\n\nanswer none\n"


def test_cli_fmt_bad_input_is_a_diagnostic(tmp_path):
    bad = tmp_path / "bad.tts"
    bad.write_text("controller b\nanswer (1 +\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["fmt", str(bad)])
    assert r.exit_code == 1
    assert re.search(r"bad\.tts:\d+:\d+: error\[E00\d\]", r.output)
    assert "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["fmt", str(tmp_path / "missing.tts")])
    assert r.exit_code == 2 and "F001" in r.output and "no such program file" in r.output  # bad input: 2
    bad.write_bytes(b"controller b\n\xff\n")
    r = CliRunner().invoke(cli, ["fmt", str(bad)])
    assert r.exit_code == 1 and "not UTF-8" in r.output and r.exception is None or \
        isinstance(r.exception, SystemExit)


def test_one_line_blocks_only_for_one_simple_statement_without_comments():
    src = ("controller t\nrepeat 3 {\n  open else break\n}\nrepeat 2 {\n  # keep me\n  read else break\n}\n"
           "for b in branches {\n  advance b\n  prune b\n}\nanswer none\n")
    out = format_source(src)
    assert "repeat 3 { open else break }" in out
    assert "repeat 2 {\n  # keep me\n  read else break\n}" in out
    assert "for b in branches {\n  advance b\n  prune b\n}" in out
    assert format_source(out) == out
