"""The pass over a checked program (for one param binding) that every engine reads before it
runs or generates anything (as Jinja's dependency finder and optimizer run before its code
generator): constant loop bounds and their limit (L005), which expressions are total,
which queries charge the step counter, which status masks and per-branch arrays the
compiled engine must maintain, which loops may take their fuel up front, and a static
bound on the steps an episode can charge.

The step counter (``max_steps``, ``step_cap``) is charged where work passes:

* one step per iteration of a ``for`` or ``repeat`` body;
* ``len(source)`` steps, at once, when a query visits its source: every comprehension,
  and every ``for`` whose query filters, sorts or takes (a plain ``for x in xs`` is counted
  by its iterations). The charge comes after the source is evaluated and before any
  element is, so it does not depend on short-circuiting or on where an error stops.

Trace fields are evaluated only in traced runs and charge nothing (a trace never changes a
result).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..lang import ast as A
from ..lang.builtins import FUNCTIONS
from ..lang.checker import CheckedProgram, SymbolKind
from ..lang.diagnostics import Reporter
from ..lang.limits import Limits
from ..lang.schedule import Binding, ScheduleError, bind, eval_expr
from ..lang.types import BRANCH, FLOAT

# status masks for filtered queries: (attr, wanted value) terms -> the array true exactly then
MASKS = {
    frozenset({("finished", True)}): "_fin", frozenset({("finished", False)}): "_nfin",
    frozenset({("pruned", True)}): "_pr", frozenset({("pruned", False)}): "_npr",
    frozenset({("finished", False), ("pruned", False)}): "_act",
}


@dataclass
class MaskPlan:
    """A query's filter split into a status mask (applied first, in C) and the other terms."""

    array: str  # one of MASKS' values
    rest: list  # the other terms of the filter, in order


@dataclass
class Analysis:
    bounds: dict = field(default_factory=dict)  # id(Repeat) or id(range Call) -> range (constant)
    total: set = field(default_factory=set)  # ids of expressions that can neither raise nor charge steps
    charged: set = field(default_factory=set)  # ids of queries that charge len(source) steps
    fast_loops: set = field(default_factory=set)  # ids of loops whose fuel may be charged up front
    short_circuit: set = field(default_factory=set)  # ids of all/any calls that may stop early
    mask_plans: dict = field(default_factory=dict)  # id(Query) -> MaskPlan
    masks: frozenset = frozenset()  # status mask arrays the compiled episode maintains
    need_steps: bool = False  # per-branch arrays somebody reads
    need_cost: bool = False
    need_latest: bool = False
    vote_cache: bool = False  # votes(completed) / majority(completed) are read (memoised per episode)
    diags: list = field(default_factory=list)
    failed_bounds: list = field(default_factory=list)  # the L010 among diags

    def is_total(self, e) -> bool:
        return e is None or id(e) in self.total


def _is_state(e, name=None) -> bool:
    return isinstance(e, A.Name) and e.ref is not None and e.ref.kind == SymbolKind.STATE and (name is None or e.id == name)


def _plain(q: A.Query) -> bool:
    return q.where is None and q.key is None and q.take is None


def _and_terms(e) -> list:
    if isinstance(e, A.BoolOp) and e.op == "and":
        return _and_terms(e.left) + _and_terms(e.right)
    return [e]


