"""Checked program + param binding -> executable episode function (the fast engine).

Python source is generated only from the checked AST: every identifier in it is minted
here (``_x<uid>`` for program variables, fixed ``_r_*``/state names for the runtime,
``_f_<name>`` for built-ins), every literal goes through ``repr``, and the code runs with a
whitelist of built-ins. Nothing from the program text is ever evaluated as Python.

The episode function works on flat per-question arrays (revealed answers as small ints)
and per-episode preallocated lists, with the action code inlined: no per-action
allocation and no method calls on the hot path. The analysis (:mod:`.analysis`) runs
first; the generator then emits every node once, so the generated code grows linearly
with the source.

Signature of the generated function::

    episode(PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, TR, JUNK=None) -> (answer, cost, reason)

``JUNK``: the question's junk answer ids (``Question.junk``), read by ``valid`` and ``real``.

``reason``: 0 answered, 1 action cap, 2 step cap, 3 fell off the end (impossible for
checked programs).
"""

from __future__ import annotations

from ..lang import ast as A
from ..lang.builtins import FUNCTIONS
from ..lang.checker import CheckedProgram, SymbolKind
from ..lang.diagnostics import DiagnosticsError
from ..lang.limits import Limits
from ..lang.schedule import Binding
from ..lang.types import BRANCH, FLOAT, INT, RECORDS
from . import runtime
from .analysis import Analysis, analyze
from .executable import REASONS, Executable
from .runtime import RuntimeProblem

__all__ = ["compile_program", "Executable", "REASONS", "RuntimeProblem"]

ATTR_ARRAYS = {"steps": "_st", "latest": "_lat", "finished": "_fin", "pruned": "_pr", "cost": "_cb"}
STATE_EXPR = {
    "opened": "_n", "remaining": "(NB - _n)", "exhausted": "(_n >= NB)", "spent": "_spent",
    "interval_tokens": "PF",
}


def _is_state(e, name) -> bool:
    return isinstance(e, A.Name) and e.id == name and e.ref is not None and e.ref.kind == SymbolKind.STATE


