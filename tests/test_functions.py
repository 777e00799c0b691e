"""Pure user functions (issue 13, point 2): def NAME(ARGS) -> TYPE = EXPR or { lets, ifs, return }."""

from __future__ import annotations

import pytest

from tts_dsl import api
from tts_dsl.engines.analysis import analyze, static_steps
from tts_dsl.engines.python import compile_program
from tts_dsl.engines.reference import interpret_program
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.lang.formatter import format_source
from tts_dsl.lang.limits import Limits
from tts_dsl.lang.prover import prove
from tts_dsl.lang.schedule import bind
from tts_dsl.replay.store import permutation
from tts_dsl.replay.synthetic import synthetic_store

PROG = """controller fns

def lead(xs: list[answer], floor: int) -> answer {
  let v = votes(xs)
  if v.top1 - v.top2 >= floor {
    return v.winner
  } elif len(xs) == 0 {
    return none
  }
  return majority([a for a in xs where valid(a)])
}

def width(beta0: float, n: int) -> int = max(1, round(n * beta0))

params {
  n: int increasing in [1, 64] = width(beta, 16)
  floor: int = 2
}

repeat n { open }
repeat 8 {
  for b in branches where not b.finished { advance b }
  let w = lead(completed, floor)
  if w != none and lead(completed, floor + 1) == w { answer w }
}
answer lead(completed, 0)
"""


def errors(src):
    with pytest.raises(DiagnosticsError) as ei:
        api.check(src, "t.tts")
    return ei.value.diagnostics


def _episodes(exe, store, limits):
    out = []
    for s in range(3):
        for q in store.questions:
            out.append(exe.episode(q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, q.n_branches,
                                   permutation(q.n_branches, s), limits.max_actions, limits.max_steps, None,
                                   frozenset(range(0, len(q.answers), 3))))
    return out


def test_both_engines_agree_and_functions_decide():
    checked = api.check(PROG, "fns.tts")
    assert [f.name for f in checked.funcs] == ["lead", "width"]
    limits = Limits()
    store = synthetic_store(3, n_questions=4, n_branches=12)
    for beta in (0.0, 0.5, 1.0):
        binding = bind(checked, beta)
        assert binding.values["n"] == max(1, round(16 * beta))
        fast = _episodes(compile_program(checked, binding, limits), store, limits)
        assert fast == _episodes(interpret_program(checked, binding, limits), store, limits)
        assert any(r[0] is not None for r in fast)


def test_a_function_is_generated_once_however_often_it_is_called():
    one = PROG.replace("answer lead(completed, 0)", "answer lead(completed, 0)")
    many = PROG.replace("answer lead(completed, 0)",
                        "\n".join(["let z%d = lead(completed, %d)" % (i, i) for i in range(40)]) + "\nanswer z0")
    sizes = []
    for src in (one, many):
        c = api.check(src)
        sizes.append(compile_program(c, bind(c, 0.5)).source.count("votes"))
    assert sizes[0] == sizes[1] == 1  # the body's code appears once


def test_the_prover_sees_through_a_function_in_a_schedule():
    checked = api.check(PROG)
    r = {k.name: k for k in prove(checked)}["n"]
    assert r.status == "proved"
    bad = PROG.replace("= width(beta, 16)", "= width(1.0 - beta, 16)")
    r = {k.name: k for k in prove(api.check(bad))}["n"]
    assert r.status != "proved"


def test_static_cost_sees_the_body_with_the_argument_sizes():
    c = api.check(PROG)
    b = bind(c, 1.0)
    steps = static_steps(c, analyze(c, b), nb=16)
    assert 0 < steps < float("inf")


def test_round_trip():
    once = format_source(PROG)
    assert format_source(once) == once
    assert api.parse(once) == api.parse(PROG)
    assert "def width(beta0: float, n: int) -> int = max(1, round(n * beta0))" in once


HEAD = "controller t\n"


def test_direct_and_mutual_recursion_name_the_cycle():
    ds = errors(HEAD + "def f(x: int) -> int = f(x - 1)\nanswer none\n")
    assert ds[0].code == "E311" and ds[0].message == "function 'f' calls itself: f -> f"
    ds = errors(HEAD + "def f(x: int) -> int = g(x)\ndef g(x: int) -> int = h(x) + 1\n"
                       "def h(x: int) -> int = f(x)\nanswer none\n")
    assert [d.code for d in ds if d.severity == "error"] == ["E311"]
    assert ds[0].message == "function 'f' calls itself: f -> g -> h -> f"
    assert (ds[0].span.line, ds[0].span.col) == (2, 5)


def test_recursion_hidden_in_a_comprehension_source_is_found():
    ds = errors(HEAD + "def f(n: int) -> int = len([x for x in [f(n), 1]])\nanswer none\n")
    assert [d.code for d in ds if d.severity == "error"] == ["E311"]


