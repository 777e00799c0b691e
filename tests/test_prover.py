"""The schedule prover: proofs of the shipped schedules, refutations with real
counterexamples, range checks, and soundness properties over random schedules."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts_dsl import api
from tts_dsl.lang.prover import prove, schedule_diagnostics
from tts_dsl.lang.schedule import ScheduleError, eval_expr

from conftest import PROGRAMS


def knob(expr: str, direction: str = "increasing", ty: str = "float", rng: str = "", extra: str = ""):
    src = f"controller t\nparams {{\n{extra}  k: {ty} {direction}{rng} = {expr}\n}}\nanswer none\n"
    c = api.check(src)
    return c, prove(c)[-1]


def value(c, b):
    env = {"beta": b}
    for p in c.params:
        env[p.name] = eval_expr(p.expr, env)
    return env["k"]


def test_cmc_all_twelve_knobs_proved():
    c = api.load(PROGRAMS / "cmc.tts")
    rs = prove(c)
    assert len(rs) == 12
    assert all(r.status == "proved" and r.range_status == "proved" for r in rs), [
        (r.name, r.status, r.range_status) for r in rs]
    dirs = {r.name: r.declared for r in rs}
    assert dirs["alpha"] == "decreasing" and dirs["n_init"] == "increasing"
    assert schedule_diagnostics(c) == []


def test_every_shipped_program_is_proved():
    for p in sorted(PROGRAMS.glob("*.tts")):
        c = api.load(p)
        bad = [d for d in schedule_diagnostics(c, strict=True)]
        assert not bad, (p.name, [d.message for d in bad])


@pytest.mark.parametrize("expr, direction", [
    ("round(2 + 6 * beta)", "increasing"),
    ("max(2, round(2 + 6 * beta))", "increasing"),
    ("min(64, round(4 + 60 * beta))", "increasing"),
    ("round(0.70 - 0.40 * beta, 4)", "decreasing"),
    ("floor(10 * beta) + ceil(3 * beta)", "increasing"),
    ("clip(2 * beta - 0.5, 0, 1)", "increasing"),
    ("1 / (1 + beta)", "decreasing"),
    ("sqrt(beta) * exp(beta)", "increasing"),
    ("log(beta + 1) + sigmoid(3 * beta)", "increasing"),
    ("(1 - beta) * (2 - beta)", "decreasing"),
    ("-beta * (beta + 1)", "decreasing"),
    ("3", "constant"),
    ("round(beta * 0.1)", "constant"),  # monotone with equal endpoints: constant
])
def test_proved(expr, direction):
    ty = "int" if expr.startswith(("round(2", "max", "min", "floor", "3", "round(beta")) else "float"
    c, r = knob(expr, direction, ty)
    assert r.status == "proved", (expr, r)


@pytest.mark.parametrize("expr, direction", [
    ("0.5 - beta", "increasing"),
    ("beta * beta - beta", "increasing"),
    ("beta * beta - beta", "decreasing"),
    ("round(6.5 - 6 * beta)", "increasing"),
    ("sigmoid(beta)", "constant"),
    ("abs(beta - 0.5)", "decreasing"),
])
def test_refuted_with_real_counterexample(expr, direction):
    ty = "int" if expr.startswith("round(6") else "float"
    c, r = knob(expr, direction, ty)
    assert r.status == "refuted"
    ce = r.counterexample
    assert 0 <= ce["b1"] < ce["b2"] <= 1
    v1, v2 = value(c, ce["b1"]), value(c, ce["b2"])
    assert (v1, v2) == (ce["v1"], ce["v2"])
    if direction == "increasing":
        assert v2 < v1
    elif direction == "decreasing":
        assert v2 > v1
    else:
        assert v1 != v2
    d = schedule_diagnostics(c)[0]
    assert d.code == "S001" and d.span.line == 3


def test_unknown_is_a_warning_unless_strict():
    c, r = knob("log(beta + 0.5) - beta * beta * 0.1", "increasing")
    assert r.status == "unknown"
    assert schedule_diagnostics(c)[0].severity == "warning"
    assert schedule_diagnostics(c, strict=True)[0].severity == "error"


def test_range_declared_and_natural():
    c, r = knob("round(10 * beta)", "increasing", "int", " in [0, 5]")
    assert r.range_status == "refuted" and r.range_error["beta"] == 1.0 and r.range_error["value"] == 10
    c, r = knob("round(2 - 5 * beta)", "decreasing", "int")
    assert r.range_status == "refuted" and r.range_error["value"] < 0  # counts are non-negative
    c, r = knob("log(beta)", "increasing")
    assert r.range_status == "refuted" and r.range_error["beta"] == 0.0
    c, r = knob("0.85 + 0.12 * beta", "increasing", "float", " in [0, 1]")
    assert r.range_status == "proved"


def test_earlier_knobs_compose():
    c, r = knob("round(a + 2 * beta)", "increasing", "int", extra="  a: float increasing = 2 + beta\n")
    assert r.status == "proved"
    c, r = knob("round(10 - a)", "increasing", "int", extra="  a: float increasing = 2 + beta\n")
    assert r.status == "refuted"


# --------------------------------------------------------------- properties
def _leaf():
    return st.one_of(st.just("beta"), st.integers(-5, 9).map(str),
                     st.floats(-3, 3, allow_nan=False).map(lambda x: repr(round(x, 3))))


def _expr():
    return st.recursive(
        _leaf(),
        lambda sub: st.one_of(
            st.tuples(sub, st.sampled_from(["+", "-", "*", "/"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(st.sampled_from(["round", "floor", "ceil", "sigmoid", "abs"]), sub).map(
                lambda t: f"{t[0]}({t[1]})"),
            sub.map(lambda x: f"round({x}, 2)"),
            sub.map(lambda x: f"clip({x}, -1, 2)"),
            sub.map(lambda x: f"-{x}"),
        ),
        max_leaves=6,
    )


def _values(c, betas):
    out = []
    for b in betas:
        try:
            out.append((b, value(c, b)))
        except (ScheduleError, ZeroDivisionError, OverflowError, ValueError):
            pass
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(_expr(), st.sampled_from(["increasing", "decreasing", "constant"]))
def test_proved_is_never_violated_and_refutations_are_real(expr, direction):
    src = f"controller t\nparams {{\n  k: float {direction} = float({expr})\n}}\nanswer none\n"
    c = api.check(src)
    if not c.params[0].uses_beta:
        return
    r = prove(c)[0]
    if r.status == "proved":
        rng = random.Random(hash(expr) & 0xFFFF)
        betas = sorted([0.0, 1.0] + [rng.random() for _ in range(300)])
        vals = _values(c, betas)
        for (b1, v1), (b2, v2) in zip(vals, vals[1:]):
            if direction == "increasing":
                assert v2 >= v1, (expr, b1, v1, b2, v2)
            elif direction == "decreasing":
                assert v2 <= v1, (expr, b1, v1, b2, v2)
            else:
                assert v1 == v2, (expr, b1, v1, b2, v2)
    elif r.status == "refuted":
        ce = r.counterexample
        assert ce["b1"] < ce["b2"]
        v1, v2 = value(c, ce["b1"]), value(c, ce["b2"])
        assert (v1, v2) == (ce["v1"], ce["v2"])
        assert {"increasing": v2 < v1, "decreasing": v2 > v1, "constant": v1 != v2}[direction]
