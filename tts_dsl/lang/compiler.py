"""Checked program + param binding -> executable episode function.

Python source is generated only from the checked AST: every identifier in it is minted
here (``_x<uid>`` for program variables, fixed ``_r_*``/state names for the runtime), every
literal goes through ``repr``, and the code runs with a whitelist of built-ins. Nothing
from the program text is ever evaluated as Python.

The episode function works on flat per-question arrays (revealed answers as small ints)
and per-episode preallocated lists, with the action code inlined: no per-action
allocation and no method calls on the hot path.

Signature of the generated function::

    episode(PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, TR) -> (answer, cost, reason)

``reason``: 0 answered, 1 action cap, 2 step cap (loop iterations), 3 fell off the end
(impossible for checked programs).
"""

from __future__ import annotations

import itertools
import math
from collections import _count_elements  # the C counting loop behind Counter
from dataclasses import dataclass, field

from .. import stats
from . import ast as A
from .checker import CheckedProgram
from .diagnostics import Diagnostic, DiagnosticsError
from .limits import Limits
from .schedule import Binding, eval_expr
from .types import BRANCH, FLOAT, INT, RECORDS

REASONS = {0: "answer", 1: "action_cap", 2: "step_cap", 3: "end"}


class RuntimeProblem(Exception):
    """A clean runtime error of a program (division by zero, empty mean, ...)."""


def _mean(xs):
    if not xs:
        raise RuntimeProblem("mean of an empty list")
    return sum(xs) / len(xs)


def _min(*a):
    try:
        return min(*a)
    except ValueError:
        raise RuntimeProblem("min of an empty list") from None


def _max(*a):
    try:
        return max(*a)
    except ValueError:
        raise RuntimeProblem("max of an empty list") from None


def _sqrt(x):
    if x < 0:
        raise RuntimeProblem(f"sqrt of a negative number ({x!r})")
    return math.sqrt(x)


def _log(x):
    if x <= 0:
        raise RuntimeProblem(f"log of a non-positive number ({x!r})")
    return math.log(x)


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _round(x, nd=None):
    try:
        return round(x) if nd is None else float(round(x, nd))
    except (ValueError, OverflowError):
        raise RuntimeProblem(f"round of a non-finite number ({x!r})") from None


def _floor(x):
    try:
        return math.floor(x)
    except (ValueError, OverflowError):
        raise RuntimeProblem(f"floor of a non-finite number ({x!r})") from None


def _ceil(x):
    try:
        return math.ceil(x)
    except (ValueError, OverflowError):
        raise RuntimeProblem(f"ceil of a non-finite number ({x!r})") from None


def _int(x):
    try:
        return int(x)
    except (ValueError, OverflowError):
        raise RuntimeProblem(f"int of a non-finite number ({x!r})") from None


def _clip(x, lo, hi):
    return min(max(x, lo), hi)


def _make_cat(limit):
    def _cat(a, b):
        if len(a) + len(b) > limit:
            raise RuntimeProblem(f"a list grew beyond {limit:,} elements (limit L008)")
        return a + b
    return _cat


def _guard(f):
    """Value of a trace field, or the text of the error it raises (traced runs only)."""
    try:
        return f()
    except (RuntimeProblem, ArithmeticError, IndexError, ValueError) as ex:
        return f"<error: {ex}>"


def _imul(a, b):
    r = a * b
    if -(1 << 62) <= r <= (1 << 62):
        return r
    raise RuntimeProblem("integer overflow in '*' (beyond 2**62)")


def _wvotes(xs, ws):
    try:
        return stats.weighted_vote_stats(xs, ws)
    except ValueError as ex:
        raise RuntimeProblem(str(ex)) from None


_BC = stats._BC_CACHE


def _majority(xs):
    """:func:`stats.majority` with the counting done in C: ``_count_elements`` inserts
    answers in first-seen order and ``max`` keeps the first of equal counts."""
    if not xs:
        return None
    m: dict = {}
    _count_elements(m, xs)
    return max(m, key=m.__getitem__)


def _vote_stats(xs):
    """:func:`stats.vote_stats`, counted in C (same tie rule as :func:`_majority`)."""
    if not xs:
        return (None, 0, 0)
    m: dict = {}
    _count_elements(m, xs)
    best = max(m, key=m.__getitem__)
    top1 = m.pop(best)
    return (best, top1, max(m.values()) if m else 0)


