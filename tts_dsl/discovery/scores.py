"""Scores of curves (one part: a set of questions per store), and their significance.

* ``hv`` (the ranking score): per store, over a fixed *window* ``[lo, hi]`` of cost (the
  seed programs' cheapest and dearest points on that store), the mean over log cost of
  ``f(c)`` = the best accuracy among the program's points with ``lo <= cost <= c`` (0 below
  its cheapest point inside the window). Points outside the window count for nothing; no
  point inside scores 0. The score is the mean over stores, in accuracy points. A program
  with one very cheap point (below ``lo``) therefore no longer earns its accuracy across the
  whole window, as it did under the old frontier area. hv is monotone: adding a point never
  lowers it.
* ``score.extend = "flat"`` (an option, not the default): below the program's cheapest point
  inside the window, ``f`` is that point's accuracy (a flat extension to the window's left
  edge, only from a point inside the window). It is *not* monotone: adding a cheaper, less
  accurate point lowers the score, and a single point on the window's dearest edge earns its
  accuracy across the whole window (SC@64, a seed program, sets that edge and ties with ASC).
* ``frontier_area``: the old score (:func:`tts_dsl.reporting.frontier.frontier_area` over the
  same window: 0 below the program's cheapest point, any point at or below ``c`` counts),
  kept for comparison in reports.
* ``acc_at_budget``: per store, the best accuracy among the program's points that cost at
  most a budget, for the budgets SC@64's cost x 1/4, 1/2, 1 on that store (None when no
  point is that cheap: a budget is a cap, so no extension).
* Significance: :func:`paired_bootstrap` resamples the questions of each store (the same
  draws for both programs, :func:`tts_dsl.reporting.compare.bootstrap_indices`), recomputes
  every point's accuracy from the per-question arrays (costs stay at the part's figures, so
  no point leaves the window by resampling noise), and gives the difference of hv (mean
  over stores) with its 95% percentile interval and ``p`` = the share of resamples where the
  candidate is not better (``<= 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..reporting.compare import LEVEL, bootstrap_indices, percentile_interval
from ..reporting.frontier import frontier_area
from .curves import Curves

BUDGET_FRACTIONS = (0.25, 0.5, 1.0)
BUDGET_NAME = "SC@64"
# SC@64 (programs/sc.tts at its default n): the program whose cost sets the fixed budgets.
BUDGET_PROGRAM = """controller budget_sc64

params {
  n: int in [1, 128] = 64
}

