"""Scores of curves: the frontier area per store over a cost range (the ranking statistic),
their mean, the best mean accuracy over the beta grid, and the cost ranges themselves.
The frontier geometry is :mod:`tts_dsl.reporting.frontier`'s."""

from __future__ import annotations

from dataclasses import dataclass

from ..reporting.frontier import frontier_area
from .curves import Curves

@dataclass
class Score:
    area: float
    area_per_store: dict
    best_accuracy: float | None = None
    best_accuracy_cost: float | None = None
    best_accuracy_beta: float | None = None

    def to_dict(self) -> dict:
        return {"area": self.area, "area_per_store": self.area_per_store, "best_accuracy": self.best_accuracy,
                "best_accuracy_cost": self.best_accuracy_cost, "best_accuracy_beta": self.best_accuracy_beta}

    @classmethod
    def from_dict(cls, d: dict) -> "Score":
        return cls(d["area"], d.get("area_per_store", {}), d.get("best_accuracy"), d.get("best_accuracy_cost"),
                   d.get("best_accuracy_beta"))


def score(curves: Curves, ranges: dict) -> Score:
    """Frontier area per store (over that store's cost range), their mean, and the best
    mean accuracy over the beta grid (the paper's selection statistic)."""
    per = {}
    for label in curves.stores:
        lo, hi = ranges[label]
        per[label] = round(frontier_area(curves.points(label), lo, hi), 6)
    mc = curves.mean_curve()
    best = max(mc, key=lambda r: (r["accuracy"], -r["avg_cost"])) if mc else None
    return Score(round(sum(per.values()) / len(per), 6) if per else 0.0, per,
                 best["accuracy"] if best else None, best["avg_cost"] if best else None,
                 best["beta"] if best else None)


def ranges_from(curves_list: list[Curves], fixed=None) -> dict:
    """Cost range per store: ``fixed`` for all, or the span of every given program's costs."""
    labels = list(curves_list[0].stores) if curves_list else []
    out = {}
    for lb in labels:
        if fixed:
            out[lb] = (float(fixed[0]), float(fixed[1]))
            continue
        cs = [c for cv in curves_list for c, _ in cv.points(lb)]
        lo, hi = (min(cs), max(cs)) if cs else (1.0, 2.0)
        out[lb] = (lo, hi if hi > lo else lo * 2)
    return out
