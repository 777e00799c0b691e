"""Question files: JSON lines, one question per line, with its gold answer.

Accepted keys (first present wins): the question from ``question``, ``problem``,
``Problem`` or ``prompt``; the gold answer from ``gold_answer``, ``answer`` or ``Answer``,
else the last ``\\boxed{}`` of ``solution`` (the Hugging Face MATH layout). AIME sets on
the Hub (``Maxwell-Jia/AIME_2024``, ``HuggingFaceH4/MATH-500``, ...) load as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .answers import last_boxed, normalise

Q_KEYS = ("question", "problem", "Problem", "prompt")
A_KEYS = ("gold_answer", "answer", "Answer")


class QuestionFileError(Exception):
    pass


@dataclass
class Item:
    question: str
    gold: str


def _gold(d: dict) -> str | None:
    for k in A_KEYS:
        if k in d and d[k] is not None:
            return normalise(str(d[k]))
    for k in ("solution", "Solution"):
        if isinstance(d.get(k), str):
            b = last_boxed(d[k])
            if b is not None:
                return normalise(b)
    return None


def load_questions(path: str | Path, limit: int | None = None) -> list[Item]:
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as ex:
        raise QuestionFileError(f"{p}: cannot read: {ex.strerror or ex}") from None
    out = []
    for ln, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except ValueError as ex:
            raise QuestionFileError(f"{p}:{ln}: invalid JSON: {ex}") from None
        if not isinstance(d, dict):
            raise QuestionFileError(f"{p}:{ln}: expected a JSON object")
        q = next((d[k] for k in Q_KEYS if isinstance(d.get(k), str)), None)
        if q is None:
            raise QuestionFileError(f"{p}:{ln}: no question (one of {', '.join(Q_KEYS)})")
        g = _gold(d)
        if g is None:
            raise QuestionFileError(f"{p}:{ln}: no gold answer (one of {', '.join(A_KEYS)}, or a "
                                    "boxed answer in 'solution')")
        out.append(Item(q, g))
        if limit is not None and len(out) >= limit:
            break
    if not out:
        raise QuestionFileError(f"{p}: no questions")
    return out