class _Analyzer:
    def __init__(self, checked: CheckedProgram, binding: Binding, limits: Limits, traced: bool):
        self.c = checked
        self.values = binding.values
        self.limits = limits
        self.traced = traced
        self.a = Analysis()
        self.masks: set = set()
        self.funcs = {f.name for f in checked.funcs}

    # ------------------------------------------------------------------ totality
    def total(self, e) -> bool:
        """True if evaluating ``e`` can never raise nor charge steps (so evaluation order and
        laziness are unobservable): no division, indexing, list growth, integer products,
        fallible calls or comprehensions. Records every total sub-expression."""
        if e is None:
            return True
        r = self._total(e)
        if r:
            self.a.total.add(id(e))
        return r

    def _total(self, e) -> bool:
        if isinstance(e, (A.Num, A.Bool, A.NoneLit, A.Name)):
            return True
        if isinstance(e, A.Attr):
            return self.total(e.obj)  # branch indices are always valid; records are tuples
        if isinstance(e, (A.Compare, A.BoolOp)):
            return self.total(e.left) & self.total(e.right)
        if isinstance(e, A.Unary):
            return self.total(e.operand)
        if isinstance(e, A.IfExp):
            return self.total(e.cond) & self.total(e.then) & self.total(e.orelse)
        if isinstance(e, A.BinOp):
            parts = self.total(e.left) & self.total(e.right)
            if e.op in ("+", "-") and not e.ty.is_list:
                return parts
            if e.op == "*" and (e.left.ty == FLOAT or e.right.ty == FLOAT):
                return parts
            return False
        if isinstance(e, A.Slice):
            return self.total(e.obj) & self.total(e.lo) & self.total(e.hi)
        if isinstance(e, A.ListLit):
            return all([self.total(i) for i in e.items])
        if isinstance(e, A.Index):
            self.total(e.obj), self.total(e.index)
            return False
        if isinstance(e, A.Call):
            args = all([self.total(a) for a in e.args])
            b = FUNCTIONS.get(e.func)
            return b is not None and b.total and args
        if isinstance(e, A.Comprehension):
            self.parts_total(e)
            return False  # it charges steps
        return False

    def parts_total(self, e: A.Comprehension) -> bool:
        """The comprehension's source, filter and element are total (its own charge aside)."""
        q = e.query
        src = True if isinstance(q.source, A.Call) and q.source.func == "range" else self.total(q.source)
        keys = all([self.total(k) for k, _ in q.sort_keys()])
        return src & self.total(q.where) & keys & self.total(q.take) & self.total(e.elt)

    # ------------------------------------------------------------------ traversal
    def stmts(self, body):
        for st in body:
            self.stmt(st)

    def stmt(self, st):
        if isinstance(st, A.Trace):
            if self.traced:
                self.in_trace = True
                for _, v in st.fields:
                    self.expr(v)
                self.in_trace = False
            return
        if isinstance(st, (A.Let, A.AnswerStmt, A.Return)):
            self.expr(st.value)
        elif isinstance(st, A.Assign):
            if isinstance(st.target, A.Attr):
                self.expr(st.target.obj)
            self.expr(st.value)
        elif isinstance(st, A.SetKey):
            self.expr(st.key)
            self.expr(st.value)
        elif isinstance(st, A.Partition):  # visits its source as a comprehension does
            self.query(st.query, charged=True)
        elif isinstance(st, A.If):
            for cond, body in st.arms:
                self.expr(cond)
                self.stmts(body)
            if st.orelse is not None:
                self.stmts(st.orelse)
        elif isinstance(st, A.For):
            self.query(st.query, charged=not _plain(st.query))
            if not _plain(st.query):  # a filtered 'for' reads its query list as a comprehension does
                self.mask_plan(st.query)
            self.loop(st)
        elif isinstance(st, A.Repeat):
            limit = st.count if st.bound is None else st.bound
            if st.bound is not None:  # the count is computed when the loop starts; the bound caps it
                self.expr(st.count)
            try:
                n = eval_expr(limit, self.values)
            except ScheduleError as ex:
                self.bound_failed(limit.span, "repeat", ex)
                n = 0
            if n > self.limits.max_loop_bound:
                self.bound_diag(limit.span, "repeat", n)
            self.a.bounds[id(st)] = range(n)
            self.loop(st)
        elif isinstance(st, A.Action):
            if st.target is not None:
                self.expr(st.target)
            if st.on_exhausted is not None:
                self.stmts(st.on_exhausted)
            if st.then is not None:
                self.stmts(st.then)

    def loop(self, st):
        self.stmts(st.body)
        if not self.traced and not any(isinstance(n, (A.For, A.Repeat, A.Break)) or id(n) in self.a.charged
                                       or (isinstance(n, A.Call) and n.func in self.funcs)  # may charge inside
                                       for n in A.walk(st.body)):
            # an innermost loop that never breaks nor charges inside: nothing reads the fuel
            # before the loop ends or the episode returns
            self.a.fast_loops.add(id(st))

    def bound_failed(self, span, loop: str, ex):
        d = Reporter(self.c.file).loop_bound_failed(span, loop, str(ex))
        self.a.diags.append(d)
        self.a.failed_bounds.append(d)

    def bound_diag(self, span, loop: str, n: int):
        self.a.diags.append(Reporter(self.c.file).loop_bound(span, loop, n, self.limits.max_loop_bound, "param"))

    def const_range(self, e: A.Call) -> range:
        try:
            args = [eval_expr(a, self.values) for a in e.args]
        except ScheduleError as ex:
            if id(e) not in self.a.bounds:
                self.bound_failed(e.span, "range", ex)
                self.a.bounds[id(e)] = range(0)
            return self.a.bounds[id(e)]
        r = range(0, args[0]) if len(args) == 1 else range(args[0], args[1])
        if id(e) not in self.a.bounds:
            if r.stop - r.start > self.limits.max_loop_bound:
                self.bound_diag(e.span, "range", r.stop - r.start)
            self.a.bounds[id(e)] = r
        return r

    def query(self, q: A.Query, charged: bool):
        if charged and not self.in_trace:
            self.a.charged.add(id(q))
        self.expr(q.source)
        for x in [q.where, q.take] + [k for k, _ in q.sort_keys()]:
            if x is not None:
                self.expr(x)

    def expr(self, e):
        for n in _walk_exprs(e):
            if isinstance(n, A.Call) and n.func == "range":
                self.const_range(n)
        self.total(e)
        self._plans(e)

    def _plans(self, e):
        """Short-circuit calls and mask plans, outermost first (as the generator meets them)."""
        if isinstance(e, A.Call) and e.func in ("all", "any") and isinstance(e.args[0], A.Comprehension):
            c = e.args[0]
            if c.query.key is None and c.query.take is None and self.parts_total(c):
                self.a.short_circuit.add(id(e))
                if not self.in_trace:
                    self.a.charged.add(id(c.query))
                self._plans_in(c.query.source)
                self._plans_in(c.query.where)
                self._plans_in(c.elt)
                return
        if isinstance(e, A.Comprehension):
            if not self.in_trace:
                self.a.charged.add(id(e.query))
            self.mask_plan(e.query)
        for ch in _children(e):
            self._plans(ch)

    def _plans_in(self, e):
        if e is not None:
            self._plans(e)

    def mask_plan(self, q: A.Query):
        """Split the filter into a status mask and the rest. Mask terms are total, so they may
        be applied first only when every other term is total too (otherwise only a leading
        run of mask terms is taken)."""
        if q.where is None or q.source.ty is None or not q.source.ty.is_list or q.source.ty.arg != BRANCH:
            return
        if not isinstance(q.source, A.Name):
            return
        terms = _and_terms(q.where)

        def mask_term(e):
            pos = True
            if isinstance(e, A.Unary) and e.op == "not":
                e, pos = e.operand, False
            if isinstance(e, A.Attr) and e.name in ("finished", "pruned") and isinstance(e.obj, A.Name) \
                    and e.obj.ref is q.ref:
                return (e.name, pos)
            return None

        kinds = [mask_term(t) for t in terms]
        if all(k is not None or self.a.is_total(t) for k, t in zip(kinds, terms)):
            take = [i for i, k in enumerate(kinds) if k is not None]
        else:
            take = []
            for k in kinds:
                if k is None:
                    break
                take.append(len(take))
        arr = MASKS.get(frozenset(kinds[i] for i in take))
        if arr is None:
            return
        self.masks.add(arr)
        self.a.mask_plans[id(q)] = MaskPlan(arr, [t for i, t in enumerate(terms) if i not in take])

    # ------------------------------------------------------------------ program
    def run(self) -> Analysis:
        self.in_trace = False
        p = self.c.program
        for f in self.c.funcs:
            self.stmts(f.decl.body)
        for d in list(p.branch_vars) + list(p.vars):
            if d.value is not None:  # a map var starts empty
                self.expr(d.value)
        self.stmts(p.body)
        a = self.a
        a.masks = frozenset(self.masks)
        used = {n.name for n in A.walk(p) if isinstance(n, A.Attr) and n.obj.ty == BRANCH}
        a.need_steps = self.traced or "steps" in used
        a.need_cost = self.traced or "cost" in used
        a.need_latest = self.traced or "latest" in used
        a.vote_cache = any(isinstance(n, A.Call) and n.func in ("votes", "majority") and _is_state(n.args[0], "completed")
                           for n in A.walk(p))
        return a


