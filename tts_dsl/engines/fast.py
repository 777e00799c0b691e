"""Checked program -> native episode code (numba), for the subset of the language the
shipped baselines' hot paths use; the compiled Python engine for everything else.

The generator emits typed Python for numba's ``njit`` from the checked AST only (minted
identifiers, ``repr`` literals, the same rule as :mod:`.python`). Params and the analysis'
constant bounds are run-time arguments, so the generated source depends on the program's
structure only: one compilation serves every beta. The compiled code is cached in-process
(by source) and on disk (numba's ``cache=True`` on the source written under the user cache
directory: ``fast/`` under ``$TTS_DSL_CACHE``, else ``$XDG_CACHE_HOME/tts-dsl`` or
``~/.cache/tts-dsl``).

Exactness: native code only runs the common path. Anything it cannot do exactly (an int
beyond 2**62, an index out of range, a division by zero, a beta_confidence count beyond its
table, a NaN sort key, a list beyond ``max_list_len`` or the episode memory budget
``max_episode_cells``, more than :data:`WORK_CAP` list elements touched outside fuel-metered
loops) makes the episode *bail*; the runner then runs that episode on the compiled Python
engine, which gives the answer, cost, or the runtime diagnostic (and whose wall-clock alarm
bounds it). ``beta_confidence`` reads a table filled lazily by the exact Python
implementation. Answers are the store's interned ids, ``none`` is -1.

Supported: statements let/assign/if/repeat/for (over ranges, lists and queries: filtered,
sorted by one key, taken)/actions (also as conditions)/answer/break/continue/pass; values of
type int, float, bool, answer, branch, votes and lists of int/float/bool/answer/branch (numpy
arrays); comprehensions; built-ins len, votes, majority, beta_confidence, min, max, abs, sum,
mean, count, all, any, round (one argument), floor, ceil, int, float, range. Queries are
lowered to loops in the compiled engine's order (source, the analysis' step charge, filter,
sort keys, stable sort, take, elements), and an operand holding a query runs only where
Python evaluates it (short-circuit ``and``/``or``, conditionals, ``all``/``any``). Anything
else: the reason is reported (``check``: ``engine: python (reason)``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
from pathlib import Path

from ..lang import ast as A
from ..lang.checker import CheckedProgram, SymbolKind
from ..lang.limits import Limits
from ..lang.schedule import Binding
from ..lang.types import ANSWER, ANY, BOOL, BRANCH, FLOAT, INT, RECORDS, VOTES, list_of
from .analysis import _walk_exprs, analyze

ATTRS = {"steps": "_st", "latest": "_lat", "finished": "_fin", "pruned": "_pr", "cost": "_cb"}
STATE = {"opened": "_n", "remaining": "(NB - _n)", "exhausted": "(_n >= NB)", "spent": "_spent",
         "interval_tokens": "PF"}
SCALAR = (INT, FLOAT, BOOL, ANSWER)
LIMIT = 1 << 62
WORK_CAP = 20_000_000  # list elements touched per episode outside fuel-metered loops, then a bail


class Unsupported(Exception):
    """The fast engine cannot take this program; the message is the reason."""


def available() -> str | None:
    """None if numba can be imported, else the reason it cannot."""
    if os.environ.get("TTS_DSL_ENGINE", "").lower() == "python":
        return "TTS_DSL_ENGINE=python"
    try:
        import numba  # noqa: F401
    except ImportError:
        return "numba is not installed (pip install 'tts-dsl[fast]')"
    return None


def _is_list_of_answers(t) -> bool:
    return t.is_list and t.arg == ANSWER


DTYPES = {INT: "np.int64", ANSWER: "np.int64", BRANCH: "np.int64", ANY: "np.int64", FLOAT: "np.float64",
          BOOL: "np.bool_"}


def _dtype(t) -> str | None:
    """The numpy dtype of a list type's array, None for types the engine does not take."""
    return DTYPES.get(t.arg) if t.is_list else None


def _supported(t):
    if t not in SCALAR and t not in (BRANCH, VOTES) and _dtype(t) is None:
        raise Unsupported(f"variables of type {t}")


def _completed_votes(e) -> bool:
    return isinstance(e, A.Call) and e.func in ("votes", "majority") and isinstance(e.args[0], A.Name) \
        and e.args[0].id == "completed" and e.args[0].ref is not None and e.args[0].ref.kind == SymbolKind.STATE


def _is_literal(code: str) -> bool:
    try:
        float(code)
        return True
    except ValueError:
        return code in ("True", "False")


