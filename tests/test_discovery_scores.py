"""Discovery scores: hv over a fixed window (a single very cheap point no longer wins, as it
did under the old frontier area), accuracy at fixed budgets, parts of an evaluation, and the
paired bootstrap over questions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tts_dsl.discovery.curves import Curves
from tts_dsl.discovery.scores import (Score, Scoring, acc_within, budgets_from, hv, hv_interval, make_scoring,
                                      paired_bootstrap, score_part)
from tts_dsl.reporting.frontier import frontier_area

WIN = {"s": (100.0, 1000.0)}


def row(beta, cost, qc, qcost=None):
    """A curve row with per-question arrays: ``qc`` the per-question share correct."""
    qcost = qcost or [cost] * len(qc)
    return {"beta": beta, "accuracy": round(100 * sum(qc) / len(qc), 2), "avg_cost": sum(qcost) / len(qcost),
            "error": None, "q_correct": list(qc), "q_cost": list(qcost)}


def curves(*rows, label="s"):
    return Curves({label: list(rows)})


# ---------------------------------------------------------------------- hv
def test_a_single_very_cheap_point_no_longer_wins():
    cheap = [(10.0, 50.0)]  # one point far below the window, better than anything else there
    real = [(100.0, 40.0), (300.0, 44.0), (1000.0, 48.0)]  # worse, but across the whole window
    lo, hi = WIN["s"]
    # under the old frontier area the cheap point counted across the whole window, and won
    assert frontier_area(cheap, lo, hi) == pytest.approx(50.0)
    assert frontier_area(cheap, lo, hi) > frontier_area(real, lo, hi)
    # hv uses only points inside the window: the cheap program scores 0 and loses (either way)
    assert hv(cheap, lo, hi) == hv(cheap, lo, hi, extend=True) == 0.0
    assert hv(real, lo, hi) > 40.0 and hv(real, lo, hi, extend=True) > 40.0
    c = score_part(curves(row(0.0, 10.0, [1, 0])), WIN)
    r = score_part(curves(row(0.0, 100.0, [1, 0, 0, 0, 0]), row(1.0, 1000.0, [1, 1, 0, 0, 0])), WIN)
    assert c.frontier_area > r.frontier_area and c.hv < r.hv  # the ranking flips


def test_points_outside_the_window_never_help():
    lo, hi = WIN["s"]
    # the default: 0 below the cheapest point inside the window
    assert hv([(200.0, 50.0)], lo, hi) == pytest.approx(50.0 * math.log(1000 / 200) / math.log(10))
    assert hv([(2000.0, 90.0)], lo, hi) == 0.0  # above the window: nothing
    assert hv([(10.0, 90.0), (500.0, 30.0)], lo, hi) == pytest.approx(hv([(500.0, 30.0)], lo, hi))
    # between points: the best accuracy reached so far (a step function on log cost)
    got = hv([(100.0, 20.0), (math.sqrt(1e5), 60.0)], lo, hi)
    assert got == pytest.approx(0.5 * 20.0 + 0.5 * 60.0)
    # the flat option extends the cheapest inside point to the left edge, never an outside one
    assert hv([(200.0, 50.0)], lo, hi, extend=True) == pytest.approx(50.0)
    assert hv([(10.0, 90.0), (500.0, 30.0)], lo, hi, extend=True) == pytest.approx(30.0)


points = st.lists(st.tuples(st.floats(1.0, 1e6), st.floats(0.0, 100.0)), min_size=0, max_size=8)


@settings(max_examples=200, deadline=None)
@given(points, st.floats(1.0, 1e3), st.floats(1.5, 100.0))
def test_hv_is_the_frontier_area_of_the_inside_points(pts, lo, ratio):
    hi = lo * ratio
    inside = [(c, a) for c, a in pts if lo <= c <= hi]
    if not inside:
        assert hv(pts, lo, hi) == hv(pts, lo, hi, extend=True) == 0.0
        return
    assert hv(pts, lo, hi) == pytest.approx(frontier_area(inside, lo, hi), abs=1e-9)
    c0 = min(c for c, _ in inside)  # flat: as if the cheapest inside point stood at lo
    a0 = max(a for c, a in inside if c == c0)
    assert hv(pts, lo, hi, extend=True) == pytest.approx(frontier_area([(lo, a0)] + inside, lo, hi), abs=1e-9)
    assert hv(pts, lo, hi) <= hv(pts, lo, hi, extend=True) <= max(a for _, a in inside) + 1e-9


def test_accuracy_at_fixed_budgets_is_a_cap_without_extension():
    pts = [(100.0, 40.0), (400.0, 55.0), (900.0, 60.0)]
    assert acc_within(pts, 50.0) is None
    assert acc_within(pts, 400.0) == 55.0 and acc_within(pts, 899.0) == 55.0 and acc_within(pts, 1e9) == 60.0
    s = score_part(curves(row(0.0, 100.0, [1, 0, 0, 0, 0]), row(1.0, 900.0, [1, 1, 1, 0, 0])), WIN,
                   {"s": [50.0, 450.0, 900.0]})
    assert s.acc_at_budget == {"s": [None, 20.0, 60.0]}


def test_score_round_trips_and_reads_old_records():
    s = score_part(curves(row(0.0, 150.0, [1, 0, 1]), row(1.0, 800.0, [1, 1, 1])), WIN, {"s": [200.0, 400.0, 800.0]})
    assert Score.from_dict(s.to_dict()).to_dict() == s.to_dict()
    assert s.area == s.hv  # the deprecated alias
    old = Score.from_dict({"area": 41.5, "area_per_store": {"s": 41.5}, "best_accuracy": 50.0})
    assert old.hv == old.frontier_area == 41.5 and old.best_accuracy == 50.0


def test_scoring_windows_and_budgets_per_part():
    seed_a = {"search": curves(row(0.0, 100.0, [1, 0]), row(1.0, 1000.0, [1, 1])),
              "validation": curves(row(0.0, 120.0, [0, 0]), row(1.0, 1100.0, [1, 0]))}
    seed_b = {"search": curves(row(None, 500.0, [1, 0])), "validation": curves(row(None, 1200.0, [1, 1]))}
    budget = {"search": curves(row(None, 800.0, [1, 1])), "validation": curves(row(None, 880.0, [1, 1]))}
    sc = make_scoring([seed_a, seed_b], budget)
    assert sc.windows == {"s": (100.0, 1000.0)} and sc.validation_windows == {"s": (120.0, 1200.0)}
    assert sc.budgets == {"s": [200.0, 400.0, 800.0]} and sc.validation_budgets == {"s": [220.0, 440.0, 880.0]}
    assert Scoring.from_dict(sc.to_dict()) == sc
    # a point beyond the search window (1150 > 1000) still counts on the validation part
    probe = curves(row(None, 1150.0, [1, 1]))
    assert sc.score(probe, "validation").hv > 0 and sc.score(probe).hv == 0.0
    odd = curves(row(None, 1000 / 3, [1, 1]))  # SC@64 itself always fits its own x1 budget
    assert score_part(odd, {"s": (100.0, 1000.0)}, budgets_from(odd)).acc_at_budget["s"][2] == 100.0
    fixed = make_scoring([seed_a], None, [50, 5000])
    assert fixed.windows == fixed.validation_windows == {"s": (50.0, 5000.0)}


# ------------------------------------------------------------------ parts
def test_restrict_recomputes_a_part_from_the_per_question_arrays():
    full = Curves({"s": [row(0.0, 0, [1, 0, 0.5, 1], [100, 200, 300, 400]),
                         {"beta": 1.0, "accuracy": None, "avg_cost": None, "error": "boom"}]}, {"s": None})
    part = full.restrict({"s": (0, 2)})
    r = part.stores["s"][0]
    assert r["accuracy"] == 75.0 and r["avg_cost"] == 200.0 and r["q_correct"] == [1, 0.5]
    assert part.questions == {"s": (0, 2)} and part.stores["s"][1]["error"] == "boom"
    again = part.restrict({"s": (2,)})  # positions follow the part's own question indices
    assert again.stores["s"][0]["accuracy"] == 50.0 and again.stores["s"][0]["avg_cost"] == 300.0
    assert full.restrict({"s": (0, 1, 2, 3)}).stores["s"][0] == full.stores["s"][0]  # all: the same row
    with pytest.raises(KeyError):
        part.restrict({"s": (1,)})  # question 1 is not in the part
    assert "q_correct" not in full.to_dict()["s"][0] and "q_correct" in full.to_dict(per_question=True)["s"][0]


# ------------------------------------------------------------ significance
def _pair(better: float):
    """A seed and a candidate on 20 questions: the candidate is right on ``better`` more
    of each question's seeds (capped at 1)."""
    base = [(i % 5) / 5 for i in range(20)]
    seed = curves(row(0.0, 100.0, base), row(1.0, 1000.0, [min(1, b + 0.2) for b in base]))
    cand = curves(row(0.0, 100.0, [min(1, b + better) for b in base]),
                  row(1.0, 1000.0, [min(1, b + 0.2 + better) for b in base]))
    return cand, seed