class _Gen:
    def __init__(self, checked: CheckedProgram, binding: Binding, limits: Limits, traced: bool, an: Analysis):
        self.c = checked
        self.an = an
        self.masks = an.masks  # status masks maintained (see analysis.MASKS)
        self.uncounted = False  # the next action was counted up front
        self.in_trace = False  # trace fields charge no steps
        self.nested = 0  # > 0 inside a comprehension's scope or iterable, or a lambda (no walrus there)
        self.uses_q = False  # some charge needs the _q closure
        self.values = binding.values
        self.limits = limits
        self.traced = traced
        self.lines: list[str] = []
        self.spans: list = []
        self.cur_span = None
        self.bvar_names = {s.name: f"_b{s.uid}" for s in checked.branch_vars}
        # per-branch arrays nobody reads are not maintained (traces keep everything)
        self.need_st = an.need_steps
        self.need_cb = an.need_cost
        self.need_lat = an.need_latest
        self.repeats = 0  # repeats with a computed count (each names its count _rn<i>)
        self.funcs = {f.name: f for f in checked.funcs}
        # the episode's memory budget: list vars and list branch vars (see check_cells)
        self.cell_vars = [f"_x{s.uid}" for s in checked.vars if s.ty.is_list]
        self.cell_bvars = [f"_b{s.uid}" for s in checked.branch_vars if s.ty.is_list]
        self.cells_bound = len(self.cell_vars)  # list vars bound so far (their declarations run first)

    def emit(self, depth, text):
        self.lines.append("    " * depth + text)
        self.spans.append(self.cur_span)

    def event(self, depth, fields):
        """A trace event (traced code only), through the episode's alias of ``TR.append``."""
        self.emit(depth, f"_tra(({fields}))")

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
        if s.kind == SymbolKind.STATE:
            if e.id == "branches":
                return "list(range(_n))"
            if e.id == "completed":
                return "_comp"
            return STATE_EXPR[e.id]
        if s.kind == SymbolKind.PARAM:
            return repr(self.values[e.id])
        return f"_x{s.uid}"

    def value(self, e) -> str:
        """An expression whose value may be stored: state lists are copied."""
        if isinstance(e, A.Name) and e.ref is not None and e.ref.kind == SymbolKind.STATE and e.id == "completed":
            return "_comp[:]"
        if isinstance(e, A.IfExp):
            return f"({self.value(e.then)} if {self.ex(e.cond)} else {self.value(e.orelse)})"
        return self.ex(e)

    def iterable(self, e) -> str:
        """Source of a query, iterated at once (no copy needed unless actions run meanwhile)."""
        if isinstance(e, A.Name) and e.ref is not None and e.ref.kind == SymbolKind.STATE and e.id == "branches":
            return "range(_n)"
        if isinstance(e, A.Call) and e.func == "range":
            return self.call_range(e)
        return self.ex(e)

    def call_range(self, e) -> str:
        r = self.an.bounds[id(e)]
        return f"range({r.start!r}, {r.stop!r})"

    def x_Attr(self, e):
        ot = e.obj.ty
        o = self.ex(e.obj)
        if ot in RECORDS:
            return f"{o}[{RECORDS[ot][e.name][0]}]"
        if e.name == "index":
            return o
        if e.name == "history":
            if not o.isidentifier():  # name the branch once: the code stays linear in the source
                return f"_r_hist(PROBES, FINAL, ORDER, _k, _fin, {o})"
            return (f"((PROBES[ORDER[{o}]][:_k[{o}]] + [FINAL[ORDER[{o}]]]) if _fin[{o}] "
                    f"else PROBES[ORDER[{o}]][:_k[{o}]])")
        if e.name in ATTR_ARRAYS:
            return f"{ATTR_ARRAYS[e.name]}[{o}]"
        return f"{self.bvar_names[e.name]}[{o}]"

    def x_Index(self, e):
        if e.obj.ty.is_map:  # a missing key reads 0
            return f"{self.ex(e.obj)}.get({self.ex(e.index)}, {0.0 if e.obj.ty.arg == FLOAT else 0!r})"
        return f"{self.ex(e.obj)}[{self.ex(e.index)}]"

    def x_Slice(self, e):
        lo = self.ex(e.lo) if e.lo is not None else ""
        hi = self.ex(e.hi) if e.hi is not None else ""
        return f"{self.ex(e.obj)}[{lo}:{hi}]"

    def x_Call(self, e):
        f = e.func
        if f == "len" and isinstance(e.args[0], A.Name) and e.args[0].id == "branches" \
                and e.args[0].ref.kind == SymbolKind.STATE:
            return "_n"
        if f == "range":
            return f"list({self.call_range(e)})"
        if f == "count":
            return f"{self.ex(e.args[0])}.count({self.ex(e.args[1])})"
        if f in ("votes", "majority") and _is_state(e.args[0], "completed"):
            v = "(_VC[1] if _VC[0] == len(_comp) else _r_vc(_comp, _VC))"
            return v if f == "votes" else f"{v}[0]"
        if id(e) in self.an.short_circuit:
            # no element can fail nor charge, so stopping at the first decisive one is exact
            c = e.args[0]
            q = c.query
            v = f"_x{q.ref.uid}"
            inline = self.inline_charge(q)
            self.nested += 1
            cond = f" if {self.ex(q.where)}" if q.where is not None else ""
            out = f"{f}({self.ex(c.elt)} for {v} in {self.charge(q, self.iterable(q.source), inline)}{cond})"
            self.nested -= 1
            return f"({inline} or {out})" if inline else out
        if f in self.funcs:
            return f"_f{self.funcs[f].uid}({', '.join(self.ex(a) for a in e.args)})"
        args = ", ".join([self.ex(a) for a in e.args] + (["JUNK"] if FUNCTIONS[f].reads_junk else []))
        return f"{runtime.func_name(f)}({args})"

    def inline_charge(self, q) -> str | None:
        """A query's charge as an expression that is false or stops the episode, to put before
        the query's code: where the source is a name or a range (evaluating it first changes
        nothing) and the code is in the episode function's own scope (walrus on _fuel)."""
        if self.in_trace or id(q) not in self.an.charged or self.nested:
            return None
        src = q.source
        if isinstance(src, A.Call) and src.func == "range":
            n = repr(len(self.an.bounds[id(src)]))
        elif _is_state(src, "branches"):
            n = "_n"
        elif isinstance(src, A.Name):
            n = f"len({self.ex(src)})"
        else:
            return None
        stop = f"_r_stop(_spent, _tra, {self.trace_line()!r})" if self.traced else "_r_stop(_spent)"
        return f"(_fuel := _fuel - {n}) < 0 and {stop}"

    def charge(self, q, src: str, inline) -> str:
        """``src`` (a query's source) with its len(src) steps charged first by the _q closure,
        unless the query charges nothing or is charged inline."""
        if inline or self.in_trace or id(q) not in self.an.charged:
            return src
        self.uses_q = True
        if self.traced:
            return f"_q({src}, {self.trace_line()!r})"
        return f"_q({src})"

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

    def masked(self, q: A.Query, inline):
        """The query's source filtered by a status mask (C-level ``compress``) and the rest of
        its filter, or ``None`` if the analysis found no mask for it."""
        plan = self.an.mask_plans.get(id(q))
        if plan is None:
            return None
        arr = plan.array
        if isinstance(q.source, A.Name) and q.source.ref is not None and q.source.ref.kind == SymbolKind.STATE:
            src = f"_r_compress({self.charge(q, 'range(_n)', inline)}, {arr})"
        else:
            lst = self.ex(q.source)
            src = f"_r_compress({self.charge(q, lst, inline)}, map({arr}.__getitem__, {lst}))"
        cond = None
        for t in plan.rest:
            c = self.ex(t)
            cond = c if cond is None else f"({cond} and {c})"
        return src, cond

    def query_list(self, q: A.Query, elt_ast=None) -> str:
        """The list a query yields (mapped by ``elt_ast`` for a comprehension), its charge first."""
        inline = self.inline_charge(q)
        self.nested += 1
        out = self._query_list(q, elt_ast, inline)
        self.nested -= 1
        return f"({inline} or {out})" if inline else out

    def _query_list(self, q: A.Query, elt_ast, inline) -> str:
        v = f"_x{q.ref.uid}"
        elt = None
        if isinstance(elt_ast, A.Name) and elt_ast.ref is q.ref:
            elt_ast = None  # [b for b in ...]: the query list itself
        elif elt_ast is not None:
            elt = self.ex(elt_ast)
        m = self.masked(q, inline)
        if m is not None:
            src, c = m
            cond = f" if {c}" if c is not None else ""
        else:
            src = self.charge(q, self.iterable(q.source), inline)
            cond = f" if {self.ex(q.where)}" if q.where is not None else ""
        arr = self.array_of(elt_ast, q) if elt_ast is not None else None
        if q.key is None and q.take is None:
            if arr is not None and not cond:
                return f"list(map({arr}.__getitem__, {src}))"
            if not cond and m is not None and elt is None:
                return f"list({src})"
            return f"[{elt or v} for {v} in {src}{cond}]"
        inner = f"list({src})" if (m is not None and not cond) else f"[{v} for {v} in {src}{cond}]"
        if q.then_by:  # several keys: one stable sort on the tuple (a descending key negated)
            keys = ", ".join(f"-({self.ex(k)})" if desc else self.ex(k) for k, desc in q.sort_keys())
            inner = f"sorted({inner}, key=lambda {v}: ({keys}))"
        elif q.key is not None:
            rev = ", reverse=True" if q.descending else ""
            k = q.key
            if isinstance(k, A.Attr) and isinstance(k.obj, A.Name) and k.obj.ref is q.ref and k.obj.ty == BRANCH \
                    and (k.name in ATTR_ARRAYS or k.name in self.bvar_names):
                karr = ATTR_ARRAYS.get(k.name) or self.bvar_names[k.name]
                inner = f"sorted({inner}, key={karr}.__getitem__{rev})"  # the array is never rebound
            else:
                inner = f"sorted({inner}, key=lambda {v}: {self.ex(q.key)}{rev})"
        if q.take is not None:  # evaluated once, in the query's own scope
            # ... unless the slice becomes a comprehension's iterable below, where Python
            # allows no walrus (a query inside ``take`` then charges through the _q closure)
            own = elt is None or arr is not None
            self.nested -= own
            inner = f"{inner}[:{runtime.func_name('max')}(0, {self.ex(q.take)})]"
            self.nested += own
        if elt is None:
            return inner
        if arr is not None:
            return f"list(map({arr}.__getitem__, {inner}))"
        return f"[{elt} for {v} in {inner}]"

    def x_Comprehension(self, e):
        return self.query_list(e.query, e.elt)

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
            self.event(d, f"'set', {name!r}, {var}, _spent, {self.trace_line()!r}, {str(ty)!r}")

    def s_Let(self, st, d):
        self.emit(d, f"_x{st.ref.uid} = {self.value(st.value)}")
        self.trace_set(d, st.name, f"_x{st.ref.uid}", st.ref.ty)

    def s_Partition(self, st, d):
        q = st.query
        v, yes, no = f"_x{q.ref.uid}", f"_x{st.yes_ref.uid}", f"_x{st.no_ref.uid}"
        src = self.iterable(q.source)
        if src == "_comp":
            src = "_comp[:]"
        self.emit(d, f"{yes} = []")
        self.emit(d, f"{no} = []")
        self.emit(d, f"for {v} in {self.charge(q, src, None)}:")
        self.emit(d + 1, f"({yes} if {self.ex(q.where)} else {no}).append({v})")
        self.trace_set(d, st.yes, yes, st.yes_ref.ty)
        self.trace_set(d, st.no, no, st.no_ref.ty)

    def store(self, d, held, value, counted):
        """``held = value``, then, when ``held`` is a list var or a branch's list var
        (``counted``), the memory budget's check."""
        if counted and self.cell_bvars:  # the new length replaces the old one in the running sum
            self.seq(d, [f"_cells -= len({held})", f"{held} = {value}", f"_cells += len({held})"])
        else:
            self.emit(d, f"{held} = {value}")
        if counted:
            self.check_cells(d)

    def check_cells(self, d):
        """The episode's memory budget (``max_episode_cells``, L013): the elements of every list
        var plus every opened branch's list branch vars. With list branch vars, a running sum
        ``_cells``; with list vars only, the sum of their lengths where it is checked (CMC's one
        list: one ``len``); programs that keep no lists pay nothing."""
        cells = "_cells" if self.cell_bvars else " + ".join(f"len({x})" for x in self.cell_vars[:self.cells_bound])
        self.emit(d, f"if {cells} > {self.limits.max_episode_cells!r}: _r_cells({cells})")

    def s_Assign(self, st, d):
        t = st.target
        if isinstance(t, A.Name):
            self.store(d, f"_x{t.ref.uid}", self.value(st.value), f"_x{t.ref.uid}" in self.cell_vars)
            self.trace_set(d, t.id, f"_x{t.ref.uid}", t.ref.ty)
        else:
            o = self.ex(t.obj)
            arr = self.bvar_names[t.name]
            if not self.traced and o.isidentifier():
                self.store(d, f"{arr}[{o}]", self.value(st.value), arr in self.cell_bvars)
            else:
                self.emit(d, f"_i = {o}")
                self.store(d, f"{arr}[_i]", self.value(st.value), arr in self.cell_bvars)
            if self.traced:
                self.event(d, f"'bset', {t.name!r}, _i, {self.bvar_names[t.name]}[_i], _spent, "
                              f"{self.trace_line()!r}, {self.trace_bvar_type(t.name)!r}")

    def s_SetKey(self, st, d):
        m, key, value = self.ex(st.target), self.ex(st.key), self.value(st.value)
        if st.op == "+=":  # the key once, then its value (the reference's order)
            zero = 0.0 if st.target.ty.arg == FLOAT else 0
            self.emit(d, f"_mk = {key}")
            self.emit(d, f"_r_put({m}, _mk, {m}.get(_mk, {zero!r}) + {value})")
        else:
            self.emit(d, f"_r_put({m}, {key}, {value})")

    def s_If(self, st, d):
        for i, (cond, body) in enumerate(st.arms):
            self.cur_span = cond.span
            self.emit(d, f"{'if' if i == 0 else 'elif'} {self.ex(cond)}:")
            if self.traced:
                self.event(d + 1, f"'if', {i!r}, _spent, {self.trace_line()!r}")
            self.block(body, d + 1)
        if st.orelse is not None:
            self.emit(d, "else:")
            if self.traced:
                self.event(d + 1, f"'if', 'else', _spent, {st.span.line!r}")
            self.block(st.orelse, d + 1)
        elif self.traced:
            self.emit(d, "else:")
            self.event(d + 1, f"'if', None, _spent, {st.span.line!r}")

    def function(self, f, d):
        """A user function as a local def (its code once, however often it is called); its
        charges go through _q (no walrus on _fuel outside the episode's own scope)."""
        self.cur_span = f.decl.span
        self.emit(d, f"def _f{f.uid}({', '.join(f'_x{a.uid}' for a in f.args)}):")
        self.nested += 1
        self.func_block(f.decl.body, d + 1)
        self.nested -= 1

    def func_block(self, stmts, d):
        for st in stmts:
            self.cur_span = st.span
            if isinstance(st, A.Let):
                self.emit(d, f"_x{st.ref.uid} = {self.value(st.value)}")
            elif isinstance(st, A.Return):
                self.emit(d, f"return {self.value(st.value)}")
            else:
                for i, (cond, body) in enumerate(st.arms):
                    self.emit(d, f"{'if' if i == 0 else 'elif'} {self.ex(cond)}:")
                    self.func_block(body, d + 1)
                if st.orelse is not None:
                    self.emit(d, "else:")
                    self.func_block(st.orelse, d + 1)

    def trace_bvar_type(self, name):
        return next((str(s.ty) for s in self.c.branch_vars if s.name == name), None)

    def trace_iter_init(self, d):
        """Traced only: top-level loops count their iterations (the controller's steps)."""
        if self.traced and d == 2:
            self.emit(d, "_tr_it = -1")

    def trace_iter(self, d, st):
        if self.traced and d == 3:
            self.emit(d, "_tr_it += 1")
            self.event(d, f"'iter', _tr_it, _spent, {st.span.line!r}")

    def stop_if(self, d, cond, reason, code):
        """``if COND: return (None, _spent, CODE)`` on one line (with the end event if traced)."""
        if self.traced:
            self.emit(d, f"if {cond}: _tra(('end', {reason!r}, None, _spent, {self.trace_line()!r})); "
                         f"return (None, _spent, {code})")
        else:
            self.emit(d, f"if {cond}: return (None, _spent, {code})")

    def fuel(self, d):
        self.emit(d, "_fuel -= 1")
        self.stop_if(d, "_fuel < 0", "step_cap", 2)

    def s_For(self, st, d):
        q = st.query
        v = f"_x{q.ref.uid}"
        if q.where is None and q.key is None and q.take is None:
            src = self.iterable(q.source)
            if src == "_comp":
                src = "_comp[:]"
        else:
            src = self.query_list(q)
        if id(st) in self.an.fast_loops:
            s = f"_s{q.ref.uid}"
            self.emit(d, f"{s} = {src}")
            self.fast_loop(d, f"for {v} in {s}:", f"len({s})", st.body)
            return
        self.trace_iter_init(d)
        self.emit(d, f"for {v} in {src}:")
        self.fuel(d + 1)
        self.trace_iter(d + 1, st)
        self.block(st.body, d + 1)

    def fast_loop(self, d, head, count, body):
        """An innermost loop that never breaks nor charges steps inside (see the analysis):
        its whole fuel is charged up front when there is enough, since nothing reads the
        fuel before the loop ends or the episode returns. (Traced code keeps per-iteration
        checks and events.)"""
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
        self.uncounted = one_action
        self.block(body, d + 2)
        self.uncounted = False
        self.emit(d, "else:")
        self.emit(d + 1, head)
        self.fuel(d + 2)
        self.block(body, d + 2)

    def s_Repeat(self, st, d):
        n = repr(len(self.an.bounds[id(st)]))
        v = f"_x{st.ref.uid}" if st.ref is not None else "_"
        if st.bound is not None:  # the count, computed now and capped by the bound
            self.repeats += 1
            count = f"_rn{self.repeats}"
            self.emit(d, f"{count} = {runtime.func_name('min')}({runtime.func_name('max')}(0, {self.ex(st.count)}), {n})")
            n = count
        if id(st) in self.an.fast_loops:
            self.fast_loop(d, f"for {v} in range({n}):", n, st.body)
            return
        self.trace_iter_init(d)
        self.emit(d, f"for {v} in range({n}):")
        self.fuel(d + 1)
        self.trace_iter(d + 1, st)
        self.block(st.body, d + 1)

    def count_action(self, d):
        self.emit(d, "_acts += 1")
        self.stop_if(d, "_acts > CAP", "action_cap", 1)

    def seq(self, d, stmts):
        """Simple statements on one line (the action code: same bytecode, less text)."""
        self.emit(d, "; ".join(x for x in stmts if x))

    def explore(self, d, iv="_i"):
        """The spec's explore(branch) on the branch whose index is in local ``iv``.

        A branch's ``charged`` is always ``k * PF`` (only probes add to it), so it is not
        stored. With traces on, ``_a`` (answer) and ``_c`` (charge) are set for the events
        and every per-branch array is kept; without, only the arrays the program reads."""
        e = self.emit
        self.seq(d, [f"_j = ORDER[{iv}]", f"_kk = _k[{iv}]"])
        if self.traced:
            e(d, f"if _kk < NPROBES[_j]: _a = PROBES[_j][_kk]; _k[{iv}] = _kk + 1; _c = PF")
            e(d, "else:")
            self.seq(d + 1, ["_a = FINAL[_j]", "_c = TOK[_j] - _kk * PF"])
            e(d + 1, "if _c < 0: _c = 0")
            self.seq(d + 1, [f"_fin[{iv}] = True", *self.on_finish(iv), "_comp.append(_a)"])
            self.seq(d, [f"_lat[{iv}] = _a", f"_st[{iv}] += 1", f"_cb[{iv}] += _c", "_spent += _c"])
            return
        self.emit(d, "if _kk < NPROBES[_j]: " + "; ".join(x for x in [
            self.need_lat and f"_lat[{iv}] = PROBES[_j][_kk]", f"_k[{iv}] = _kk + 1",
            self.need_cb and f"_cb[{iv}] += PF", "_spent += PF"] if x))
        e(d, "else:")
        self.seq(d + 1, ["_a = FINAL[_j]", "_c = TOK[_j] - _kk * PF"])
        e(d + 1, f"if _c > 0: _spent += _c; _cb[{iv}] += _c" if self.need_cb else "if _c > 0: _spent += _c")
        self.seq(d + 1, [f"_fin[{iv}] = True", *self.on_finish(iv), "_comp.append(_a)",
                         self.need_lat and f"_lat[{iv}] = _a"])
        if self.need_st:
            e(d, f"_st[{iv}] += 1")

    def on_finish(self, iv) -> list:
        return [f"{m}[{iv}] = False" for m in ("_nfin", "_act") if m in self.masks]

    def on_prune(self, iv) -> list:
        return [f"{m}[{iv}] = False" for m in ("_npr", "_act") if m in self.masks]

    def on_fail(self, st, d):
        if st.on_exhausted is not None:
            self.block(st.on_exhausted, d)
            self.cur_span = st.span  # the action's own events and lines after its else block
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
                self.event(d + 1, f"{k!r}, None, None, 0, _spent, 'exhausted', {self.trace_line()!r}")
            self.on_fail(st, d + 1)
            e(d, "else:")
            self.seq(d + 1, ["_i = _n", "_n += 1"])
            if k == "open":
                self.explore(d + 1)
            else:
                self.seq(d + 1, ["_j = ORDER[_i]", "_a = FINAL[_j]", "_c = TOK[_j]", "_fin[_i] = True",
                                 *self.on_finish("_i"), self.need_lat and "_lat[_i] = _a",
                                 self.need_cb and "_cb[_i] = _c", "_spent += _c", "_comp.append(_a)"])
            if self.traced:
                self.event(d + 1, f"{k!r}, _i, _a, _c, _spent, _fin[_i], {self.trace_line()!r}")
            self.init_new_branch(d + 1, st)
            if st.bind is not None:
                e(d + 1, f"_x{st.ref.uid} = _i")
            self.then(st, d + 1)
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
                self.event(d + 1, f"'advance', _i, None, 0, _spent, 'no-op', {self.trace_line()!r}")
            self.on_fail(st, d + 1)
            e(d, "else:")
            self.explore(d + 1, iv)
            if self.traced:
                self.event(d + 1, f"'advance', _i, _a, _c, _spent, _fin[_i], {self.trace_line()!r}")
            self.then(st, d + 1)
        else:  # prune
            e(d, f"if _pr[{iv}]:")
            if self.traced:
                self.event(d + 1, f"'prune', _i, None, 0, _spent, 'no-op', {self.trace_line()!r}")
            self.on_fail(st, d + 1)
            e(d, "else:")
            self.seq(d + 1, [f"_pr[{iv}] = True", *self.on_prune(iv)])
            if self.traced:
                self.event(d + 1, f"'prune', _i, None, 0, _spent, True, {self.trace_line()!r}")
            self.then(st, d + 1)

    def init_new_branch(self, d, st):
        """Branch vars whose initial value reads the new branch (``new``), for branch ``_i``
        just opened or read by action ``st``."""
        for s, decl in zip(self.c.branch_vars, self.c.program.branch_vars):
            if decl.new_ref is not None:
                self.emit(d, f"_x{decl.new_ref.uid} = _i")
                self.emit(d, f"_b{s.uid}[_i] = {self.ex(decl.value)}")
        if self.cell_bvars:  # the new branch's list vars, whatever their initial values
            at, self.cur_span = self.cur_span, st.span  # (an else block before may have moved it)
            self.emit(d, "_cells += " + " + ".join(f"len({b}[_i])" for b in self.cell_bvars))
            self.check_cells(d)
            self.cur_span = at

    def then(self, st, d):
        """The block of an action used as a condition, where the action was done."""
        if st.then is not None:
            self.block(st.then, d)

    def s_AnswerStmt(self, st, d):
        self.emit(d, f"_ans = {self.ex(st.value)}")
        if self.traced:
            self.event(d, f"'end', 'answer', _ans, _spent, {self.trace_line()!r}")
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
        self.in_trace = True
        fields = ", ".join(f"({k!r}, _r_guard(lambda: {self.value(v)}))" for k, v in st.fields)
        self.in_trace = False
        tys = [str(v.ty) for _, v in st.fields]
        self.event(d, f"'trace', {st.label!r}, [{fields}], _spent, {self.trace_line()!r}, {tys!r}")

    # ---------------------------------------------------------------- program
    def program(self) -> str:
        c = self.c
        e = self.emit
        e(0, "def _r_build():")
        e(1, "def _episode(PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, TR, JUNK=None):")
        d = 2
        e(d, "_n = _spent = _acts = _cells = 0" if self.cell_bvars else "_n = _spent = _acts = 0")
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
        if self.an.vote_cache:
            e(d, "_VC = [-1, None]")
        if self.traced:
            e(d, "_tra = TR.append")
        for m in ("_nfin", "_npr", "_act"):  # derived masks (_fin and _pr are always kept)
            if m in self.masks:
                e(d, f"{m} = [True] * NB")
        for f in c.funcs:
            self.function(f, d)
        for s, decl in zip(c.branch_vars, c.program.branch_vars):
            self.cur_span = decl.span
            e(d, f"_b{s.uid} = [{self.ex(decl.value) if decl.new_ref is None else None}] * NB")
        self.cells_bound = 0
        for s, decl in zip(c.vars, c.program.vars):
            self.cur_span = decl.span
            e(d, f"_x{s.uid} = {self.ex(decl.value) if decl.value is not None else '{}'}")
            if f"_x{s.uid}" in self.cell_vars:
                self.cells_bound += 1
                if self.cell_bvars:
                    e(d, f"_cells += len(_x{s.uid})")
                self.check_cells(d)
        at = len(self.lines)
        self.block(c.program.body, d)
        self.cur_span = None
        if self.uses_q:  # a charge inside a nested scope: _q charges len(source), may raise runtime.StepCap
            stop = "raise _r_StepCap(_spent)"
            if self.traced:
                stop = f"_tra(('end', 'step_cap', None, _spent, ln)); {stop}"
            q = ["def _q(s, ln=None):" if self.traced else "def _q(s):", "    nonlocal _fuel; _fuel -= len(s)",
                 f"    if _fuel < 0: {stop}", "    return s"]
            self.lines[at:at] = ["    " * d + x for x in q]
            self.spans[at:at] = [None] * len(q)
        if self.traced:
            self.event(d, "'end', 'end', None, _spent, None")
        e(d, "return (None, _spent, 3)")
        e(1, "return _episode")
        return "\n".join(self.lines) + "\n"