def _children(e):
    if isinstance(e, A.Comprehension):
        q = e.query
        return [x for x in [q.source, q.where] + [k for k, _ in q.sort_keys()] + [q.take, e.elt] if x is not None]
    out = []
    for name in e.__dataclass_fields__:
        if name in ("span", "ty", "ref", "text", "name_span", "func_span"):
            continue
        v = getattr(e, name)
        if isinstance(v, A.Expr):
            out.append(v)
        elif isinstance(v, list):
            out += [x for x in v if isinstance(x, A.Expr)]
    return out


def _walk_exprs(e):
    stack = [e]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(_children(n)))


def bound_diagnostics(checked: CheckedProgram, limits: Limits | None = None,
                      betas=(0.0, 0.5, 1.0), overrides: dict | None = None) -> list:
    """L010 for constant loop bounds that fail to evaluate (``repeat 5 // 0``, ``range(1 // 0)``,
    ``repeat n * n`` with a huge ``n``): what ``check`` reports before anything runs. Evaluated
    at ``betas``; a beta whose params fail is the prover's business (P/S diagnostics)."""
    from ..lang.diagnostics import DiagnosticsError

    seen, out = set(), []
    for b in betas:
        try:
            binding = bind(checked, b, overrides)
        except DiagnosticsError:
            continue
        for d in analyze(checked, binding, limits).failed_bounds:
            if (d.span, d.message) not in seen:
                seen.add((d.span, d.message))
                out.append(d)
        if binding.beta is None:
            break
    return out


