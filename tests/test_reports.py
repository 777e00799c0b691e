"""Reports: frontier geometry, bootstrap intervals, the paired test and the compare table,
checked against hand computations; the compare CLI (Markdown, CSV, plot)."""

from __future__ import annotations

import csv
import json
import math
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tts_dsl import api
from tts_dsl.cli import main
from tts_dsl.evaluation.runner import run
from tts_dsl.replay.synthetic import synthetic_json
from tts_dsl.reporting.compare import (Cell, Config, bootstrap_ci, bootstrap_indices, build_report,
                                       sign_flip_pvalue, to_markdown)
from tts_dsl.reporting.frontier import (common_range, envelope, frontier_area, mixture_hull, pareto,
                                        pareto_mask)

from conftest import PROGRAMS, REFERENCE

LN = math.log


# ------------------------------------------------------------------ frontier
def test_pareto_by_hand():
    pts = [(100, 10), (200, 10), (150, 12), (300, 11), (400, 20), (400, 20), (50, 5), (90, 5)]
    assert pareto(pts) == [(50, 5), (100, 10), (150, 12), (400, 20)]
    assert pareto_mask(pts) == [True, False, True, False, True, True, True, False]
    assert pareto([]) == [] and pareto([(0, 50), (float("nan"), 1)]) == []


def test_frontier_area_by_hand():
    pts = [(100, 10), (1000, 20), (500, 5)]
    # step: 10 on [100, 1000), 20 on [1000, 10000]: half the log range each
    assert frontier_area(pts, 100, 10000) == pytest.approx(15)
    # zero below the cheapest point: [10, 100) is half of [10, 1000] on a log axis
    assert frontier_area(pts, 10, 1000) == pytest.approx(5)
    # mix: 10 + (c - 100) / 90 on [100, 1000] (linear in cost), flat 20 after
    slope = 10 / 900
    alpha = 10 - 100 * slope
    assert frontier_area(pts, 100, 1000, interpolate="mix") == pytest.approx(alpha + slope * 900 / LN(10))
    assert frontier_area(pts, 100, 10000, interpolate="mix") == pytest.approx(
        (alpha * LN(10) + slope * 900 + 20 * LN(10)) / LN(100))
    assert frontier_area(pts, 550, 550, interpolate="mix") == pytest.approx(15)
    assert mixture_hull([(100, 10), (200, 11), (300, 30), (250, 1)]) == [(100, 10), (300, 30)]
    assert mixture_hull([(100, 10), (200, 25), (300, 30)]) == [(100, 10), (200, 25), (300, 30)]
    # a sub-range: [200, 2000] -> 10 on [200,1000), 20 on [1000,2000]
    w = LN(1000 / 200) / LN(2000 / 200)
    assert frontier_area(pts, 200, 2000) == pytest.approx(10 * w + 20 * (1 - w))
    assert frontier_area(pts, 700, 700) == 10 and frontier_area(pts, 50, 50) == 0
    assert frontier_area([], 1, 2) == 0
    assert envelope(pts, 999) == 10 and envelope(pts, 1000) == 20 and envelope(pts, 99) == 0
    for lo, hi in ((0, 10), (10, 5), (-1, 5), (1, float("inf"))):
        with pytest.raises(ValueError):
            frontier_area(pts, lo, hi)
    with pytest.raises(ValueError):
        frontier_area(pts, 1, 2, interpolate="cubic")


def test_common_range():
    assert common_range([[(100, 1), (1000, 2)], [(50, 1), (500, 3)]]) == (100, 500)
    assert common_range([[(100, 1)], [(200, 1)]]) is None
    assert common_range([[(100, 1)], []]) is None


