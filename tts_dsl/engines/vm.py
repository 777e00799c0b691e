"""The bytecode interpreter (numba): one function for every program, compiled once and cached
on disk (``cache=True``: numba keeps the machine code beside this file, or in
``NUMBA_CACHE_DIR``). The bytecode comes from :mod:`.bytecode`; the exactness checks are
:mod:`.native`'s helpers (a :class:`~.native.Bail` makes the episode run on the Python engine,
as with the specialised code of :mod:`.fast`).

Per episode, list values live in a bump arena (``AI`` for int elements, after the
``completed`` region at its start; ``AF`` for float ones), reset when the episode starts: no
allocation per action. An episode whose lists outgrow the arena bails.
"""

import hashlib

import numpy as np
from numba import njit

from .bytecode import OP, OPS, compile_bytecode
from .fast import FastEpisodes, native_limits
from .native import (_r_all, _r_any, _r_bail, _r_ceil, _r_count, _r_f53, _r_floor, _r_int,
                     _r_max, _r_maxl, _r_meanf, _r_meani, _r_min, _r_minl, _r_mul, _r_round,
                     _r_sumf, _r_sumi, _r_trunc)

# numba's cache of this module does not see bytecode.py: a changed opcode table must change this file
if hashlib.sha256(" ".join(OPS).encode()).hexdigest()[:16] != "64b973fa9cf5e65a":
    raise ImportError("tts_dsl.engines.vm is stale: update it (and this digest) to bytecode.OPS")

ARENA_I = 1 << 20  # int list elements per episode (beyond: a bail)
ARENA_F = 1 << 18

JMP, JZ, JNZ, RET, END, FUEL, FUELN, LOOP = (OP[n] for n in ("JMP", "JZ", "JNZ", "RET", "END", "FUEL", "FUELN", "LOOP"))
MOVI, MOVF, MOVL, SETI = (OP[n] for n in ("MOVI", "MOVF", "MOVL", "SETI"))
ADDI, SUBI, MULI, FDIVI, MODI, NEGI, TDIVI = (OP[n] for n in ("ADDI", "SUBI", "MULI", "FDIVI", "MODI", "NEGI", "TDIVI"))
ADDF, SUBF, MULF, DIVF, NEGF, I2F = (OP[n] for n in ("ADDF", "SUBF", "MULF", "DIVF", "NEGF", "I2F"))
LTI, LEI, GTI, GEI, EQI, NEI = (OP[n] for n in ("LTI", "LEI", "GTI", "GEI", "EQI", "NEI"))
LTF, LEF, GTF, GEF, EQF, NEF, F53, NOT = (OP[n] for n in ("LTF", "LEF", "GTF", "GEF", "EQF", "NEF", "F53", "NOT"))
ABSI, ABSF, MINI, MAXI, MINF, MAXF = (OP[n] for n in ("ABSI", "ABSF", "MINI", "MAXI", "MINF", "MAXF"))
ROUNDF, FLOORF, CEILF, TRUNCF, BETA = (OP[n] for n in ("ROUNDF", "FLOORF", "CEILF", "TRUNCF", "BETA"))
STATE, BVGI, BVGF, BVSI, BVSF, BVFILLI, BVFILLF = (
    OP[n] for n in ("STATE", "BVGI", "BVGF", "BVSI", "BVSF", "BVFILLI", "BVFILLF"))
ACT, OPEN, READ, ADV, PRUNE, VOTES, VOTESC = (OP[n] for n in ("ACT", "OPEN", "READ", "ADV", "PRUNE", "VOTES", "VOTESC"))
LEMPTY, LALLOC, PUSHI, PUSHF, LCAT, LI2F, LSLICE, LTAKE = (
    OP[n] for n in ("LEMPTY", "LALLOC", "PUSHI", "PUSHF", "LCAT", "LI2F", "LSLICE", "LTAKE"))
LLEN, LATI, LATF, LGETI, LGETF, LRANGE, LBRANCHES, LCOMP = (
    OP[n] for n in ("LLEN", "LATI", "LATF", "LGETI", "LGETF", "LRANGE", "LBRANCHES", "LCOMP"))
LSORT, ALL, ANY, SUMI, SUMF, MEANI, MEANF = (OP[n] for n in ("LSORT", "ALL", "ANY", "SUMI", "SUMF", "MEANI", "MEANF"))
MINLI, MAXLI, MINLF, MAXLF, COUNTI, INI, CELLS, MASK = (
    OP[n] for n in ("MINLI", "MAXLI", "MINLF", "MAXLF", "COUNTI", "INI", "CELLS", "MASK"))