def analyze(checked: CheckedProgram, binding: Binding, limits: Limits | None = None,
            traced: bool = False) -> Analysis:
    """Analyse ``checked`` for ``binding``. Problems (L005) are in ``diags``; the engines
    raise them before running anything.

    The last few analyses are remembered: one evaluation asks for the same one up to three
    times (the Python code, the native engine's choice, the bytecode), and nothing changes
    an :class:`Analysis` once made. The key holds the param values' ``repr`` (``1`` and
    ``True``, ``0.0`` and ``-0.0`` are different bindings) and the program itself."""
    limits = limits or Limits()
    key = (id(checked), binding.beta, tuple((k, repr(v)) for k, v in sorted(binding.values.items())),
           limits, traced)
    hit = _RECENT.get(key)
    if hit is not None and hit[0] is checked:
        return hit[1]
    an = _Analyzer(checked, binding, limits, traced).run()
    if len(_RECENT) >= 8:
        _RECENT.pop(next(iter(_RECENT)))
    _RECENT[key] = (checked, an)
    return an


_RECENT: dict = {}  # analyze's memory: key -> (the checked program, its Analysis)


# ---------------------------------------------------------------------- static cost
def _mul(a, b):
    return 0 if a == 0 or b == 0 else a * b


class _Cost:
    """An upper bound on the steps an episode charges (cel-go's cost estimate through
    nesting): a comprehension costs its source's size plus, per element, its filter, key
    and element; a loop its iterations times one plus its body."""

    def __init__(self, an: Analysis, nb: int, max_history: float, funcs=()):
        self.an = an
        self.nb = nb
        self.max_history = max_history
        self.funcs = {f.name: f for f in funcs}
        self.sizes: dict = {}  # argument symbol -> the length bound of its list at the call being costed

    def size(self, e) -> float:
        """An upper bound on the length of list expression ``e``."""
        if _is_state(e, "branches") or _is_state(e, "completed"):
            return self.nb
        if isinstance(e, A.Attr) and e.name == "history":
            return self.max_history
        if isinstance(e, A.ListLit):
            return len(e.items)
        if isinstance(e, A.BinOp):
            return self.size(e.left) + self.size(e.right)
        if isinstance(e, A.Slice):
            return self.size(e.obj)
        if isinstance(e, A.IfExp):
            return max(self.size(e.then), self.size(e.orelse))
        if isinstance(e, A.Call):
            if e.func == "range":
                return len(self.an.bounds[id(e)])
            if e.func == "distinct":
                return self.size(e.args[0])
        if isinstance(e, A.Comprehension):
            return self.size(e.query.source)
        if isinstance(e, A.Name) and e.ref is not None and e.ref in self.sizes:
            return self.sizes[e.ref]
        return math.inf  # list variables: any length

    def expr(self, e) -> float:
        if e is None:
            return 0
        if isinstance(e, A.Comprehension):
            q = e.query
            n = self.size(q.source)
            each = self.expr(q.where) + self.keys(q) + self.expr(e.elt)
            return self.expr(q.source) + (n if id(q) in self.an.charged else 0) + _mul(n, each) + self.expr(q.take)
        if isinstance(e, A.IfExp):
            return self.expr(e.cond) + max(self.expr(e.then), self.expr(e.orelse))
        if isinstance(e, A.Call) and e.func in self.funcs:  # its arguments, then its body for their sizes
            f = self.funcs[e.func]
            args = sum(self.expr(a) for a in e.args)
            saved = dict(self.sizes)
            self.sizes.update({s: self.size(a) for s, a in zip(f.args, e.args) if s.ty.is_list})
            body = self.block(f.decl.body)
            self.sizes = saved
            return args + body
        return sum(self.expr(c) for c in _children(e))

    def keys(self, q: A.Query) -> float:
        return sum(self.expr(k) for k, _ in q.sort_keys())

    def block(self, body) -> float:
        return sum(self.stmt(st) for st in body)

    def stmt(self, st) -> float:
        if isinstance(st, (A.Let, A.AnswerStmt, A.Return)):
            return self.expr(st.value)
        if isinstance(st, A.SetKey):
            return self.expr(st.key) + self.expr(st.value)
        if isinstance(st, A.Assign):
            return self.expr(st.value) + (self.expr(st.target.obj) if isinstance(st.target, A.Attr) else 0)
        if isinstance(st, A.Partition):
            q = st.query
            n = self.size(q.source)
            return self.expr(q.source) + n + _mul(n, self.expr(q.where))
        if isinstance(st, A.If):
            conds = sum(self.expr(c) for c, _ in st.arms)
            arms = [self.block(b) for _, b in st.arms] + [self.block(st.orelse or [])]
            return conds + max(arms)
        if isinstance(st, A.For):
            q = st.query
            n = self.size(q.source)
            visit = (n if id(q) in self.an.charged else 0) + _mul(n, self.expr(q.where) + self.keys(q))
            return self.expr(q.source) + visit + self.expr(q.take) + _mul(n, 1 + self.block(st.body))
        if isinstance(st, A.Repeat):  # a computed count: the bound, and the count's own cost
            count = self.expr(st.count) if st.bound is not None else 0
            return count + _mul(len(self.an.bounds[id(st)]), 1 + self.block(st.body))
        if isinstance(st, A.Action):
            return self.expr(st.target) + max(self.block(st.on_exhausted or []), self.block(st.then or []))
        return 0


def static_steps(checked: CheckedProgram, an: Analysis, nb: int, max_history: float = math.inf) -> float:
    """An upper bound on the steps one episode charges on a store with ``nb`` branches per
    question and at most ``max_history`` revealed answers per branch (``inf`` when a loop or
    comprehension runs over a list whose length is not known statically)."""
    return _Cost(an, nb, max_history, checked.funcs).block(checked.program.body)