class _Gen:
    def __init__(self, checked: CheckedProgram, an):
        self.c = checked
        self.an = an
        self.lines: list[str] = []
        self.d = 0  # depth of the statement being generated: an expression's own statements go there
        self.ntmp = 0
        self.params: dict[str, str] = {}  # param name -> its run-time slot
        self.bounds: list = []  # the analysis' ranges, in slot order
        self.bslot: dict = {}
        self.bvars = {s.name: (f"_b{s.uid}", s.ty) for s in checked.branch_vars}
        self.counted = {s for s in checked.vars if s.ty.is_list}  # list vars: the episode's memory budget
        self.stmty_memo: dict = {}
        for s in checked.branch_vars:
            if s.ty not in SCALAR:
                raise Unsupported(f"branch var '{s.name}' of type {s.ty}")
        if checked.funcs:
            raise Unsupported("user functions (def)")

    def emit(self, d, text):
        self.lines.append("    " * d + text)

    def tmp(self, stem="_t") -> str:
        self.ntmp += 1
        return f"{stem}{self.ntmp}"

    def bound(self, node) -> str:
        """Slot of the analysis' constant range for ``node`` (start, stop, step)."""
        k = id(node)
        if k not in self.bslot:
            self.bslot[k] = len(self.bounds)
            self.bounds.append(node)
        i = 3 * self.bslot[k]
        return f"RB[{i}], RB[{i + 1}], RB[{i + 2}]"

    def stmty(self, e) -> bool:
        """``e`` needs statements (a comprehension: a loop, its step charge; the memoised
        votes of ``completed``)."""
        if e is None:
            return False
        k = id(e)
        if k not in self.stmty_memo:
            self.stmty_memo[k] = any(isinstance(n, A.Comprehension) or _completed_votes(n) for n in _walk_exprs(e))
        return self.stmty_memo[k]

    def w(self, code: str) -> str:
        """The list ``code`` with its length charged to the episode's work counter: list work
        inside one step is not metered by fuel, so native code bails beyond a cap (the Python
        engine then runs the episode, under the wall-clock alarm)."""
        return f"_r_w({code}, W, LIMS)"

    def hold(self, value: str) -> str:
        """``value`` evaluated now, into a fresh local."""
        if value.isidentifier() or _is_literal(value):
            return value
        t = self.tmp()
        self.emit(self.d, f"{t} = {value}")
        return t

    def operands(self, es) -> list:
        """The code of ``es`` in order: when a later one runs statements (a comprehension), the
        earlier ones are evaluated first into locals, as Python evaluates left to right."""
        out = []
        for i, x in enumerate(es):
            v = self.ex(x)
            if any(self.stmty(y) for y in es[i + 1:]):
                v = self.hold(v)
            out.append(v)
        return out

    # ------------------------------------------------------------ expressions
    def ex(self, e) -> str:
        m = getattr(self, "x_" + type(e).__name__, None)
        if m is None:
            raise Unsupported(f"{type(e).__name__} expressions")
        return m(e)

    def coerce(self, e, ty) -> str:
        """``e``'s code as a value of type ``ty`` (an int where a float is expected, an empty or
        int list where a float list is)."""
        if ty == FLOAT and e.ty == INT:
            return f"float({self.ex(e)})"
        if ty.is_list and _dtype(ty) is None:
            raise Unsupported(f"values of type {ty}")
        if ty.is_list and isinstance(e, A.ListLit):
            return self.x_ListLit(e, ty.arg)
        if ty.is_list and isinstance(e, A.IfExp):
            return self.x_IfExp(e, ty)
        if ty.is_list and isinstance(e, A.BinOp):
            return self.x_BinOp(e, ty)
        v = self.ex(e)
        if ty.is_list and e.ty.is_list and e.ty.arg != ty.arg:
            if e.ty.arg == ANY:
                return f"np.empty(0, {_dtype(ty)})"
            if ty.arg == FLOAT and e.ty.arg == INT:
                return f"{self.w(v)}.astype(np.float64)"
            raise Unsupported(f"a {e.ty} used as a {ty}")
        return v

    def x_Num(self, e):
        if isinstance(e.value, float) and not math.isfinite(e.value):
            raise Unsupported("a non-finite literal")
        if isinstance(e.value, int) and abs(e.value) > LIMIT:
            raise Unsupported("an int literal beyond 2**62")
        return repr(e.value)

    def x_Bool(self, e):
        return "True" if e.value else "False"

    def x_NoneLit(self, e):
        return "-1"

    def x_Name(self, e):
        s = e.ref
        if s.kind == SymbolKind.STATE:
            if e.id == "completed":
                return "COMP[:_nc]"
            if e.id == "branches":
                return self.w("np.arange(_n)")
            if e.id in STATE:
                return STATE[e.id]
            raise Unsupported(f"'{e.id}' as a value")
        if s.kind == SymbolKind.PARAM:
            if e.id not in self.params:
                self.params[e.id] = str(s.ty)
            i = list(self.params).index(e.id)
            return f"PV[{i}]" if s.ty == FLOAT else f"PI[{i}]"
        _supported(s.ty)
        return f"_x{s.uid}"

    def x_Attr(self, e):
        ot = e.obj.ty
        o = self.ex(e.obj)
        if ot == VOTES:
            return f"{o}[{RECORDS[ot][e.name][0]}]"
        if ot != BRANCH:
            raise Unsupported(f"attributes of {ot}")
        if e.name == "index":
            return o
        if e.name in ATTRS:
            return f"{ATTRS[e.name]}[{o}]"
        if e.name in self.bvars:
            return f"{self.bvars[e.name][0]}[{o}]"
        raise Unsupported(f"branch attribute '{e.name}'")

    def x_Index(self, e):
        if _dtype(e.obj.ty) is None:
            raise Unsupported(f"indexing {e.obj.ty}")
        o, i = self.operands([e.obj, e.index])
        return f"_r_at({o}, {i})"

    def x_Slice(self, e):
        if _dtype(e.obj.ty) is None:
            raise Unsupported(f"slicing {e.obj.ty}")
        parts = self.operands([x for x in (e.obj, e.lo, e.hi) if x is not None])
        o = parts.pop(0)
        lo = parts.pop(0) if e.lo is not None else ""
        hi = parts.pop(0) if e.hi is not None else ""
        return f"{o}[{lo}:{hi}]"

    def x_ListLit(self, e, el=None):
        el = e.ty.arg if el is None or el == ANY else el
        if el == ANY:
            el = INT  # an empty list nothing types: any element type serves
        dt = _dtype(list_of(el))
        if dt is None:
            raise Unsupported(f"lists of {el}")
        if not e.items:
            return f"np.empty(0, {dt})"
        items = self.operands(e.items)
        items = [f"float({v})" if el == FLOAT and x.ty == INT else v for v, x in zip(items, e.items)]
        return f"np.array(({', '.join(items)},), {dt})"

    def x_Call(self, e):
        f = e.func
        args = e.args
        if f == "len":
            a = args[0]
            if isinstance(a, A.Name) and a.id == "branches" and a.ref.kind == SymbolKind.STATE:
                return "_n"
            if _dtype(a.ty) is not None:
                return f"len({self.ex(a)})"
        elif _completed_votes(e):  # memoised on len(completed), which only grows (as the Python engine)
            self.emit(self.d, "if _vcn != _nc:")
            self.emit(self.d + 1, f"_vc = _r_votes({self.w('COMP[:_nc]')}, CNT)")
            self.emit(self.d + 1, "_vcn = _nc")
            return "_vc" if f == "votes" else "_vc[0]"
        elif f in ("votes", "majority") and _is_list_of_answers(args[0].ty):
            v = f"_r_votes({self.w(self.ex(args[0]))}, CNT)"
            return v if f == "votes" else f"{v}[0]"
        elif f == "beta_confidence" and all(a.ty == INT for a in args):
            a, b = self.operands(args)
            return f"_r_bc({a}, {b}, BC, NEED)"
        elif f in ("min", "max") and len(args) >= 2 and all(a.ty == args[0].ty for a in args) \
                and args[0].ty in (INT, FLOAT):
            vs = self.operands(args)  # Python's: the first of equal values
            out = vs[0]
            for v in vs[1:]:
                out = f"_r_{f}({out}, {v})"
            return out
        elif f in ("min", "max") and len(args) == 1 and args[0].ty.is_list and args[0].ty.arg in (INT, FLOAT, ANY):
            return f"_r_{f}l({self.w(self.ex(args[0]))})"
        elif f == "abs" and args[0].ty in (INT, FLOAT):
            return f"_r_int(abs({self.ex(args[0])}))" if args[0].ty == INT else f"abs({self.ex(args[0])})"
        elif f in ("all", "any") and args[0].ty.is_list and args[0].ty.arg in (BOOL, ANY):
            if id(e) in self.an.short_circuit:
                return self.short_circuit(e)
            return f"_r_{f}({self.w(self.coerce(args[0], list_of(BOOL)))})"
        elif f in ("sum", "mean") and args[0].ty.is_list and args[0].ty.arg in (INT, BOOL, FLOAT, ANY) \
                and (args[0].ty.arg != FLOAT or sys.version_info < (3, 12)):  # 3.12 sums floats compensated
            return f"_r_{f}{'f' if args[0].ty.arg == FLOAT else 'i'}({self.w(self.ex(args[0]))})"
        elif f == "count" and args[0].ty.is_list and args[0].ty.arg in (INT, ANSWER, BOOL) \
                and args[1].ty == args[0].ty.arg:
            xs, x = self.operands(args)
            return f"_r_count({self.w(xs)}, {x})"
        elif f == "float" and args[0].ty in (INT, FLOAT):
            return f"float({self.ex(args[0])})"
        elif f == "round" and len(args) == 1 and args[0].ty in (INT, FLOAT):
            return self.ex(args[0]) if args[0].ty == INT else f"_r_round({self.ex(args[0])})"
        elif f in ("floor", "ceil", "int") and args[0].ty in (INT, FLOAT):
            fn = {"floor": "_r_floor", "ceil": "_r_ceil", "int": "_r_trunc"}[f]
            return self.ex(args[0]) if args[0].ty == INT else f"{fn}({self.ex(args[0])})"
        elif f == "range" and id(e) in self.an.bounds:
            lo, hi, _ = self.bound(e).split(", ")
            return self.w(f"np.arange({lo}, {hi})")
        raise Unsupported(f"the call {f}(...) here")

    def x_BinOp(self, e, ty=None):
        if e.op == "+" and e.ty.is_list:
            ty = ty if ty is not None and ty.arg != ANY else e.ty
            if ty.arg == ANY:
                ty = list_of(INT)
            if self.stmty(e.right):
                a = self.hold(self.coerce(e.left, ty))
            else:
                a = self.coerce(e.left, ty)
            return self.w(f"_r_cat({a}, {self.coerce(e.right, ty)}, LIMS[0])")
        if e.left.ty not in (INT, FLOAT) or e.right.ty not in (INT, FLOAT):
            raise Unsupported(f"'{e.op}' on {e.left.ty} and {e.right.ty}")
        a, b = self.operands([e.left, e.right])
        if e.left.ty == INT and e.right.ty == INT:
            if e.op == "*":
                return f"_r_mul({a}, {b})"
            if e.op in "+-":
                return f"_r_int({a} {e.op} {b})"
        return f"({a} {e.op} {b})"

    def x_Compare(self, e):
        lt, rt = e.left.ty, e.right.ty
        if e.op in ("in", "not in"):
            if not (rt.is_list and rt.arg in (INT, ANSWER, BOOL, BRANCH) and (lt == rt.arg or {lt, rt.arg} <= {INT, BOOL})):
                raise Unsupported(f"'{e.op}' on {lt} and {rt}")
            a, b = self.operands([e.left, e.right])
            return f"({'not ' if e.op == 'not in' else ''}_r_in({a}, {self.w(b)}))"
        if {lt, rt} == {INT, FLOAT}:  # Python compares int and float exactly: only |int| <= 2**53 here
            a, b = self.operands([e.left, e.right])
            a, b = (f"_r_f53({a})", b) if lt == INT else (a, f"_r_f53({b})")
        elif lt != rt and not (lt in (INT, BOOL) and rt in (INT, BOOL)):
            raise Unsupported(f"comparing {lt} with {rt}")
        elif lt not in SCALAR and lt != BRANCH:
            raise Unsupported(f"comparing {lt} values")
        else:
            a, b = self.operands([e.left, e.right])
        return f"({a} {e.op} {b})"

    def x_BoolOp(self, e):
        if e.left.ty != BOOL or e.right.ty != BOOL:
            raise Unsupported(f"'{e.op}' on non-bool operands")
        if not self.stmty(e.right):
            return f"({self.ex(e.left)} {e.op} {self.ex(e.right)})"
        t = self.tmp()  # the right operand runs statements: only when Python would evaluate it
        self.emit(self.d, f"{t} = {self.ex(e.left)}")
        self.emit(self.d, f"if {'' if e.op == 'and' else 'not '}{t}:")
        self.d += 1
        self.emit(self.d, f"{t} = {self.ex(e.right)}")
        self.d -= 1
        return t

    def x_Unary(self, e):
        if e.op == "not":
            if e.operand.ty != BOOL:
                raise Unsupported("'not' on a non-bool")
            return f"(not {self.ex(e.operand)})"
        if e.operand.ty not in (INT, FLOAT):
            raise Unsupported(f"unary '{e.op}' on {e.operand.ty}")
        return f"({e.op}{self.ex(e.operand)})"

    def x_IfExp(self, e, ty=None):
        ty = ty or e.ty
        if ty.is_list and ty.arg == ANY:
            ty = list_of(INT)
        if ty not in SCALAR and ty != BRANCH and _dtype(ty) is None:
            raise Unsupported(f"a conditional expression of type {ty}")
        if e.then.ty != e.orelse.ty and not ty.is_list and ty != FLOAT:
            raise Unsupported("a conditional expression mixing types")
        if not (self.stmty(e.then) or self.stmty(e.orelse)):
            return f"({self.coerce(e.then, ty)} if {self.ex(e.cond)} else {self.coerce(e.orelse, ty)})"
        t = self.tmp()
        self.emit(self.d, f"if {self.ex(e.cond)}:")
        self.d += 1
        self.emit(self.d, f"{t} = {self.coerce(e.then, ty)}")
        self.d -= 1
        self.emit(self.d, "else:")
        self.d += 1
        self.emit(self.d, f"{t} = {self.coerce(e.orelse, ty)}")
        self.d -= 1
        return t

    # ------------------------------------------------------------- queries
    def source(self, q):
        """(length, element code for index IX) of a query's source, evaluated now, its step
        charge after it (the analysis says which queries charge)."""
        src = q.source
        if isinstance(src, A.Name) and src.ref.kind == SymbolKind.STATE and src.id == "branches":
            n, get = "_n", "{}"
        elif isinstance(src, A.Call) and src.func == "range":
            lo, hi, _ = self.bound(src).split(", ")
            n, get = self.hold(f"max(0, {hi} - {lo})"), f"{lo} + {{}}"
        else:
            if _dtype(src.ty) is None:
                raise Unsupported(f"a query over {src.ty}")
            s = self.hold(self.ex(src))
            n, get = f"len({s})", f"{s}[{{}}]"
        if id(q) in self.an.charged:
            self.emit(self.d, f"_fuel -= {n}")
            self.emit(self.d, "if _fuel < 0: return (-1, _spent, 2)")
        return n, get

    def elem_dtype(self, q):
        src = q.source
        if isinstance(src, A.Call) and src.func == "range":
            return "np.int64"
        if isinstance(src, A.Name) and src.ref.kind == SymbolKind.STATE and src.id == "branches":
            return "np.int64"
        return _dtype(src.ty)

    def query(self, q, elt=None, elt_ty=None) -> str:
        """The code of a query's list (its elements, or ``elt`` of each): the source, the step
        charge, the filter, the sort (stable; ``desc`` as Python's ``reverse=True``), ``take``,
        then the elements -- in the compiled engine's order. Returns the local holding it."""
        v = f"_x{q.ref.uid}"
        if isinstance(elt, A.Name) and elt.ref is q.ref:
            elt = None
        keys = q.sort_keys()
        if len(keys) > 1:
            raise Unsupported("sorting by more than one key")
        n, get = self.source(q)
        d = self.d
        ix = self.tmp("_ix")
        out, m = self.tmp("_o"), self.tmp("_m")
        if elt is not None and not keys and q.take is None:
            dt = _dtype(list_of(elt_ty))
            if dt is None:
                raise Unsupported(f"lists of {elt_ty}")
        else:
            dt = self.elem_dtype(q)
        self.emit(d, f"{out} = np.empty({n}, {dt})")
        self.emit(d, f"{m} = 0")
        self.emit(d, f"for {ix} in range({n}):")
        self.d = d + 1
        self.emit(self.d, f"{v} = {get.format(ix)}")
        if q.where is not None:
            self.emit(self.d, f"if {self.ex(q.where)}:")
            self.d += 1
        val = v if (elt is None or keys or q.take is not None) else self.coerce(elt, elt_ty)
        self.emit(self.d, f"{out}[{m}] = {val}")
        self.emit(self.d, f"{m} += 1")
        self.d = d
        res = self.tmp("_l")
        self.emit(d, f"{res} = {out}[:{m}]")
        if elt is not None and not keys and q.take is None:
            return res
        if keys:
            key, desc = keys[0]
            if key.ty not in (INT, FLOAT, BOOL):
                raise Unsupported(f"sorting by {key.ty}")
            kt = self.tmp("_k")
            self.per_element(d, kt, "np.float64" if key.ty == FLOAT else "np.int64", res, v, ix,
                             lambda: f"int({self.ex(key)})" if key.ty == BOOL else self.ex(key))
            sres = self.tmp("_l")
            self.emit(d, f"{sres} = {res}[_r_order{'f' if key.ty == FLOAT else 'i'}({self.w(kt)}, {desc})]")
            res = sres
        if q.take is not None:
            tk = self.ex(q.take)
            tres = self.tmp("_l")
            self.emit(d, f"{tres} = {res}[:max(0, {tk})]")
            res = tres
        if elt is None:
            return res
        dt = _dtype(list_of(elt_ty))
        if dt is None:
            raise Unsupported(f"lists of {elt_ty}")
        out = self.tmp("_o")
        self.per_element(d, out, dt, res, v, ix, lambda: self.coerce(elt, elt_ty))
        return out

    def per_element(self, d, dst, dtype, src, v, ix, value):
        """``dst``: a new array of ``dtype``, one ``value()`` per element of ``src`` (the
        value's code is generated inside the loop, ``v`` bound to the element)."""
        self.emit(d, f"{dst} = np.empty(len({src}), {dtype})")
        self.emit(d, f"for {ix} in range(len({src})):")
        self.d = d + 1
        self.emit(self.d, f"{v} = {src}[{ix}]")
        self.emit(self.d, f"{dst}[{ix}] = {value()}")
        self.d = d

    def x_Comprehension(self, e):
        el = e.ty.arg
        return self.query(e.query, e.elt, el)

    def short_circuit(self, call) -> str:
        """``all``/``any`` over a comprehension whose parts cannot fail nor charge: its charge,
        then the elements up to the first decisive one (as the compiled engine's generator)."""
        c = call.args[0]
        q = c.query
        v = f"_x{q.ref.uid}"
        want = call.func == "any"
        t = self.tmp()
        n, get = self.source(q)
        d = self.d
        ix = self.tmp("_ix")
        self.emit(d, f"{t} = {not want}")
        self.emit(d, f"for {ix} in range({n}):")
        self.d = d + 1
        self.emit(self.d, f"{v} = {get.format(ix)}")
        cond = self.ex(q.where) if q.where is not None else None
        el = self.ex(c.elt)
        self.emit(self.d, f"if {cond + ' and ' if cond else ''}{'' if want else 'not '}{el}:")
        self.emit(self.d + 1, f"{t} = {want}")
        self.emit(self.d + 1, "break")
        self.d = d
        return t

    # ------------------------------------------------------------- statements
    def block(self, stmts, d):
        n0 = len(self.lines)
        for st in stmts:
            m = getattr(self, "s_" + type(st).__name__, None)
            if m is None:
                raise Unsupported(f"{type(st).__name__} statements")
            self.d = d
            m(st, d)
        if len(self.lines) == n0:
            self.emit(d, "pass")

    def typed(self, ty, e) -> str:
        return self.coerce(e, ty)

    def set_var(self, sym, value: str, d):
        """``_x = value``; a list var's length counts toward the episode's memory budget."""
        if sym in self.counted:
            t = self.hold(value)
            self.emit(d, f"_cells += len({t}) - len(_x{sym.uid})")
            self.emit(d, "if _cells > LIMS[1]: _r_bail()")
            value = t
        self.emit(d, f"_x{sym.uid} = {value}")

    def s_Let(self, st, d):
        _supported(st.ref.ty)
        self.emit(d, f"_x{st.ref.uid} = {self.typed(st.ref.ty, st.value)}")

    def s_Assign(self, st, d):
        t = st.target
        if isinstance(t, A.Name):
            self.set_var(t.ref, self.typed(t.ref.ty, st.value), d)
        else:
            name, ty = self.bvars[t.name]
            if self.stmty(st.value):
                o = self.hold(self.ex(t.obj))
            else:
                o = self.ex(t.obj)
            self.emit(d, f"{name}[{o}] = {self.typed(ty, st.value)}")

    def s_If(self, st, d):
        self.arms(st.arms, st.orelse, d)

    def arms(self, arms, orelse, d):
        for i, (cond, body) in enumerate(arms):
            if i > 0 and self.stmty(cond):  # the condition runs statements: nest it in the else
                self.emit(d, "else:")
                self.d = d + 1
                self.arms(arms[i:], orelse, d + 1)
                return
            self.d = d
            self.emit(d, f"{'if' if i == 0 else 'elif'} {self.ex(cond)}:")
            self.block(body, d + 1)
        if orelse is not None:
            self.emit(d, "else:")
            self.block(orelse, d + 1)

    def loop(self, d, head, body, pre=None):
        self.emit(d, head)
        if pre:
            self.emit(d + 1, pre)
        self.emit(d + 1, "_fuel -= 1")
        self.emit(d + 1, "if _fuel < 0: return (-1, _spent, 2)")
        self.block(body, d + 1)

    def s_Repeat(self, st, d):
        if st.bound is not None:
            raise Unsupported("repeat with a run-time count (repeat N max M)")
        self.loop(d, f"for {f'_x{st.ref.uid}' if st.ref is not None else '_'} in range({self.bound(st)}):", st.body)

    def s_For(self, st, d):
        q = st.query
        v = f"_x{q.ref.uid}"
        plain = q.where is None and q.key is None and not q.then_by and q.take is None
        if plain and isinstance(q.source, A.Call) and q.source.func == "range":
            self.loop(d, f"for {v} in range({self.bound(q.source)}):", st.body)
            return
        if plain and isinstance(q.source, A.Name) and q.source.ref.kind == SymbolKind.STATE \
                and q.source.id == "branches":
            self.loop(d, f"for {v} in range(_n):", st.body)
            return
        if plain:
            if _dtype(q.source.ty) is None:
                raise Unsupported(f"a for over {q.source.ty}")
            lst = self.hold(self.ex(q.source))
        else:
            lst = self.query(q)
        ix = self.tmp("_ix")
        self.loop(d, f"for {ix} in range(len({lst})):", st.body, pre=f"{v} = {lst}[{ix}]")

    def explore(self, d, iv):
        e = self.emit
        e(d, f"_j = ORDER[{iv}]")
        e(d, f"_kk = _k[{iv}]")
        e(d, "if _kk < NPROBES[_j]:")
        e(d + 1, f"_lat[{iv}] = PROBES[POFF[_j] + _kk]")
        e(d + 1, f"_k[{iv}] = _kk + 1")
        e(d + 1, f"_cb[{iv}] += PF")
        e(d + 1, "_spent += PF")
        e(d, "else:")
        e(d + 1, "_a = FINAL[_j]")
        e(d + 1, "_c = TOK[_j] - _kk * PF")
        e(d + 1, "if _c > 0:")
        e(d + 2, "_spent += _c")
        e(d + 2, f"_cb[{iv}] += _c")
        e(d + 1, f"_fin[{iv}] = True")
        e(d + 1, "COMP[_nc] = _a")
        e(d + 1, "_nc += 1")
        e(d + 1, f"_lat[{iv}] = _a")
        e(d, f"_st[{iv}] += 1")

    def otherwise(self, st, d):
        self.block(st.on_exhausted or [], d)

    def init_new_branch(self, d):
        """Branch vars whose initial value reads the new branch (``new``), for branch ``_i``."""
        for s, decl in zip(self.c.branch_vars, self.c.program.branch_vars):
            if decl.new_ref is not None:
                self.emit(d, f"_x{decl.new_ref.uid} = _i")
                self.d = d
                self.emit(d, f"{self.bvars[s.name][0]}[_i] = {self.typed(s.ty, decl.value)}")

    def s_Action(self, st, d):
        e = self.emit
        e(d, "_acts += 1")
        e(d, "if _acts > CAP: return (-1, _spent, 1)")
        k = st.kind
        if k in ("open", "read"):
            e(d, "if _n >= NB:")
            self.otherwise(st, d + 1)
            e(d, "else:")
            e(d + 1, "_i = _n")
            e(d + 1, "_n += 1")
            if k == "open":
                self.explore(d + 1, "_i")
            else:
                for line in ("_j = ORDER[_i]", "_a = FINAL[_j]", "_c = TOK[_j]", "_fin[_i] = True",
                             "_lat[_i] = _a", "_cb[_i] = _c", "_st[_i] += 1", "_spent += _c",
                             "COMP[_nc] = _a", "_nc += 1"):
                    e(d + 1, line)
            self.init_new_branch(d + 1)
            if st.bind is not None:
                e(d + 1, f"_x{st.ref.uid} = _i")
            self.block(st.then or [], d + 1)
            return
        e(d, f"_i = {self.ex(st.target)}")
        if k == "advance":
            e(d, "if _fin[_i] or _pr[_i]:")
            self.otherwise(st, d + 1)
            e(d, "else:")
            self.explore(d + 1, "_i")
        else:  # prune
            e(d, "if _pr[_i]:")
            self.otherwise(st, d + 1)
            e(d, "else:")
            e(d + 1, "_pr[_i] = True")
        self.block(st.then or [], d + 1)

    def s_AnswerStmt(self, st, d):
        if st.value.ty != ANSWER:
            raise Unsupported(f"answering a {st.value.ty}")
        self.emit(d, f"return ({self.ex(st.value)}, _spent, 0)")

    def s_Break(self, st, d):
        self.emit(d, "break")

    def s_Continue(self, st, d):
        self.emit(d, "continue")

    def s_Pass(self, st, d):
        self.emit(d, "pass")

    def s_Trace(self, st, d):
        pass  # untraced code only

    # ---------------------------------------------------------------- program
    def program(self) -> str:
        c = self.c
        e = self.emit
        e(0, "@njit(cache=True, nogil=True)")
        e(0, "def _episode(PROBES, POFF, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, PI, PV, RB, BC, NEED, CNT,")
        e(0, "             _k, _cb, _st, _fin, _pr, _lat, COMP, BVI, BVF, BVB, LIMS, W):")
        d = 1
        e(d, "_n = 0; _spent = 0; _acts = 0; _nc = 0; _i = 0; _j = 0; _kk = 0; _a = 0; _c = 0; _cells = 0")
        e(d, "_fuel = FUEL")
        e(d, "W[0] = 0")
        if any(_completed_votes(n) for n in A.walk(c.program)):
            e(d, "_vcn = -1; _vc = _r_votes(COMP[:0], CNT)")
        e(d, "_k[:NB] = 0; _cb[:NB] = 0; _st[:NB] = 0; _fin[:NB] = False; _pr[:NB] = False; _lat[:NB] = -1")
        slots = {"BVI": 0, "BVF": 0, "BVB": 0}
        for s, decl in zip(c.branch_vars, c.program.branch_vars):
            name, ty = self.bvars[s.name]
            arr = {FLOAT: "BVF", BOOL: "BVB"}.get(ty, "BVI")
            e(d, f"{name} = {arr}[{slots[arr]}, :NB]")
            slots[arr] += 1
            if decl.new_ref is None:
                self.d = d
                e(d, f"{name}[:] = {self.typed(ty, decl.value)}")
        for s, decl in zip(c.vars, c.program.vars):
            _supported(s.ty)
            if decl.value is None:
                raise Unsupported(f"variables of type {s.ty}")
            self.d = d
            e(d, f"_x{s.uid} = {self.typed(s.ty, decl.value)}")
            if s in self.counted:
                e(d, f"_cells += len(_x{s.uid})")
                e(d, "if _cells > LIMS[1]: _r_bail()")
        self.block(c.program.body, d)
        e(d, "return (-1, _spent, 3)")
        return "\n".join(self.lines) + "\n"


