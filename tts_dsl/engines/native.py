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


@njit(cache=True, nogil=True)
def _r_bail():
    raise Bail()


@njit(cache=True, nogil=True)
def _r_cat(a, b, limit):
    # list concatenation; beyond the list length limit (L008) the Python engine reports it
    n = len(a) + len(b)
    if n > limit:
        raise Bail()
    out = np.empty(n, a.dtype)
    out[:len(a)] = a
    out[len(a):] = b
    return out


@njit(cache=True, nogil=True)
def _r_orderi(keys, desc):
    # a stable order of int keys; descending keeps equal keys in their order (Python's reverse=True)
    if desc:
        return np.argsort(-keys, kind="mergesort")
    return np.argsort(keys, kind="mergesort")


@njit(cache=True, nogil=True)
def _r_orderf(keys, desc):
    for x in keys:
        if x != x:  # Python's sort with NaN keys depends on its merge pattern
            raise Bail()
    if desc:
        return np.argsort(-keys, kind="mergesort")
    return np.argsort(keys, kind="mergesort")


@njit(cache=True, nogil=True)
def _r_minl(xs):
    # Python's min: the first element no later one is less than (the same comparisons)
    if len(xs) == 0:
        raise Bail()
    best = xs[0]
    for i in range(1, len(xs)):
        if xs[i] < best:
            best = xs[i]
    return best


@njit(cache=True, nogil=True)
def _r_maxl(xs):
    if len(xs) == 0:
        raise Bail()
    best = xs[0]
    for i in range(1, len(xs)):
        if xs[i] > best:
            best = xs[i]
    return best


@njit(cache=True, nogil=True)
def _r_all(xs):
    for x in xs:
        if not x:
            return False
    return True


@njit(cache=True, nogil=True)
def _r_any(xs):
    for x in xs:
        if x:
            return True
    return False


@njit(cache=True, nogil=True)
def _r_sumi(xs):
    # Python's int sum is unbounded: beyond 2**62 the Python engine goes on
    s = 0
    for x in xs:
        x = np.int64(x)
        if (x > 0 and s > LIMIT - x) or (x < 0 and s < -LIMIT - x):
            raise Bail()
        s += x
    return s


@njit(cache=True, nogil=True)
def _r_sumf(xs):
    # Python 3.11's float sum: left to right, plain additions (3.12 compensates: see fast.py)
    s = 0.0
    for x in xs:
        s += x
    return s


@njit(cache=True, nogil=True)
def _r_meani(xs):
    # Python divides the exact int sum, correctly rounded: exact here while |sum| <= 2**53
    if len(xs) == 0:
        raise Bail()
    s = _r_sumi(xs)
    if s > 9007199254740992 or s < -9007199254740992:
        raise Bail()
    return s / len(xs)


@njit(cache=True, nogil=True)
def _r_meanf(xs):
    if len(xs) == 0:
        raise Bail()
    return _r_sumf(xs) / len(xs)


@njit(cache=True, nogil=True)
def _r_count(xs, x):
    c = 0
    for y in xs:
        if y == x:
            c += 1
    return c


@njit(cache=True, nogil=True)
def _r_in(x, xs):
    for y in xs:
        if y == x:
            return True
    return False


@njit(cache=True, nogil=True)
def _r_tofit(r):
    # a float that is an integer, as an int (within 2**62; else the Python engine goes on)
    if not (r <= LIMIT and r >= -LIMIT):  # also NaN and infinities (a Python error)
        raise Bail()
    return np.int64(r)


@njit(cache=True, nogil=True)
def _r_round(x):
    # Python's round(float): to the nearest int, ties to even
    f = np.floor(x)
    d = x - f  # exact
    if d > 0.5 or (d == 0.5 and f % 2.0 == 1.0):
        f += 1.0
    return _r_tofit(f)


@njit(cache=True, nogil=True)
def _r_floor(x):
    return _r_tofit(np.floor(x))


@njit(cache=True, nogil=True)
def _r_ceil(x):
    return _r_tofit(np.ceil(x))


@njit(cache=True, nogil=True)
def _r_trunc(x):
    return _r_tofit(np.trunc(x))


@njit(cache=True, nogil=True)
def _r_w(xs, W, LIMS):
    # charge len(xs) to the episode's work counter W[0]; beyond LIMS[2] the episode bails
    W[0] += len(xs)
    if W[0] > LIMS[2]:
        raise Bail()
    return xs
