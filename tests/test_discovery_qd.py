"""The quality-diversity archive (tts_dsl/discovery/qd.py) on constructed data: points and
descriptors, band edges, insertion and ties, islands and migration, sampling, admits,
fingerprints, persistence, the table and the picture, and the [archive] config."""

from __future__ import annotations

import json
import math
import random
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tts_dsl.discovery.config import ARCHIVE_DEFAULTS, ConfigError, config_from_dict, config_from_saved, saved_config
from tts_dsl.discovery.curves import Curves
from tts_dsl.discovery.qd import (Point, QDArchive, adaptivity, fingerprint, points_of, quantile_edges,
                                  question_scales)
from tts_dsl.discovery.qd_report import render_archive

# two stores whose windows are 16x wide: log position u = log(c/lo)/log(16), so cost lo*2 -> 0.25
WIN = {"a": (1000.0, 16000.0), "b": (2000.0, 32000.0)}


def P(pos, desc, acc, cost=None, beta=0.5):
    """A point at a mean log position and descriptor (cost defaults to the window's)."""
    return Point(beta, acc, cost if cost is not None else 1000 * 16 ** pos, pos, desc)


def arch(**kw):
    kw.setdefault("islands", 1)
    kw.setdefault("migrate_every", 0)
    return QDArchive(WIN, **kw)


def row(beta, acc, cost, q_cost=None, q_correct=None, error=None):
    r = {"beta": beta, "accuracy": acc, "avg_cost": cost, "error": error}
    if q_cost is not None:
        r["q_cost"] = q_cost
        r["q_correct"] = q_correct if q_correct is not None else [0.5] * len(q_cost)
    return r


# ------------------------------------------------------------------ points
def test_points_average_over_stores_and_skip_errors():
    c = Curves({"a": [row(0.0, 40.0, 2000.0, [1, 1, 1, 1]), row(1.0, 50.0, 8000.0, [1, 3, 1, 3]),
                      row(0.5, None, None, error="boom")],
                "b": [row(0.0, 60.0, 4000.0, [2, 2, 2, 2]), row(1.0, 70.0, 16000.0, [1, 1, 1, 1]),
                      row(0.5, 1.0, 5000.0, [1, 1, 1, 1])]})
    pts = points_of(c, WIN)
    assert [p.beta for p in pts] == [0.0, 1.0]  # the beta with an error on one store is no point
    p0, p1 = pts
    assert p0.accuracy == 50.0 and p0.cost == 3000.0
    assert p0.position == pytest.approx(0.25)  # both stores at 2x their lo
    assert p1.position == pytest.approx(0.75)
    assert p0.descriptor == 0.0
    assert p1.descriptor == pytest.approx(0.5 / 2)  # store a: cv of [1,3,1,3] = 0.5; b: 0


def test_adaptivity_divides_by_the_question_scale():
    scale = [1000.0, 3000.0, 500.0, 2000.0]
    fixed = [8 * s for s in scale]  # a fixed 8 branches on every question
    assert adaptivity(fixed) > 0.4  # raw costs vary with the question's length...
    assert adaptivity(fixed, scale) == pytest.approx(0.0)  # ...branch-equivalents do not
    assert adaptivity([5.0]) is None
    assert adaptivity([2.0, 2.0], [0.0, 1.0]) == 0.0  # a zero scale divides nothing


def test_points_use_the_scales_of_the_part_questions():
    scales = {"a": [10.0, 1.0, 20.0, 2.0], "b": [5.0, 5.0, 5.0, 5.0]}
    rows = {"a": [row(None, 50.0, 2000.0, [2.0, 40.0])], "b": [row(None, 50.0, 4000.0, [7.0, 7.0])]}
    c = Curves(rows, {"a": (1, 2), "b": (0, 3)})  # store a: questions 1 and 2 -> scales 1 and 20
    (p,) = points_of(c, WIN, scales)
    assert p.descriptor == pytest.approx(0.0)  # 2/1 == 40/20 and 7/5 == 7/5
    (raw,) = points_of(Curves(rows), WIN)  # without scales: raw costs, a's cv > 0
    assert raw.descriptor > 0.4