PRELUDE = '''\
# generated by tts_dsl.engines.fast from a checked program; do not edit
import numpy as np
from numba import njit

from tts_dsl.engines.native import (_r_all, _r_any, _r_at, _r_bail, _r_bc, _r_cat, _r_ceil, _r_count, _r_f53, _r_floor,
                                   _r_in, _r_int, _r_max, _r_maxl, _r_meanf, _r_meani, _r_min, _r_minl, _r_mul,
                                   _r_orderf, _r_orderi, _r_round, _r_sumf, _r_sumi, _r_trunc, _r_votes, _r_w)

'''

BATCH = '''

@njit(cache=True, nogil=True)
def _batch(q0, PROBES, POFF, NPROBES, TOK, FINAL, QB, QNB, QPF, QORD, ORDERS, CAP, FUEL, PI, PV, RB, BC,
           NEED, CNT, ANS, COST, WHY, MAXNB, NBV, LIMS):
    _k = np.zeros(MAXNB, np.int64)
    _cb = np.zeros(MAXNB, np.int64)
    _st = np.zeros(MAXNB, np.int64)
    _fin = np.zeros(MAXNB, np.bool_)
    _pr = np.zeros(MAXNB, np.bool_)
    _lat = np.zeros(MAXNB, np.int64)
    COMP = np.zeros(MAXNB, np.int64)
    BVI = np.zeros((NBV, MAXNB), np.int64)
    BVF = np.zeros((NBV, MAXNB), np.float64)
    BVB = np.zeros((NBV, MAXNB), np.bool_)
    W = np.zeros(1, np.int64)
    for q in range(q0, len(QB)):
        b0 = QB[q]
        nb = QNB[q]
        NEED[0] = -1
        try:
            a, c, w = _episode(PROBES, POFF[b0:b0 + nb], NPROBES[b0:b0 + nb], TOK[b0:b0 + nb],
                               FINAL[b0:b0 + nb], QPF[q], nb, ORDERS[QORD[q]], CAP, FUEL, PI, PV, RB, BC,
                               NEED, CNT, _k, _cb, _st, _fin, _pr, _lat, COMP, BVI, BVF, BVB, LIMS, W)
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
'''