def _votes_cached(comp, cache):
    """``vote_stats(completed)`` memoised on ``len(completed)``: completed is append-only
    within an episode, so its length identifies its content."""
    n = len(comp)
    if cache[0] != n:
        cache[1] = _vote_stats(comp)
        cache[0] = n
    return cache[1]


def _bc(t1, t2):
    r = _BC.get((t1, t2))
    if r is None:
        try:
            r = stats.beta_confidence(t1, t2)
        except ValueError as ex:
            raise RuntimeProblem(str(ex)) from None
    return r


SAFE_BUILTINS = {
    "len": len, "range": range, "sorted": sorted, "list": list, "abs": abs, "float": float,
    "any": any, "all": all, "sum": sum, "map": map,
}

FUNC_NAMES = {
    "len": "len", "count": None, "sum": "sum", "mean": "_r_mean", "min": "_r_min", "max": "_r_max",
    "abs": "abs", "round": "_r_round", "floor": "_r_floor", "ceil": "_r_ceil", "int": "_r_int",
    "float": "float", "sqrt": "_r_sqrt", "exp": "_r_exp", "log": "_r_log", "sigmoid": "_r_sigmoid",
    "clip": "_r_clip", "majority": "_r_majority", "votes": "_r_votes", "weighted_votes": "_r_wvotes",
    "beta_confidence": "_r_bc", "distinct": "_r_distinct", "entropy": "_r_entropy", "any": "any",
    "all": "all", "range": "range",
}


def runtime_namespace(limits: Limits) -> dict:
    return {
        "__builtins__": dict(SAFE_BUILTINS),
        "_r_mean": _mean, "_r_min": _min, "_r_max": _max, "_r_round": _round, "_r_floor": _floor,
        "_r_ceil": _ceil, "_r_int": _int, "_r_sqrt": _sqrt, "_r_exp": _exp, "_r_log": _log,
        "_r_sigmoid": _sigmoid, "_r_clip": _clip, "_r_majority": _majority,
        "_r_votes": _vote_stats, "_r_wvotes": _wvotes, "_r_bc": _bc, "_r_BC": _BC,
        "_r_distinct": stats.distinct, "_r_entropy": stats.entropy, "_r_cat": _make_cat(limits.max_list_len),
        "_r_imul": _imul, "_r_guard": _guard, "_r_vc": _votes_cached, "_r_compress": itertools.compress,
    }


ATTR_ARRAYS = {"steps": "_st", "latest": "_lat", "finished": "_fin", "pruned": "_pr", "cost": "_cb"}
# status masks for filtered queries: (attr, wanted value) terms -> the array that is true exactly then
MASKS = {
    frozenset({("finished", True)}): "_fin", frozenset({("finished", False)}): "_nfin",
    frozenset({("pruned", True)}): "_pr", frozenset({("pruned", False)}): "_npr",
    frozenset({("finished", False), ("pruned", False)}): "_act",
}
STATE_EXPR = {
    "opened": "_n", "remaining": "(NB - _n)", "exhausted": "(_n >= NB)", "spent": "_spent",
    "interval_tokens": "PF",
}


@dataclass
class Executable:
    """A program compiled for one param binding."""

    checked: CheckedProgram
    binding: Binding
    source: str
    episode: object
    line_map: dict = field(default_factory=dict)  # generated line -> source span
    traced: bool = False

    @property
    def name(self) -> str:
        return self.checked.name


def _is_state(e, name) -> bool:
    return isinstance(e, A.Name) and e.id == name and e.ref is not None and e.ref.kind == "state"


_TOTAL_CALLS = {"len", "count", "majority", "votes", "distinct", "entropy", "any", "all", "abs"}


def _total(e) -> bool:
    """True if evaluating ``e`` can never raise (so evaluation order and laziness are
    unobservable): no division, indexing, list growth, integer products or fallible calls."""
    if e is None or isinstance(e, (A.Num, A.Bool, A.NoneLit, A.Name)):
        return True
    if isinstance(e, A.Attr):
        return _total(e.obj)  # branch indices are always valid; records are tuples
    if isinstance(e, (A.Compare, A.BoolOp)):
        return _total(e.left) and _total(e.right)
    if isinstance(e, A.Unary):
        return _total(e.operand)
    if isinstance(e, A.IfExp):
        return _total(e.cond) and _total(e.then) and _total(e.orelse)
    if isinstance(e, A.BinOp):
        if e.op in ("+", "-") and not e.ty.is_list:
            return _total(e.left) and _total(e.right)
        if e.op == "*" and (e.left.ty == FLOAT or e.right.ty == FLOAT):
            return _total(e.left) and _total(e.right)
        return False
    if isinstance(e, A.Slice):
        return _total(e.obj) and _total(e.lo) and _total(e.hi)
    if isinstance(e, A.ListLit):
        return all(_total(i) for i in e.items)
    if isinstance(e, A.Call):
        return e.func in _TOTAL_CALLS and all(_total(a) for a in e.args)
    if isinstance(e, A.Comprehension):
        q = e.query
        if isinstance(q.source, A.Call) and q.source.func == "range":
            src_ok = True
        else:
            src_ok = _total(q.source)
        return src_ok and _total(q.where) and _total(q.key) and _total(q.take) and _total(e.elt)
    return False


