"""Checked program -> bytecode for the one native interpreter (:mod:`.vm`), built in Python
in milliseconds: a new program costs no numba compilation at all.

The bytecode is an ``int64`` array of instructions ``(op, a, b, c, d)`` over typed register
files: ``I`` (int64: ints, bools, answers, branches; a votes record is three consecutive
registers), ``F`` (float64) and list handles ``L`` (offset and length into a per-episode
arena, ``AI`` for int elements and ``AF`` for float ones; ``completed`` is ``AI[:len]``, so a
view of it stays valid). Constants and the binding's params are preloaded registers (the
bytecode is built per binding, as the analysis is). Control flow is jumps, so operands run
exactly where and in the order the compiled Python engine evaluates them.

The subset and the exactness rules are fast.py's (:mod:`.fast`): the same step and action
charges in the same places, and a *bail* (the episode reruns on the Python engine) wherever
native code could differ -- the interpreter calls :mod:`.native`'s helpers for those checks.
Anything else raises :class:`~.fast.Unsupported` with the reason.
"""

from __future__ import annotations

import math
import sys

from ..lang import ast as A
from ..lang.checker import CheckedProgram, SymbolKind
from ..lang.limits import Limits
from ..lang.schedule import Binding
from ..lang.types import ANSWER, ANY, BOOL, BRANCH, FLOAT, INT, RECORDS, VOTES, list_of
from .analysis import _walk_exprs, analyze
from .fast import LIMIT, SCALAR, Unsupported, _completed_votes

# opcodes: the interpreter (vm.py) checks this table's digest (its numba cache must not outlive a change)
OPS = """
JMP JZ JNZ RET END FUEL FUELN LOOP MOVI MOVF MOVL SETI
ADDI SUBI MULI FDIVI MODI NEGI TDIVI ADDF SUBF MULF DIVF NEGF I2F
LTI LEI GTI GEI EQI NEI LTF LEF GTF GEF EQF NEF F53 NOT
ABSI ABSF MINI MAXI MINF MAXF ROUNDF FLOORF CEILF TRUNCF BETA
STATE BVGI BVGF BVSI BVSF BVFILLI BVFILLF
ACT OPEN READ ADV PRUNE VOTES VOTESC
LEMPTY LALLOC PUSHI PUSHF LCAT LI2F LSLICE LTAKE LLEN LATI LATF LGETI LGETF LRANGE LBRANCHES LCOMP
LSORT ALL ANY SUMI SUMF MEANI MEANF MINLI MAXLI MINLF MAXLF COUNTI INI CELLS
MASK FILTER JLTI JLEI JGTI JGEI JEQI JNEI FOR FORF FORL FORLF NEXT NEXTF NEXTL NEXTLF JBA NOPEN BSTEPS BLAT BFIN BPR BCOST GATHER
GATHERF ANYM ADVN ADVL JZEQ LAPP CELLSM BVINC
""".split()
OP = {name: i for i, name in enumerate(OPS)}
NONE_REG = -1  # an absent operand (a slice bound)

STATE_CODES = {"opened": 0, "remaining": 1, "exhausted": 2, "spent": 3, "interval_tokens": 4}
BATTR_CODES = {"steps": 0, "latest": 1, "finished": 2, "pruned": 3, "cost": 4}
INTLIKE = (INT, BOOL, ANSWER, BRANCH)
CMP_CODES = {"<": 0, "<=": 1, ">": 2, ">=": 3, "==": 4, "!=": 5}  # JBA's comparisons
MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
CMP = {"<": "LT", "<=": "LE", ">": "GT", ">=": "GE", "==": "EQ", "!=": "NE"}
NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
# where each jumping op keeps its target
TARGET = {OP["JMP"]: 1, **{OP[n]: 2 for n in ("JZ", "JNZ", "OPEN", "READ", "ADV", "PRUNE", "ADVN")},
          **{OP[n]: 3 for n in ("JBA", "LOOP", "ADVL", "JZEQ", "FOR", "FORF", "FORL", "FORLF", "NEXT", "NEXTF", "NEXTL", "NEXTLF", "JLTI", "JLEI", "JGTI", "JGEI", "JEQI", "JNEI")}}
MASK_CODES = {"_act": 0, "_nfin": 1, "_npr": 2, "_fin": 3, "_pr": 4}  # MASK: the status masks of analysis.MASKS
# each mask's truth for (finished, pruned) = (F, F), (F, T), (T, F), (T, T) (ANYM)
MASK_TABLES = {(True, False, False, False): 0, (True, True, False, False): 1, (True, False, True, False): 2,
               (False, False, True, True): 3, (False, True, False, True): 4}
BATTR_OPS = {"steps": "BSTEPS", "latest": "BLAT", "finished": "BFIN", "pruned": "BPR", "cost": "BCOST"}
# ops whose one result is the int (float) register in field ``a`` and that do not jump: the
# result may be retargeted (:meth:`_Compiler.into`)
FLOAT_RESULT = {OP[n] for n in ("MOVF", "ADDF", "SUBF", "MULF", "DIVF", "NEGF", "I2F", "TDIVI", "ABSF", "MINF",
                                "MAXF", "BETA", "LATF", "LGETF", "BVGF", "SUMF", "MEANI", "MEANF", "MINLF", "MAXLF")}
INT_RESULT = {OP[n] for n in ("MOVI", "ADDI", "SUBI", "MULI", "FDIVI", "MODI", "NEGI", "LTI", "LEI", "GTI", "GEI",
                              "EQI", "NEI", "LTF", "LEF", "GTF", "GEF", "EQF", "NEF", "NOT", "ABSI", "MINI", "MAXI",
                              "ROUNDF", "FLOORF", "CEILF", "TRUNCF", "STATE", "NOPEN", "BSTEPS", "BLAT",
                              "BFIN", "BPR", "BCOST", "BVGI", "LLEN", "LATI", "LGETI", "ALL", "ANY", "SUMI",
                              "MINLI", "MAXLI", "COUNTI", "INI", "ANYM")}


def _is_branches(e) -> bool:
    return isinstance(e, A.Name) and e.id == "branches" and e.ref is not None and e.ref.kind == SymbolKind.STATE


def _and_terms(e) -> list:
    if isinstance(e, A.BoolOp) and e.op == "and" and e.left.ty == BOOL and e.right.ty == BOOL:
        return _and_terms(e.left) + _and_terms(e.right)
    return [e]


def _reads(e, q) -> bool:
    """``e`` reads the query's variable."""
    return any(isinstance(n, A.Name) and n.ref is q.ref for n in _walk_exprs(e))


def _simple(e) -> bool:
    """``e`` only reads (a name, a literal, a record field): evaluating it before or after a
    branch attribute is the same."""
    return isinstance(e, (A.Name, A.Num, A.Bool, A.NoneLit)) or (isinstance(e, A.Attr) and _simple(e.obj))