_COMPILED: dict = {}  # source digest -> (episode module)


def _cache_root() -> Path | None:
    from ..replay.binary import cache_root

    d = cache_root()
    return None if d is None else d / "fast"


def _module_key(src: str) -> str:
    return hashlib.sha256(src.encode("utf-8")).hexdigest()[:24]


def _module_dir() -> Path:
    """Where generated modules (and numba's cache of them, in ``__pycache__``) are written."""
    root = _cache_root()
    if root is None:
        import tempfile
        root = Path(tempfile.gettempdir()) / f"tts-dsl-fast-{os.getuid()}"
    return root


def _load_module(src: str):
    key = _module_key(src)
    mod = _COMPILED.get(key)
    if mod is not None:
        return mod
    name = f"_tts_fast_{key}"
    root = _module_dir()
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{name}.py"
    if not path.is_file() or path.read_text() != src:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(src)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)  # source generated from the checked AST only (see module doc)
    _COMPILED[key] = mod
    return mod


def generate(checked: CheckedProgram, binding: Binding, limits: Limits):
    """(source, generator) for ``checked``; raises :class:`Unsupported` with the reason."""
    an = analyze(checked, binding, limits, False)
    if an.diags:
        raise Unsupported("the analysis reported problems")
    g = _Gen(checked, an)
    body = g.program()
    return PRELUDE + body + BATCH, g, an