JLTI, JLEI, JGTI, JGEI, JEQI, JNEI = (OP[n] for n in ("JLTI", "JLEI", "JGTI", "JGEI", "JEQI", "JNEI"))
FOR, FORF, FORL, FORLF, NOPEN, GATHER = (OP[n] for n in ("FOR", "FORF", "FORL", "FORLF", "NOPEN", "GATHER"))
NEXT, NEXTF, NEXTL, NEXTLF, JBA, FILTER = (OP[n] for n in ("NEXT", "NEXTF", "NEXTL", "NEXTLF", "JBA", "FILTER"))
BSTEPS, BLAT, BFIN, BPR, BCOST = (OP[n] for n in ("BSTEPS", "BLAT", "BFIN", "BPR", "BCOST"))
GATHERF, ANYM, ADVN, ADVL, JZEQ, LAPP, CELLSM, BVINC = (
    OP[n] for n in ("GATHERF", "ANYM", "ADVN", "ADVL", "JZEQ", "LAPP", "CELLSM", "BVINC"))

LIMIT = 1 << 62
U1, U2, U3, U4, U6, U7, U8, U9 = (np.uint64(k) for k in (1, 2, 3, 4, 6, 7, 8, 9))


@njit(cache=True, nogil=True)
def _work(w, n, cap):
    w += n
    if w > cap:
        _r_bail()
    return w


@njit(cache=True, nogil=True, inline="always")
def _votes(AI, o, m, CNT):
    # native._r_votes over AI[o:o+m], inlined (numba IR): no array view, no reference counting per call
    if m == 0:
        return (-1, 0, 0)
    best = -2
    top1 = 0
    for i in range(o, o + m):
        CNT[AI[i] + 1] += 1
    for i in range(o, o + m):
        c = CNT[AI[i] + 1]
        if c > top1:
            top1 = c
            best = AI[i]
    top2 = 0
    for i in range(o, o + m):
        a = AI[i]
        c = CNT[a + 1]
        if a != best and c > top2:
            top2 = c
    for i in range(o, o + m):
        CNT[AI[i] + 1] = 0
    return (best, top1, top2)


@njit(cache=True, nogil=True)
def _slice_bound(x, n):
    if x < 0:
        x += n
        if x < 0:
            x = 0
    if x > n:
        x = n
    return x


@njit(cache=True, nogil=True)
def _sort_pairs(K, ko, V, vo, m, desc):
    # V[vo:vo+m] stably sorted by the keys K[ko:ko+m] (both fresh arena copies, sorted in place);
    # descending keeps equal keys in their order (Python's reverse=True); a NaN key bails
    for i in range(m):
        if K[ko + i] != K[ko + i]:
            _r_bail()
    if m > 128:  # numpy's stable sort beyond a hundred elements (the keys are often nearly sorted)
        keys = K[ko:ko + m].copy()
        if desc:
            keys = -keys
        order = np.argsort(keys, kind="mergesort")
        vs = V[vo:vo + m].copy()
        for i in range(m):
            V[vo + i] = vs[order[i]]
        return
    for i in range(1, m):
        k = K[ko + i]
        v = V[vo + i]
        j = i - 1
        while j >= 0 and ((K[ko + j] < k) if desc else (K[ko + j] > k)):
            K[ko + j + 1] = K[ko + j]
            V[vo + j + 1] = V[vo + j]
            j -= 1
        K[ko + j + 1] = k
        V[vo + j + 1] = v