def _kind(t) -> str:
    """'i', 'f', 'v' (votes), 'li' / 'lf' (lists) for the register file of type ``t``."""
    if t in INTLIKE:
        return "i"
    if t == FLOAT:
        return "f"
    if t == VOTES:
        return "v"
    if t.is_list and (t.arg in INTLIKE or t.arg == ANY):
        return "li"
    if t.is_list and t.arg == FLOAT:
        return "lf"
    raise Unsupported(f"values of type {t}")


class Bytecode:
    """One program for one binding: instructions and initial register files."""

    def __init__(self, code, i0, f0, nl, nbv_i, nbv_f):
        self.code, self.i0, self.f0, self.nl, self.nbv_i, self.nbv_f = code, i0, f0, nl, nbv_i, nbv_f

    def listing(self) -> str:
        return "\n".join(f"{pc:4d} {OPS[r[0]]:<9} {r[1]} {r[2]} {r[3]} {r[4]}" for pc, r in enumerate(self.code.tolist()))


class _Compiler:
    def __init__(self, checked: CheckedProgram, an, binding: Binding):
        self.c, self.an, self.values = checked, an, binding.values
        self.code: list = []
        self.ni = 0
        self.nf = 0
        self.nl = 0
        self.iconst: dict = {}
        self.fconst: dict = {}
        self.i0: dict = {}
        self.f0: dict = {}
        self.vars: dict = {}  # symbol -> (kind, reg)
        self.loops: list = []  # (continue label, break patch list)
        self.labels: set = set()  # pcs some jump lands on
        self.fresh: dict = {}
        self.start = 0
        self.counted = {s for s in checked.vars if s.ty.is_list}
        if checked.funcs:
            raise Unsupported("user functions (def)")
        self.bv: dict = {}
        ni = nf = 0
        for s in checked.branch_vars:
            if s.ty == FLOAT:
                self.bv[s.name] = ("f", nf)
                nf += 1
            elif s.ty in INTLIKE:
                self.bv[s.name] = ("i", ni)
                ni += 1
            else:
                raise Unsupported(f"branch var '{s.name}' of type {s.ty}")
        self.nbv_i, self.nbv_f = ni, nf

    # ------------------------------------------------------------ registers, emission
    def reg(self, kind: str) -> int:
        if kind == "i":
            self.ni += 1
            return self.ni - 1
        if kind == "f":
            self.nf += 1
            return self.nf - 1
        if kind == "v":
            self.ni += 3
            return self.ni - 3
        self.nl += 1
        return self.nl - 1

    def ci(self, v: int) -> int:
        v = int(v)
        if abs(v) > LIMIT:
            raise Unsupported("an int literal beyond 2**62")
        if v not in self.iconst:
            r = self.iconst[v] = self.reg("i")
            self.i0[r] = v
        return self.iconst[v]

    def cf(self, v: float) -> int:
        if not math.isfinite(v):
            raise Unsupported("a non-finite literal")
        k = (v, math.copysign(1.0, v))
        if k not in self.fconst:
            r = self.fconst[k] = self.reg("f")
            self.f0[r] = v
        return self.fconst[k]

    def op(self, name, a=0, b=0, c=0, d=0) -> int:
        self.code.append([OP[name], a, b, c, d])
        return len(self.code) - 1

    def here(self) -> int:
        self.labels.add(len(self.code))
        return len(self.code)

    def patch(self, pcs, field=None):
        """Point the jumps at ``pcs`` here (JMP: field a; JZ/JNZ/OPEN/...: field b; LOOP: c)."""
        t = self.here()
        for pc in pcs:
            self.code[pc][field or TARGET[self.code[pc][0]]] = t

    def into(self, kind, r, dest):
        """Move register ``r`` into ``dest`` (retargeting the instruction of this statement
        that just computed ``r``, a fresh temp of the same register file, when nothing jumps
        between)."""
        if r == dest:
            return
        last = self.code[-1] if len(self.code) > self.start else None
        if last is not None and last[1] == r and r >= self.fresh.get(kind, 1 << 60) \
                and last[0] in (INT_RESULT if kind == "i" else FLOAT_RESULT if kind == "f" else ()) \
                and len(self.code) not in self.labels:
            last[1] = dest
            return
        self.op({"i": "MOVI", "f": "MOVF", "li": "MOVL", "lf": "MOVL"}[kind], dest, r)

    def mark(self):
        """Registers allocated and instructions emitted from now on are this statement's (for
        :meth:`into`)."""
        self.fresh = {"i": self.ni, "f": self.nf}
        self.start = len(self.code)

    # ------------------------------------------------------------ expressions
    def ex(self, e) -> int:
        """Compile ``e``; its value's register (kind: :func:`_kind` of ``e.ty``)."""
        m = getattr(self, "x_" + type(e).__name__, None)
        if m is None:
            raise Unsupported(f"{type(e).__name__} expressions")
        return m(e)

    def coerce(self, e, ty) -> int:
        k = _kind(ty)
        if k == "f" and e.ty == INT:
            r = self.ex(e)
            if r in self.i0:  # a constant: folded
                return self.cf(float(self.i0[r]))
            o = self.reg("f")
            self.op("I2F", o, r)
            return o
        if k in ("li", "lf") and e.ty.is_list and e.ty.arg == ANY:
            if isinstance(e, A.ListLit) and not e.items:
                o = self.reg(k)
                self.op("LEMPTY", o)
                return o
        if k == "lf" and isinstance(e, A.ListLit):
            return self.x_ListLit(e, FLOAT)
        if k == "lf" and isinstance(e, A.IfExp):
            return self.x_IfExp(e, ty)
        if k == "lf" and isinstance(e, A.BinOp):
            return self.x_BinOp(e, ty)
        r = self.ex(e)
        ek = _kind(e.ty) if not (e.ty.is_list and e.ty.arg == ANY) else k
        if ek == k:
            return r
        if k == "lf" and ek == "li":
            o = self.reg("lf")
            self.op("LI2F", o, r)
            return o
        raise Unsupported(f"a {e.ty} used as a {ty}")

    def x_Num(self, e):
        if isinstance(e.value, float):
            return self.cf(e.value)
        return self.ci(e.value)

    def x_Bool(self, e):
        return self.ci(1 if e.value else 0)

    def x_NoneLit(self, e):
        return self.ci(-1)

    def x_Name(self, e):
        s = e.ref
        if s.kind == SymbolKind.STATE:
            if e.id == "completed":
                o = self.reg("li")
                self.op("LCOMP", o)
                return o
            if e.id == "branches":
                o = self.reg("li")
                self.op("LBRANCHES", o)
                return o
            if e.id in STATE_CODES:
                o = self.reg("i")
                if e.id == "opened":
                    self.op("NOPEN", o)
                else:
                    self.op("STATE", o, STATE_CODES[e.id])
                return o
            raise Unsupported(f"'{e.id}' as a value")
        if s.kind == SymbolKind.PARAM:
            v = self.values[e.id]
            if s.ty == FLOAT:
                return self.cf(float(v))
            return self.ci(int(v))
        if s not in self.vars:
            raise Unsupported(f"the name '{e.id}' here")
        return self.vars[s][1]

    def var(self, sym) -> int:
        if sym not in self.vars:
            k = _kind(sym.ty)
            self.vars[sym] = (k, self.reg(k))
        return self.vars[sym][1]

    def x_Attr(self, e):
        ot = e.obj.ty
        if ot == VOTES:
            return self.ex(e.obj) + RECORDS[ot][e.name][0]
        if ot != BRANCH:
            raise Unsupported(f"attributes of {ot}")
        b = self.ex(e.obj)
        if e.name == "index":
            return b
        if e.name in BATTR_OPS:
            o = self.reg("i")
            self.op(BATTR_OPS[e.name], o, b)
            return o
        if e.name in self.bv:
            k, slot = self.bv[e.name]
            o = self.reg(k)
            self.op("BVGI" if k == "i" else "BVGF", o, b, slot)
            return o
        raise Unsupported(f"branch attribute '{e.name}'")

    def x_Index(self, e):
        k = _kind(e.obj.ty)
        if k not in ("li", "lf"):
            raise Unsupported(f"indexing {e.obj.ty}")
        lst = self.ex(e.obj)
        i = self.ex(e.index)
        o = self.reg(k[1])
        self.op("LATI" if k == "li" else "LATF", o, lst, i)
        return o

    def x_Slice(self, e):
        k = _kind(e.obj.ty)
        if k not in ("li", "lf"):
            raise Unsupported(f"slicing {e.obj.ty}")
        lst = self.ex(e.obj)
        lo = self.ex(e.lo) if e.lo is not None else NONE_REG
        hi = self.ex(e.hi) if e.hi is not None else NONE_REG
        o = self.reg(k)
        self.op("LSLICE", o, lst, lo, hi)
        return o

    def x_ListLit(self, e, el=None):
        el = e.ty.arg if el is None or el == ANY else el
        k = "lf" if el == FLOAT else "li"
        if el not in INTLIKE and el not in (FLOAT, ANY):
            raise Unsupported(f"lists of {el}")
        vals = [self.coerce(x, FLOAT) if k == "lf" else self.ex(x) for x in e.items]
        if k == "li" and any(_kind(x.ty) != "i" for x in e.items):
            raise Unsupported(f"lists of {e.ty.arg}")
        o = self.reg(k)
        self.op("LALLOC", o, self.ci(len(vals)), 1 if k == "lf" else 0)
        for v in vals:
            self.op("PUSHF" if k == "lf" else "PUSHI", o, v)
        return o

    def list_arg(self, a) -> tuple:
        k = _kind(a.ty) if not (a.ty.is_list and a.ty.arg == ANY) else "li"
        if k not in ("li", "lf"):
            raise Unsupported(f"a {a.ty} here")
        return k, self.ex(a)

    def x_Call(self, e):
        f, args = e.func, e.args
        if f == "len":
            a = args[0]
            if isinstance(a, A.Name) and a.id == "branches" and a.ref.kind == SymbolKind.STATE:
                o = self.reg("i")
                self.op("NOPEN", o)
                return o
            if a.ty.is_list:
                _, lst = self.list_arg(a)
                o = self.reg("i")
                self.op("LLEN", o, lst)
                return o
        elif _completed_votes(e):
            o = self.reg("v")
            self.op("VOTESC", o)
            return o  # majority: the winner, the record's first register
        elif f in ("votes", "majority") and args[0].ty.is_list and args[0].ty.arg == ANSWER:
            lst = self.ex(args[0])
            o = self.reg("v")
            self.op("VOTES", o, lst)
            return o
        elif f == "beta_confidence" and all(a.ty == INT for a in args):
            a = self.ex(args[0])
            b = self.ex(args[1])
            o = self.reg("f")
            self.op("BETA", o, a, b)
            return o
        elif f in ("min", "max") and len(args) >= 2 and all(a.ty == args[0].ty for a in args) \
                and args[0].ty in (INT, FLOAT):
            k = "i" if args[0].ty == INT else "f"
            vs = [self.ex(a) for a in args]
            out = vs[0]
            for v in vs[1:]:
                o = self.reg(k)
                self.op(f"{f.upper()}{k.upper()}", o, out, v)
                out = o
            return out
        elif f in ("min", "max") and len(args) == 1 and args[0].ty.is_list and args[0].ty.arg in (INT, FLOAT, ANY):
            k, lst = self.list_arg(args[0])
            o = self.reg(k[1])
            self.op(f"{f.upper()}L{k[1].upper()}", o, lst)
            return o
        elif f == "abs" and args[0].ty in (INT, FLOAT):
            k = "i" if args[0].ty == INT else "f"
            r = self.ex(args[0])
            o = self.reg(k)
            self.op(f"ABS{k.upper()}", o, r)
            return o
        elif f in ("all", "any") and args[0].ty.is_list and args[0].ty.arg in (BOOL, ANY):
            if id(e) in self.an.short_circuit:
                return self.short_circuit(e)
            _, lst = self.list_arg(args[0])
            o = self.reg("i")
            self.op(f.upper(), o, lst)
            return o
        elif f in ("sum", "mean") and args[0].ty.is_list and args[0].ty.arg in (INT, BOOL, FLOAT, ANY) \
                and (args[0].ty.arg != FLOAT or sys.version_info < (3, 12)):
            k, lst = self.list_arg(args[0])
            o = self.reg("f" if (f == "mean" or k == "lf") else "i")
            self.op(f"{f.upper()}{'F' if k == 'lf' else 'I'}", o, lst)
            return o
        elif f == "count" and args[0].ty.is_list and args[0].ty.arg in (INT, ANSWER, BOOL) \
                and args[1].ty == args[0].ty.arg:
            lst = self.ex(args[0])
            x = self.ex(args[1])
            o = self.reg("i")
            self.op("COUNTI", o, lst, x)
            return o
        elif f == "float" and args[0].ty in (INT, FLOAT):
            return self.coerce(args[0], FLOAT)
        elif f == "round" and len(args) == 1 and args[0].ty in (INT, FLOAT):
            return self.fround(args[0], "ROUNDF")
        elif f in ("floor", "ceil", "int") and args[0].ty in (INT, FLOAT):
            return self.fround(args[0], {"floor": "FLOORF", "ceil": "CEILF", "int": "TRUNCF"}[f])
        elif f == "range" and id(e) in self.an.bounds:
            r = self.an.bounds[id(e)]
            o = self.reg("li")
            self.op("LRANGE", o, self.ci(r.start), self.ci(r.stop))
            return o
        raise Unsupported(f"the call {f}(...) here")

    def fround(self, a, name):
        r = self.ex(a)
        if a.ty == INT:
            return r
        o = self.reg("i")
        self.op(name, o, r)
        return o

    def x_BinOp(self, e, ty=None):
        if e.op == "+" and e.ty.is_list:
            ty = ty if ty is not None and ty.arg != ANY else e.ty
            k = "lf" if ty.arg == FLOAT else "li"
            lt = list_of(FLOAT if k == "lf" else INT)
            a = self.coerce(e.left, lt)
            r = e.right
            if isinstance(r, A.ListLit) and len(r.items) == 1 and (k == "lf" or _kind(r.items[0].ty) == "i"):
                x = self.coerce(r.items[0], FLOAT) if k == "lf" else self.ex(r.items[0])
                o = self.reg(k)
                self.op("LAPP", o, a, x, 1 if k == "lf" else 0)  # xs + [x]: one op
                return o
            b = self.coerce(e.right, lt)
            o = self.reg(k)
            self.op("LCAT", o, a, b, 1 if k == "lf" else 0)
            return o
        if e.left.ty not in (INT, FLOAT) or e.right.ty not in (INT, FLOAT):
            raise Unsupported(f"'{e.op}' on {e.left.ty} and {e.right.ty}")
        ints = e.left.ty == INT and e.right.ty == INT
        if ints and e.op != "/":
            a, b = self.ex(e.left), self.ex(e.right)
            if e.op in ("+", "-", "*") and a in self.i0 and b in self.i0:  # constants (params): folded
                x, y = self.i0[a], self.i0[b]
                v = x + y if e.op == "+" else x - y if e.op == "-" else x * y
                if abs(v) <= LIMIT:
                    return self.ci(v)
            o = self.reg("i")
            self.op({"+": "ADDI", "-": "SUBI", "*": "MULI", "//": "FDIVI", "%": "MODI"}[e.op], o, a, b)
            return o
        if ints:
            a, b = self.ex(e.left), self.ex(e.right)
            o = self.reg("f")
            self.op("TDIVI", o, a, b)
            return o
        if e.op not in ("+", "-", "*", "/"):
            raise Unsupported(f"'{e.op}' on floats")
        a, b = self.coerce(e.left, FLOAT), self.coerce(e.right, FLOAT)
        if a in self.f0 and b in self.f0 and not (e.op == "/" and self.f0[b] == 0.0):  # constants: folded
            x, y = self.f0[a], self.f0[b]
            v = x + y if e.op == "+" else x - y if e.op == "-" else x * y if e.op == "*" else x / y
            if math.isfinite(v):
                return self.cf(v)
        o = self.reg("f")
        self.op({"+": "ADDF", "-": "SUBF", "*": "MULF", "/": "DIVF"}[e.op], o, a, b)
        return o

    def x_Compare(self, e):
        lt, rt = e.left.ty, e.right.ty
        if e.op in ("in", "not in"):
            if not (rt.is_list and rt.arg in (INT, ANSWER, BOOL, BRANCH) and (lt == rt.arg or {lt, rt.arg} <= {INT, BOOL})):
                raise Unsupported(f"'{e.op}' on {lt} and {rt}")
            a, b = self.ex(e.left), self.ex(e.right)
            o = self.reg("i")
            self.op("INI", o, a, b)
            if e.op == "not in":
                self.op("NOT", o, o)
            return o
        if {lt, rt} == {INT, FLOAT}:  # exact only while |int| <= 2**53 (else a bail)
            a, b = self.ex(e.left), self.ex(e.right)
            for x, t in ((a, lt), (b, rt)):
                if t == INT:
                    self.op("F53", x)
            if lt == INT:
                a2 = self.reg("f")
                self.op("I2F", a2, a)
                a = a2
            else:
                b2 = self.reg("f")
                self.op("I2F", b2, b)
                b = b2
            o = self.reg("i")
            self.op(CMP[e.op] + "F", o, a, b)
            return o
        if lt != rt and not (lt in (INT, BOOL) and rt in (INT, BOOL)):
            raise Unsupported(f"comparing {lt} with {rt}")
        if lt not in SCALAR and lt != BRANCH:
            raise Unsupported(f"comparing {lt} values")
        a, b = self.ex(e.left), self.ex(e.right)
        o = self.reg("i")
        self.op(CMP[e.op] + ("F" if lt == FLOAT else "I"), o, a, b)
        return o

    def jump_if(self, e, want: bool) -> list:
        """Jumps (to patch) taken when ``e``'s truth is ``want``; falls through otherwise."""
        if isinstance(e, A.BoolOp) and e.left.ty == BOOL and e.right.ty == BOOL:
            if (e.op == "and") != want:  # and/False, or/True: either operand decides
                return self.jump_if(e.left, want) + self.jump_if(e.right, want)
            skip = self.jump_if(e.left, not want)
            out = self.jump_if(e.right, want)
            self.patch(skip)
            return out
        if isinstance(e, A.Unary) and e.op == "not" and e.operand.ty == BOOL:
            return self.jump_if(e.operand, not want)
        if isinstance(e, A.Bool):
            return [self.op("JMP", 0)] if e.value == want else []
        if e.ty == BOOL and self.attr_code(e) is not None:  # b.finished, a bool branch var: one op
            return self.jump_attr(e, self.ci(0), "!=" if want else "==")
        if isinstance(e, A.Compare) and e.op in CMP and e.left.ty in INTLIKE and e.right.ty in INTLIKE \
                and (e.left.ty == e.right.ty or {e.left.ty, e.right.ty} <= {INT, BOOL}):
            o = e.op if want else NEGATE[e.op]
            attr = self.attr_code(e.left)
            if attr is None and self.attr_code(e.right) is not None and _simple(e.left):
                return self.jump_attr(e.right, self.ex(e.left), MIRROR[o])
            if attr is not None and _simple(e.right):
                return self.jump_attr(e.left, self.ex(e.right), o)
            a, b = self.ex(e.left), self.ex(e.right)
            return [self.op("J" + CMP[o] + "I", a, b, 0)]
        r = self.ex(e)
        return [self.op("JNZ" if want else "JZ", r, 0)]

    def attr_code(self, e):
        """The JBA/GATHER code of ``e`` when it is an int attribute of a branch name, else None."""
        if isinstance(e, A.Attr) and isinstance(e.obj, A.Name) and e.obj.ty == BRANCH:
            if e.name in BATTR_CODES:
                return BATTR_CODES[e.name]
            if e.name in self.bv and self.bv[e.name][0] == "i":
                return 5 + self.bv[e.name][1]
        return None

    def jump_attr(self, attr, other: int, o: str) -> list:
        """One op: jump when ``attr`` (a branch's int attribute) ``o`` register ``other``."""
        return [self.op("JBA", self.ex(attr.obj), other, 0, 8 * self.attr_code(attr) + CMP_CODES[o])]

    def x_BoolOp(self, e):
        if e.left.ty != BOOL or e.right.ty != BOOL:
            raise Unsupported(f"'{e.op}' on non-bool operands")
        o = self.reg("i")
        self.arm("i", e.left, BOOL, o)
        j = self.op("JZ" if e.op == "and" else "JNZ", o, 0)
        self.arm("i", e.right, BOOL, o)
        self.patch([j])
        return o

    def x_Unary(self, e):
        if e.op == "not":
            if e.operand.ty != BOOL:
                raise Unsupported("'not' on a non-bool")
            r = self.ex(e.operand)
            o = self.reg("i")
            self.op("NOT", o, r)
            return o
        if e.operand.ty not in (INT, FLOAT):
            raise Unsupported(f"unary '{e.op}' on {e.operand.ty}")
        r = self.ex(e.operand)
        if e.op == "+":
            return r
        k = "i" if e.operand.ty == INT else "f"
        if r in (self.i0 if k == "i" else self.f0):  # a constant: folded
            return self.ci(-self.i0[r]) if k == "i" else self.cf(-self.f0[r])
        o = self.reg(k)
        self.op("NEGI" if k == "i" else "NEGF", o, r)
        return o

    def x_IfExp(self, e, ty=None):
        ty = ty or e.ty
        if ty.is_list and ty.arg == ANY:
            ty = list_of(INT)
        k = _kind(ty)
        if k == "v":
            raise Unsupported(f"a conditional expression of type {ty}")
        if e.then.ty != e.orelse.ty and not ty.is_list and ty != FLOAT:
            raise Unsupported("a conditional expression mixing types")
        o = self.reg(k)
        j = self.jump_if(e.cond, False)
        self.arm(k, e.then, ty, o)
        j2 = self.op("JMP", 0)
        self.patch(j)
        self.arm(k, e.orelse, ty, o)
        self.patch([j2])
        return o

    def arm(self, k, e, ty, o):
        """``e`` into ``o``: its last instruction retargeted when it computes a temp of ``e``'s own."""
        saved = self.fresh, self.start
        self.mark()
        self.into(k, self.coerce(e, ty), o)
        self.fresh, self.start = saved

    def move(self, k, r, dest):
        if r != dest:
            self.op({"i": "MOVI", "f": "MOVF", "li": "MOVL", "lf": "MOVL"}[k], dest, r)

    # ------------------------------------------------------------ queries
    def counter_loop(self, n_reg, start=None, var=-1, fuel=False, lst=None):
        """A loop over a counter from ``start`` (0) below register ``n_reg`` (or over the int
        list ``lst``'s elements): (counter register, the loop for :meth:`close`). ``var``
        receives the counter (the element); ``fuel``: one step charged per iteration. The body
        follows, then :meth:`close`."""
        ctr = self.reg("i")
        self.op("MOVI", ctr, self.ci(-1 if start is None else start - 1))
        name = ("FORL" if lst is not None else "FOR") + ("F" if fuel else "")
        ex = self.op(name, ctr, lst if lst is not None else n_reg, 0, var)
        self.here()  # the body's first instruction: the bottom test jumps there
        return ctr, (name, ex)

    def close(self, loop, nexts=()):
        """The loop's bottom test (its next iteration; ``nexts``: jumps to it, as ``continue``),
        then its exit."""
        name, ex = loop
        self.patch(list(nexts))
        _, ctr, src, _, var = self.code[ex]
        self.op("NEXT" + name[3:], ctr, src, ex + 1, var)
        self.patch([ex])

    def source(self, q):
        """(n register, how elements are read) of a query's source, evaluated now, its step
        charge after it."""
        src = q.source
        if _is_branches(src):
            n = self.reg("i")
            self.op("NOPEN", n)
            get = ("branch", None)
        elif isinstance(src, A.Call) and src.func == "range":
            r = self.an.bounds[id(src)]
            n = self.ci(max(0, r.stop - r.start))
            get = ("range", r.start)
        else:
            k = _kind(src.ty) if src.ty.arg != ANY else "li"
            if k not in ("li", "lf"):
                raise Unsupported(f"a query over {src.ty}")
            lst = self.reg(k)
            self.move(k, self.ex(src), lst)  # held: the source's variable may change meanwhile
            n = self.reg("i")
            self.op("LLEN", n, lst)
            get = (k, lst)
        if id(q) in self.an.charged:
            self.op("FUELN", n)
        return n, get

    def elements(self, n, get, v, fuel=False):
        """A loop over the source's elements into the query variable's register ``v``."""
        how, x = get
        if how == "branch" or (how == "range" and x == 0):
            return self.counter_loop(n, var=v, fuel=fuel)
        if how == "li":
            return self.counter_loop(n, var=v, fuel=fuel, lst=x)
        ctr, lp = self.counter_loop(n, fuel=fuel)
        if how == "range":
            self.op("ADDI", v, ctr, self.ci(x))
        else:
            self.op("LGETF", v, x, ctr)
        return ctr, lp

    def src_kind(self, q) -> str:
        src = q.source
        if isinstance(src, A.Call) or _is_branches(src):
            return "li"
        return "li" if src.ty.arg == ANY else _kind(src.ty)

    def filters(self, terms, q):
        """[(register, FILTER code)] when every term of a query's filter compares an int or
        bool attribute of the query's branch with a value that does not depend on it (so the
        terms are total and their order unobservable), else None."""
        out = []
        for t in terms:
            neg = isinstance(t, A.Unary) and t.op == "not"
            e = t.operand if neg else t
            if e.ty == BOOL and self.is_attr_of(e, q):
                out.append((self.ci(0), 8 * self.attr_code(e) + CMP_CODES["==" if neg else "!="]))
                continue
            if neg or not (isinstance(e, A.Compare) and e.op in CMP and e.left.ty in INTLIKE
                           and e.right.ty in INTLIKE and (e.left.ty == e.right.ty or {e.left.ty, e.right.ty} <= {INT, BOOL})):
                return None
            if self.is_attr_of(e.left, q) and _simple(e.right) and not _reads(e.right, q):
                attr, other, o = e.left, e.right, e.op
            elif self.is_attr_of(e.right, q) and _simple(e.left) and not _reads(e.left, q):
                attr, other, o = e.right, e.left, MIRROR[e.op]
            else:
                return None
            out.append((self.ex(other), 8 * self.attr_code(attr) + CMP_CODES[o]))
        return out or None

    def is_attr_of(self, e, q) -> bool:
        return isinstance(e, A.Attr) and isinstance(e.obj, A.Name) and e.obj.ref is q.ref and self.attr_code(e) is not None

    def masked(self, q):
        """A query whose filter starts with status terms (the analysis' mask plan): its source
        and charge now; ((source register or NONE_REG for all branches, MASK code), the other
        terms) or None. The status filter is the caller's: a MASK op (:meth:`mask_op`), or part
        of the first FILTER op when the source is every branch."""
        plan = self.an.mask_plans.get(id(q))
        if plan is None or plan.array not in MASK_CODES:
            return None
        if _is_branches(q.source):
            n = self.reg("i")
            self.op("NOPEN", n)
            src = NONE_REG
        else:
            src = self.reg("li")
            self.move("li", self.ex(q.source), src)
            n = self.reg("i")
            self.op("LLEN", n, src)
        if id(q) in self.an.charged:
            self.op("FUELN", n)
        return (src, MASK_CODES[plan.array]), plan.rest

    def mask_op(self, mk) -> int:
        res = self.reg("li")
        self.op("MASK", res, *mk)
        return res

    def gather_code(self, e, q):
        """The GATHER code of ``e`` when it is an int attribute of the query's branch, else None."""
        if isinstance(e, A.Attr) and isinstance(e.obj, A.Name) and e.obj.ref is q.ref:
            return self.attr_code(e)
        return None

    def gathered(self, e, q, ok, sk):
        """One op computing ``e`` of every element when ``e`` is an attribute of the query's
        branch or ``float`` of its int element: (op, its code), else None."""
        if sk != "li":
            return None
        if ok == "li":
            g = self.gather_code(e, q)
            return None if g is None else ("GATHER", g)
        if isinstance(e, A.Attr) and isinstance(e.obj, A.Name) and e.obj.ref is q.ref and e.obj.ty == BRANCH \
                and self.bv.get(e.name, ("i",))[0] == "f":
            return "GATHERF", self.bv[e.name][1]
        x = e.args[0] if isinstance(e, A.Call) and e.func == "float" and len(e.args) == 1 else e
        if isinstance(x, A.Name) and x.ref is q.ref and x.ty == INT:  # float(c) (or c as a float)
            return "LI2F", 0
        return None

    def mapped(self, src, sk, v, e, q, ty) -> int:
        """``e`` of each element of the list register ``src`` (kind ``sk``) as a new list."""
        ok = _kind(list_of(ty))
        g = self.gathered(e, q, ok, sk)
        out = self.reg(ok)
        if g is not None:  # LI2F: field d = 1, no work charge (as the loop it replaces)
            self.op(g[0], out, src, g[1], 1 if g[0] == "LI2F" else 0)
            return out
        m = self.reg("i")
        self.op("LLEN", m, src)
        self.op("LALLOC", out, m, 1 if ok == "lf" else 0)
        if sk == "li":
            _, lp = self.counter_loop(m, var=v, lst=src)
        else:
            ix, lp = self.counter_loop(m)
            self.op("LGETF", v, src, ix)
        val = self.coerce(e, ty)
        self.op("PUSHF" if ok == "lf" else "PUSHI", out, val)
        self.close(lp)
        return out

    def query(self, q, elt=None, elt_ty=None) -> int:
        """The list register of a query (its elements, or ``elt`` of each), in the compiled
        engine's order: source, charge, filter, sort keys, stable sort, take, elements."""
        v = self.var(q.ref)
        if isinstance(elt, A.Name) and elt.ref is q.ref:
            elt = None
        keys = q.sort_keys()
        if len(keys) > 1:
            raise Unsupported("sorting by more than one key")
        sk = self.src_kind(q)
        direct = elt is not None and not keys and q.take is None
        ok = (_kind(list_of(elt_ty)) if elt_ty != ANY else "li") if direct else sk
        m = self.masked(q)
        if m is not None and not m[1] and direct:  # status filter only: then the elements
            return self.mapped(self.mask_op(m[0]), "li", v, elt, q, elt_ty)
        if m is not None and not m[1]:
            res = self.mask_op(m[0])
        else:
            mk = None  # a status filter still to apply (its terms and the others are total: any order)
            if m is not None:  # the other terms, then the element, per element (the compiled engine's order)
                mk, where = m
                get = ("branch", None) if mk[0] == NONE_REG else ("li", None)
            else:
                n, get = self.source(q)
                where = _and_terms(q.where) if q.where is not None else []
                if not where and direct and get[0] == "li" and sk == "li" \
                        and self.gathered(elt, q, ok, sk) is not None:
                    return self.mapped(get[1], "li", v, elt, q, elt_ty)
            filters = self.filters(where, q) if get[0] in ("branch", "li") and sk == "li" else None
            if filters:  # every term compares a branch attribute: one FILTER op per term
                res = NONE_REG if get[0] == "branch" else get[1]
                if mk is not None and mk[0] == NONE_REG:  # every branch: the first FILTER tests the status mask too
                    res = -2 - mk[1]
                elif mk is not None:
                    res = self.mask_op(mk)
                for other, code in filters:
                    src, res = res, self.reg("li")
                    self.op("FILTER", res, src, other, code)
                if direct:
                    return self.mapped(res, "li", v, elt, q, elt_ty)
            else:
                if mk is not None:
                    get = ("li", self.mask_op(mk))
                    n = self.reg("i")
                    self.op("LLEN", n, get[1])
                res = self.reg(ok)
                self.op("LALLOC", res, n, 1 if ok == "lf" else 0)
                _, lp = self.elements(n, get, v)
                skip = [j for t in where for j in self.jump_if(t, False)]
                val = self.coerce(elt, elt_ty) if direct else v
                self.op("PUSHF" if ok == "lf" else "PUSHI", res, val)
                self.close(lp, skip)
                if direct:
                    return res
        if keys:
            key, desc = keys[0]
            if key.ty not in (INT, FLOAT, BOOL):
                raise Unsupported(f"sorting by {key.ty}")
            kl = self.mapped(res, sk, v, key, q, key.ty)
            s = self.reg(sk)
            kk = "lf" if key.ty == FLOAT else "li"
            self.op("LSORT", s, res, kl, (1 if desc else 0) | (2 if kk == "lf" else 0) | (4 if sk == "lf" else 0))
            res = s
        if q.take is not None:
            t = self.ex(q.take)
            s = self.reg(sk)
            self.op("LTAKE", s, res, t)
            res = s
        if elt is None:
            return res
        return self.mapped(res, sk, v, elt, q, elt_ty)

    def x_Comprehension(self, e):
        el = e.ty.arg
        if el == ANY:
            raise Unsupported("a comprehension of unknown element type")
        return self.query(e.query, e.elt, el)

    def short_circuit(self, call) -> int:
        """``all``/``any`` over a comprehension whose parts cannot fail nor charge: its charge,
        then the elements up to the first decisive one."""
        c = call.args[0]
        q = c.query
        v = self.var(q.ref)
        want = call.func == "any"
        o = self.reg("i")
        n, get = self.source(q)
        t = self.status_table(c.elt, q) if get[0] == "branch" and q.where is None else None
        if t is not None and (t if want else tuple(not x for x in t)) in MASK_TABLES:
            # any(elt) (all(elt): not any(not elt)) where elt is a status mask: one op
            self.op("ANYM", o, n, MASK_TABLES[t if want else tuple(not x for x in t)], 0 if want else 1)
            return o
        self.op("MOVI", o, self.ci(0 if want else 1))
        _, lp = self.elements(n, get, v)
        skip = self.jump_if(q.where, False) if q.where is not None else []
        decisive = self.jump_if(c.elt, want)
        self.close(lp, skip)
        done = self.op("JMP", 0)
        self.patch(decisive)
        self.op("MOVI", o, self.ci(1 if want else 0))
        self.patch([done])
        return o

    def status_table(self, e, q):
        """``e``'s truth for the query's branch (finished, pruned) as in :data:`MASK_TABLES`
        when ``e`` combines only those two with and/or/not, else None."""
        if isinstance(e, A.Attr) and isinstance(e.obj, A.Name) and e.obj.ref is q.ref and e.name in ("finished", "pruned"):
            return tuple(f if e.name == "finished" else p for f in (False, True) for p in (False, True))
        if isinstance(e, A.Unary) and e.op == "not":
            t = self.status_table(e.operand, q)
            return None if t is None else tuple(not x for x in t)
        if isinstance(e, A.BoolOp) and e.op in ("and", "or"):
            l, r = self.status_table(e.left, q), self.status_table(e.right, q)
            if l is None or r is None:
                return None
            return tuple((x and y) if e.op == "and" else (x or y) for x, y in zip(l, r))
        return None

    # ------------------------------------------------------------ statements
    def block(self, stmts):
        for st in stmts:
            m = getattr(self, "s_" + type(st).__name__, None)
            if m is None:
                raise Unsupported(f"{type(st).__name__} statements")
            self.mark()
            m(st)

    def set_var(self, sym, ty, value):
        k, dest = _kind(sym.ty), self.var(sym)
        if sym in self.counted:  # the episode's memory budget (L013)
            r = self.coerce(value, ty)
            if r != dest:
                self.op("CELLSM", r, dest)  # CELLS, then MOVL
            else:
                self.op("CELLS", r, dest)
            return
        self.into(k, self.coerce(value, ty), dest)

    def s_Let(self, st):
        k = _kind(st.ref.ty)
        if k == "v" and isinstance(st.value, A.Call):  # the call's own fresh registers serve as the name's
            self.vars[st.ref] = ("v", self.ex(st.value))
            return
        if k == "v":
            r = self.ex(st.value)
            d = self.var(st.ref)
            for i in range(3):
                self.op("MOVI", d + i, r + i)
            return
        self.into(k, self.coerce(st.value, st.ref.ty), self.var(st.ref))

    def held(self, e) -> int:
        """``e``'s int register, copied when a later operand could change it (not a name: only
        statements assign names)."""
        r = self.ex(e)
        if isinstance(e, A.Name):
            return r
        h = self.reg("i")
        self.op("MOVI", h, r)
        return h

    def s_Assign(self, st):
        t = st.target
        if isinstance(t, A.Name):
            if _kind(t.ref.ty) == "v":
                raise Unsupported("assigning a votes record")
            self.set_var(t.ref, t.ref.ty, st.value)
            return
        if t.name not in self.bv:
            raise Unsupported(f"assigning branch attribute '{t.name}'")
        k, slot = self.bv[t.name]
        b = self.held(t.obj)
        ty = FLOAT if k == "f" else t.ty
        e = st.value
        if isinstance(e, A.IfExp) and (e.then.ty == e.orelse.ty or ty == FLOAT):
            # `b.x = y if c else z`: a store in each arm (no move into a temp first)
            j = self.jump_if(e.cond, False)
            self.store_bv(k, slot, b, ty, e.then)
            j2 = self.op("JMP", 0)
            self.patch(j)
            self.store_bv(k, slot, b, ty, e.orelse)
            self.patch([j2])
            return
        self.store_bv(k, slot, b, ty, e)

    def store_bv(self, k, slot, b, ty, e):
        """Branch var ``slot`` of the branch in register ``b`` := ``e``; `b.x + y` (`y + b.x`) with
        ``y`` an int that only reads: one op adding in place (BVINC)."""
        if k == "i" and isinstance(e, A.BinOp) and e.op == "+" and e.left.ty == INT and e.right.ty == INT:
            for me, y in ((e.left, e.right), (e.left, e.right)[::-1]):
                if isinstance(me, A.Attr) and me.name in self.bv and self.bv[me.name] == (k, slot) \
                        and isinstance(me.obj, A.Name) and me.obj.ty == BRANCH and self.ex(me.obj) == b \
                        and _simple(y):
                    self.op("BVINC", slot, b, self.ex(y))
                    return
        self.op("BVSI" if k == "i" else "BVSF", slot, b, self.coerce(e, ty))

    def s_If(self, st):
        ends = []
        for cond, body in st.arms:
            j = self.jump_if(cond, False)
            self.block(body)
            ends.append(self.op("JMP", 0))
            self.patch(j)
        if st.orelse is not None:
            self.block(st.orelse)
        self.patch(ends)

    def loop_body(self, lp, body):
        nexts, brk = [], []
        self.loops.append((nexts, brk))
        self.block(body)
        self.loops.pop()
        self.close(lp, nexts)
        self.patch(brk)

    def s_Repeat(self, st):
        if st.bound is not None:
            raise Unsupported("repeat with a run-time count (repeat N max M)")
        r = self.an.bounds[id(st)]
        var = self.var(st.ref) if st.ref is not None else -1
        _, lp = self.counter_loop(self.ci(r.stop), r.start, var=var, fuel=True)
        self.loop_body(lp, st.body)

    def s_For(self, st):
        q = st.query
        v = self.var(q.ref)
        plain = q.where is None and q.key is None and not q.then_by and q.take is None
        if plain and isinstance(q.source, A.Call) and q.source.func == "range":
            r = self.an.bounds[id(q.source)]
            _, lp = self.counter_loop(self.ci(r.stop), r.start, var=v, fuel=True)
            self.loop_body(lp, st.body)
            return
        if plain and _is_branches(q.source):
            n = self.reg("i")
            self.op("NOPEN", n)
            _, lp = self.counter_loop(n, var=v, fuel=True)
            self.loop_body(lp, st.body)
            return
        if plain:
            k = _kind(q.source.ty) if q.source.ty.arg != ANY else "li"
            if k not in ("li", "lf"):
                raise Unsupported(f"a for over {q.source.ty}")
            lst = self.reg(k)
            self.move(k, self.ex(q.source), lst)
        else:
            lst = self.query(q)
            k = self.src_kind(q)
        if k == "li":
            _, lp = self.counter_loop(None, var=v, fuel=True, lst=lst)
        else:
            n = self.reg("i")
            self.op("LLEN", n, lst)
            ctr, lp = self.counter_loop(n, fuel=True)
            self.op("LGETF", v, lst, ctr)
        self.loop_body(lp, st.body)

    def s_Break(self, st):
        self.loops[-1][1].append(self.op("JMP", 0))

    def s_Continue(self, st):
        self.loops[-1][0].append(self.op("JMP", 0))

    def s_Pass(self, st):
        pass

    def s_Trace(self, st):
        pass  # untraced code only

    def s_AnswerStmt(self, st):
        if st.value.ty != ANSWER:
            raise Unsupported(f"answering a {st.value.ty}")
        self.op("RET", self.ex(st.value))

    def init_new_branch(self, i_reg):
        for s, decl in zip(self.c.branch_vars, self.c.program.branch_vars):
            if decl.new_ref is not None:
                self.op("MOVI", self.var(decl.new_ref), i_reg)
                k, slot = self.bv[s.name]
                r = self.coerce(decl.value, FLOAT if k == "f" else s.ty)
                self.op("BVSI" if k == "i" else "BVSF", slot, i_reg, r)

    def s_Action(self, st):
        k = st.kind
        if k in ("open", "read"):  # field d = 1: the action is counted (and capped) by the op itself
            i = self.reg("i")
            j = self.op("OPEN" if k == "open" else "READ", i, 0, 0, 1)
            self.init_new_branch(i)
            if st.bind is not None:
                self.op("MOVI", self.var(st.ref), i)
        elif isinstance(st.target, A.Name):
            j = self.op("ADV" if k == "advance" else "PRUNE", self.ex(st.target), 0, 0, 1)
        else:
            self.op("ACT")
            j = self.op("ADV" if k == "advance" else "PRUNE", self.held(st.target), 0)
        self.block(st.then or [])
        end = self.op("JMP", 0)
        self.patch([j])
        self.block(st.on_exhausted or [])
        self.patch([end])

    # ------------------------------------------------------------ program
    def program(self):
        c = self.c
        self.mark()
        for s, decl in zip(c.branch_vars, c.program.branch_vars):
            k, slot = self.bv[s.name]
            if decl.new_ref is None:
                r = self.coerce(decl.value, FLOAT if k == "f" else s.ty)
                self.op("BVFILLI" if k == "i" else "BVFILLF", slot, r)
        for s, decl in zip(c.vars, c.program.vars):
            k = _kind(s.ty)
            if decl.value is None or k == "v":
                raise Unsupported(f"variables of type {s.ty}")
            self.mark()
            r = self.coerce(decl.value, s.ty)
            d = self.var(s)
            if s in self.counted:
                self.op("CELLS", r, NONE_REG)
                self.move(k, r, d)
            else:
                self.into(k, r, d)
        self.block(c.program.body)
        self.op("END")


