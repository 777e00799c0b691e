"""The behavioural novelty check (tts_dsl.discovery.novelty): a First-Finish copy with another
schedule, renamed and restructured, is found to be a schedule variant of First-Finish (with
the knob values its schedule gives); a new mechanism (ASC's stop gate with a short-chain
weighted vote) is not; selection with ``require_novel`` skips variants."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tts_dsl.discovery.novelty import NoveltyChecker, ScreenSet, describe, distance
from tts_dsl.replay.synthetic import synthetic_store

ROOT = Path(__file__).resolve().parents[1]
BETAS = [0.0, 0.5, 1.0]

# First-Finish under another name and another schedule, written differently: the gate is a
# separate `if`, the opening loop names its bound, and the answer goes through a let
FF_VARIANT = """
controller quick_finisher

params {
  width: int increasing in [1, 128] = round(3 + 20 * beta)
}

repeat width { open else break }
for step in range(100) {
  let winners = [b for b in branches where b.finished sorted by b.cost take 1]
  let got = len(winners) > 0
  if got {
    let first = winners[0].latest
    answer first
  }
  if len(branches) == 0 { answer none }
  for b in branches where not b.finished { advance b }
}
answer none
"""

# ASC's stop gate, but the answer is a vote weighted towards short chains: a new mechanism
GATE_WEIGHTED = """
controller gate_weighted

params {
  max_samples: int in [1, 128] = 64
  threshold: float in [0, 1] = 0.95
}

