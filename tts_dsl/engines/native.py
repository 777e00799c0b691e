"""The fast engine's native helpers (numba), shared by every generated program and compiled
once (``cache=True``: numba keeps the machine code beside this file, or in
``NUMBA_CACHE_DIR``). Each raises :class:`Bail` where Python would behave differently
(an int beyond 2**62, an int/float comparison beyond 2**53, an index out of range, a
beta_confidence value not in the table yet): the episode then runs on the Python engine."""

import numpy as np  # noqa: F401 - the generated code's
from numba import njit

LIMIT = 1 << 62


class Bail(Exception):
    pass


@njit(cache=True, nogil=True)
def _r_int(r):
    if r > LIMIT or r < -LIMIT:
        raise Bail()
    return r


@njit(cache=True, nogil=True)
def _r_mul(a, b):
    if a != 0 and (abs(b) > LIMIT // abs(a)):
        raise Bail()
    return a * b


@njit(cache=True, nogil=True)
def _r_f53(a):
    if a > 9007199254740992 or a < -9007199254740992:
        raise Bail()
    return a


@njit(cache=True, nogil=True)
def _r_min(a, b):
    return b if b < a else a


@njit(cache=True, nogil=True)
def _r_max(a, b):
    return b if b > a else a


@njit(cache=True, nogil=True)
def _r_at(xs, i):
    n = len(xs)
    if i < -n or i >= n:
        raise Bail()
    return xs[i + n if i < 0 else i]


@njit(cache=True, nogil=True)
def _r_votes(xs, CNT):
    # (winner, top1, top2): counts of answer ids (slot 0 is none), first seen wins a tie
    if len(xs) == 0:
        return (-1, 0, 0)
    best = -2
    top1 = 0
    for a in xs:
        CNT[a + 1] += 1
    for a in xs:
        c = CNT[a + 1]
        if c > top1:
            top1 = c
            best = a
    top2 = 0
    for a in xs:
        c = CNT[a + 1]
        if a != best and c > top2:
            top2 = c
    for a in xs:
        CNT[a + 1] = 0
    return (best, top1, top2)


@njit(cache=True, nogil=True)
def _r_bc(t1, t2, BC, NEED):
    if t1 <= 0:
        return 0.0
    n = BC.shape[0]
    if t2 < 0 or t1 >= n or t2 >= n:
        raise Bail()
    r = BC[t1, t2]
    if r != r:  # not computed yet: ask the driver for the exact value
        NEED[0] = t1
        NEED[1] = t2
        raise Bail()
    return r