def test_points_without_per_question_arrays_have_no_descriptor_and_no_cell():
    a = arch()
    pts = a.points(Curves({"a": [row(0.0, 40.0, 2000.0)], "b": [row(0.0, 40.0, 4000.0)]}))
    assert pts[0].descriptor is None and a.cell(pts[0]) is None
    assert a.add("x", pts) == []
    assert a.admits(pts)  # the screen cannot tell: evaluate


def test_question_scales_of_a_synthetic_store():
    from tts_dsl.evaluation.sweep import StoreRef
    from tts_dsl.discovery.splits import ref_label

    ref = StoreRef(None, synthetic_seed=3, synthetic_questions=5, synthetic_branches=8)
    sc = question_scales([ref])[ref_label(ref)]
    st_ = ref.load()
    assert len(sc) == 5
    assert sc[2] == pytest.approx(sum(st_.questions[2].tokens) / 8, abs=1e-3)


# ------------------------------------------------------------------- cells
@pytest.mark.parametrize("pos,band", [(-3.0, 0), (0.0, 0), (0.2499, 0), (0.25, 1), (0.5, 2), (0.7499, 2),
                                      (0.75, 3), (1.0, 3), (4.0, 3)])
def test_cost_band_edges(pos, band):
    assert arch().cell(P(pos, 0.0, 50))[0] == band


@pytest.mark.parametrize("desc,band", [(0.0, 0), (0.1999, 0), (0.2, 1), (0.4999, 1), (0.5, 2), (9.0, 2)])
def test_behaviour_band_edges(desc, band):
    assert arch().cell(P(0.1, desc, 50))[1] == band


def test_cost_band_edges_in_tokens_are_the_geometric_mean_over_stores():
    e = arch().cost_band_edges()
    assert len(e) == 5
    assert e[0] == pytest.approx(math.sqrt(1000 * 2000))
    assert e[4] == pytest.approx(math.sqrt(16000 * 32000))


# ---------------------------------------------------------------- insertion
def test_insertion_replacement_and_ties():
    a = arch()
    assert a.add("p1", [P(0.1, 0.1, 40, cost=1500)]) == [(0, 0, 0)]
    assert a.add("p2", [P(0.2, 0.0, 39, cost=1000)]) == []  # less accurate
    assert a.add("p3", [P(0.1, 0.1, 40, cost=1500)]) == []  # a full tie keeps the incumbent
    assert a.add("p4", [P(0.1, 0.1, 40, cost=1400)]) == [(0, 0, 0)]  # same accuracy, cheaper
    assert a.add("p5", [P(0.1, 0.1, 40.5, cost=5000 / 4)]) == [(0, 0, 0)]  # more accurate
    assert a.grids[0][(0, 0)].program == "p5"
    assert a.add("p6", [P(0.1, 0.9, 10)]) == [(0, 0, 2)]  # another behaviour band: a new cell


def test_a_program_holds_several_cells_with_its_best_point_in_each():
    a = arch()
    pts = [P(0.05, 0.1, 30, beta=0.0), P(0.1, 0.1, 35, beta=0.2), P(0.3, 0.1, 45, beta=0.6),
           P(0.9, 0.6, 50, beta=1.0)]
    assert a.add("p", pts) == [(0, 0, 0), (0, 1, 0), (0, 3, 2)]
    assert a.grids[0][(0, 0)].point.beta == 0.2


def test_seed_programs_enter_every_island_and_do_not_tick_migration():
    a = arch(islands=3, migrate_every=1)
    assert a.add("seed:sc", [P(0.9, 0.0, 50)], seed=True) == [(0, 3, 0), (1, 3, 0), (2, 3, 0)]
    assert a.added == 0 and a.migrations == 0


def test_candidates_go_round_robin_or_to_the_given_island():
    a = arch(islands=2)
    assert a.add("c0", [P(0.1, 0.0, 10)]) == [(0, 0, 0)]
    assert a.add("c1", [P(0.1, 0.0, 10)]) == [(1, 0, 0)]
    assert a.add("c2", [P(0.4, 0.0, 10)], island=1) == [(1, 1, 0)]
    with pytest.raises(ValueError):
        a.add("c3", [P(0.4, 0.0, 10)], island=2)