def test_paired_bootstrap_identical_programs_are_not_significant():
    cand, seed = _pair(0.0)
    r = paired_bootstrap(cand, seed, WIN, b=500, seed=3)
    assert r["diff"] == 0.0 and r["lo"] == r["hi"] == 0.0 and r["p"] == 1.0 and not r["significant"]


def test_paired_bootstrap_a_better_program_on_every_question_is_significant():
    cand, seed = _pair(0.2)
    r = paired_bootstrap(cand, seed, WIN, b=500, seed=3)
    assert r["diff"] > 0 and r["lo"] > 0 and r["p"] == 0.0 and r["significant"]
    back = paired_bootstrap(seed, cand, WIN, b=500, seed=3)
    assert back["diff"] == pytest.approx(-r["diff"]) and back["hi"] < 0 and back["p"] == 1.0
    assert paired_bootstrap(cand, seed, WIN, b=500, seed=3) == r  # seeded: the same draws


def test_paired_bootstrap_is_paired_and_the_interval_covers_the_estimate():
    cand, seed = _pair(0.0)
    # the candidate is better on half the questions and worse on the others: noise, not a gain
    for i, r in enumerate(cand.stores["s"]):
        r["q_correct"] = [min(1, q + (0.4 if j % 2 else -0.4)) if 0 <= q + (0.4 if j % 2 else -0.4) else 0
                          for j, q in enumerate(seed.stores["s"][i]["q_correct"])]
    r = paired_bootstrap(cand, seed, WIN, b=1000, seed=0)
    assert r["lo"] < 0 < r["hi"] and not r["significant"] and 0.0 < r["p"] < 1.0
    iv = hv_interval(seed, WIN, b=1000, seed=0)
    assert iv["lo"] <= iv["hv"] <= iv["hi"]