def _thread(code: list) -> list:
    """Jumps to jumps go straight to the end of the chain; jumps to the next instruction and
    jumps no one reaches are dropped (the targets renumbered)."""
    jmp = OP["JMP"]

    def final(t):
        for _ in range(len(code)):
            if t < len(code) and code[t][0] == jmp:
                t = code[t][1]
            else:
                break
        return t

    for ins in code:
        f = TARGET.get(ins[0])
        if f is not None:
            ins[f] = final(ins[f])
    targets = {ins[TARGET[ins[0]]] for ins in code if ins[0] in TARGET}
    stops = {jmp, OP["RET"], OP["END"]}
    keep = []
    for pc, ins in enumerate(code):
        dead = pc > 0 and code[pc - 1][0] in stops and pc not in targets and keep and keep[-1] == pc - 1
        if (ins[0] == jmp and ins[1] == pc + 1) or (dead and ins[0] == jmp):
            continue
        keep.append(pc)
    new = {}
    j = 0
    for pc in range(len(code) + 1):
        new[pc] = j
        if j < len(keep) and keep[j] == pc:
            j += 1
    out = []
    for pc in keep:
        ins = list(code[pc])
        f = TARGET.get(ins[0])
        if f is not None:
            ins[f] = new[ins[f]]
        out.append(ins)
    return out


