"""The curve model: per store, a program's rows ``{beta, accuracy, avg_cost, error}`` in
beta order, as the evaluator returns them and records store them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Curves:
    """Per store label: the rows (beta, accuracy, avg_cost, error) in beta order."""

    stores: dict

    def errors(self) -> list[str]:
        out = []
        for label, rows in self.stores.items():
            for r in rows:
                if r.get("error"):
                    out.append(f"{label} beta={r['beta']}: {r['error']}")
        return out

    def points(self, label) -> list[tuple[float, float]]:
        return [(r["avg_cost"], r["accuracy"]) for r in self.stores[label]
                if not r.get("error") and r.get("avg_cost") is not None]

    def mean_curve(self) -> list[dict]:
        """Per beta: the accuracy and cost averaged over stores."""
        labels = list(self.stores)
        if not labels:
            return []
        out = []
        for i, r0 in enumerate(self.stores[labels[0]]):
            rows = [self.stores[lb][i] for lb in labels if i < len(self.stores[lb])]
            if any(r.get("error") or r.get("accuracy") is None for r in rows):
                continue
            out.append({"beta": r0["beta"],
                        "accuracy": round(sum(r["accuracy"] for r in rows) / len(rows), 4),
                        "avg_cost": sum(r["avg_cost"] for r in rows) / len(rows)})
        return out

    def to_dict(self) -> dict:
        return self.stores

    @classmethod
    def from_dict(cls, d: dict) -> "Curves":
        return cls(d)
