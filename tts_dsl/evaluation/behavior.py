"""Behavioural check: is mean cost non-decreasing in beta (the budget-monotonicity
requirement of AutoTTS)? Runs a program over a beta grid and lists every inversion."""

from __future__ import annotations

from dataclasses import dataclass

from .sweep import StoreRef, make_tasks


@dataclass
class Inversion:
    model: str
    dataset: str
    b1: float
    cost1: float
    b2: float
    cost2: float

    def __str__(self) -> str:
        return (f"{self.model}/{self.dataset}: beta {self.b1:g} costs {self.cost1:.1f} tokens but "
                f"beta {self.b2:g} costs {self.cost2:.1f}")


def inversions(rows: list[dict]) -> list[Inversion]:
    """Adjacent-beta pairs (per store) where mean cost goes down as beta goes up.
    Any inverted pair implies an inverted adjacent pair, so these are complete."""
    out = []
    by_store: dict = {}
    for r in rows:
        if r.get("error") or r.get("avg_cost") is None:
            continue
        by_store.setdefault((r["model"], r["dataset"]), []).append(r)
    for (m, d), rs in by_store.items():
        rs = sorted(rs, key=lambda r: r["beta"])
        for a, b in zip(rs, rs[1:]):
            if b["avg_cost"] < a["avg_cost"]:
                out.append(Inversion(m, d, a["beta"], a["avg_cost"], b["beta"], b["avg_cost"]))
    return out


def behavior_rows(source: str, file: str, stores: list[StoreRef], betas, executor, seeds=range(100),
                  params: dict | None = None, progress=None) -> list[dict]:
    tasks = make_tasks([(source, file)], stores, betas, params, seeds)
    return executor.map(tasks, progress)
