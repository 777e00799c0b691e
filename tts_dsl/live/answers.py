"""Answers from model text: extraction (``\\boxed{}`` and a fallback), normalisation, and
gold matching (``math-verify`` when installed, exact strings otherwise).

Normalisation is deliberately small, so that a store's answers are what the model wrote:
surrounding whitespace is stripped and one pair of enclosing ``$`` is removed. Nothing
else (no unit stripping, no LaTeX rewriting): answers that mean the same number are made
equal only to the gold answer, by :func:`canonical_answers` at build time.
"""

from __future__ import annotations

import re

JUNK = "ERR"  # the answer written when none can be extracted (as in the AutoTTS stores)

_FALLBACK = re.compile(r"(?:final answer|answer is|answer:)\s*[:=]?\s*\$?([^\s$]+)", re.IGNORECASE)


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (balanced braces); an unclosed last box
    gives its content up to the end of the text. None when there is no box."""
    i = text.rfind("\\boxed{")
    if i < 0:
        i = text.rfind("\\fbox{")
        if i < 0:
            return None
    start = text.index("{", i) + 1
    depth = 1
    for j in range(start, len(text)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start:j]
    return text[start:]


def normalise(ans: str) -> str:
    a = ans.strip()
    if len(a) >= 2 and a[0] == "$" and a[-1] == "$":
        a = a[1:-1].strip()
    return a


def extract_answer(text: str) -> str:
    """The answer in ``text``: the last boxed expression, else the word after a cue such as
    'the answer is', else :data:`JUNK`. Always a non-empty string."""
    b = last_boxed(text)
    if b is None:
        m = None
        for m in _FALLBACK.finditer(text):
            pass
        b = m.group(1).rstrip(".,;") if m else None
    a = normalise(b) if b is not None else ""
    return a or JUNK


def have_math_verify() -> bool:
    try:
        import math_verify  # noqa: F401
    except ImportError:
        return False
    return True


def equivalent(gold: str, ans: str) -> bool:
    """Does ``ans`` mean ``gold``? ``math-verify`` decides (the ``live`` extra); without it,
    exact strings after normalisation. Call from the main thread (math-verify's time limit
    uses a signal)."""
    if normalise(gold) == normalise(ans):
        return True
    if ans == JUNK or not have_math_verify():
        return False
    from math_verify import parse, verify

    def p(s):
        s = normalise(s)
        return parse(s if s.startswith("$") else f"${s}$")

    try:
        g, a = p(gold), p(ans)
        return bool(g) and bool(a) and bool(verify(g, a))
    except Exception:  # a parser failure is not a match
        return False


def canonical_answers(gold: str, answers) -> dict:
    """Map each distinct answer equivalent to ``gold`` (and not equal to it) to ``gold``, so
    that replay's exact-string comparison counts it correct."""
    out = {}
    for a in dict.fromkeys(answers):
        if a != gold and equivalent(gold, a):
            out[a] = gold
    return out