@njit(cache=True, nogil=True)
def _episode(C, I, F, LO, LN, PROBES, POFF, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL_, BC, NEED, CNT,
             _k, _cb, _st, _fin, _pr, _lat, AI, AF, BVI, BVF, LIMS, MAXNB):
    n = 0
    spent = 0
    acts = 0
    nc = 0
    fuel = FUEL_
    w = 0
    cells = 0
    topi = MAXNB  # AI[:MAXNB] is completed
    topf = 0
    endi = len(AI)
    endf = len(AF)
    vcn = -1
    vw = -1
    v1 = 0
    v2 = 0
    _k[:NB] = 0
    _cb[:NB] = 0
    _st[:NB] = 0
    _fin[:NB] = False
    _pr[:NB] = False
    _lat[:NB] = -1
    pc = 0
    while True:
        p = np.uint64(5 * pc)  # unsigned indices: numba adds no negative-index fix-up
        op = C[p]
        a = C[p + U1]
        b = C[p + U2]
        c = C[p + U3]
        d = C[p + U4]
        ua = np.uint64(a)
        ub = np.uint64(b)
        uc = np.uint64(c)
        ud = np.uint64(d)
        pc += 1
        if op == NEXTLF:  # a loop's bottom test: the next element, or out
            x = I[ua] + 1
            I[ua] = x
            if x < LN[ub]:
                fuel -= 1
                if fuel < 0:
                    return (-1, spent, 2)
                I[ud] = AI[LO[ub] + x]
                pc = c
        elif op == ADVL:  # FORLF + ADVN + NEXTLF: advance every branch of a list (fuel, then the count, each)
            m = LN[ub]
            o = LO[ub]
            cnt = C[p + U9]
            x = I[ua] + 1
            while x < m:
                fuel -= 1
                if fuel < 0:
                    return (-1, spent, 2)
                i = AI[o + x]
                I[ud] = i
                if cnt:
                    acts += 1
                    if acts > CAP:
                        return (-1, spent, 1)
                if not (_fin[i] or _pr[i]):
                    j = ORDER[i]
                    kk = _k[i]
                    if kk < NPROBES[j]:
                        _lat[i] = PROBES[POFF[j] + kk]
                        _k[i] = kk + 1
                        _cb[i] += PF
                        spent += PF
                    else:
                        y = FINAL[j]
                        z = TOK[j] - kk * PF
                        if z > 0:
                            spent += z
                            _cb[i] += z
                        _fin[i] = True
                        AI[nc] = y
                        nc += 1
                        _lat[i] = y
                    _st[i] += 1
                x += 1
            I[ua] = x
            pc = c
        elif op == ADVN:  # ADV going on either way to the next instruction, a NEXTLF: both in one dispatch
            if d:
                acts += 1
                if acts > CAP:
                    return (-1, spent, 1)
            i = I[ua]
            if not (_fin[i] or _pr[i]):
                j = ORDER[i]
                kk = _k[i]
                if kk < NPROBES[j]:
                    _lat[i] = PROBES[POFF[j] + kk]
                    _k[i] = kk + 1
                    _cb[i] += PF
                    spent += PF
                else:
                    x = FINAL[j]
                    y = TOK[j] - kk * PF
                    if y > 0:
                        spent += y
                        _cb[i] += y
                    _fin[i] = True
                    AI[nc] = x
                    nc += 1
                    _lat[i] = x
                _st[i] += 1
            ua = np.uint64(C[p + U6])
            ub = np.uint64(C[p + U7])
            x = I[ua] + 1
            I[ua] = x
            if x < LN[ub]:
                fuel -= 1
                if fuel < 0:
                    return (-1, spent, 2)
                I[np.uint64(C[p + U9])] = AI[LO[ub] + x]
                pc = C[p + U8]
            else:
                pc += 1
        elif op == JBA:  # jump when a branch's int attribute compares true with a register
            i = I[ua]
            x = d >> 3
            if x == 1:
                x = _lat[i]
            elif x >= 5:
                x = BVI[x - 5, i]
            elif x == 0:
                x = _st[i]
            elif x == 2:
                x = 1 if _fin[i] else 0
            elif x == 3:
                x = 1 if _pr[i] else 0
            else:
                x = _cb[i]
            y = I[ub]
            k = d & 7
            if k == 4:
                t = x == y
            elif k == 5:
                t = x != y
            elif k == 3:
                t = x >= y
            elif k == 0:
                t = x < y
            elif k == 1:
                t = x <= y
            else:
                t = x > y
            if t:
                pc = c
        elif op == JZEQ:  # JZ a c, then JEQI b d c: the second's instruction is skipped
            if I[ua] == 0 or I[ub] == I[ud]:
                pc = c
            else:
                pc += 1
        elif op == JZ:
            if I[ua] == 0:
                pc = b
        elif op == ADV:
            if d:
                acts += 1
                if acts > CAP:
                    return (-1, spent, 1)
            i = I[ua]
            if _fin[i] or _pr[i]:
                pc = b
            else:
                j = ORDER[i]
                kk = _k[i]
                if kk < NPROBES[j]:
                    _lat[i] = PROBES[POFF[j] + kk]
                    _k[i] = kk + 1
                    _cb[i] += PF
                    spent += PF
                else:
                    x = FINAL[j]
                    y = TOK[j] - kk * PF
                    if y > 0:
                        spent += y
                        _cb[i] += y
                    _fin[i] = True
                    AI[nc] = x
                    nc += 1
                    _lat[i] = x
                _st[i] += 1
        elif op == JEQI:
            if I[ua] == I[ub]:
                pc = c
        elif op == JNEI:
            if I[ua] != I[ub]:
                pc = c
        elif op == BLAT:
            I[ua] = _lat[I[ub]]
        elif op == BVGI:
            I[ua] = BVI[uc, I[ub]]
        elif op == MOVI:
            I[ua] = I[ub]
        elif op == JLTI:
            if I[ua] < I[ub]:
                pc = c
        elif op == NEXTL:
            x = I[ua] + 1
            I[ua] = x
            if x < LN[ub]:
                I[ud] = AI[LO[ub] + x]
                pc = c
        elif op == BVSI:  # d > 0: then a jump to d - 1 (the JMP after it, fused)
            BVI[ua, I[ub]] = I[uc]
            if d:
                pc = d - 1
        elif op == BVINC:  # b.x = b.x + y (d as BVSI's)
            i = I[ub]
            BVI[ua, i] = _r_int(BVI[ua, i] + I[uc])
            if d:
                pc = d - 1
        elif op == NEXTF:
            x = I[ua] + 1
            I[ua] = x
            if x < I[ub]:
                fuel -= 1
                if fuel < 0:
                    return (-1, spent, 2)
                if d >= 0:
                    I[ud] = x
                pc = c
        elif op == ADDI:
            I[ua] = _r_int(I[ub] + I[uc])
        elif op == JNZ:
            if I[ua] != 0:
                pc = b
        elif op == BFIN:
            I[ua] = 1 if _fin[I[ub]] else 0
        elif op == JMP:
            pc = a
        elif op == NEXT:
            x = I[ua] + 1
            I[ua] = x
            if x < I[ub]:
                if d >= 0:
                    I[ud] = x
                pc = c
        elif op == BPR:
            I[ua] = 1 if _pr[I[ub]] else 0
        elif op == NOPEN:
            I[ua] = n
        elif op == LLEN:
            I[ua] = LN[ub]
        elif op == MOVF:
            F[ua] = F[ub]
        elif op == MULF:
            F[ua] = F[ub] * F[uc]
        elif op == SUBF:
            F[ua] = F[ub] - F[uc]
        elif op == LATF:
            x = I[uc]
            m = LN[ub]
            if x < -m or x >= m:
                _r_bail()
            F[ua] = AF[LO[ub] + (x + m if x < 0 else x)]
        elif op == MOVL:
            LO[ua] = LO[ub]
            LN[ua] = LN[ub]
        elif op == FORLF:
            x = I[ua] + 1
            I[ua] = x
            if x >= LN[ub]:
                pc = c
            else:
                fuel -= 1
                if fuel < 0:
                    return (-1, spent, 2)
                I[ud] = AI[LO[ub] + x]
        elif op == FORL:
            x = I[ua] + 1
            I[ua] = x
            if x >= LN[ub]:
                pc = c
            else:
                I[ud] = AI[LO[ub] + x]
        elif op == FOR:
            x = I[ua] + 1
            I[ua] = x
            if x >= I[ub]:
                pc = c
            else:
                if d >= 0:
                    I[ud] = x
        elif op == FORF:
            x = I[ua] + 1
            I[ua] = x
            if x >= I[ub]:
                pc = c
            else:
                fuel -= 1
                if fuel < 0:
                    return (-1, spent, 2)
                if d >= 0:
                    I[ud] = x
        elif op == JGEI:
            if I[ua] >= I[ub]:
                pc = c
        elif op == JLEI:
            if I[ua] <= I[ub]:
                pc = c
        elif op == JGTI:
            if I[ua] > I[ub]:
                pc = c
        elif op == PUSHI:
            AI[LO[ua] + LN[ua]] = I[ub]
            LN[ua] += 1
        elif op == GATHER:
            m = LN[ub]
            o = topi
            topi += m
            if topi > endi:
                _r_bail()
            for i in range(m):
                x = AI[LO[ub] + i]
                if c == 0:
                    y = _st[x]
                elif c == 1:
                    y = _lat[x]
                elif c == 2:
                    y = 1 if _fin[x] else 0
                elif c == 3:
                    y = 1 if _pr[x] else 0
                elif c == 4:
                    y = _cb[x]
                else:
                    y = BVI[c - 5, x]
                AI[o + i] = y
            LO[ua] = o
            LN[ua] = m
        elif op == ANYM:  # any opened branch in status mask c (d = 1: none is)
            t = 0
            for x in range(n):
                if c == 0:
                    keep = not _fin[x] and not _pr[x]
                elif c == 1:
                    keep = not _fin[x]
                elif c == 2:
                    keep = not _pr[x]
                elif c == 3:
                    keep = _fin[x]
                else:
                    keep = _pr[x]
                if keep:
                    t = 1
                    break
            I[ua] = t ^ d
        elif op == GATHERF:  # a float branch var of every branch of a list
            m = LN[ub]
            o = topf
            topf += m
            if topf > endf:
                _r_bail()
            for i in range(m):
                AF[o + i] = BVF[uc, AI[LO[ub] + i]]
            LO[ua] = o
            LN[ua] = m
        elif op == MASK:
            m = n if b < 0 else LN[ub]
            o = topi
            if o + m > endi:
                _r_bail()
            y = 0
            # the mask's truth for (finished, pruned) = (F, F), (F, T), (T, F), (T, T) as bits 0-3:
            # the element is written always and kept by its bit (no branch to mispredict)
            tb = 1 if c == 0 else 3 if c == 1 else 5 if c == 2 else 12 if c == 3 else 10
            for i in range(m):
                x = i if b < 0 else AI[LO[ub] + i]
                AI[o + y] = x
                y += (tb >> ((2 if _fin[x] else 0) + (1 if _pr[x] else 0))) & 1
            LO[ua] = o
            LN[ua] = y
            topi += y
        elif op == PRUNE:
            if d:
                acts += 1
                if acts > CAP:
                    return (-1, spent, 1)
            i = I[ua]
            if _pr[i]:
                pc = b
            else:
                _pr[i] = True
        elif op == OPEN:
            if d:
                acts += 1
                if acts > CAP:
                    return (-1, spent, 1)
            if n >= NB:
                pc = b
            else:
                i = n
                n += 1
                I[ua] = i
                j = ORDER[i]
                kk = _k[i]
                if kk < NPROBES[j]:
                    _lat[i] = PROBES[POFF[j] + kk]
                    _k[i] = kk + 1
                    _cb[i] += PF
                    spent += PF
                else:
                    x = FINAL[j]
                    y = TOK[j] - kk * PF
                    if y > 0:
                        spent += y
                        _cb[i] += y
                    _fin[i] = True
                    AI[nc] = x
                    nc += 1
                    _lat[i] = x
                _st[i] += 1
        elif op == READ:
            if d:
                acts += 1
                if acts > CAP:
                    return (-1, spent, 1)
            if n >= NB:
                pc = b
            else:
                i = n
                n += 1
                I[ua] = i
                j = ORDER[i]
                x = FINAL[j]
                y = TOK[j]
                _fin[i] = True
                _lat[i] = x
                _cb[i] = y
                spent += y
                AI[nc] = x
                nc += 1
                _st[i] += 1
        elif op == BSTEPS:
            I[ua] = _st[I[ub]]
        elif op == BCOST:
            I[ua] = _cb[I[ub]]
        elif op == LOOP:
            x = I[ua] + 1
            I[ua] = x
            if x >= I[ub]:
                pc = c
        elif op == FUEL:
            fuel -= 1
            if fuel < 0:
                return (-1, spent, 2)
        elif op == LGETI:
            I[ua] = AI[LO[ub] + I[uc]]
        elif op == EQI:
            I[ua] = 1 if I[ub] == I[uc] else 0
        elif op == NOT:
            I[ua] = 1 if I[ub] == 0 else 0
        elif op == ACT:
            acts += 1
            if acts > CAP:
                return (-1, spent, 1)
        elif op == LALLOC:
            m = I[ub]
            if c == 0:
                LO[ua] = topi
                topi += m
                if topi > endi:
                    _r_bail()
            else:
                LO[ua] = topf
                topf += m
                if topf > endf:
                    _r_bail()
            LN[ua] = 0
        elif op == PUSHF:
            AF[LO[ua] + LN[ua]] = F[ub]
            LN[ua] += 1
        elif op == GEI:
            I[ua] = 1 if I[ub] >= I[uc] else 0
        elif op == GTI:
            I[ua] = 1 if I[ub] > I[uc] else 0
        elif op == LTI:
            I[ua] = 1 if I[ub] < I[uc] else 0
        elif op == LEI:
            I[ua] = 1 if I[ub] <= I[uc] else 0
        elif op == NEI:
            I[ua] = 1 if I[ub] != I[uc] else 0
        elif op == SUBI:
            I[ua] = _r_int(I[ub] - I[uc])
        elif op == STATE:
            if b == 0:
                I[ua] = n
            elif b == 1:
                I[ua] = NB - n
            elif b == 2:
                I[ua] = 1 if n >= NB else 0
            elif b == 3:
                I[ua] = spent
            else:
                I[ua] = PF
        elif op == LGETF:
            F[ua] = AF[LO[ub] + I[uc]]
        elif op == FUELN:
            fuel -= I[ua]
            if fuel < 0:
                return (-1, spent, 2)
        elif op == ADDF:
            F[ua] = F[ub] + F[uc]
        elif op == DIVF:
            if F[uc] == 0.0:
                _r_bail()
            F[ua] = F[ub] / F[uc]
        elif op == I2F:
            F[ua] = float(I[ub])
        elif op == LTF:
            I[ua] = 1 if F[ub] < F[uc] else 0
        elif op == LEF:
            I[ua] = 1 if F[ub] <= F[uc] else 0
        elif op == GTF:
            I[ua] = 1 if F[ub] > F[uc] else 0
        elif op == GEF:
            I[ua] = 1 if F[ub] >= F[uc] else 0
        elif op == EQF:
            I[ua] = 1 if F[ub] == F[uc] else 0
        elif op == NEF:
            I[ua] = 1 if F[ub] != F[uc] else 0
        elif op == VOTESC:
            if vcn != nc:
                w = _work(w, nc, LIMS[2])
                vw, v1, v2 = _votes(AI, 0, nc, CNT)
                vcn = nc
            I[ua] = vw
            I[ua + U1] = v1
            I[ua + U2] = v2
        elif op == VOTES:
            w = _work(w, LN[ub], LIMS[2])
            x, y, z = _votes(AI, LO[ub], LN[ub], CNT)
            I[ua] = x
            I[ua + U1] = y
            I[ua + U2] = z
        elif op == BETA:  # native._r_bc inline: 0 for no votes; a value not in the table yet: ask, bail
            x = I[ub]
            y = I[uc]
            if x <= 0:
                F[ua] = 0.0
            else:
                m = BC.shape[0]
                if y < 0 or x >= m or y >= m:
                    _r_bail()
                r = BC[x, y]
                if r != r:
                    NEED[0] = x
                    NEED[1] = y
                    _r_bail()
                F[ua] = r
        elif op == RET:
            return (I[ua], spent, 0)
        elif op == END:
            return (-1, spent, 3)
        elif op == LCOMP:
            LO[ua] = 0
            LN[ua] = nc
        elif op == LEMPTY:
            LO[ua] = 0
            LN[ua] = 0
        elif op == LSLICE:
            m = LN[ub]
            lo = 0 if c < 0 else _slice_bound(I[uc], m)
            hi = m if d < 0 else _slice_bound(I[ud], m)
            LO[ua] = LO[ub] + lo
            LN[ua] = hi - lo if hi > lo else 0
        elif op == LTAKE:
            m = I[uc]
            if m < 0:
                m = 0
            LO[ua] = LO[ub]
            LN[ua] = m if m < LN[ub] else LN[ub]
        elif op == LCAT:
            x = LN[ub]
            y = LN[uc]
            m = x + y
            if m > LIMS[0]:
                _r_bail()
            w = _work(w, m, LIMS[2])
            if d == 0:
                o = topi
                topi += m
                if topi > endi:
                    _r_bail()
                AI[o:o + x] = AI[LO[ub]:LO[ub] + x]
                AI[o + x:o + m] = AI[LO[uc]:LO[uc] + y]
            else:
                o = topf
                topf += m
                if topf > endf:
                    _r_bail()
                AF[o:o + x] = AF[LO[ub]:LO[ub] + x]
                AF[o + x:o + m] = AF[LO[uc]:LO[uc] + y]
            LO[ua] = o
            LN[ua] = m
        elif op == LAPP:  # xs + [x] (d = 1: floats)
            x = LN[ub]
            m = x + 1
            if m > LIMS[0]:
                _r_bail()
            w = _work(w, m, LIMS[2])
            if d == 0:
                o = topi
                topi += m
                if topi > endi:
                    _r_bail()
                y = LO[ub]
                for i in range(x):
                    AI[o + i] = AI[y + i]
                AI[o + x] = I[uc]
            else:
                o = topf
                topf += m
                if topf > endf:
                    _r_bail()
                y = LO[ub]
                for i in range(x):
                    AF[o + i] = AF[y + i]
                AF[o + x] = F[uc]
            LO[ua] = o
            LN[ua] = m
        elif op == CELLSM:  # CELLS a b, then MOVL b a
            cells += LN[ua] - LN[ub]
            if cells > LIMS[1]:
                _r_bail()
            LO[ub] = LO[ua]
            LN[ub] = LN[ua]
        elif op == LI2F:  # d = 1: [float(x) for x in xs], no work charge (as its loop)
            m = LN[ub]
            if d == 0:
                w = _work(w, m, LIMS[2])
            o = topf
            topf += m
            if topf > endf:
                _r_bail()
            for i in range(m):
                AF[o + i] = float(AI[LO[ub] + i])
            LO[ua] = o
            LN[ua] = m
        elif op == LATI:  # inline (as LATF, BETA): a helper taking an array costs its reference counting
            x = I[uc]
            m = LN[ub]
            if x < -m or x >= m:
                _r_bail()
            I[ua] = AI[LO[ub] + (x + m if x < 0 else x)]
        elif op == LRANGE:
            lo = I[ub]
            hi = I[uc]
            m = hi - lo if hi > lo else 0
            w = _work(w, m, LIMS[2])
            o = topi
            topi += m
            if topi > endi:
                _r_bail()
            for i in range(m):
                AI[o + i] = lo + i
            LO[ua] = o
            LN[ua] = m
        elif op == LBRANCHES:
            w = _work(w, n, LIMS[2])
            o = topi
            topi += n
            if topi > endi:
                _r_bail()
            for i in range(n):
                AI[o + i] = i
            LO[ua] = o
            LN[ua] = n
        elif op == LSORT:
            fl = d
            m = LN[uc]
            w = _work(w, m, LIMS[2])
            if fl & 4:
                o = topf
                topf += m
                if topf > endf:
                    _r_bail()
                AF[o:o + m] = AF[LO[ub]:LO[ub] + m]
                if fl & 2:
                    _sort_pairs(AF, LO[uc], AF, o, m, (fl & 1) == 1)
                else:
                    _sort_pairs(AI, LO[uc], AF, o, m, (fl & 1) == 1)
            else:
                o = topi
                topi += m
                if topi > endi:
                    _r_bail()
                AI[o:o + m] = AI[LO[ub]:LO[ub] + m]
                if fl & 2:
                    _sort_pairs(AF, LO[uc], AI, o, m, (fl & 1) == 1)
                else:
                    _sort_pairs(AI, LO[uc], AI, o, m, (fl & 1) == 1)
            LO[ua] = o
            LN[ua] = m
        elif op == MULI:
            I[ua] = _r_mul(I[ub], I[uc])
        elif op == FDIVI:
            if I[uc] == 0:
                _r_bail()
            I[ua] = I[ub] // I[uc]
        elif op == MODI:
            if I[uc] == 0:
                _r_bail()
            I[ua] = I[ub] % I[uc]
        elif op == NEGI:
            I[ua] = -I[ub]
        elif op == TDIVI:
            if I[uc] == 0:
                _r_bail()
            F[ua] = float(_r_f53(I[ub])) / float(_r_f53(I[uc]))
        elif op == NEGF:
            F[ua] = -F[ub]
        elif op == F53:
            _r_f53(I[ua])
        elif op == ABSI:
            I[ua] = _r_int(abs(I[ub]))
        elif op == ABSF:
            F[ua] = abs(F[ub])
        elif op == MINI:
            I[ua] = _r_min(I[ub], I[uc])
        elif op == MAXI:
            I[ua] = _r_max(I[ub], I[uc])
        elif op == MINF:
            F[ua] = _r_min(F[ub], F[uc])
        elif op == MAXF:
            F[ua] = _r_max(F[ub], F[uc])
        elif op == ROUNDF:
            I[ua] = _r_round(F[ub])
        elif op == FLOORF:
            I[ua] = _r_floor(F[ub])
        elif op == CEILF:
            I[ua] = _r_ceil(F[ub])
        elif op == TRUNCF:
            I[ua] = _r_trunc(F[ub])
        elif op == BVGF:
            F[ua] = BVF[uc, I[ub]]
        elif op == BVSF:
            BVF[ua, I[ub]] = F[uc]
        elif op == BVFILLI:
            BVI[ua, :NB] = I[ub]
        elif op == BVFILLF:
            BVF[ua, :NB] = F[ub]
        elif op == ALL:
            w = _work(w, LN[ub], LIMS[2])
            I[ua] = 1 if _r_all(AI[LO[ub]:LO[ub] + LN[ub]]) else 0
        elif op == ANY:
            w = _work(w, LN[ub], LIMS[2])
            I[ua] = 1 if _r_any(AI[LO[ub]:LO[ub] + LN[ub]]) else 0
        elif op == SUMI:
            w = _work(w, LN[ub], LIMS[2])
            I[ua] = _r_sumi(AI[LO[ub]:LO[ub] + LN[ub]])
        elif op == SUMF:
            w = _work(w, LN[ub], LIMS[2])
            F[ua] = _r_sumf(AF[LO[ub]:LO[ub] + LN[ub]])
        elif op == MEANI:
            w = _work(w, LN[ub], LIMS[2])
            F[ua] = _r_meani(AI[LO[ub]:LO[ub] + LN[ub]])
        elif op == MEANF:
            w = _work(w, LN[ub], LIMS[2])
            F[ua] = _r_meanf(AF[LO[ub]:LO[ub] + LN[ub]])
        elif op == MINLI:
            w = _work(w, LN[ub], LIMS[2])
            I[ua] = _r_minl(AI[LO[ub]:LO[ub] + LN[ub]])
        elif op == MAXLI:
            w = _work(w, LN[ub], LIMS[2])
            I[ua] = _r_maxl(AI[LO[ub]:LO[ub] + LN[ub]])
        elif op == MINLF:
            w = _work(w, LN[ub], LIMS[2])
            F[ua] = _r_minl(AF[LO[ub]:LO[ub] + LN[ub]])
        elif op == MAXLF:
            w = _work(w, LN[ub], LIMS[2])
            F[ua] = _r_maxl(AF[LO[ub]:LO[ub] + LN[ub]])
        elif op == COUNTI:
            w = _work(w, LN[ub], LIMS[2])
            I[ua] = _r_count(AI[LO[ub]:LO[ub] + LN[ub]], I[uc])
        elif op == INI:
            w = _work(w, LN[uc], LIMS[2])
            x = I[ub]
            o = LO[uc]
            t = 0
            for i in range(LN[uc]):  # inline: a helper taking the array pays its reference counting per call
                if AI[o + i] == x:
                    t = 1
                    break
            I[ua] = t
        elif op == CELLS:
            cells += LN[ua] - (0 if b < 0 else LN[ub])
            if cells > LIMS[1]:
                _r_bail()
        elif op == SETI:
            I[ua] = b
        elif op == FILTER:  # the branches of a list (b < 0: all opened; b <= -2: those in MASK code -2 - b)
            m = n if b < 0 else LN[ub]  # whose attribute compares true
            o = topi
            if o + m > endi:
                _r_bail()
            y = I[uc]
            at = d >> 3
            cm = d & 7
            mk = -2 - b
            k = 0
            for i in range(m):  # inline: a helper taking the arrays costs their reference counting per call
                j = i if b < 0 else AI[LO[ub] + i]
                if mk == 0:
                    if _fin[j] or _pr[j]:
                        continue
                elif mk > 0:
                    if not ((not _fin[j]) if mk == 1 else (not _pr[j]) if mk == 2 else _fin[j] if mk == 3 else _pr[j]):
                        continue
                if at == 1:
                    x = _lat[j]
                elif at >= 5:
                    x = BVI[at - 5, j]
                elif at == 0:
                    x = _st[j]
                elif at == 2:
                    x = 1 if _fin[j] else 0
                elif at == 3:
                    x = 1 if _pr[j] else 0
                else:
                    x = _cb[j]
                if (x == y) if cm == 4 else (x != y) if cm == 5 else (x >= y) if cm == 3 else (x < y) if cm == 0 \
                        else (x <= y) if cm == 1 else (x > y):
                    AI[o + k] = j
                    k += 1
            LO[ua] = o
            LN[ua] = k
            topi += k
        else:
            _r_bail()