def prepare(checked: CheckedProgram, binding: Binding, limits: Limits, generated=None):
    """A :class:`FastEpisodes` for the binding, or raise :class:`Unsupported`. ``generated``:
    what :func:`generate` returned for these arguments, when the caller has it already."""
    if os.environ.get("TTS_DSL_ENGINE", "").lower() == "python":
        raise Unsupported("TTS_DSL_ENGINE=python")
    # first: a program it cannot take never imports numba
    src, g, an = generated or generate(checked, binding, limits)
    reason = available()
    if reason:
        raise Unsupported(reason)
    import numpy as np

    pi = np.zeros(max(1, len(g.params)), np.int64)
    pv = np.zeros(max(1, len(g.params)), np.float64)
    for i, name in enumerate(g.params):
        v = binding.values[name]
        if isinstance(v, bool) or isinstance(v, int):
            pi[i] = int(v)
            if g.params[name] == "float":
                pv[i] = float(v)
        else:
            pv[i] = float(v)
    rb = np.zeros(max(1, 3 * len(g.bounds)), np.int64)
    for i, node in enumerate(g.bounds):
        r = an.bounds[id(node)]
        rb[3 * i:3 * i + 3] = (r.start, r.stop, r.step)
    return FastEpisodes(_load_module(src), pi, pv, rb, len(checked.branch_vars), native_limits(limits))


