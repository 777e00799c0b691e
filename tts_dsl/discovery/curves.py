"""The curve model: per store, a program's rows ``{beta, accuracy, avg_cost, error}`` in
beta order, as the evaluator returns them and records store them.

A freshly evaluated row also carries the per-question arrays ``q_correct`` (the share of
ordering seeds that answered the question correctly, 0..1) and ``q_cost`` (the mean tokens
on the question over the seeds), aligned with ``Curves.questions[label]`` (the store's
question indices, ``None`` = all in file order). From them :meth:`Curves.restrict` makes the
curves of one *part* (a set of questions per store) without evaluating again, and the
significance tests of :mod:`.scores` resample questions. ``to_dict`` leaves the arrays out
(records stay small; the evaluation cache keeps them)."""

from __future__ import annotations

from dataclasses import dataclass, field

PER_Q = ("q_correct", "q_cost")


def part_row(row: dict, pos: list[int] | None) -> dict:
    """A row restricted to the questions at positions ``pos`` of its arrays (None: all,
    keeping the evaluation's own figures). Accuracy is ``round(100 * mean, 2)`` as the
    replay protocol rounds it, cost the mean tokens per question."""
    if pos is None or row.get("error") or row.get("q_correct") is None:
        return dict(row)
    qc = [row["q_correct"][i] for i in pos]
    qt = [row["q_cost"][i] for i in pos]
    out = {k: v for k, v in row.items() if k not in PER_Q}
    out["accuracy"] = round(100 * sum(qc) / len(qc), 2) if qc else None
    out["avg_cost"] = sum(qt) / len(qt) if qt else None
    out["q_correct"], out["q_cost"] = qc, qt
    return out


@dataclass
class Curves:
    """Per store label: the rows (beta, accuracy, avg_cost, error [, q_correct, q_cost]) in
    beta order; ``questions``: per label, the store question indices the arrays cover."""

    stores: dict
    questions: dict = field(default_factory=dict)

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

    def has_per_question(self) -> bool:
        return all(r.get("q_correct") is not None for rows in self.stores.values() for r in rows
                   if not r.get("error"))

    def restrict(self, questions: dict) -> "Curves":
        """The curves of a part: ``questions`` maps a store label to the store question
        indices of the part (None: every question evaluated); stores not in it are left out.
        Accuracy and cost are recomputed over the part's questions from the per-question
        arrays (the same evaluation serves every part)."""
        stores, qs = {}, {}
        for label, want in questions.items():
            if label not in self.stores:
                raise KeyError(f"no curves for store {label}")
            have = self.questions.get(label)
            n = self._n(label)
            pos = None
            if want is not None and n is not None:
                idx = list(have) if have is not None else list(range(n))
                if list(want) != idx:
                    at = {q: i for i, q in enumerate(idx)}
                    missing = [q for q in want if q not in at]
                    if missing:
                        raise KeyError(f"{label}: question {missing[0]} was not evaluated")
                    pos = [at[q] for q in want]
            elif want is not None and any(not r.get("error") for r in self.stores[label]):
                raise ValueError(f"{label}: these curves have no per-question arrays")
            stores[label] = [part_row(r, pos) for r in self.stores[label]]
            qs[label] = have if pos is None else tuple(want)
        return Curves(stores, qs)

    def _n(self, label) -> int | None:
        """How many questions the per-question arrays of a store cover (None: no arrays)."""
        for r in self.stores[label]:
            if r.get("q_correct") is not None:
                return len(r["q_correct"])
        return None

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

    def to_dict(self, per_question: bool = False) -> dict:
        """Per label, the rows; the per-question arrays only with ``per_question``."""
        if per_question:
            return self.stores
        return {lb: [{k: v for k, v in r.items() if k not in PER_Q} for r in rows]
                for lb, rows in self.stores.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Curves":
        return cls(d)


PartCurves = Curves  # the name the design note uses for the curves of one part