def test_an_error_in_a_function_points_into_it_and_names_the_call_site():
    src = HEAD + "def f(xs: list[answer]) -> int {\n  let v = votes(xs)\n  return v + 1\n}\nopen\nlet k = f(completed)\nanswer none\n"
    ds = errors(src)
    err = next(d for d in ds if d.severity == "error")
    assert err.code == "E201" and err.span.line == 4
    note = next(d for d in ds if d.severity == "note")
    assert note.code == "E312" and note.message == "in function 'f', called from line 7"


def test_a_function_sees_only_its_arguments():
    ds = errors(HEAD + "def f(x: int) -> int = x + opened\nanswer none\n")
    assert ds[0].code == "E306" and ds[0].message == "'opened' cannot appear in a function"
    assert "pass 'opened' as an argument" in ds[0].hint
    ds = errors(HEAD + "def f(x: int) -> int = x + k\nparams {\n  k: int = 2\n}\nanswer none\n")
    assert ds[0].code == "E306" and "'k'" in ds[0].message


def test_function_checks():
    ds = errors(HEAD + "def f(x: int) -> int {\n  if x > 0 {\n    return 1\n  }\n}\nanswer none\n")
    assert ds[0].code == "E313"
    ds = errors(HEAD + "def f(x: int) -> answer = x\nanswer none\n")
    assert ds[0].code == "E201" and ds[0].message == "function 'f' returns answer but the value is int"
    ds = errors(HEAD + "def f(x: int) -> int = x\nanswer f(none)\n")
    assert ds[0].code == "E201" and ds[0].message == "argument 'x' of 'f' is int, found answer"
    ds = errors(HEAD + "def f(x: int) -> int = x\nlet y = f(1, 2)\nanswer none\n")
    assert ds[0].code == "E310" and ds[0].expected == "f(x: int) -> int"
    ds = errors(HEAD + "def majority(x: int) -> int = x\nanswer none\n")
    assert ds[0].code == "E105" and "built-in function" in ds[0].message
    ds = errors(HEAD + "def f(x: int) -> int {\n  open\n  return x\n}\nanswer none\n")
    assert ds[0].code == "E003"  # no actions in a function


def test_functions_in_initial_values_and_where_they_are_refused():
    src = (HEAD + "def twice(x: int) -> int = 2 * x\ndef lat(b: branch) -> int = b.steps\n"
           "var v: int = twice(3)\nbranch var w: int = twice(new.steps)\nopen as b else { answer none }\nanswer b.latest if b.w + v > 4 else none\n")
    c = api.check(src)
    limits = Limits()
    store = synthetic_store(1, n_questions=2, n_branches=4)
    b = bind(c, None)
    assert _episodes(compile_program(c, b, limits), store, limits) == _episodes(interpret_program(c, b, limits), store, limits)
    ds = errors(src.replace("twice(new.steps)", "lat(new)"))
    assert ds[0].code == "E306" and ds[0].message == "function 'lat' cannot appear in an initial value"
    ds = errors(HEAD + "def twice(x: int) -> int = 2 * x\ntrace \"t\" {a: twice(1)}\nanswer none\n")
    assert ds[0].code == "E306" and ds[0].message == "function 'twice' cannot appear in a trace field"


def test_comments_in_a_function_survive_formatting():
    src = PROG.replace("  let v = votes(xs)\n", "  # the vote\n  let v = votes(xs)  # once\n")
    once = format_source(src)
    assert "  # the vote\n  let v = votes(xs)  # once\n" in once
    assert format_source(once) == once


def test_a_function_that_charges_steps_agrees_under_tight_step_caps():
    src = HEAD + ("def n_real(xs: list[answer]) -> int = len([a for a in xs where valid(a)])\n"
                  "var acc: int = 0\nrepeat 6 { open else break }\n"
                  "repeat 30 {\n  acc = acc + n_real(completed + [b.latest for b in branches])\n}\n"
                  "repeat 20 {\n  for b in branches where not b.finished { advance b }\n  acc = acc + n_real(completed)\n}\n"
                  "repeat 40 {\n  read\n  acc = acc + n_real(completed)\n}\nrepeat 9 {\n  acc = acc + n_real(completed)\n}\n"
                  "answer majority(completed) if acc > 3 else none\n")
    c = api.check(src)
    b = bind(c, None)
    store = synthetic_store(2, n_questions=3, n_branches=30)
    for steps in range(5, 800, 7):
        limits = Limits(max_steps=steps)
        fast = _episodes(compile_program(c, b, limits), store, limits)
        assert fast == _episodes(interpret_program(c, b, limits), store, limits), steps