class _Gen:
    def __init__(self, checked: CheckedProgram, binding: Binding, limits: Limits, traced: bool,
                 masks: frozenset = frozenset()):
        self.c = checked
        self.masks = masks  # status masks maintained (see MASKS); found by a first pass
        self.masks_used: set = set()
        self.uncounted = False  # the next action was counted up front
        self.values = binding.values
        self.limits = limits
        self.traced = traced
        self.lines: list[str] = []
        self.spans: list = []
        self.cur_span = None
        self.diags: list[Diagnostic] = []
        self.bvar_names = {s.name: f"_b{s.uid}" for s in checked.branch_vars}
        # per-branch arrays nobody reads are not maintained (traces keep everything)
        used = {n.name for n in A.walk(checked.program) if isinstance(n, A.Attr) and n.obj.ty == BRANCH}
        self.need_st = traced or "steps" in used
        self.need_cb = traced or "cost" in used
        self.need_lat = traced or "latest" in used

    def emit(self, depth, text):
        if text.startswith("TR.append("):  # events go through a local alias of TR.append
            text = "_tra(" + text[len("TR.append("):]
        self.lines.append("    " * depth + text)
        self.spans.append(self.cur_span)

    # ------------------------------------------------------------ expressions
    def ex(self, e) -> str:
        m = getattr(self, "x_" + type(e).__name__)
        return m(e)

    def x_Num(self, e):
        return repr(e.value)

    def x_Bool(self, e):
        return "True" if e.value else "False"

    def x_NoneLit(self, e):
        return "None"

    def x_Name(self, e):
        s = e.ref
        if s.kind == "state":
            if e.id == "branches":
                return "list(range(_n))"
            if e.id == "completed":
                return "_comp"
            return STATE_EXPR[e.id]
        if s.kind == "param":
            return repr(self.values[e.id])
        return f"_x{s.uid}"

    def value(self, e) -> str:
        """An expression whose value may be stored: state lists are copied."""
        if isinstance(e, A.Name) and e.ref is not None and e.ref.kind == "state" and e.id == "completed":
            return "_comp[:]"
        if isinstance(e, A.IfExp):
            return f"({self.value(e.then)} if {self.ex(e.cond)} else {self.value(e.orelse)})"
        return self.ex(e)

    def iterable(self, e) -> str:
        """Source of a query, iterated at once (no copy needed unless actions run meanwhile)."""
        if isinstance(e, A.Name) and e.ref is not None and e.ref.kind == "state" and e.id == "branches":
            return "range(_n)"
        if isinstance(e, A.Call) and e.func == "range":
            return self.call_range(e)
        return self.ex(e)

    def call_range(self, e) -> str:
        args = [eval_expr(a, self.values) for a in e.args]
        lo, hi = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        if hi - lo > self.limits.max_loop_bound:
            self.diags.append(Diagnostic("L005", f"range of {hi - lo:,} values; the limit is "
                                         f"{self.limits.max_loop_bound:,}", e.span, stage="check",
                                         file=self.c.file))
        return f"range({lo!r}, {hi!r})"

    def x_Attr(self, e):
        ot = e.obj.ty
        o = self.ex(e.obj)
        if ot in RECORDS:
            return f"{o}[{RECORDS[ot][e.name][0]}]"
        if e.name == "index":
            return o
        if e.name == "history":
            return (f"((PROBES[ORDER[{o}]][:_k[{o}]] + [FINAL[ORDER[{o}]]]) if _fin[{o}] "
                    f"else PROBES[ORDER[{o}]][:_k[{o}]])")
        if e.name in ATTR_ARRAYS:
            return f"{ATTR_ARRAYS[e.name]}[{o}]"
        return f"{self.bvar_names[e.name]}[{o}]"

    def x_Index(self, e):
        return f"{self.ex(e.obj)}[{self.ex(e.index)}]"

    def x_Slice(self, e):
        lo = self.ex(e.lo) if e.lo is not None else ""
        hi = self.ex(e.hi) if e.hi is not None else ""
        return f"{self.ex(e.obj)}[{lo}:{hi}]"

    def x_Call(self, e):
        f = e.func
        if f == "len" and isinstance(e.args[0], A.Name) and e.args[0].id == "branches" \
                and e.args[0].ref.kind == "state":
            return "_n"
        if f == "range":
            return f"list({self.call_range(e)})"
        if f == "count":
            return f"{self.ex(e.args[0])}.count({self.ex(e.args[1])})"
        if f == "beta_confidence":
            a, b = self.ex(e.args[0]), self.ex(e.args[1])
            return f"_r_bc({a}, {b})"
        if f in ("votes", "majority") and _is_state(e.args[0], "completed"):
            v = "(_VC[1] if _VC[0] == len(_comp) else _r_vc(_comp, _VC))"
            return v if f == "votes" else f"{v}[0]"
        if f in ("all", "any") and isinstance(e.args[0], A.Comprehension):
            q = e.args[0].query
            if q.key is None and q.take is None and _total(e.args[0]):
                # no element can fail, so stopping at the first decisive one is exact
                v = f"_x{q.ref.uid}"
                cond = f" if {self.ex(q.where)}" if q.where is not None else ""
                return f"{f}({self.ex(e.args[0].elt)} for {v} in {self.iterable(q.source)}{cond})"
        args = ", ".join(self.ex(a) for a in e.args)
        return f"{FUNC_NAMES[f]}({args})"

    def x_BinOp(self, e):
        a, b = self.ex(e.left), self.ex(e.right)
        if e.op == "+" and e.ty.is_list:
            return f"_r_cat({a}, {b})"
        if e.op == "*" and e.left.ty == INT and e.right.ty == INT:
            return f"_r_imul({a}, {b})"
        return f"({a} {e.op} {b})"

    def x_Compare(self, e):
        return f"({self.ex(e.left)} {e.op} {self.ex(e.right)})"

    def x_BoolOp(self, e):
        return f"({self.ex(e.left)} {e.op} {self.ex(e.right)})"

    def x_Unary(self, e):
        op = "not " if e.op == "not" else e.op
        return f"({op}{self.ex(e.operand)})"

    def x_IfExp(self, e):
        return f"({self.ex(e.then)} if {self.ex(e.cond)} else {self.ex(e.orelse)})"

    def x_ListLit(self, e):
        return "[" + ", ".join(self.ex(i) for i in e.items) + "]"

    def array_of(self, e, q: A.Query) -> str | None:
        """``ARR`` if ``e`` is ``v.attr`` for the query variable ``v`` and a per-branch array."""
        if isinstance(e, A.Attr) and isinstance(e.obj, A.Name) and e.obj.ref is q.ref and e.obj.ty == BRANCH:
            if e.name in ATTR_ARRAYS:
                return ATTR_ARRAYS[e.name]
            return self.bvar_names.get(e.name)
        return None

    def masked(self, q: A.Query):
        """Split a query's filter into a status mask (C-level ``compress``) and the rest.

        Returns ``(source, rest)`` where ``source`` already yields only the branches whose
        ``finished``/``pruned`` flags pass, or ``None`` if the filter has no such part.
        Mask terms are total, so they may be applied first only when every other term is
        total too (otherwise only a leading run of mask terms is taken)."""
        if q.where is None or q.source.ty is None or not q.source.ty.is_list or q.source.ty.arg != BRANCH:
            return None
        terms = []

        def flat(e):
            if isinstance(e, A.BoolOp) and e.op == "and":
                flat(e.left)
                flat(e.right)
            else:
                terms.append(e)
        flat(q.where)

        def mask_term(e):
            pos = True
            if isinstance(e, A.Unary) and e.op == "not":
                e, pos = e.operand, False
            if isinstance(e, A.Attr) and e.name in ("finished", "pruned") and isinstance(e.obj, A.Name) \
                    and e.obj.ref is q.ref:
                return (e.name, pos)
            return None

        kinds = [mask_term(t) for t in terms]
        if all(k is not None or _total(t) for k, t in zip(kinds, terms)):
            take = [i for i, k in enumerate(kinds) if k is not None]
        else:
            take = []
            for k in kinds:
                if k is None:
                    break
                take.append(len(take))
        want = frozenset(kinds[i] for i in take)
        arr = MASKS.get(want)
        if arr is None:
            return None
        self.masks_used.add(arr)
        rest = [t for i, t in enumerate(terms) if i not in take]
        if isinstance(q.source, A.Name) and q.source.ref is not None and q.source.ref.kind == "state":
            src = f"_r_compress(range(_n), {arr})"
        elif isinstance(q.source, A.Name):
            lst = self.ex(q.source)
            src = f"_r_compress({lst}, map({arr}.__getitem__, {lst}))"
        else:
            return None
        cond = None
        for t in rest:
            c = self.ex(t)
            cond = c if cond is None else f"({cond} and {c})"
        return src, cond

    def query_list(self, q: A.Query, elt: str | None = None, elt_ast=None) -> str:
        v = f"_x{q.ref.uid}"
        if isinstance(elt_ast, A.Name) and elt_ast.ref is q.ref:
            elt = elt_ast = None  # [b for b in ...]: the query list itself
        m = self.masked(q)
        if m is not None:
            src, c = m
            cond = f" if {c}" if c is not None else ""
        else:
            src = self.iterable(q.source)
            cond = f" if {self.ex(q.where)}" if q.where is not None else ""
        arr = self.array_of(elt_ast, q) if elt_ast is not None else None
        if q.key is None and q.take is None:
            if arr is not None and not cond:
                return f"list(map({arr}.__getitem__, {src}))"
            if not cond and m is not None and elt is None:
                return f"list({src})"
            return f"[{elt or v} for {v} in {src}{cond}]"
        inner = f"list({src})" if (m is not None and not cond) else f"[{v} for {v} in {src}{cond}]"
        if q.key is not None:
            rev = ", reverse=True" if q.descending else ""
            k = q.key
            if isinstance(k, A.Attr) and isinstance(k.obj, A.Name) and k.obj.ref is q.ref and k.obj.ty == BRANCH \
                    and (k.name in ATTR_ARRAYS or k.name in self.bvar_names):
                karr = ATTR_ARRAYS.get(k.name) or self.bvar_names[k.name]
                inner = f"sorted({inner}, key={karr}.__getitem__{rev})"  # the array is never rebound
            else:
                inner = f"sorted({inner}, key=lambda {v}: {self.ex(q.key)}{rev})"
        if q.take is not None:
            inner = f"{inner}[:_r_max(0, {self.ex(q.take)})]"
        if elt is None:
            return inner
        if arr is not None:
            return f"list(map({arr}.__getitem__, {inner}))"
        return f"[{elt} for {v} in {inner}]"

    def x_Comprehension(self, e):
        return self.query_list(e.query, self.ex(e.elt), e.elt)

    # ------------------------------------------------------------- statements
    def block(self, stmts, d):
        n0 = len(self.lines)
        for st in stmts:
            self.stmt(st, d)
        if len(self.lines) == n0:
            self.emit(d, "pass")

    def stmt(self, st, d):
        self.cur_span = st.span
        getattr(self, "s_" + type(st).__name__)(st, d)

    def trace_line(self):
        """Source line of the statement being generated (for trace events)."""
        return self.cur_span.line if self.cur_span is not None else None

    def trace_set(self, d, name, var, ty=None):
        if self.traced:
            self.emit(d, f"TR.append(('set', {name!r}, {var}, _spent, {self.trace_line()!r}, {str(ty)!r}))")

    def s_Let(self, st, d):
        self.emit(d, f"_x{st.ref.uid} = {self.value(st.value)}")
        self.trace_set(d, st.name, f"_x{st.ref.uid}", st.ref.ty)

    def s_Assign(self, st, d):
        t = st.target
        if isinstance(t, A.Name):
            self.emit(d, f"_x{t.ref.uid} = {self.value(st.value)}")
            self.trace_set(d, t.id, f"_x{t.ref.uid}", t.ref.ty)
        else:
            o = self.ex(t.obj)
            if not self.traced and o.isidentifier():
                self.emit(d, f"{self.bvar_names[t.name]}[{o}] = {self.value(st.value)}")
            else:
                self.emit(d, f"_i = {o}")
                self.emit(d, f"{self.bvar_names[t.name]}[_i] = {self.value(st.value)}")
            if self.traced:
                self.emit(d, f"TR.append(('bset', {t.name!r}, _i, {self.bvar_names[t.name]}[_i], _spent, "
                             f"{self.trace_line()!r}, {self.trace_bvar_type(t.name)!r}))")

    def s_If(self, st, d):
        for i, (cond, body) in enumerate(st.arms):
            self.cur_span = cond.span
            self.emit(d, f"{'if' if i == 0 else 'elif'} {self.ex(cond)}:")
            if self.traced:
                self.emit(d + 1, f"TR.append(('if', {i!r}, _spent, {self.trace_line()!r}))")
            self.block(body, d + 1)
        if st.orelse is not None:
            self.emit(d, "else:")
            if self.traced:
                self.emit(d + 1, f"TR.append(('if', 'else', _spent, {st.span.line!r}))")
            self.block(st.orelse, d + 1)
        elif self.traced:
            self.emit(d, "else:")
            self.emit(d + 1, f"TR.append(('if', None, _spent, {st.span.line!r}))")

    def trace_bvar_type(self, name):
        return next((str(s.ty) for s in self.c.branch_vars if s.name == name), None)

    def trace_iter_init(self, d):
        """Traced only: top-level loops count their iterations (the controller's steps)."""
        if self.traced and d == 2:
            self.emit(d, "_tr_it = -1")

    def trace_iter(self, d, st):
        if self.traced and d == 3:
            self.emit(d, "_tr_it += 1")
            self.emit(d, f"TR.append(('iter', _tr_it, _spent, {st.span.line!r}))")

    def fuel(self, d):
        self.emit(d, "_fuel -= 1")
        self.emit(d, "if _fuel < 0:")
        if self.traced:
            self.emit(d + 1, f"TR.append(('end', 'step_cap', None, _spent, {self.trace_line()!r}))")
        self.emit(d + 1, "return (None, _spent, 2)")

    def s_For(self, st, d):
        q = st.query
        v = f"_x{q.ref.uid}"
        if q.where is None and q.key is None and q.take is None:
            src = self.iterable(q.source)
            if src == "_comp":
                src = "_comp[:]"
        else:
            src = self.query_list(q)
        if self.fast_loop_ok(st.body):
            s = f"_s{q.ref.uid}"
            self.emit(d, f"{s} = {src}")
            self.fast_loop(d, f"for {v} in {s}:", f"len({s})", st.body)
            return
        self.trace_iter_init(d)
        self.emit(d, f"for {v} in {src}:")
        self.fuel(d + 1)
        self.trace_iter(d + 1, st)
        self.block(st.body, d + 1)

    def fast_loop_ok(self, body) -> bool:
        """An innermost loop that never breaks: its whole fuel can be charged up front when
        there is enough, since nothing reads the fuel before the loop ends or the episode
        returns. (Traced code keeps per-iteration checks and events.)"""
        if self.traced:
            return False
        return not any(isinstance(n, (A.For, A.Repeat, A.Break)) for n in A.walk(body))

    def fast_loop(self, d, head, count, body):
        # a body that starts with its only action does exactly one action per iteration:
        # then the actions can be counted up front too
        one_action = bool(body) and isinstance(body[0], A.Action) and \
            sum(isinstance(n, A.Action) for n in A.walk(body)) == 1
        if one_action:
            self.emit(d, f"if _fuel >= {count} and _acts + {count} <= CAP:")
            self.emit(d + 1, f"_acts += {count}")
        else:
            self.emit(d, f"if _fuel >= {count}:")
        self.emit(d + 1, f"_fuel -= {count}")
        self.emit(d + 1, head)
        n_diags = len(self.diags)
        self.uncounted = one_action
        self.block(body, d + 2)
        self.uncounted = False
        del self.diags[n_diags:]  # the body is generated twice: report its problems once
        self.emit(d, "else:")
        self.emit(d + 1, head)
        self.fuel(d + 2)
        self.block(body, d + 2)

    def s_Repeat(self, st, d):
        n = eval_expr(st.count, self.values)
        if n > self.limits.max_loop_bound:
            self.diags.append(Diagnostic("L005", f"repeat {n:,} times; the limit is {self.limits.max_loop_bound:,}",
                                         st.count.span, stage="check", file=self.c.file,
                                         hint="lower the count or the param"))
        v = f"_x{st.ref.uid}" if st.ref is not None else "_"
        if self.fast_loop_ok(st.body):
            self.fast_loop(d, f"for {v} in range({n!r}):", repr(n), st.body)
            return
        self.trace_iter_init(d)
        self.emit(d, f"for {v} in range({n!r}):")
        self.fuel(d + 1)
        self.trace_iter(d + 1, st)
        self.block(st.body, d + 1)

    def count_action(self, d):
        self.emit(d, "_acts += 1")
        self.emit(d, "if _acts > CAP:")
        if self.traced:
            self.emit(d + 1, f"TR.append(('end', 'action_cap', None, _spent, {self.trace_line()!r}))")
        self.emit(d + 1, "return (None, _spent, 1)")

    def explore(self, d, iv="_i"):
        """The spec's explore(branch) on the branch whose index is in local ``iv``.

        A branch's ``charged`` is always ``k * PF`` (only probes add to it), so it is not
        stored. With traces on, ``_a`` (answer) and ``_c`` (charge) are set for the events
        and every per-branch array is kept; without, only the arrays the program reads."""
        e = self.emit
        e(d, f"_j = ORDER[{iv}]")
        e(d, f"_kk = _k[{iv}]")
        e(d, "if _kk < NPROBES[_j]:")
        if self.traced:
            e(d + 1, "_a = PROBES[_j][_kk]")
            e(d + 1, f"_k[{iv}] = _kk + 1")
            e(d + 1, "_c = PF")
            e(d, "else:")
            e(d + 1, "_a = FINAL[_j]")
            e(d + 1, "_c = TOK[_j] - _kk * PF")
            e(d + 1, "if _c < 0:")
            e(d + 2, "_c = 0")
            e(d + 1, f"_fin[{iv}] = True")
            self.on_finish(d + 1, iv)
            e(d + 1, "_comp.append(_a)")
            e(d, f"_lat[{iv}] = _a")
            e(d, f"_st[{iv}] += 1")
            e(d, f"_cb[{iv}] += _c")
            e(d, "_spent += _c")
            return
        if self.need_lat:
            e(d + 1, f"_lat[{iv}] = PROBES[_j][_kk]")
        e(d + 1, f"_k[{iv}] = _kk + 1")
        if self.need_cb:
            e(d + 1, f"_cb[{iv}] += PF")
        e(d + 1, "_spent += PF")
        e(d, "else:")
        e(d + 1, "_a = FINAL[_j]")
        e(d + 1, "_c = TOK[_j] - _kk * PF")
        e(d + 1, "if _c > 0:")
        e(d + 2, "_spent += _c")
        if self.need_cb:
            e(d + 2, f"_cb[{iv}] += _c")
        e(d + 1, f"_fin[{iv}] = True")
        self.on_finish(d + 1, iv)
        e(d + 1, "_comp.append(_a)")
        if self.need_lat:
            e(d + 1, f"_lat[{iv}] = _a")
        if self.need_st:
            e(d, f"_st[{iv}] += 1")

    def on_finish(self, d, iv):
        for m in ("_nfin", "_act"):
            if m in self.masks:
                self.emit(d, f"{m}[{iv}] = False")

    def on_prune(self, d, iv):
        for m in ("_npr", "_act"):
            if m in self.masks:
                self.emit(d, f"{m}[{iv}] = False")

    def on_fail(self, st, d):
        if st.on_exhausted is not None:
            self.block(st.on_exhausted, d)
        else:
            self.emit(d, "pass")

    def s_Action(self, st, d):
        e = self.emit
        k = st.kind
        if self.uncounted:  # counted up front by fast_loop
            self.uncounted = False
        else:
            self.count_action(d)
        if k in ("open", "read"):
            e(d, "if _n >= NB:")
            if self.traced:
                e(d + 1, f"TR.append(({k!r}, None, None, 0, _spent, 'exhausted', {self.trace_line()!r}))")
            self.on_fail(st, d + 1)
            e(d, "else:")
            e(d + 1, "_i = _n")
            e(d + 1, "_n += 1")
            if k == "open":
                self.explore(d + 1)
            else:
                e(d + 1, "_j = ORDER[_i]")
                e(d + 1, "_a = FINAL[_j]")
                e(d + 1, "_c = TOK[_j]")
                e(d + 1, "_fin[_i] = True")
                self.on_finish(d + 1, "_i")
                if self.need_lat:
                    e(d + 1, "_lat[_i] = _a")
                if self.need_cb:
                    e(d + 1, "_cb[_i] = _c")
                e(d + 1, "_spent += _c")
                e(d + 1, "_comp.append(_a)")
            if self.traced:
                e(d + 1, f"TR.append(({k!r}, _i, _a, _c, _spent, _fin[_i], {self.trace_line()!r}))")
            if st.bind is not None:
                e(d + 1, f"_x{st.ref.uid} = _i")
            return
        tgt = self.ex(st.target)
        if not self.traced and tgt.isidentifier():
            iv = tgt  # a local already holds the index: no copy
        else:
            iv = "_i"
            e(d, f"_i = {tgt}")
        if k == "advance":
            e(d, f"if _fin[{iv}] or _pr[{iv}]:")
            if self.traced:
                e(d + 1, f"TR.append(('advance', _i, None, 0, _spent, 'no-op', {self.trace_line()!r}))")
            self.on_fail(st, d + 1)
            e(d, "else:")
            self.explore(d + 1, iv)
            if self.traced:
                e(d + 1, f"TR.append(('advance', _i, _a, _c, _spent, _fin[_i], {self.trace_line()!r}))")
        else:  # prune
            e(d, f"if _pr[{iv}]:")
            if self.traced:
                e(d + 1, f"TR.append(('prune', _i, None, 0, _spent, 'no-op', {self.trace_line()!r}))")
            self.on_fail(st, d + 1)
            e(d, "else:")
            e(d + 1, f"_pr[{iv}] = True")
            self.on_prune(d + 1, iv)
            if self.traced:
                e(d + 1, f"TR.append(('prune', _i, None, 0, _spent, True, {self.trace_line()!r}))")

    def s_AnswerStmt(self, st, d):
        self.emit(d, f"_ans = {self.ex(st.value)}")
        if self.traced:
            self.emit(d, f"TR.append(('end', 'answer', _ans, _spent, {self.trace_line()!r}))")
        self.emit(d, "return (_ans, _spent, 0)")

    def s_Break(self, st, d):
        self.emit(d, "break")

    def s_Continue(self, st, d):
        self.emit(d, "continue")

    def s_Pass(self, st, d):
        self.emit(d, "pass")

    def s_Trace(self, st, d):
        if not self.traced:
            return
        # a field that fails to evaluate is recorded as an error text: tracing never changes a result
        fields = ", ".join(f"({k!r}, _r_guard(lambda: {self.value(v)}))" for k, v in st.fields)
        tys = [str(v.ty) for _, v in st.fields]
        self.emit(d, f"TR.append(('trace', {st.label!r}, [{fields}], _spent, {self.trace_line()!r}, {tys!r}))")

    # ---------------------------------------------------------------- program
    def program(self) -> str:
        c = self.c
        e = self.emit
        e(0, "def _r_build():")
        e(1, "def _episode(PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, TR):")
        d = 2
        e(d, "_n = 0")
        e(d, "_spent = 0")
        e(d, "_acts = 0")
        e(d, "_fuel = FUEL")
        e(d, "_k = [0] * NB")
        if self.need_cb:
            e(d, "_cb = [0] * NB")
        if self.need_st:
            e(d, "_st = [0] * NB")
        e(d, "_fin = [False] * NB")
        e(d, "_pr = [False] * NB")
        if self.need_lat:
            e(d, "_lat = [None] * NB")
        e(d, "_comp = []")
        e(d, "_VC = [-1, None]")
        if self.traced:
            e(d, "_tra = TR.append")
        for m in ("_nfin", "_npr", "_act"):  # derived masks (_fin and _pr are always kept)
            if m in self.masks:
                e(d, f"{m} = [True] * NB")
        for s, decl in zip(c.branch_vars, c.program.branch_vars):
            self.cur_span = decl.span
            e(d, f"_b{s.uid} = [{self.ex(decl.value)}] * NB")
        for s, decl in zip(c.vars, c.program.vars):
            self.cur_span = decl.span
            e(d, f"_x{s.uid} = {self.ex(decl.value)}")
        self.block(c.program.body, d)
        self.cur_span = None
        if self.traced:
            e(d, "TR.append(('end', 'end', None, _spent, None))")
        e(d, "return (None, _spent, 3)")
        e(1, "return _episode")
        return "\n".join(self.lines) + "\n"


def compile_program(checked: CheckedProgram, binding: Binding, limits: Limits | None = None,
                    traced: bool = False) -> Executable:
    limits = limits or Limits()
    g = _Gen(checked, binding, limits, traced)
    src = g.program()
    if g.masks_used:  # second pass: now the status masks the queries read are known
        g = _Gen(checked, binding, limits, traced, frozenset(g.masks_used))
        src = g.program()
    if g.diags:
        raise DiagnosticsError(g.diags, checked.source)
    ns = runtime_namespace(limits)
    code = compile(src, f"<tts:{checked.name}>", "exec")
    exec(code, ns)  # noqa: S102 - source generated from the checked AST only (see module doc)
    episode = ns["_r_build"]()
    line_map = {i + 1: sp for i, sp in enumerate(g.spans) if sp is not None}
    return Executable(checked, binding, src, episode, line_map, traced)