def compile_bytecode(checked: CheckedProgram, binding: Binding, limits: Limits) -> Bytecode:
    """The bytecode of ``checked`` for ``binding``; raises :class:`Unsupported` with the reason."""
    import numpy as np

    an = analyze(checked, binding, limits, False)
    if an.diags:
        raise Unsupported("the analysis reported problems")
    g = _Compiler(checked, an, binding)
    g.program()
    code = g.code
    while True:
        shorter = _thread(code)
        if len(shorter) == len(code):
            break
        code = shorter
    targets = {ins[TARGET[ins[0]]] for ins in code if ins[0] in TARGET}
    for pc in range(len(code) - 1):  # `a and x != y` (jump when either is false): one op when nothing lands between
        if code[pc][0] == OP["JZ"] and code[pc + 1][0] == OP["JEQI"] and code[pc + 1][3] == code[pc][2] \
                and pc + 1 not in targets:
            code[pc] = [OP["JZEQ"], code[pc][1], code[pc + 1][1], code[pc][2], code[pc + 1][2]]
    for pc in range(len(code) - 1):  # a branch-var store and the jump after it: one op (d: the target + 1)
        if code[pc][0] in (OP["BVSI"], OP["BVINC"]) and code[pc + 1][0] == OP["JMP"] and pc + 1 not in targets:
            code[pc][4] = code[pc + 1][1] + 1
    adv, nxt, forlf = OP["ADV"], OP["NEXTLF"], OP["FORLF"]
    for pc in range(len(code) - 1):  # an advance going on to a loop's bottom test: both in one dispatch
        if code[pc][0] == adv and code[pc][2] == pc + 1 and code[pc + 1][0] == nxt:
            code[pc][0] = OP["ADVN"]
    for pc in range(len(code) - 2):  # `for b in xs { advance b }`: the whole loop in one (ADVL reads ADVN's d)
        ctr, lst, out, var = code[pc][1:]
        if code[pc][0] == forlf and out == pc + 3 and code[pc + 1][:2] == [OP["ADVN"], var] \
                and code[pc + 2] == [nxt, ctr, lst, pc + 1, var]:
            code[pc][0] = OP["ADVL"]
    code = np.array(code, np.int64).reshape(-1, 5)
    i0 = np.zeros(max(1, g.ni), np.int64)
    for r, v in g.i0.items():
        i0[r] = v
    f0 = np.zeros(max(1, g.nf), np.float64)
    for r, v in g.f0.items():
        f0[r] = v
    return Bytecode(code, i0, f0, max(1, g.nl), max(1, g.nbv_i), max(1, g.nbv_f))