def compile_program(checked: CheckedProgram, binding: Binding, limits: Limits | None = None,
                    traced: bool = False, deferred: bool = False) -> Executable:
    """The executable of ``checked`` for ``binding`` (problems of the analysis raise
    :class:`DiagnosticsError`). ``deferred``: the Python code is generated and compiled at
    the episode's first call, not now (``source`` and ``line_map`` are filled then): an
    evaluation a native engine runs whole never pays for it (about 5 ms per binding)."""
    limits = limits or Limits()
    an = analyze(checked, binding, limits, traced)
    if an.diags:
        raise DiagnosticsError(an.diags, checked.source)
    if deferred and not traced:
        exe = Executable(checked, binding, "", None, {}, False)
        exe.episode = _Deferred(exe, limits)
        return exe
    g = _Gen(checked, binding, limits, traced, an)
    src = g.program()
    ns = runtime.namespace(limits)
    code = compile(src, f"<tts:{checked.name}>", "exec")
    exec(code, ns)  # noqa: S102 - source generated from the checked AST only (see module doc)
    episode = ns["_r_build"]()
    if an.charged:  # a charge in an expression stops the episode by raising runtime.StepCap
        episode = runtime.stops_at_step_cap(episode)
    line_map = {i + 1: sp for i, sp in enumerate(g.spans) if sp is not None}
    return Executable(checked, binding, src, episode, line_map, traced)


class _Deferred:
    """An executable's Python episode, made at its first call (see ``compile_program``)."""

    __slots__ = ("exe", "limits", "real")

    def __init__(self, exe: Executable, limits: Limits):
        self.exe, self.limits, self.real = exe, limits, None

    def __call__(self, *a):
        real = self.real
        if real is None:
            full = compile_program(self.exe.checked, self.exe.binding, self.limits)
            self.exe.source, self.exe.line_map = full.source, full.line_map
            self.exe.episode = real = self.real = full.episode
        return real(*a)