# ---------------------------------------------------------------- migration
def test_ring_migration_copies_the_best_elite_of_every_cost_band():
    a = arch(islands=3, migrate_every=4)
    a.add("x0", [P(0.1, 0.0, 50), P(0.6, 0.0, 20)], island=0)
    a.add("x1", [P(0.1, 0.9, 40)], island=0)  # same cost band as x0's 50%: not the band's best
    a.add("y", [P(0.1, 0.0, 45)], island=1)
    assert a.migrations == 0
    a.add("z", [P(0.9, 0.0, 60)], island=2)  # 4th candidate: migration
    assert a.migrations == 1
    g1 = {c: e.program for c, e in a.grids[1].items()}
    assert g1[(0, 0)] == "x0" and g1[(2, 0)] == "x0"  # island 0 -> 1: better than y, and a new band
    assert (0, 2) not in g1  # x1 was not its band's best
    assert a.grids[1][(0, 0)].origin == 0
    g2 = {c: e.program for c, e in a.grids[2].items()}
    assert g2[(0, 0)] == "y"  # from island 1's snapshot, not x0 passed on in the same migration
    assert {c: e.program for c, e in a.grids[0].items()}[(3, 0)] == "z"  # 2 -> 0 closes the ring
    rows = a.cells_table(1)
    assert [r["migrated"] for r in rows if r["program"] == "x0"] == [True, True]


def test_migration_respects_ties_and_one_island_is_a_no_op():
    a = arch(islands=2, migrate_every=2)
    a.add("old", [P(0.1, 0.0, 50, cost=1100)], island=1)
    a.add("twin", [P(0.1, 0.0, 50, cost=1100)], island=0)  # migration: a full tie keeps "old"
    assert a.grids[1][(0, 0)].program == "old" and a.grids[0][(0, 0)].program == "twin"
    b = arch(islands=1, migrate_every=1)
    b.add("p", [P(0.1, 0.0, 50)])
    assert b.migrations == 1 and b.migrate() == 0


# ------------------------------------------------------------------ admits
def test_admits():
    a = arch(islands=2, admit_margin=2.0)
    a.add("p", [P(0.1, 0.0, 50)], island=0)
    assert a.admits([P(0.1, 0.0, 48.5)], island=0)  # within the margin
    assert not a.admits([P(0.1, 0.0, 47.5)], island=0)
    assert a.admits([P(0.1, 0.0, 47.5)])  # island 1 has the cell empty
    assert a.admits([P(0.1, 0.0, 47.5)], island=0, margin=3.0)
    assert a.admits([P(0.1, 0.0, 10), P(0.6, 0.0, 1)], island=0)  # one point in an empty cell is enough
    assert not a.admits([], island=0)


# ---------------------------------------------------------------- sampling
def filled(islands=2):
    a = arch(islands=islands)
    k = 0
    for i in range(islands):
        for cb in range(4):
            for bb, d in enumerate((0.0, 0.3, 0.9)):
                a.add(f"p{k}", [P(cb / 4 + 0.1, d, 30 + 5 * cb + bb + i)], island=i)
                k += 1
    return a


def test_sampling_is_deterministic_and_draws_distinct_programs_from_the_island():
    a = filled()
    island1 = {e.program for e in a.grids[1].values()}
    for s in range(20):
        ps = a.sample_parents(random.Random(s), 3, island=1)
        assert ps == a.sample_parents(s, 3, island=1)  # an int seed is the same as Random(seed)
        assert len(set(ps)) == 3 and set(ps) <= island1
    seen = {p for s in range(200) for p in a.sample_parents(s, 1, island=1)}
    assert len(seen) >= 10  # across cells, not a top-k
    assert a.sample_parents(0, 50, island=0).__len__() == 12  # no more than the programs


def test_sampling_is_biased_to_fitness_within_a_cost_band():
    a = arch(parent_bias=4.0)
    a.add("weak", [P(0.1, 0.0, 20)])
    a.add("strong", [P(0.1, 0.9, 40)])
    rng = random.Random(0)
    n = sum(a.sample_parents(rng, 1, island=0) == ["strong"] for _ in range(2000))
    assert 0.75 < n / 2000 < 0.9  # weights 1 and 5: 5/6