def native_limits(limits: Limits):
    """The limits native code checks: [max_list_len, the episode memory budget, WORK_CAP]."""
    import numpy as np

    cells = getattr(limits, "max_episode_cells", None)  # the memory budget (issue 15), when Limits has it
    return np.array([limits.max_list_len, LIMIT if cells is None else min(int(cells), LIMIT), WORK_CAP], np.int64)


def _some_binding(checked: CheckedProgram, betas) -> Binding | None:
    """The binding at the first of ``betas`` where every param binds (None: at none). The
    native code's structure is the same for every binding: any one shows it."""
    from ..lang.diagnostics import DiagnosticsError
    from ..lang.schedule import bind

    for beta in betas:
        try:
            return bind(checked, beta)
        except DiagnosticsError:
            continue
    return None


def engine_for(checked: CheckedProgram, limits: Limits | None = None) -> str:
    """By ``checked``'s structure (nothing is compiled): ``"fast (vm)"`` if the bytecode
    interpreter takes it (it runs there unless its specialised code is compiled already),
    ``"fast"`` if only the specialised native code does, else ``"python (reason)"``."""
    reason = available()
    if reason:
        return f"python ({reason})"
    binding = _some_binding(checked, (None, 0.5))
    if binding is None:
        return "python (no binding to analyse)"
    try:
        generate(checked, binding, limits or Limits())
    except Unsupported as ex:
        return f"python ({ex})"
    if os.environ.get("TTS_DSL_ENGINE", "").lower() == "fast":
        return "fast"
    try:
        from .bytecode import compile_bytecode

        compile_bytecode(checked, binding, limits or Limits())
    except Unsupported:
        return "fast"
    return VM