repeat n { read else break }
answer majority(completed)
"""

SCORE_DEFINITION = (
    "Score (hv, higher is better, in accuracy points): on each store, take the program's points "
    "(mean tokens per question, accuracy) over the beta grid. The store has a fixed cost window "
    "[lo, hi]: the cheapest and the dearest point of the seed programs there. f(c) is the best "
    "accuracy among the program's points that cost between lo and c (0 below its cheapest point "
    "inside the window). hv is the mean of f over log cost on [lo, hi]; points outside the window "
    "count for nothing. The score is the mean of hv over stores: a program must be good at every "
    "budget of the seeds' cost range, cheap ones included.")

SCORE_DEFINITION_FLAT = (
    "Score (hv, higher is better, in accuracy points): on each store, take the program's points "
    "(mean tokens per question, accuracy) over the beta grid. The store has a fixed cost window "
    "[lo, hi]: the cheapest and the dearest point of the seed programs there. f(c) is the best "
    "accuracy among the program's points that cost between lo and c; below the program's cheapest "
    "point inside the window, f is that point's accuracy. hv is the mean of f over log cost on "
    "[lo, hi]; points outside the window count for nothing, and a program with no point inside "
    "scores 0. The score is the mean of hv over stores: a program must be good across the seeds' "
    "whole cost range, and one very cheap point earns nothing.")


def hv_batch(costs: np.ndarray, accs: np.ndarray, lo: float, hi: float, extend: bool = False) -> np.ndarray:
    """hv of many point sets at once: ``costs`` and ``accs`` are ``(B, P)`` (row b: the P
    points of resample b; NaN marks a missing point). Exact: a finite sum over the steps.
    ``extend``: the flat extension to the left edge (default: 0 there)."""
    costs = np.atleast_2d(np.asarray(costs, dtype=float))
    accs = np.atleast_2d(np.asarray(accs, dtype=float))
    if costs.shape[1] == 0:
        return np.zeros(costs.shape[0])
    inside = np.isfinite(costs) & np.isfinite(accs) & (costs >= lo) & (costs <= hi)
    key = np.where(inside, costs, np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    c = np.take_along_axis(key, order, axis=1)
    a = np.take_along_axis(accs, order, axis=1)
    ins = np.take_along_axis(inside, order, axis=1)
    la, lb = math.log(lo), math.log(hi)
    logc = np.where(ins, np.log(np.where(ins, c, 1.0)), lb)
    run = np.maximum.accumulate(np.where(ins, a, -np.inf), axis=1)
    nxt = np.concatenate([logc[:, 1:], np.full((logc.shape[0], 1), lb)], axis=1)
    steps = np.where(ins, run, 0.0) * (nxt - logc)
    cheapest = np.where(ins & (c == c[:, :1]), a, -np.inf).max(axis=1)  # the frontier point there
    first = np.where(ins[:, 0] & extend, cheapest, 0.0) * (logc[:, 0] - la)
    out = (first + steps.sum(axis=1)) / (lb - la)
    return np.where(ins[:, 0], out, 0.0)


def hv(points, lo: float, hi: float, extend: bool = False) -> float:
    """hv of ``(cost, accuracy)`` points over the window ``[lo, hi]`` (see the module doc)."""
    pts = [(c, a) for c, a in points if c is not None and a is not None]
    if not pts or not hi > lo > 0:
        return 0.0
    return float(hv_batch([[c for c, _ in pts]], [[a for _, a in pts]], lo, hi, extend)[0])


def hv_shares(points, lo: float, hi: float, extend: bool = False) -> list[float]:
    """Each point's part of :func:`hv` (same order as ``points``; the parts sum to hv): a
    stretch of log cost is credited to the point that sets f there (the first of the points
    with the best accuracy so far, in cost order); the flat extension, if on, to the cheapest
    inside point with the best accuracy at that cost. Points outside the window, missing
    ones and dominated ones get 0."""
    out = [0.0] * len(points)
    if not hi > lo > 0:
        return out
    inside = sorted((c, i) for i, (c, a) in enumerate(points)
                    if c is not None and a is not None and math.isfinite(c) and math.isfinite(a) and lo <= c <= hi)
    if not inside:
        return out
    la, lb = math.log(lo), math.log(hi)
    span = lb - la
    holder, best = None, -math.inf
    for k, (c, i) in enumerate(inside):
        a = points[i][1]
        if a > best:
            holder, best = i, a
        nxt = math.log(inside[k + 1][0]) if k + 1 < len(inside) else lb
        out[holder] += best * (nxt - math.log(c)) / span
    if extend:
        c0 = inside[0][0]
        first = max((i for c, i in inside if c == c0), key=lambda i: (points[i][1], -i))
        out[first] += points[first][1] * (math.log(c0) - la) / span
    return out


def beta_weights(curves: Curves, windows: dict, extend: bool = False) -> dict:
    """Per beta of the grid: its share of the program's score (hv parts summed over stores,
    divided by their total; 0 for a beta that sets f nowhere). Empty when hv is 0."""
    parts: dict = {}
    for label, rows in curves.stores.items():
        if label not in windows:
            continue
        ok = [r for r in rows if not r.get("error") and r.get("avg_cost") is not None and r.get("accuracy") is not None]
        shares = hv_shares([(r["avg_cost"], r["accuracy"]) for r in ok], *windows[label], extend)
        for r, sh in zip(ok, shares):
            parts[r["beta"]] = parts.get(r["beta"], 0.0) + sh
    total = sum(parts.values())
    return {b: v / total for b, v in parts.items()} if total > 0 else {}


def acc_within(points, budget: float) -> float | None:
    """The best accuracy among points costing at most ``budget`` (None: none does)."""
    got = [a for c, a in points if c is not None and a is not None and c <= budget]
    return max(got) if got else None


@dataclass
class Score:
    hv: float
    per_store: dict  # label -> hv
    frontier_area: float | None = None  # the old score (0 below the cheapest point), for comparison
    frontier_area_per_store: dict = field(default_factory=dict)
    acc_at_budget: dict = field(default_factory=dict)  # label -> [acc at budget x 1/4, 1/2, 1]
    best_accuracy: float | None = None
    best_accuracy_cost: float | None = None
    best_accuracy_beta: float | None = None

    @property
    def area(self) -> float:
        """Deprecated alias of :attr:`hv` (the ranking score), for code written before it."""
        return self.hv

    def to_dict(self) -> dict:
        return {"hv": self.hv, "per_store": self.per_store, "frontier_area": self.frontier_area,
                "frontier_area_per_store": self.frontier_area_per_store, "acc_at_budget": self.acc_at_budget,
                "best_accuracy": self.best_accuracy, "best_accuracy_cost": self.best_accuracy_cost,
                "best_accuracy_beta": self.best_accuracy_beta}

    @classmethod
    def from_dict(cls, d: dict) -> "Score":
        if "hv" not in d:  # a record of a run before issue 12: only the old area exists
            return cls(d["area"], d.get("area_per_store", {}), d["area"], d.get("area_per_store", {}), {},
                       d.get("best_accuracy"), d.get("best_accuracy_cost"), d.get("best_accuracy_beta"))
        return cls(d["hv"], d.get("per_store", {}), d.get("frontier_area"), d.get("frontier_area_per_store", {}),
                   d.get("acc_at_budget", {}), d.get("best_accuracy"), d.get("best_accuracy_cost"),
                   d.get("best_accuracy_beta"))


def score_part(curves: Curves, windows: dict, budgets: dict | None = None, extend: bool = False) -> Score:
    """hv and the old frontier area per store (over that store's window) and their means,
    the accuracy at each budget, and the best store-averaged accuracy over the beta grid."""
    per, old, at = {}, {}, {}
    for label in curves.stores:
        lo, hi = windows[label]
        pts = curves.points(label)
        per[label] = round(hv(pts, lo, hi, extend), 6)
        old[label] = round(frontier_area(pts, lo, hi), 6)
        if budgets and budgets.get(label):
            at[label] = [acc_within(pts, b) for b in budgets[label]]
    mc = curves.mean_curve()
    best = max(mc, key=lambda r: (r["accuracy"], -r["avg_cost"])) if mc else None
    mean = (lambda d: round(sum(d.values()) / len(d), 6) if d else 0.0)
    return Score(mean(per), per, mean(old), old, at, best["accuracy"] if best else None,
                 best["avg_cost"] if best else None, best["beta"] if best else None)


def windows_from(curves_list: list[Curves], fixed=None) -> dict:
    """Window per store: ``fixed`` for all, or the span of every given program's costs there
    (a store with a single cost gets ``[c, 2c]``)."""
    labels: list = []
    for cv in curves_list:
        labels += [lb for lb in cv.stores if lb not in labels]
    out = {}
    for lb in labels:
        if fixed:
            out[lb] = (float(fixed[0]), float(fixed[1]))
            continue
        cs = [c for cv in curves_list if lb in cv.stores for c, _ in cv.points(lb)]
        lo, hi = (min(cs), max(cs)) if cs else (1.0, 2.0)
        out[lb] = (lo, hi if hi > lo else lo * 2)
    return out



def budgets_from(budget_curves: Curves | None) -> dict:
    """Per store: SC@64's cost there times each of :data:`BUDGET_FRACTIONS`."""
    out = {}
    for lb in (budget_curves.stores if budget_curves is not None else {}):
        pts = budget_curves.points(lb)
        if pts:
            out[lb] = [pts[0][0] * f for f in BUDGET_FRACTIONS]  # not rounded: SC@64 itself fits its x1 budget
    return out


@dataclass
class Scoring:
    """What every score of a run is computed with, fixed in setup: per part (``search``,
    ``validation``) the window and the budgets per store, each from the seed programs' and
    SC@64's results on that part (a window taken from one part would cut off the seed
    programs' own extreme points on the other, whose questions cost a little more or less)."""

    windows: dict  # search part: label -> (lo, hi)
    budgets: dict = field(default_factory=dict)  # search part: label -> [SC@64 cost x 1/4, 1/2, 1]
    validation_windows: dict = field(default_factory=dict)
    validation_budgets: dict = field(default_factory=dict)
    extend: bool = False  # hv's flat extension to the window's left edge (score.extend = "flat")

    def part(self, part: str = "search") -> tuple[dict, dict]:
        """(windows, budgets) of a part."""
        if part == "search":
            return self.windows, self.budgets
        if part == "validation":
            return self.validation_windows, self.validation_budgets
        raise KeyError(f"no scoring for part {part!r}")

    def score(self, curves: Curves, part: str = "search") -> Score:
        return score_part(curves, *self.part(part), extend=self.extend)

    def to_dict(self) -> dict:
        lists = (lambda d: {k: list(v) for k, v in d.items()})
        return {"windows": lists(self.windows), "budgets": lists(self.budgets),
                "validation_windows": lists(self.validation_windows),
                "validation_budgets": lists(self.validation_budgets),
                "budget_program": BUDGET_NAME, "budget_fractions": list(BUDGET_FRACTIONS),
                "extend": "flat" if self.extend else "none"}

    @classmethod
    def from_dict(cls, d: dict) -> "Scoring":
        tup = (lambda x: {k: tuple(v) for k, v in (x or {}).items()})
        lists = (lambda x: {k: list(v) for k, v in (x or {}).items()})
        return cls(tup(d["windows"]), lists(d.get("budgets")), tup(d.get("validation_windows")),
                   lists(d.get("validation_budgets")), d.get("extend", "none") == "flat")


def make_scoring(seed_parts: list[dict], budget_parts: dict | None = None, window=None,
                 extend: bool = False) -> Scoring:
    """The run's :class:`Scoring` from the seed programs' parts (``{"search": Curves,
    "validation": Curves}`` each) and SC@64's parts; ``window``: one fixed ``[lo, hi]``
    for every store and part instead."""
    w = {p: windows_from([sp[p] for sp in seed_parts if sp.get(p) is not None], window)
         for p in ("search", "validation")}
    b = {p: budgets_from(budget_parts.get(p)) if budget_parts else {} for p in ("search", "validation")}
    return Scoring(w["search"], b["search"], w["validation"], b["validation"], extend)


# -------------------------------------------------------------- significance
def _resampled_points(rows: list[dict], idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, P)`` costs and accuracies of the points on resampled questions: accuracies are
    recomputed from the per-question arrays; costs stay at the part's own figures, so a
    point never leaves the window by resampling noise (a seed program's dearest point sits
    on the window's edge)."""
    ok = [r for r in rows if not r.get("error") and r.get("q_correct") is not None]
    if not ok:
        return np.full((idx.shape[0], 0), np.nan), np.full((idx.shape[0], 0), np.nan)
    qc = np.asarray([r["q_correct"] for r in ok], dtype=float)  # (P, n)
    cost = np.asarray([r["avg_cost"] for r in ok], dtype=float)
    return np.tile(cost, (idx.shape[0], 1)), 100.0 * qc[:, idx].mean(axis=2).T


def _n_questions(curves: Curves, label) -> int:
    for r in curves.stores[label]:
        if r.get("q_correct") is not None:
            return len(r["q_correct"])
    raise ValueError(f"{label}: no per-question arrays (an evaluation with them is needed)")


def _hv_samples(curves: Curves, windows: dict, idx: dict, extend: bool = False) -> np.ndarray:
    per = [hv_batch(*_resampled_points(curves.stores[lb], ix), *windows[lb], extend) for lb, ix in idx.items()]
    return np.mean(per, axis=0)


def _draws(curves: Curves, windows: dict, b: int, seed: int) -> dict:
    """Per store label (in ``curves`` and ``windows``): the ``(b, n)`` resampled question
    positions, the same for every program with the same ``seed`` and label."""
    return {lb: bootstrap_indices(_n_questions(curves, lb), b, seed, lb) for lb in curves.stores if lb in windows}


def bootstrap_hv(curves: Curves, windows: dict, b: int = 1000, seed: int = 0,
                 extend: bool = False) -> tuple[float, np.ndarray]:
    """hv (mean over the stores with a window) on the part's own questions, and on ``b``
    resamples of them (``(b,)``; the draws depend only on ``seed``, the store and its size,
    so two programs on the same part are resampled alike: a paired bootstrap)."""
    idx = _draws(curves, windows, b, seed)
    obs = {lb: np.arange(_n_questions(curves, lb))[None, :] for lb in idx}
    return float(_hv_samples(curves, windows, obs, extend)[0]), _hv_samples(curves, windows, idx, extend)


def hv_interval(curves: Curves, windows: dict, b: int = 1000, seed: int = 0, level: float = LEVEL,
                extend: bool = False) -> dict:
    """hv (mean over stores) of a part with its bootstrap percentile interval over questions."""
    obs, samples = bootstrap_hv(curves, windows, b, seed, extend)
    lo, hi = percentile_interval(samples, level)
    return {"hv": obs, "lo": lo, "hi": hi, "B": b, "seed": seed}


def _difference(obs_c: float, samp_c: np.ndarray, obs_s: float, samp_s: np.ndarray, b: int, seed: int,
                level: float) -> dict:
    d = samp_c - samp_s
    lo, hi = percentile_interval(d, level)
    return {"diff": obs_c - obs_s, "mean": float(d.mean()), "lo": lo, "hi": hi, "p": float(np.mean(d <= 0)),
            "significant": bool(lo > 0), "B": b, "seed": seed}


def _common(cand: Curves, other: Curves, windows: dict) -> tuple[Curves, Curves]:
    labels = [lb for lb in cand.stores if lb in other.stores and lb in windows]
    if not labels:
        raise ValueError("the two curves share no store with a window")
    for lb in labels:
        if _n_questions(cand, lb) != _n_questions(other, lb) or cand.questions.get(lb) != other.questions.get(lb):
            raise ValueError(f"{lb}: the two curves cover different questions")
    return (Curves({lb: cand.stores[lb] for lb in labels}, cand.questions),
            Curves({lb: other.stores[lb] for lb in labels}, other.questions))


def paired_bootstrap(cand: Curves, seed_curves: Curves, windows: dict, b: int = 1000, seed: int = 0,
                     level: float = LEVEL, extend: bool = False) -> dict:
    """Paired bootstrap over questions of hv(cand) - hv(seed) (mean over the stores both
    have): the same resampled questions for both programs on each store. Returns ``diff``
    (on the part's own questions), ``mean`` (of the resamples), ``lo``/``hi`` (percentile
    interval), ``p`` (share of resamples with a difference <= 0: small when the candidate is
    reliably better) and ``significant`` (``lo > 0``)."""
    c, s = _common(cand, seed_curves, windows)
    return _difference(*bootstrap_hv(c, windows, b, seed, extend), *bootstrap_hv(s, windows, b, seed, extend), b,
                       seed, level)


def versus_seeds(cand: Curves, seeds: dict, windows: dict, b: int = 1000, seed: int = 0,
                 level: float = LEVEL, extend: bool = False) -> dict:
    """:func:`paired_bootstrap` of ``cand`` against each of ``seeds`` (label -> Curves of the
    same part), the candidate's resamples computed once."""
    out, mine = {}, {}
    for label, sc in seeds.items():
        c, s = _common(cand, sc, windows)
        key = tuple(c.stores)
        if key not in mine:
            mine[key] = bootstrap_hv(c, windows, b, seed, extend)
        out[label] = _difference(*mine[key], *bootstrap_hv(s, windows, b, seed, extend), b, seed, level)
    return out


def score_definition(extend: bool = False) -> str:
    """The score's definition for prompts (``score.extend``: none, the default, or flat)."""
    return SCORE_DEFINITION_FLAT if extend else SCORE_DEFINITION