def test_a_program_holding_many_cells_is_not_drawn_more_often_for_it():
    a = arch(parent_bias=0.0)
    a.add("wide", [P(0.1, 0.0, 40), P(0.4, 0.0, 40), P(0.6, 0.0, 40), P(0.9, 0.0, 40)])
    a.add("narrow", [P(0.1, 0.9, 40)])
    rng = random.Random(1)
    n = sum(a.sample_parents(rng, 1, island=0) == ["narrow"] for _ in range(2000))
    assert 0.45 < n / 2000 < 0.55  # 1/2, not 1/5
    rng = random.Random(2)
    a.add("third", [P(0.9, 0.9, 40)])
    m = sum(a.inspirations(rng, 1, exclude=["narrow"]) == ["wide"] for _ in range(2000))
    assert 0.4 < m / 2000 < 0.6  # wide (4 cells) and third (1 cell) equally likely


def test_an_empty_island_falls_back_to_the_archive():
    a = arch(islands=2)
    a.add("only", [P(0.1, 0.0, 20)], island=0)
    assert a.sample_parents(1, 1, island=1) == ["only"]
    assert arch().sample_parents(1, 2, island=0) == []


def test_inspirations_come_from_other_cells_than_the_parents():
    a = arch()
    a.add("par", [P(0.1, 0.0, 50), P(0.4, 0.0, 50)])
    a.add("q1", [P(0.1, 0.9, 40)])
    a.add("q2", [P(0.9, 0.9, 40)])
    a.add("q3", [P(0.6, 0.3, 40)])
    for s in range(10):
        ins = a.inspirations(s, 2, exclude=["par"])
        assert len(ins) == 2 and len(set(ins)) == 2 and "par" not in ins
        assert ins == a.inspirations(s, 2, exclude=["par"])
    # a program holding the cell of a parent is avoided while others remain
    b = arch(islands=2)
    b.add("par", [P(0.1, 0.0, 50)], island=0)
    b.add("same_cell", [P(0.1, 0.0, 51)], island=1)
    b.add("other", [P(0.9, 0.0, 51)], island=1)
    assert all(b.inspirations(s, 1, exclude=["par"]) == ["other"] for s in range(10))
    assert sorted(b.inspirations(0, 2, exclude=["par"])) == ["other", "same_cell"]  # not enough: any cell


# ------------------------------------------------------------- fingerprints
def screen(**over):
    base = {"a": [row(0.25, 50.0, 2000.0, [100.0, 200.0], [0.5, 1.0]),
                  row(0.75, 60.0, 3000.0, [150.0, 250.0], [1.0, 1.0])],
            "b": [row(0.25, 40.0, 2000.0, [100.0, 300.0], [0.0, 1.0]),
                  row(0.75, 45.0, 3000.0, [120.0, 300.0], [0.2, 1.0])]}
    base.update(over)
    return Curves(base)


def test_fingerprint_equal_behaviour_equal_hash():
    assert fingerprint(screen()) == fingerprint(screen())
    swapped = Curves(dict(reversed(list(screen().stores.items()))))
    assert fingerprint(swapped) == fingerprint(screen())  # store order does not matter


def test_fingerprint_sees_one_changed_cost_or_answer():
    base = fingerprint(screen())
    c = screen()
    c.stores["b"][1]["q_cost"] = [120.0, 301.0]
    assert fingerprint(c) != base
    c = screen()
    c.stores["a"][0]["q_correct"] = [0.6, 1.0]
    assert fingerprint(c) != base
    c = screen()
    c.stores["a"][1]["error"] = "R001 boom"
    assert fingerprint(c) != base


def test_fingerprint_of_a_constant_program_matches_a_beta_program_constant_on_the_screen():
    r = row(None, 50.0, 2000.0, [100.0, 200.0], [0.5, 1.0])
    const = Curves({"a": [r]})
    beta_prog = Curves({"a": [dict(r, beta=0.25), dict(r, beta=0.75)]})
    assert fingerprint(const) == fingerprint(beta_prog)
    with pytest.raises(ValueError, match="per-question"):
        fingerprint(Curves({"a": [row(0.25, 50.0, 2000.0)]}))