def precompile(checked: CheckedProgram, limits: Limits | None = None) -> float:
    """Compile ``checked``'s specialised native code now, into numba's disk cache (seconds
    taken; about 0 when it was compiled already): every later evaluation of the program, in
    any process, then runs on it (:func:`attach` prefers it to the interpreter). Raises
    :class:`Unsupported` with the reason when the specialised code does not take the program."""
    import time

    reason = available()
    if reason:
        raise Unsupported(reason)
    binding = _some_binding(checked, (0.5, 0.0, 1.0) if checked.uses_beta else (None,))
    if binding is None:
        raise Unsupported("no beta binds every param")
    t = time.perf_counter()
    prepare(checked, binding, limits or Limits()).warm_up()  # one compilation serves every binding
    return time.perf_counter() - t


# Compiling a new program structure costs numba seconds (4-9 s of CPU); the Python engine runs
# about 3,000-10,000 episodes a second. Below this many episodes in one evaluation, a program
# whose native code is not compiled yet (in this process or in numba's disk cache) runs on the
# Python engine: small evaluations (tests, discovery's screens, synthetic stores) finish sooner.
MIN_EPISODES = 1_000


def compiled_already(src: str) -> bool:
    """True when the native code of ``src`` is compiled in this process or in the disk cache."""
    key = _module_key(src)
    mod = _COMPILED.get(key)
    if mod is not None and getattr(getattr(mod, "_batch", None), "signatures", None):
        return True
    return any((_module_dir() / "__pycache__").glob(f"_tts_fast_{key}.*.nbi"))


VM = "fast (vm)"  # exe.engine when the bytecode interpreter (engines.vm) runs the program


def vm_episodes(checked: CheckedProgram, binding: Binding, limits: Limits):
    """The bytecode interpreter's batch (:mod:`.vm`) for the binding, or raise :class:`Unsupported`."""
    from . import vm

    return vm.prepare(checked, binding, limits)


def vm_loaded() -> bool:
    """True when the bytecode interpreter is loaded in this process: using it costs nothing
    more (the first use in a process costs about a second: numba and the interpreter's cache)."""
    mod = sys.modules.get(__package__ + ".vm")
    return mod is not None and bool(getattr(mod._batch, "signatures", None))


def attach(exe, limits: Limits | None = None, episodes: int | None = None):
    """``exe`` (a compiled Python executable, untraced) with a native engine attached when one
    takes the program; ``exe.engine`` names the engine, or the reason for the fallback.

    The choice: the program's specialised native code when it is compiled already (in this
    process or numba's disk cache; ``"fast"``), else the bytecode interpreter, compiled once
    for every program, when it takes the program (``"fast (vm)"``; for an evaluation of
    fewer than :data:`MIN_EPISODES` episodes only when the interpreter is loaded in this
    process already), else today's rule: ``episodes`` is how many episodes the evaluation
    will run; below :data:`MIN_EPISODES` a program not compiled yet stays on the Python
    engine, otherwise its specialised code is compiled now. ``TTS_DSL_ENGINE=fast`` forces the specialised code whatever the size,
    ``vm`` the interpreter (where it takes the program), ``python`` the Python engine."""
    if exe.traced:
        exe.engine = "python (traces on)"
        return exe
    limits = limits or Limits()
    try:
        forced = os.environ.get("TTS_DSL_ENGINE", "").lower()
        src = gen = None
        if forced not in ("python", "fast"):
            gen = generate(exe.checked, exe.binding, limits)
            src = gen[0]
            small = episodes is not None and episodes < MIN_EPISODES
            if (forced == "vm" or not compiled_already(src) and not (small and not vm_loaded())) \
                    and available() is None:
                try:
                    f = vm_episodes(exe.checked, exe.binding, limits)
                    f.warm_up()  # loads the interpreter (compiled once, then from numba's disk cache)
                    exe.fast, exe.engine = f, VM
                    return exe
                except Exception:  # noqa: BLE001 - Unsupported (or the interpreter failing): the rules below
                    pass
        if episodes is not None and episodes < MIN_EPISODES and forced not in ("python", "fast"):
            if not compiled_already(src):
                exe.fast = None
                exe.engine = (f"python ({episodes:,} episodes, fewer than {MIN_EPISODES:,}: compiling native "
                              "code would cost more than it saves)")
                return exe
        f = prepare(exe.checked, exe.binding, limits, gen)
        f.warm_up()  # compiles now (or loads numba's cache): a compilation problem falls back here
        exe.fast, exe.engine = f, "fast"
    except Unsupported as ex:
        exe.fast, exe.engine = None, f"python ({ex})"
    except Exception as ex:  # noqa: BLE001 - numba failing to type or compile, an unwritable cache
        exe.fast, exe.engine = None, f"python (the fast engine failed: {type(ex).__name__})"
    return exe