repeat max_samples {
  read else break
  if len(completed) >= 2 {
    let v = votes(completed)
    if beta_confidence(v.top1, v.top2) > threshold {
      let done = [b for b in branches where b.finished]
      answer weighted_votes([b.latest for b in done], [exp(-b.cost / (8.0 * interval_tokens)) for b in done]).winner
    }
  }
}
let done = [b for b in branches where b.finished]
answer weighted_votes([b.latest for b in done], [exp(-b.cost / (8.0 * interval_tokens)) for b in done]).winner
"""


def _program(name: str) -> str:
    return (ROOT / "programs" / f"{name}.tts").read_text()


@pytest.fixture(scope="module")
def checker():
    stores = [(f"s{i}", synthetic_store(i, 10, 64), None) for i in (1, 2)]
    screen = ScreenSet(stores, (0, 1, 2))
    seeds = [(n, _program(n)) for n in ("sc", "asc", "first_finish")]
    return NoveltyChecker(screen, seeds, BETAS)


def test_first_finish_with_another_schedule_is_a_variant(checker):
    v = checker.check(FF_VARIANT, "ffv")
    assert v["novel"] is False and v["variant_of"] == "first_finish"
    near = v["nearest"]
    assert near["matched"] == near["points"] == len(BETAS)
    # the knob values found are the variant's own schedule at each beta
    assert [r["knobs"]["n"] for r in near["per_point"]] == [round(3 + 20 * b) for b in BETAS]
    assert all(r["mismatch"] <= 0.01 for r in near["per_point"])
    assert describe(v).startswith("variant of first_finish")


def test_a_new_mechanism_is_not_a_variant(checker):
    v = checker.check(GATE_WEIGHTED, "gw")
    assert v["novel"] is True and v["variant_of"] is None
    assert v["nearest"]["matched"] < 0.8 * v["points"]
    assert describe(v).startswith("novel")


def test_a_seed_program_itself_is_a_variant_of_itself(checker):
    v = checker.check(_program("asc").replace("controller asc", "controller asc_copy"), "ac")
    assert v["novel"] is False and v["variant_of"] == "asc"


def test_distance_counts_answer_and_cost_mismatches():
    a = [("1", 10.0), ("2", 20.0), (None, 30.0)]
    assert distance(a, a) == (0, 0.0)
    assert distance(a, [("1", 10.0), ("3", 20.0), (None, 31.0)])[0] == 2


def test_require_novel_skips_variants():
    from tts_dsl.discovery.report import choose

    def cand(label, hv):
        return SimpleNamespace(label=label, ok=True, score=SimpleNamespace(hv=hv), parents=[])

    recs = [cand("c0001", 5.0), cand("c0002", 4.0)]
    verdicts = {"c0001": {"novel": False, "variant_of": "first_finish"}, "c0002": {"novel": True}}
    nov = SimpleNamespace(verdict=lambda r: verdicts[r.label])
    judge = SimpleNamespace(has_validation=True)
    got, note = choose(judge, recs, [], "frontier", False, nov, True)
    assert got.label == "c0002" and "require_novel" in note
    got, note = choose(judge, recs, [], "frontier", False, nov, False)
    assert got.label == "c0001" and note is None
    verdicts["c0002"] = {"novel": False, "variant_of": "sc"}
    seed = SimpleNamespace(label="seed:sc", score=SimpleNamespace(hv=1.0))
    got, note = choose(judge, recs, [seed], "frontier", False, nov, True)
    assert got.label == "seed:sc" and "no candidate qualifies" in note


# First-Finish plus a gate that fires only once 4 branches are open: at beta 0 (2 branches)
# it is First-Finish, elsewhere another program (the shape of a past run's "winner", whose
# whole score came from its beta-0 point)
FF_GATED = _program("first_finish").replace("controller first_finish", "controller ff_gated").replace(
    "  for b in branches where not b.finished { advance b }",
    "  let cur = [b.latest for b in branches where not b.pruned]\n"
    "  if len(cur) >= 4 and entropy(cur) / log(len(cur)) < 0.5 { answer majority(cur) }\n"
    "  for b in branches where not b.finished { advance b }", 1)


def test_a_variant_where_its_score_is_made_is_a_variant(checker):
    assert "entropy(cur)" in FF_GATED
    plain = checker.check(FF_GATED, "ffg")
    assert plain["novel"] is True  # by points alone: only beta 0 is First-Finish's
    near = plain["nearest"]
    assert near["seed"] == "first_finish" and 1 <= near["matched"] < 0.8 * near["points"]
    # but when the beta-0 point carries the score, the candidate is First-Finish where it matters
    v = checker.check(FF_GATED, "ffg", weights={0.0: 0.9, 0.5: 0.1, 1.0: 0.0})
    assert v["novel"] is False and v["variant_of"] == "first_finish"
    assert v["nearest"]["score_share"] >= 0.5 and "carrying 90% of its score" in describe(v)
    v = checker.check(FF_GATED, "ffg", weights={0.0: 0.2, 0.5: 0.4, 1.0: 0.4})
    assert v["novel"] is True


def test_hv_shares_split_hv_among_the_points_that_set_it():
    from hypothesis import given, settings
    from hypothesis import strategies as hs

    from tts_dsl.discovery.scores import hv, hv_shares

    pt = hs.tuples(hs.floats(1.0, 1000.0), hs.floats(0.0, 100.0))

    @settings(max_examples=200, deadline=None, database=None)
    @given(hs.lists(pt, min_size=1, max_size=8), hs.booleans())
    def parts_sum_to_hv(points, extend):
        shares = hv_shares(points, 10.0, 500.0, extend)
        assert sum(shares) == pytest.approx(hv(points, 10.0, 500.0, extend), abs=1e-9)
        inside = [(c, a) for c, a in points if 10.0 <= c <= 500.0]
        for (c, a), sh in zip(points, shares):  # outside the window or strictly dominated inside: nothing
            if (c, a) not in inside or any(c2 < c and a2 >= a for c2, a2 in inside):
                assert sh == 0.0

    parts_sum_to_hv()
    assert hv_shares([(20.0, 50.0), (40.0, 40.0), (100.0, 60.0)], 10.0, 500.0) == pytest.approx(
        [50.0 * (2.302585 - 0.693147) / 3.912023, 0.0, 60.0 * (6.214608 - 4.605170) / 3.912023], rel=1e-5)