def test_paired_bootstrap_needs_the_same_questions():
    cand, seed = _pair(0.1)
    other = seed.restrict({"s": tuple(range(10))})
    with pytest.raises(ValueError):
        paired_bootstrap(cand, other, WIN)


def test_versus_seeds_is_the_paired_bootstrap_against_each_seed():
    from tts_dsl.discovery.scores import versus_seeds

    cand, seed = _pair(0.2)
    other, _ = _pair(0.1)  # a seed program between the two
    got = versus_seeds(cand, {"a": seed, "b": other}, WIN, b=300, seed=1)
    assert got["a"] == paired_bootstrap(cand, seed, WIN, b=300, seed=1)
    assert got["b"] == paired_bootstrap(cand, other, WIN, b=300, seed=1)


def test_the_flat_option_is_not_monotone_and_the_default_is():
    lo, hi = WIN["s"]
    top = [(1000.0, 64.0)]  # one point on the window's dearest edge (where SC@64 sits)
    curve = [(100.0, 40.0), (300.0, 55.0), (1000.0, 64.0)]  # the same top point, and cheaper options
    # flat (an option): the single dearest point earns its accuracy across the window, and
    # adding cheaper, less accurate points lowers the score; this is why it is not the default
    assert hv(top, lo, hi, extend=True) == pytest.approx(64.0)
    assert hv(curve, lo, hi, extend=True) < hv(top, lo, hi, extend=True)
    # none (the default): 0 below the cheapest inside point; adding a point never lowers the score
    assert hv(top, lo, hi) == 0.0 and hv(curve, lo, hi) > 0
    s, f = Scoring({"s": (lo, hi)}), Scoring({"s": (lo, hi)}, extend=True)
    assert Scoring.from_dict(s.to_dict()) == s and Scoring.from_dict(f.to_dict()) == f
    one = curves(row(0.0, 1000.0, [1, 1]))
    assert s.score(one).hv == 0.0 and f.score(one).hv == 100.0


@settings(max_examples=200, deadline=None)
@given(points, st.tuples(st.floats(1.0, 1e6), st.floats(0.0, 100.0)), st.floats(1.0, 1e3), st.floats(1.5, 100.0))
def test_hv_never_drops_when_a_point_is_added(pts, extra, lo, ratio):
    hi = lo * ratio
    assert hv(pts + [extra], lo, hi) >= hv(pts, lo, hi) - 1e-9