points = st.lists(st.tuples(st.floats(1, 1e7), st.floats(0, 100)), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(points, st.floats(1, 1e7), st.floats(1, 1e7), st.sampled_from(["step", "mix"]))
def test_frontier_area_properties(pts, a, b, mode):
    lo, hi = min(a, b), max(a, b)
    area = frontier_area(pts, lo, hi, mode)
    best = max(p[1] for p in pts)
    assert -1e-9 <= area <= best + 1e-9
    front = pareto(pts)
    assert all(x[0] < y[0] and x[1] < y[1] for x, y in zip(front, front[1:]))
    for c, acc in pts:  # every point is weakly dominated by a front point
        assert any(fc <= c and fa >= acc for fc, fa in front)
    # more accuracy or an extra point never lowers the area
    i = 0
    raised = list(pts)
    raised[i] = (pts[i][0], pts[i][1] + 5)
    assert frontier_area(raised, lo, hi, mode) >= area - 1e-9
    assert frontier_area(pts + [(lo, 50.0)], lo, hi, mode) >= area - 1e-9
    if mode == "step":  # a point at or below lo: the area is at least its accuracy
        assert frontier_area(pts + [(lo, 77.0)], lo, hi) >= 77.0 - 1e-9


# ---------------------------------------------------------------- statistics
def test_sign_flip_exact_by_hand():
    assert sign_flip_pvalue([np.ones(6)]) == pytest.approx(2 / 64)
    assert sign_flip_pvalue([np.array([1.0, -1.0, 1.0, -1.0])]) == 1.0
    # d = (2, 1, 0): |sum| over the 8 sign vectors is 3,3,1,1 (twice): p = 4/8
    assert sign_flip_pvalue([np.array([2.0, 1.0, 0.0])]) == pytest.approx(0.5)
    # two stores, mean of means: T = (1 + 1)/2/2 + 0/2 = 0.5; |T*| = 0.5 for 4 of 8 vectors
    assert sign_flip_pvalue([np.array([1.0, 1.0]), np.array([0.0])]) == pytest.approx(0.5)
    assert sign_flip_pvalue([np.zeros(3)]) == 1.0


def test_sign_flip_monte_carlo():
    # 40 equal positive differences: only the all-plus and all-minus vectors reach |T|
    p = sign_flip_pvalue([np.ones(40)], n_perm=2000, seed=3)
    assert p == pytest.approx(1 / 2001)
    assert sign_flip_pvalue([np.ones(40)], n_perm=2000, seed=3) == p  # seeded
    rng = np.random.default_rng(0)
    noise = rng.normal(size=40)
    assert 0.05 < sign_flip_pvalue([noise], n_perm=2000) <= 1.0


def test_bootstrap_ci_by_hand():
    v = np.array([0.0, 50.0, 100.0, 100.0, 0.0, 25.0])
    idx = bootstrap_indices(6, 500, 7, "m/d")
    expected = np.random.default_rng([7, zlib.crc32(b"m/d")]).integers(0, 6, size=(500, 6))
    assert (idx == expected).all()
    means = [v[row].mean() for row in expected]
    lo, hi = bootstrap_ci([v], [idx])
    assert lo == pytest.approx(np.percentile(means, 2.5)) and hi == pytest.approx(np.percentile(means, 97.5))
    assert lo < v.mean() < hi
    assert bootstrap_ci([np.full(6, 40.0)], [idx]) == (40.0, 40.0)
    # two stores: each resample averages the two stores' resampled means
    w = np.array([10.0, 20.0, 30.0])
    idx2 = bootstrap_indices(3, 500, 7, "x/y")
    both = [(v[a].mean() + w[b].mean()) / 2 for a, b in zip(idx, idx2)]
    lo2, hi2 = bootstrap_ci([v, w], [idx, idx2])
    assert (lo2, hi2) == pytest.approx((np.percentile(both, 2.5), np.percentile(both, 97.5)))


# -------------------------------------------------------------- the report
def cell_for(name, store, params=None, beta=None, seeds=range(5)):
    c = api.load(PROGRAMS / f"{name}.tts")
    res = run(api.compile(c, beta, params), store, seeds)
    cfg = Config(c.name, str(PROGRAMS / f"{name}.tts"), "", beta, dict(params or {}), dict(params or {}))
    return cfg, res, Cell(cfg, store.label, np.array(res.correct, float), np.array(res.cost, float))


def test_report_numbers_by_hand(small_store):
    base_cfg, base_res, base = cell_for("sc", small_store, {"n": 3})
    cfg, res, cell = cell_for("asc", small_store, {"max_samples": 8})
    rep = build_report([base, cell], [small_store.label], [base_cfg, cfg], base_cfg, n_boot=400, n_perm=5000)
    row = {r["label"]: r for r in rep.rows}
    r = row[cfg.label]
    nq, ns = len(small_store.questions), 5
    # accuracy and tokens are the replay protocol's figures
    assert round(r["accuracy"], 2) == res.accuracy
    assert r["tokens"] == pytest.approx(res.avg_cost)
    # hand: per-question accuracy over seeds, then the mean difference
    pa = [sum(res.correct[s][q] for s in range(ns)) / ns * 100 for q in range(nq)]
    pb = [sum(base_res.correct[s][q] for s in range(ns)) / ns * 100 for q in range(nq)]
    assert r["accuracy"] == pytest.approx(sum(pa) / nq)
    d = [a - b for a, b in zip(pa, pb)]
    assert r["delta_acc"] == pytest.approx(sum(d) / nq)
    assert r["token_ratio"] == pytest.approx(res.avg_cost / base_res.avg_cost)
    assert r["p_value"] == pytest.approx(sign_flip_pvalue([np.array(d)], 5000, 0))
    idx = bootstrap_indices(nq, 400, 0, small_store.label)
    boot = sorted(np.mean([pa[i] for i in row_]) for row_ in idx)
    assert r["acc_lo"] == pytest.approx(np.percentile(boot, 2.5))
    assert r["acc_hi"] == pytest.approx(np.percentile(boot, 97.5))
    assert row[base_cfg.label]["delta_acc"] is None  # the baseline is not paired with itself
    md = to_markdown(rep)
    assert f"{r['accuracy']:.2f} [" in md and "Paired against **sc n=3**" in md
    # frontier rows: one per program, over the union of costs
    fr = {f["program"]: f for f in rep.frontier}
    lo, hi = sorted([res.avg_cost, base_res.avg_cost])
    assert fr["asc"]["cost_lo"] == pytest.approx(lo) and fr["asc"]["cost_hi"] == pytest.approx(hi)
    assert fr["asc"]["frontier_area"] == pytest.approx(
        frontier_area([(res.avg_cost, r["accuracy"])], lo, hi))


# ----------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("stores")
    for i, m in enumerate(["ModelA", "ModelB"]):
        (root / m).mkdir()
        (root / m / "toy.json").write_text(json.dumps(synthetic_json(seed=20 + i, n_questions=8, n_branches=32)))
    return root


def is_png(path) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_cli_compare_two_stores(two_stores, tmp_path, capsys):
    md, cs, png = tmp_path / "r.md", tmp_path / "r.csv", tmp_path / "f.png"
    rc = main(["compare", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "asc.tts"), str(PROGRAMS / "cmc.tts"),
               "--store", str(two_stores), "--beta", "0,1", "--sweep", "n=2,4", "--seeds", "4", "-q",
               "--baseline", "sc n=4", "--bootstrap", "300", "--out", str(md), "--csv", str(cs),
               "--plot", str(png), "-j", "1", "--frontier"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert md.read_text() == out
    assert "| program | config | ModelA/toy acc | ModelA/toy tokens | ModelB/toy acc |" in out
    assert "average acc" in out and "Paired against **sc n=4**" in out and "Frontier area" in out
    assert is_png(png)
    rows = list(csv.DictReader(open(cs)))
    cells = {(r["label"], r["store"]): r for r in rows if r["kind"] == "cell"}
    assert set(cells) == {(lab, s) for lab in ("sc n=2", "sc n=4", "asc", "cmc beta=0", "cmc beta=1")
                          for s in ("ModelA/toy", "ModelB/toy", "average")}
    # the per-store numbers are the evaluator's; the average is their mean
    for model in ("ModelA", "ModelB"):
        store = api.open_store(two_stores, model, "toy")
        r = api.evaluate_one(PROGRAMS / "cmc.tts", store, beta=1.0, seeds=4)
        c = cells[("cmc beta=1", f"{model}/toy")]
        assert round(float(c["accuracy"]), 2) == r.accuracy
        assert float(c["tokens"]) == pytest.approx(r.avg_cost, abs=1e-5)
    a = cells[("asc", "average")]
    assert float(a["accuracy"]) == pytest.approx(
        (float(cells[("asc", "ModelA/toy")]["accuracy"]) + float(cells[("asc", "ModelB/toy")]["accuracy"])) / 2)
    assert float(a["token_ratio"]) == pytest.approx(float(a["tokens"]) / float(cells[("sc n=4", "average")]["tokens"]))
    assert float(a["acc_lo"]) <= float(a["accuracy"]) <= float(a["acc_hi"])
    fr = [r for r in rows if r["kind"] == "frontier"]
    assert {(r["program"], r["store"]) for r in fr} == {(p, s) for p in ("sc", "asc", "cmc")
                                                        for s in ("ModelA/toy", "ModelB/toy", "average")}


def test_cli_compare_deterministic(capsys):
    args = ["compare", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "esc.tts"), "--set", "max_samples=16",
            "--seeds", "3", "-q", "-j", "1", "--bootstrap", "200", "--ci-seed", "5"]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    assert "Frontier area" not in first  # single points: no frontier table unless asked


@pytest.mark.parametrize("args, msg", [
    (["--baseline", "nope"], "--baseline 'nope' matches no row"),
    (["--sweep", "n"], "bad --sweep"),
    (["--sweep", "zzz=1,2"], "no program declares a param 'zzz'"),
    (["--set", "qq=1"], "no program declares a param 'qq'"),
    (["--cost-range", "5:1"], "bad --cost-range"),
    (["--beta", "2"], "outside [0, 1]"),
])
def test_cli_compare_errors(args, msg, capsys):
    rc = main(["compare", str(PROGRAMS / "sc.tts"), "--seeds", "2", "-q"] + args)
    err = capsys.readouterr().err
    assert rc == 2 and msg in err and "Traceback" not in err


def test_cli_compare_param_error_is_a_diagnostic(capsys):
    rc = main(["compare", str(PROGRAMS / "sc.tts"), "--sweep", "n=4,999", "--seeds", "2", "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "sc.tts" in err and "Traceback" not in err


@pytest.mark.shared
def test_compare_reproduces_reference_rows(replay_root, tmp_path, capsys):
    cs = tmp_path / "r.csv"
    rc = main(["compare", str(PROGRAMS / "sc.tts"), str(PROGRAMS / "cmc.tts"), "--store", str(replay_root),
               "--model", "Qwen3-8B", "--beta", "0.5,1", "--csv", str(cs), "-q", "--bootstrap", "200",
               "--permutations", "500", "-j", "1"])
    assert rc == 0
    capsys.readouterr()
    got = {(r["label"], r["store"]): r for r in csv.DictReader(open(cs)) if r["kind"] == "cell"}
    ref = list(csv.DictReader(open(REFERENCE)))
    want = {("sc", "n=64"), ("cmc beta=0.5", "beta=0.5"), ("cmc beta=1", "beta=1.0")}
    checked = 0
    for row in ref:
        for label, params in want:
            if row["model"] == "Qwen3-8B" and row["params"] == params and row["method"] == label.split()[0]:
                g = got[(label, f"{row['model']}/aime24")]
                assert round(float(g["accuracy"]), 2) == float(row["accuracy"])
                assert abs(float(g["tokens"]) - float(row["avg_cost"])) < 1
                checked += 1
    assert checked == 3


def test_cli_unwritable_outputs(capsys):
    for args in (["compare", str(PROGRAMS / "sc.tts"), "--out", "/nonexistent-dir/r.md"],
                 ["compare", str(PROGRAMS / "sc.tts"), "--plot", "/nonexistent-dir/f.png"],
                 ["eval", str(PROGRAMS / "sc.tts"), "--traces", "/nonexistent-dir/t.jsonl"],
                 ["trace", str(PROGRAMS / "sc.tts"), "--png", "/nonexistent-dir/e.png"]):
        rc = main(args + ["-q"] if args[0] != "trace" else args)
        err = capsys.readouterr().err
        assert rc == 2 and "cannot write" in err and "Traceback" not in err, (args, err)


@pytest.mark.shared
def test_docs_report_shows_the_reference_figures():
    """The Table-1 report in docs/reports.md is real: every accuracy and token count in its
    first table is the reference figure for that model and configuration."""
    from conftest import ROOT

    text = (ROOT / "docs" / "reports.md").read_text()
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    header = lines[0].split(" | ")
    assert "Qwen3-8B/aime24 acc" in lines[0]
    models = [h.split("/")[0].strip("| ") for h in header[2::2]][:4]
    params = {("sc", "defaults"): "n=64", ("asc", "defaults"): "max_samples=64;threshold=0.95",
              ("esc", "defaults"): "max_samples=64;window_size=8",
              ("parallel_probe", "defaults"): "num_chains=64;T=40;prune_patience=7;warm_up=15",
              ("cmc", "beta=0.5"): "beta=0.5", ("cmc", "beta=1"): "beta=1.0"}
    ref = {(r["model"], r["method"], r["params"]): r for r in csv.DictReader(open(REFERENCE))}
    seen = 0
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        key = (cells[0], cells[1])
        if key not in params:
            break  # the end of the first table
        for i, m in enumerate(models):
            acc = float(cells[2 + 2 * i].split(" [")[0])
            tok = float(cells[3 + 2 * i].rstrip("k"))
            r = ref[(m, cells[0], params[key])]
            assert acc == float(r["accuracy"]), (key, m)
            assert abs(tok - float(r["avg_cost"]) / 1000) <= 0.05 + 1e-9, (key, m)
            seen += 1
    assert seen == 24