@njit(cache=True, nogil=True)
def _batch(q0, C, I0, F0, NL, NBVI, NBVF, PROBES, POFF, NPROBES, TOK, FINAL, QB, QNB, QPF, QORD, ORDERS, CAP,
           FUEL_, BC, NEED, CNT, ANS, COST, WHY, MAXNB, LIMS, AI, AF):
    _k = np.zeros(MAXNB, np.int64)
    _cb = np.zeros(MAXNB, np.int64)
    _st = np.zeros(MAXNB, np.int64)
    _fin = np.zeros(MAXNB, np.bool_)
    _pr = np.zeros(MAXNB, np.bool_)
    _lat = np.zeros(MAXNB, np.int64)
    BVI = np.zeros((NBVI, MAXNB), np.int64)
    BVF = np.zeros((NBVF, MAXNB), np.float64)
    C = C.ravel()
    I = I0.copy()
    F = F0.copy()
    LO = np.zeros(NL, np.int64)
    LN = np.zeros(NL, np.int64)
    for q in range(q0, len(QB)):
        b0 = QB[q]
        nb = QNB[q]
        NEED[0] = -1
        try:
            a, c, w = _episode(C, I, F, LO, LN, PROBES, POFF[b0:b0 + nb], NPROBES[b0:b0 + nb], TOK[b0:b0 + nb],
                               FINAL[b0:b0 + nb], QPF[q], nb, ORDERS[QORD[q]], CAP, FUEL_, BC, NEED, CNT,
                               _k, _cb, _st, _fin, _pr, _lat, AI, AF, BVI, BVF, LIMS, MAXNB)
        except Exception:
            CNT[:] = 0
            WHY[q] = -2
            if NEED[0] >= 0:
                return q
            continue
        ANS[q] = a
        COST[q] = c
        WHY[q] = w
    return len(QB)