def test_duplicates_remembered_first_program_wins():
    a = arch()
    assert a.duplicate_of("f1") is None
    a.remember("f1", "seed:sc")
    a.remember("f1", "c0003")
    assert a.duplicate_of("f1") == "seed:sc"
    assert QDArchive.from_dict(a.to_dict()).duplicate_of("f1") == "seed:sc"


# -------------------------------------------------------------- persistence
def sequence(a: QDArchive, rng: random.Random, n: int):
    for i in range(n):
        pts = [P(rng.uniform(-0.1, 1.1), rng.choice([0.0, 0.3, 0.35, 0.9]), rng.choice([30, 40, 40, 50]),
                 cost=rng.choice([1500, 1500, 2000]), beta=b) for b in (0.0, 0.5, 1.0)]
        a.add(f"c{i:04d}", pts, seed=i < 2)


def test_round_trip_and_rebuild_give_the_same_archive():
    a = QDArchive(WIN, islands=3, migrate_every=4)
    sequence(a, random.Random(5), 30)
    d = a.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert QDArchive.from_dict(d).to_dict() == d
    b = QDArchive(WIN, islands=3, migrate_every=4)
    sequence(b, random.Random(5), 30)  # rebuilt from the same records
    assert b.to_dict() == d
    assert a.migrations == 7
    # a resumed archive goes on exactly as an uninterrupted one
    c = QDArchive(WIN, islands=3, migrate_every=4)
    sequence(c, random.Random(5), 12)
    c = QDArchive.from_dict(json.loads(json.dumps(c.to_dict())))
    rng = random.Random(5)
    sequence(QDArchive(WIN, islands=3, migrate_every=4), rng, 12)  # advance the rng the same way
    for i in range(12, 30):
        pts = [P(rng.uniform(-0.1, 1.1), rng.choice([0.0, 0.3, 0.35, 0.9]), rng.choice([30, 40, 40, 50]),
                 cost=rng.choice([1500, 1500, 2000]), beta=b) for b in (0.0, 0.5, 1.0)]
        c.add(f"c{i:04d}", pts)
    assert c.to_dict() == d
    assert c.sample_parents(9, 2, island=1) == a.sample_parents(9, 2, island=1)


def test_add_takes_point_dicts_as_records_hold_them():
    a, b = arch(), arch()
    pts = [P(0.1, 0.0, 50), P(0.6, 0.4, 60)]
    assert a.add("p", pts) == b.add("p", [p.to_dict() for p in pts])
    assert a.to_dict() == b.to_dict()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.floats(-0.2, 1.2), st.sampled_from([0.0, 0.25, 0.6]),
                          st.integers(0, 5), st.sampled_from([1000.0, 1200.0])), max_size=25))
def test_every_elite_is_the_best_point_offered_to_its_cell(offers):
    a = QDArchive(WIN, islands=2, migrate_every=0)
    offered: dict = {}
    for n, (isl, pos, desc, acc, cost) in enumerate(offers):
        p = P(pos, desc, float(acc), cost=cost)
        a.add(f"c{n}", [p], island=isl)
        offered.setdefault((isl, a.cell(p)), []).append((p.key, -n, f"c{n}"))
    for (isl, c), lst in offered.items():
        assert a.grids[isl][c].program == max(lst)[2]  # best key; ties: the earliest
    assert sum(len(g) for g in a.grids) == len(offered)


# ---------------------------------------------------------- table, picture
def test_render_table_and_grid():
    a = filled(islands=2)
    md = a.render_table()
    assert "Island 0:" in md and "Island 1:" in md and "| island | tokens | adaptivity |" in md
    assert md.count("\n| 0 | ") == 12 and md.count("\n| 1 | ") == 12
    grid = a.render_grid()
    assert grid.startswith("Columns: tokens per question") and "adaptivity" in grid.split("\n")[0]
    table = grid.split("\n\n", 1)[1]
    assert "p23 " in table and table.count("\n") == 4  # header, rule and 3 behaviour bands
    assert render_archive({"seeds": []}, "/nonexistent") == ""


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    a = filled(islands=2)
    a.migrate()
    p = a.plot(tmp_path / "archive.png")
    assert p is not None and p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = render_archive({"archive": a.to_dict()}, tmp_path)
    assert "![archive](archive.png)" in md and (tmp_path / "archive.png").exists()


