"""Answer-keyed maps (issue 13, point 3): var w: map[answer, float], w[a] += x, w[a], keys, argmax, len."""

from __future__ import annotations

import pytest

from tts_dsl import api
from tts_dsl.engines.python import compile_program
from tts_dsl.engines.reference import interpret_program
from tts_dsl.lang.builtins import FUNCTIONS
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.lang.formatter import format_source
from tts_dsl.lang.limits import Limits
from tts_dsl.lang.schedule import bind
from tts_dsl.replay.store import permutation
from tts_dsl.replay.synthetic import synthetic_store

PROG = """controller wvote

var w: map[answer, float]
var n: map[answer, int]

repeat 8 { open else break }
repeat 6 {
  for b in branches where not b.finished { advance b }
  for b in branches where valid(b.latest) {
    w[b.latest] += 1.0 / (1 + b.steps)
    n[b.latest] += 1
  }
}
let top = argmax(w)
n[top] = n[top] * 2
answer top if len(w) > 0 and n[top] > 1 and len(keys(n)) == len(n) else majority(completed)
"""

HEAD = "controller t\n"


def _episodes(exe, store, limits):
    out = []
    for s in range(3):
        for q in store.questions:
            try:
                r = exe.episode(q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, q.n_branches,
                                permutation(q.n_branches, s), limits.max_actions, limits.max_steps, [] if exe.traced else None,
                                frozenset(range(0, len(q.answers), 3)))
            except Exception as ex:  # noqa: BLE001 - runtime errors must agree too
                r = ("error", type(ex).__name__, str(ex))
            out.append(r)
    return out


def _both(src, limits=None, nb=12):
    limits = limits or Limits()
    c = api.check(src)
    b = bind(c, None)
    store = synthetic_store(5, n_questions=4, n_branches=nb)
    fast = _episodes(compile_program(c, b, limits), store, limits)
    assert fast == _episodes(compile_program(c, b, limits, traced=True), store, limits)
    assert fast == _episodes(interpret_program(c, b, limits), store, limits)
    return fast


def test_both_engines_agree():
    out = _both(PROG)
    assert any(r[0] is not None for r in out)


def test_builtins_on_maps():
    m = {"b": 1.0, "a": 3.0, "c": 3.0}
    assert FUNCTIONS["keys"].impl(m) == ["b", "a", "c"]  # first-insertion order
    assert FUNCTIONS["argmax"].impl(m) == "a"  # the first inserted on ties
    assert FUNCTIONS["argmax"].impl({}) is None
    assert FUNCTIONS["len"].impl(m) == 3


def test_missing_keys_read_zero_of_the_value_type():
    src = HEAD + "var w: map[answer, float]\nvar n: map[answer, int]\nopen else { answer none }\n" \
                 "let a = branches[0].latest\nlet x = w[a]\nlet k = n[a] + 1\nw[a] += 2\n" \
                 "answer a if x == 0.0 and k == 1 and w[a] == 2.0 and argmax(w) == a else none\n"
    out = _both(src)
    assert all(r[0] is not None for r in out if r[0] != "error")


def test_the_size_is_bounded_like_a_list():
    src = HEAD + "var n: map[answer, int]\nrepeat 12 { open else break }\n" \
                 "for b in branches { n[b.latest] += 1 }\nanswer argmax(n)\n"
    out = _both(src, Limits(max_list_len=2), nb=12)
    assert any(r[0] == "error" and "a map grew beyond 2 keys (limit L008)" in r[2] for r in out)


def test_round_trip():
    once = format_source(PROG)
    assert once == PROG
    assert api.parse(once) == api.parse(PROG)


def one(src):
    with pytest.raises(DiagnosticsError) as ei:
        api.check(src)
    return [d for d in ei.value.diagnostics if d.severity == "error"][0]


@pytest.mark.parametrize("src, code, message", [
    ("var w: map[answer, float] = 0\nanswer none\n", "E314", "a map var starts empty: it takes no initial value"),
    ("var w: int\nanswer none\n", "E314", "var 'w' needs an initial value"),
    ("var w: map[int, float]\nanswer none\n", "E102", "a map's keys are answers, found int"),
    ("var w: map[answer, bool]\nanswer none\n", "E102", "a map's values are int or float, found bool"),
    ("var w: map[answer]\nanswer none\n", "E102", "'map' takes one type argument"),
    ("branch var w: map[answer, int] = 0\nanswer none\n", "E314", "a branch var cannot be a map"),
    ("var w: map[answer, int]\nlet v = w\nanswer none\n", "E314", "'v' would be a second name for a map"),
    ("var w: map[answer, int]\nvar u: map[answer, int]\nw = u\nanswer none\n", "E314", "a map is changed key by key"),
    ("var w: int = 0\nw[none] += 1\nanswer none\n", "E314", "'w' is not a map var"),
    ("var w: map[answer, int]\nw[none] += 0.5\nanswer none\n", "E201", "a map value must be int, found float"),
    ("var w: map[answer, int]\nw[1] = 1\nanswer none\n", "E201", "a map key must be answer, found int"),
    ("var w: map[answer, int]\nlet xs = [w]\nanswer none\n", "E314", "a list cannot hold a map"),
    ("var w: map[answer, int]\ntrace \"t\" {w: w}\nanswer none\n", "E314", "a map cannot be traced"),
    ("var w: map[answer, int]\nlet k = keys(1)\nanswer none\n", "E201", "keys: expects a map, found int"),
])
def test_map_diagnostics(src, code, message):
    d = one(HEAD + src)
    assert (d.code, d.message) == (code, message)
