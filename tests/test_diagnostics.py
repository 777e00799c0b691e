"""The diagnostics catalogue: one Reporter method per code, wording in one place, symbols and
AST nodes with every field declared, and texts pinned for the phrasings the other tests and
the shipped programs do not reach."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tts_dsl.api import check
from tts_dsl.lang import ast as A
from tts_dsl.lang import builtins, diagnostics
from tts_dsl.lang.builder import parse_program
from tts_dsl.lang.checker import Symbol, SymbolKind, check_program, schedule_functions
from tts_dsl.lang.diagnostics import KINDS, Diagnostic, DiagnosticsError, Reporter, Span, _kind
from tts_dsl.lang.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"\b([EFLPRS]\d{3})\b")
# Codes the docs name that are not diagnostics of their own: L008 (a list grew too long) is a
# runtime limit reported inside an R001 runtime error's message.
NOT_A_DIAGNOSTIC = {"L008"}
# Modules that report only through the catalogue. Add a module here once its call sites use
# Reporter (pending, for the lead: lang/compiler.py, lang/interp.py, lang/schedule.py,
# lang/prover.py, evaluation/runner.py, api.py, discovery/validate.py, discovery/loop.py).
THROUGH_CATALOGUE = ["lang/checker.py", "lang/parser.py", "lang/builder.py", "lang/limits.py",
                     "lang/formatter.py", "lang/types.py", "lang/ast.py", "lang/schedule.py", "lang/prover.py",
                     "engines/analysis.py", "engines/python.py", "engines/reference.py", "engines/runtime.py",
                     "evaluation/runner.py", "api.py"]


def documented_codes() -> set[str]:
    text = "".join((ROOT / "docs" / f).read_text() for f in ("language.md", "safety.md"))
    return set(CODE.findall(text))


def test_every_documented_code_has_exactly_one_constructor():
    codes = documented_codes()
    assert {"E201", "E307", "L005", "R001"} <= codes  # the docs scan finds the codes it should
    missing = sorted(c for c in codes - NOT_A_DIAGNOSTIC if c not in KINDS)
    assert not missing, f"documented codes without a Reporter method: {missing}"
    methods = list(KINDS.values())
    assert len(methods) == len(set(methods)), "a method makes two codes"
    for code, name in KINDS.items():  # the method makes its code and records it
        assert callable(getattr(Reporter, name))


def test_a_second_constructor_for_a_code_is_refused():
    with pytest.raises(RuntimeError, match="two constructors for E201"):
        _kind("E201")(lambda self: None)


@pytest.mark.parametrize("module", THROUGH_CATALOGUE)
def test_no_module_builds_a_catalogued_diagnostic_itself(module):
    text = (ROOT / "tts_dsl" / module).read_text()
    assert not re.search(r"\bDiagnostic\(", text), f"{module} builds a Diagnostic; use a Reporter method"
    literal = sorted({c for c in re.findall(r"[\"']([A-Z]\d{3})[\"']", text) if c in KINDS})
    assert not literal, f"{module} spells catalogued codes {literal}; use a Reporter method"


def test_reporter_records_stage_file_and_fields():
    r = Reporter("x.tts", "parse")
    d = r.unknown_function(Span(2, 3, 2, 9), "majorty", builtins.FUNCTIONS)
    assert r.diagnostics == [d]
    assert (d.code, d.stage, d.file, d.span) == ("E309", "parse", "x.tts", Span(2, 3, 2, 9))
    assert (d.message, d.hint) == ("unknown function 'majorty'", "did you mean 'majority'?")
    assert r.direction_unknown(Span.point(1, 1), "k", "increasing", "why", strict=False).severity == "warning"
    assert r.errors == [d]


def test_did_you_mean_does_not_depend_on_candidate_order():
    names = ["mean", "median", "max", "majority", "min"]
    assert diagnostics.did_you_mean("meen", names) == diagnostics.did_you_mean("meen", list(reversed(names)))
    assert diagnostics.did_you_mean("zzzz", names) is None


HEAD = "controller a\n"
END = "answer majority(completed)\n"
PINNED = [  # source, limits, (code, message, hint, line, col): phrasings no other test reaches
    (HEAD + "answer " + "9" * 1001 + "\n", None,
     ("E110", "integer literal with 1,001 digits is too large", "use at most 15 digits", 2, 8)),
    (HEAD + "params {\n  n: int in [5, 1] = 3\n}\n" + END, None, ("E108", "empty range [5, 1]", None, 3, 14)),
    (HEAD + "params {\n  f: bool in [0, 1] = true\n}\n" + END, None,
     ("E108", "a bool param has no range", None, 3, 15)),
    (HEAD + "params {\n  f: bool increasing = true\n}\n" + END, None,
     ("E109", "a bool param can only be constant", None, 3, 3)),
    (HEAD + "params {\n  n: int = true\n}\n" + END, None,
     ("E201", "param 'n' is declared int but its value is bool", None, 3, 12)),
    (HEAD + "let x: list[list[int]] = []\n" + END, None, ("E102", "lists of lists are not supported", None, 2, 8)),
    (HEAD + "var x: int = 1\nvar x: int = 2\n" + END, None, ("E105", "'x' is already declared", "rename one of them", 3, 5)),
    (HEAD + "branch var latest: int = 0\n" + END, None,
     ("E105", "'latest' is a built-in branch attribute", "choose another name", 2, 12)),
    (HEAD + "let b = 1\nrepeat 3 {\n  open as b else break\n}\n" + END, None,
     ("E105", "'b' is already declared (line 2)", None, 4, 11)),
    (HEAD + "let v = votes(completed)\nv.top1 = 3\n" + END, None,
     ("E302", "cannot assign to an attribute of a votes", None, 3, 1)),
    (HEAD + "let x: int = true\n" + END, None, ("E201", "'x' is declared int but the value is bool", None, 2, 14)),
    (HEAD + "branch var s: int = 0\nfor b in branches {\n  b.s = true\n}\n" + END, None,
     ("E201", "cannot assign bool to branch var 's' of type int", None, 4, 9)),
    (HEAD + "let x = 1\nlet y = x[0:1]\n" + END, None, ("E201", "cannot slice a int", None, 3, 9)),
    (HEAD + "repeat 3 {\n  repeat 3 {\n    if true {\n      open\n    }\n  }\n}\n" + END, Limits(max_nesting=3),
     ("L002", "blocks nested deeper than 3 levels", "flatten the program", 5, 7)),
    # sic: "a initial value" is today's text, kept byte for byte
    (HEAD + "var n: int = len(completed)\n" + END, None,
     ("E306", "'len' cannot appear in a initial value", "allowed: " + ", ".join(schedule_functions()), 2, 14)),
]


@pytest.mark.parametrize("source,limits,want", PINNED, ids=[w[1] for _, _, w in PINNED])
def test_pinned_texts(source, limits, want):
    with pytest.raises(DiagnosticsError) as ei:
        check(source, "p.tts", limits)
    d = ei.value.diagnostics[0]
    assert (d.code, d.message, d.hint, d.span.line, d.span.col) == want


def test_schedule_hint_lists_the_registry_and_grows_with_it(monkeypatch):
    src = HEAD + "params {\n  n: int = len(1)\n}\n" + END
    with pytest.raises(DiagnosticsError) as ei:
        check(src)
    assert ei.value.diagnostics[0].hint == (
        "allowed: min, max, abs, round, floor, ceil, int, float, sqrt, exp, log, sigmoid, clip")
    # a new schedule built-in, added through the registry only, is listed with no other edit
    extra = dataclasses.replace(builtins.FUNCTIONS["sqrt"], name="cbrt")
    monkeypatch.setitem(builtins.FUNCTIONS, "cbrt", extra)
    with pytest.raises(DiagnosticsError) as ei:
        check(src)
    assert ei.value.diagnostics[0].hint.endswith(", clip, cbrt")
    assert check(HEAD + "params {\n  n: float = cbrt(8)\n}\n" + END).param("n") is not None


def _declared(obj) -> set[str]:
    return {f.name for f in dataclasses.fields(obj)}


@pytest.mark.parametrize("path", sorted((ROOT / "programs").glob("*.tts")), ids=lambda p: p.stem)
def test_checked_nodes_and_symbols_have_only_declared_fields(path):
    prog = parse_program(path.read_text(), str(path))
    check_program(prog)
    symbols = 0
    for node in A.walk(prog):
        assert set(vars(node)) <= _declared(node), type(node).__name__
        ref = getattr(node, "ref", None)
        if ref is not None:
            symbols += 1
            assert isinstance(ref, Symbol) and isinstance(ref.kind, SymbolKind)
            assert set(vars(ref)) == _declared(ref)
    assert symbols > 0


def test_symbol_kinds_compare_as_their_names():
    assert SymbolKind.STATE == "state" and "param" == SymbolKind.PARAM
    assert f"{SymbolKind.LOOP}" == "loop" and {"bound": 1}[SymbolKind.BOUND] == 1
    assert [k.value for k in SymbolKind] == ["state", "param", "beta", "var", "bvar", "local", "loop", "bound", "arg"]


def test_a_name_misspelt_many_times_is_looked_up_once():
    diagnostics._closest.cache_clear()
    fields = ", ".join(f"k{i}: nmae" for i in range(300))
    src = HEAD + "let name = 1\n" + f'trace "t" {{{fields}}}\n' + END
    with pytest.raises(DiagnosticsError) as ei:
        check(src)
    # 100 shown, then one L011 summary; the rest are not even worded (issue 15)
    shown = ei.value.diagnostics
    assert len(shown) == 101 and shown[-1].code == "L011"
    assert {d.hint for d in shown[:-1]} == {"did you mean 'name'?"}
    info = diagnostics._closest.cache_info()
    assert (info.misses, info.hits) == (1, 100)


def test_constructors_for_call_sites_the_lead_switches_say_what_they_say_today():
    """compiler.py, interp.py, schedule.py, prover.py, runner.py and api.py still build these
    diagnostics themselves; their catalogue methods must reproduce today's texts."""
    sp, n, lim = Span(3, 4, 3, 9), 123_456, 100_000
    r = Reporter("f.tts", "check")
    assert r.loop_bound(sp, "repeat", n, lim, "param").hint == "lower the count or the param"
    assert r.loop_bound(sp, "range", n, lim, "param").hint is None
    assert r.loop_bound(sp, "repeat", n, lim, "reference").message == "repeat 123,456 times; the limit is 100,000"
    assert r.loop_bound(sp, "range", n, lim, "reference").message == "range of 123,456 values; the limit is 100,000"
    p = Reporter("f.tts", "params")
    assert p.unknown_param(sp, "zzz", {"a", "bb"}).hint == "params: a, bb"
    assert p.unknown_param(sp, "zzz", set()).hint == "it declares no params"
    assert p.param_failed(sp, "n", "division by zero", 0.5).message == "param 'n' at beta=0.5: division by zero"
    assert p.param_out_of_range(sp, "n", 3.0, "above 2").message == "param 'n' = 3.0 is above 2"
    s = Reporter("f.tts", "schedule")
    d = s.direction_refuted(sp, "k", "increasing", 0.0, 1, 0.5, 0, derived="decreasing")
    assert (d.message, d.expected, d.found) == ("knob 'k' is declared increasing but decreases: k(0.0) = 1, k(0.5) = 0",
                                                "increasing in beta", "derived direction: decreasing")
    assert s.range_refuted(sp, "k", None, 0.5, "m").message == "knob 'k' fails at beta=0.5: m"
    assert s.range_unknown(sp, "k", strict=True).severity == "error"
    rt = Reporter("f.tts", "runtime")
    assert rt.runtime_error(sp, "list index out of range", 3, 7, index_error=True).to_dict()["message"] == \
        "runtime error on question 3, seed 7: list index out of range"
    assert rt.time_limit(sp, 5.0, 3, 100).message == "evaluation exceeded 5 s (after 3 of 100 seeds)"
    assert Reporter("x", "smoke").step_cap(sp, 4, 100, 0.5, 20).message == \
        "4 of 100 smoke episodes at beta=0.5 were cut off by the step cap (20)"
    assert Reporter("x.tts", "parse").unreadable_file(sp, "x.tts", "directory").message == \
        "x.tts is a directory, not a .tts file"