class FastEpisodes:
    """The native batch: every question of one seed per call."""

    def __init__(self, mod, pi, pv, rb, nbv, lims):
        self.mod, self.pi, self.pv, self.rb, self.nbv, self.lims = mod, pi, pv, rb, nbv, lims

    def warm_up(self):
        """One episode on a one-branch store: numba compiles for the argument types every
        real call uses (or loads its cache)."""
        from ..replay.store import Question

        self.run_seed(Packed([Question(0, [[0]], [1], [1], [0], 1, 0, ["a"])]), 0, 1, 1)

    def batch(self, q, p, orders, cap, fuel, bc, need, ans, cost, why) -> int:
        """The native batch from question ``q``: where it stopped (``len`` when done)."""
        return self.mod._batch(q, p.flat, p.poff, p.nprobes, p.tok, p.final, p.qb, p.qnb, p.qpf, p.qord, orders,
                               cap, fuel, self.pi, self.pv, self.rb, bc, need, p.cnt, ans, cost, why, p.maxnb,
                               self.nbv, self.lims)

    def run_seed(self, packed, seed: int, cap: int, fuel: int):
        """(answers, costs, reasons) arrays over the packed questions for one seed; reason -2:
        the episode must be run by the Python engine."""
        import numpy as np

        from .. lang.builtins import beta_confidence

        p = packed
        orders = p.orders(seed)
        n = len(p.qb)
        ans = np.full(n, -1, np.int64)
        cost = np.zeros(n, np.int64)
        why = np.zeros(n, np.int64)
        need = np.full(2, -1, np.int64)
        bc = _bc_table(p.maxnb + 1)
        q = 0
        while q < n:
            q = self.batch(q, p, orders, cap, fuel, bc, need, ans, cost, why)
            if q < n:  # a beta_confidence value the table did not have yet: computed exactly, then resume
                t1, t2 = int(need[0]), int(need[1])
                bc[t1, t2] = beta_confidence(t1, t2)
        return ans, cost, why


_BC: dict = {}


class Packed:
    """A store's questions as flat arrays (answer ids, offsets), built once per store and
    question selection, and the branch orders of each seed."""

    def __init__(self, questions):
        import numpy as np

        self.qnb = np.array([q.n_branches for q in questions], np.int64)
        self.qb = np.concatenate([[0], np.cumsum(self.qnb)[:-1]]).astype(np.int64)
        self.qpf = np.array([q.probe_freq for q in questions], np.int64)
        self.nprobes = np.fromiter((n for q in questions for n in q.nprobes), np.int64, int(self.qnb.sum()))
        self.poff = np.concatenate([[0], np.cumsum(self.nprobes)[:-1]]).astype(np.int64)
        self.flat = np.fromiter((a for q in questions for p in q.probes for a in p), np.int64,
                                int(self.nprobes.sum()))
        self.tok = np.fromiter((t for q in questions for t in q.tokens), np.int64, len(self.nprobes))
        self.final = np.fromiter((f for q in questions for f in q.final), np.int64, len(self.nprobes))
        self.sizes = sorted(set(self.qnb.tolist()))
        self.qord = np.array([self.sizes.index(n) for n in self.qnb.tolist()], np.int64)
        self.maxnb = max(self.sizes)
        self.cnt = np.zeros(max(len(q.answers) for q in questions) + 2, np.int64)

    def orders(self, seed: int):
        """The seed's branch order for each question size (rows of ``sizes``); kept (every task
        of a sweep runs the same seeds on the store; read-only for the native code)."""
        import numpy as np

        from ..replay.store import permutation

        memo = self.__dict__.setdefault("_orders", {})
        out = memo.get(seed)
        if out is None:
            out = np.zeros((len(self.sizes), self.maxnb), np.int64)
            for i, n in enumerate(self.sizes):
                out[i, :n] = permutation(n, seed)
            if len(memo) < 4096:
                memo[seed] = out
        return out


def packed(store, questions) -> Packed:
    """The :class:`Packed` arrays of ``questions`` (a selection of ``store``'s): the whole
    store is packed once (cached on the store); a selection shares its arrays."""
    import copy

    import numpy as np

    whole = store.__dict__.get("_fast_packed")
    if whole is None:
        whole = store.__dict__["_fast_packed"] = Packed(store.questions)
    if not whole.cnt.flags.writeable:
        # a store shipped through Ray's object store comes back with read-only arrays: numba
        # would compile every native function again for that array type (the VM: 30 s), and
        # ``cnt`` is written to; one copy per store and process instead
        for k, v in vars(whole).items():
            if isinstance(v, np.ndarray) and not v.flags.writeable:
                setattr(whole, k, v.copy())
    if questions is store.questions or len(questions) == len(store.questions) and all(
            a is b for a, b in zip(questions, store.questions)):
        return whole
    pos = {id(q): i for i, q in enumerate(store.questions)}
    sel = np.array([pos[id(q)] for q in questions], np.int64)
    p = copy.copy(whole)
    p.qb, p.qnb, p.qpf, p.qord = whole.qb[sel], whole.qnb[sel], whole.qpf[sel], whole.qord[sel]
    return p


def _bc_table(n: int):
    import numpy as np

    t = _BC.get(n)
    if t is None:
        t = _BC[n] = np.full((n, n), np.nan)
    return t