def test_without_matplotlib_the_table_still_renders(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    a = filled(islands=1)
    assert a.plot(tmp_path / "x.png") is None and not (tmp_path / "x.png").exists()
    md = render_archive({"archive": a.to_dict()}, tmp_path)
    assert "![archive]" not in md and "| island |" in md


# ------------------------------------------------------------------ config
def cfg_with(archive):
    return config_from_dict({"search": {"synthetic": [{"seed": 1}]}, "archive": archive}, ".")


def test_archive_config_defaults_round_trip_and_errors():
    c = cfg_with({"islands": 3, "behaviour_bands": 4})
    assert c.archive == {**ARCHIVE_DEFAULTS, "islands": 3, "behaviour_bands": 4}
    assert config_from_saved(json.loads(json.dumps(saved_config(c)))).archive == c.archive
    assert cfg_with({}).archive == ARCHIVE_DEFAULTS
    for bad, msg in [({"islnds": 2}, "unknown key"), ({"islands": 0}, "islands"),
                     ({"behaviour_bands": [0.5, 0.2]}, "increasing"), ({"descriptor": "depth"}, "descriptor"),
                     ({"admit_margin": -1}, "admit_margin"), ({"cost_bands": True}, "cost_bands")]:
        with pytest.raises(ConfigError, match=msg):
            cfg_with(bad)


def test_from_settings_with_a_number_of_bands_uses_the_seed_quantiles():
    seeds = [[P(0.1, d, 40)] for d in (0.0, 0.1, 0.2, 0.4, 0.8, 1.6)]
    a = QDArchive.from_settings({**ARCHIVE_DEFAULTS, "behaviour_bands": 3}, WIN, seed_points=seeds)
    assert a.behaviour_edges == quantile_edges([0.0, 0.1, 0.2, 0.4, 0.8, 1.6], 3)
    assert len(a.behaviour_edges) == 2 and a.behaviour_edges[0] < a.behaviour_edges[1]
    assert quantile_edges([0.3] * 5, 3) == [0.3]  # equal edges merge
    b = QDArchive.from_settings(ARCHIVE_DEFAULTS, WIN)
    assert b.behaviour_edges == [0.2, 0.5] and b.n_islands == 2 and b.migrate_every == 10


# ------------------------------------------------------------ a run's archive
def test_from_run_rebuilds_the_archive_from_state_and_records():
    from tts_dsl.discovery.qd import from_run
    from tts_dsl.discovery.records import Candidate, RunState, SeedProgram
    from tts_dsl.discovery.splits import ref_label, store_refs

    cfg = config_from_dict({"search": {"synthetic": [{"seed": 1, "questions": 4, "branches": 8},
                                                     {"seed": 2, "questions": 4, "branches": 8}]},
                            "archive": {"islands": 2, "migrate_every": 3}}, ".")
    labels = [ref_label(r) for r in store_refs(cfg)]
    win = {lb: [1000.0, 16000.0] for lb in labels}
    rng = random.Random(3)

    def curves(n_betas):
        return Curves({lb: [row(b / 4, rng.choice([30.0, 40.0, 50.0]), rng.choice([1500.0, 3000.0, 9000.0]),
                                [rng.uniform(100, 900) for _ in range(4)]) for b in range(n_betas)]
                       for lb in labels})

    seeds = [SeedProgram(f"s{i}", "f", "src", "h", True, curves(3), screen={"fingerprint": f"fp-s{i}"})
             for i in range(2)]
    state = RunState(seeds, win, labels, [0, 10])
    live = from_run(cfg, state, [])
    assert set(state.extra["qd_points"]) == {"seed:s0", "seed:s1"}
    assert live.duplicate_of("fp-s1") == "seed:s1"
    records = []
    for i in range(7):
        rec = Candidate.from_dict({"id": i, "status": "ok" if i != 4 else "screened",
                                   "screen": {"fingerprint": f"fp-c{i}"}, "island": i % 2})
        if rec.ok:
            rec.curves = curves(2)
            rec.cells = live.add(rec)  # as the loop does before writing the record
            assert "qd_points" in rec.extra
        live.remember(f"fp-c{i}", rec.label)
        records.append(rec)
    assert live.migrations == 2  # 6 candidates added, every 3
    # resume: state.json and candidates.jsonl read back (no per-question arrays any more)
    state2 = RunState.from_dict(json.loads(json.dumps(state.to_dict())))
    recs2 = [Candidate.from_dict(json.loads(json.dumps(r.to_dict()))) for r in records]
    assert not state2.seeds[0].curves.has_per_question()
    again = from_run(cfg, state2, recs2)
    assert again.to_dict() == live.to_dict()
    assert any(r.cells for r in recs2 if r.ok) and recs2[0].cells == [list(c) for c in records[0].cells]


# ------------------------------------------------------------------ end to end
def test_a_run_keeps_the_archive_and_rejects_behavioural_duplicates(tmp_path):
    """Through the loop: a program that behaves like a seed program (D003, before the full
    evaluation), a new one that enters cells, a behavioural copy of it (D003); the archive in
    state.json, final.json and the report, and a resumed run rebuilds the same archive."""
    from pathlib import Path

    from tts_dsl.discovery.loop import Discovery
    from tts_dsl.discovery.proposers import Reply

    root = Path(__file__).resolve().parent.parent
    sc = (root / "programs" / "sc.tts").read_text()
    replies = [sc.replace("repeat n {", "repeat n + 0 {"),  # behaves exactly like seed sc
               sc.replace("= 64", "= 6"),  # new: SC@6
               sc.replace("= 64", "= 6").replace("repeat n {", "repeat n + 0 {")]  # behaves like c0001

    class Scripted:
        is_llm = False
        kind = "evolve"

        def propose(self, messages, ctx):
            return Reply(f"```tts\n{replies[ctx.round]}```\n", llm_calls=0)

        def close(self):
            pass

    cfg = config_from_dict({
        "run": {"max_rounds": 2, "max_repairs": 0, "jobs": 1, "plots": True, "betas": [0.0, 1.0],
                "seed_programs": [str(root / "programs" / "sc.tts"), str(root / "programs" / "cmc.tts")]},
        "search": {"synthetic": [{"seed": 11, "questions": 6, "branches": 24}], "seeds": 3},
        "smoke": {"questions": 3, "branches": 16, "seeds": 2},
        "cascade": {"seeds": 2}, "proposer": {"kind": "evolve"}}, str(tmp_path))
    out = tmp_path / "run"
    Discovery.start(cfg, out, proposer=Scripted()).run()
    Discovery.resume(out, {"max_rounds": 3}, proposer=Scripted()).run()
    recs = [json.loads(x) for x in (out / "candidates.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["duplicate", "ok", "duplicate"]
    codes = [d["code"] for d in recs[0]["attempts"][-1]["validation"]["diagnostics"]]
    assert codes == ["D003"] and "sc" in recs[0]["duplicate_of"] and recs[0].get("curves") is None
    assert "c0001" in recs[2]["duplicate_of"]
    assert recs[1]["cells"] and recs[1]["qd_points"]
    state = json.loads((out / "state.json").read_text())
    final = json.loads((out / "final.json").read_text())
    assert state["archive"] == final["archive"]
    held = {e["program"] for g in final["archive"]["grids"] for e in g.values()}
    assert "c0001" in held and "seed:cmc" in held
    assert set(state["qd_points"]) == {"seed:sc", "seed:cmc"}
    # the archive of the resumed run equals one rebuilt from its files
    from tts_dsl.discovery.qd import from_run
    from tts_dsl.discovery.records import Candidate, RunState

    rebuilt = from_run(cfg, RunState.from_dict(state), [Candidate.from_dict(r) for r in recs])
    assert rebuilt.to_dict() == final["archive"]
    report = (out / "report.md").read_text()
    assert "Quality-diversity archive" in report
    if (out / "archive.png").exists():
        assert "![archive](archive.png)" in report