def prepare(checked, binding, limits):
    """A :class:`VMEpisodes` for the binding, or raise :class:`~.fast.Unsupported`."""
    return VMEpisodes(compile_bytecode(checked, binding, limits), native_limits(limits))


class VMEpisodes(FastEpisodes):
    """The interpreter's batch over one program's bytecode: every question of one seed per call."""

    def __init__(self, bc, lims):  # noqa: super().__init__ not called: no generated module
        self.bc, self.lims, self.mod = bc, lims, None
        self.arena = {}  # MAXNB -> (AI, AF): the per-episode arenas, allocated once

    def arenas(self, maxnb):
        a = self.arena.get(maxnb)
        if a is None:
            a = self.arena[maxnb] = (np.empty(maxnb + ARENA_I, np.int64), np.empty(ARENA_F, np.float64))
        return a

    def batch(self, q, p, orders, cap, fuel, bc, need, ans, cost, why) -> int:
        b = self.bc
        return _batch(q, b.code, b.i0, b.f0, b.nl, b.nbv_i, b.nbv_f, p.flat, p.poff, p.nprobes, p.tok, p.final, p.qb,
                      p.qnb, p.qpf, p.qord, orders, cap, fuel, bc, need, p.cnt, ans, cost, why, p.maxnb, self.lims,
                      *self.arenas(p.maxnb))


WARM_PROGRAM = "controller warm\nrepeat 2 {\n  read else break\n}\nanswer majority(completed)\n"


def warm() -> float:
    """Compile the interpreter (numba, about 30 s once per installation) or load it from
    numba's cache; returns the seconds it took. ``python -m tts_dsl.engines`` runs it."""
    import time

    from ..lang.builder import parse_program
    from ..lang.checker import check_program
    from ..lang.limits import Limits
    from ..lang.schedule import bind

    t = time.perf_counter()
    checked = check_program(parse_program(WARM_PROGRAM, "<warm>"))
    prepare(checked, bind(checked, None), Limits()).warm_up()
    return time.perf_counter() - t
