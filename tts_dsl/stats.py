"""Shared statistics, exactly as the replay spec defines them (section 4).

Answers are any hashable values (strings in stores, small integers inside compiled
programs); ``None`` is "no answer". Ties always go to the answer seen first.
"""

from __future__ import annotations

import math
from fractions import Fraction


def majority(answers):
    """The most frequent answer; ties to the first seen; ``None`` for an empty list."""
    if not answers:
        return None
    counts: dict = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    best, bc = None, 0
    for a, c in counts.items():
        if c > bc:
            best, bc = a, c
    return best


def vote_stats(answers):
    """``(winner, top1, top2)``: winner as :func:`majority`, its count, and the highest
    count among the other answers (0 if none)."""
    if not answers:
        return (None, 0, 0)
    counts: dict = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    best, bc = None, 0
    for a, c in counts.items():
        if c > bc:
            best, bc = a, c
    second = 0
    for a, c in counts.items():
        if a != best and c > second:
            second = c
    return (best, bc, second)


def weighted_vote_stats(answers, weights):
    """Weighted votes: ``(winner, top1, top2)`` with summed weights, ties to the first seen."""
    if len(answers) != len(weights):
        raise ValueError(f"weighted_votes: {len(answers)} answers but {len(weights)} weights")
    if not answers:
        return (None, 0.0, 0.0)
    sums: dict = {}
    for a, w in zip(answers, weights):
        sums[a] = sums.get(a, 0.0) + w
    best, bs = None, None
    for a, s in sums.items():
        if bs is None or s > bs:
            best, bs = a, s
    second = 0.0
    for a, s in sums.items():
        if a != best and s > second:
            second = s
    return (best, float(bs), float(second))


_BC_CACHE: dict = {}
MAX_BETA_COUNTS = 20_000  # the exact sum is quadratic in the counts; real counts are <= 128


def beta_confidence(top1, top2) -> float:
    """``P(X > 0.5)`` for ``X ~ Beta(top1 + 1, top2 + 1)``; 0 if ``top1 <= 0``.

    For whole-number arguments ``P(X > 1/2) = P(Binomial(n, 1/2) <= top1)`` with
    ``n = top1 + top2 + 1``: a finite sum over a power-of-two denominator, computed
    exactly and rounded once to the nearest float. Other real counts (weighted votes) go
    through the regularised incomplete Beta function (:func:`_beta_tail_half`).
    """
    if not (float(top1).is_integer() and float(top2).is_integer()):
        return _beta_confidence_real(top1, top2)
    key = (top1, top2)
    r = _BC_CACHE.get(key)
    if r is not None:
        return r
    if top1 <= 0:
        r = 0.0
    else:
        if top2 < 0:
            raise ValueError(f"beta_confidence: top2 must be >= 0 (got {top2})")
        t1, t2 = int(top1), int(top2)
        if t1 != top1 or t2 != top2:
            raise ValueError("beta_confidence needs whole-number counts")
        n = t1 + t2 + 1
        if n > MAX_BETA_COUNTS:
            raise ValueError(f"beta_confidence: top1 + top2 = {n - 1:,} exceeds {MAX_BETA_COUNTS:,} "
                             "(vote counts are at most the number of branches)")
        total = 0
        c = 1
        for j in range(t1 + 1):
            total += c
            c = c * (n - j) // (j + 1)
        r = float(Fraction(total, 1 << n))
    if len(_BC_CACHE) < 1_000_000:
        _BC_CACHE[key] = r
    return r


def _beta_confidence_real(top1: float, top2: float) -> float:
    if not (math.isfinite(top1) and math.isfinite(top2)):
        raise ValueError(f"beta_confidence: counts must be finite (got {top1!r}, {top2!r})")
    if top1 <= 0:
        return 0.0
    if top2 < 0:
        raise ValueError(f"beta_confidence: top2 must be >= 0 (got {top2})")
    if top1 + top2 + 1 > MAX_BETA_COUNTS:
        raise ValueError(f"beta_confidence: top1 + top2 = {top1 + top2:,} exceeds {MAX_BETA_COUNTS:,} "
                         "(vote counts are at most the number of branches)")
    return _beta_tail_half(top1 + 1.0, top2 + 1.0)


def _beta_tail_half(a: float, b: float) -> float:
    """``1 - I_{1/2}(a, b)`` (``I`` the regularised incomplete Beta function) for ``a, b >= 1``:
    the continued fraction of Numerical Recipes (6.4) by the modified Lentz method, on the
    side where it converges fast; the tail is computed directly, never as ``1 - small``
    when it is itself small."""
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) - (a + b) * math.log(2.0)
    front = math.exp(log_front)
    if 0.5 < (a + 1.0) / (a + b + 2.0):
        return 1.0 - front * _beta_cf(a, b) / a
    return front * _beta_cf(b, a) / b


def _beta_cf(a: float, b: float, x: float = 0.5) -> float:
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def entropy(answers) -> float:
    """Shannon entropy (natural log) of the answer frequencies; 0 for an empty list."""
    if not answers:
        return 0.0
    counts: dict = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    n = len(answers)
    h = 0.0
    for c in counts.values():
        p = c / n
        h -= p * math.log(p)
    return h


def distinct(xs):
    """The distinct values of ``xs`` in first-seen order."""
    seen = {}
    for x in xs:
        if x not in seen:
            seen[x] = None
    return list(seen)
