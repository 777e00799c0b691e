"""AST -> checked program: name resolution, types, arity, read-only state, bounded loops,
reachability, a final answer on every path, and information safety (nothing a program
can name reaches hidden data: the registry in :mod:`builtins` is the whole namespace).

The checker annotates the AST in place (``ty`` on expressions, ``ref`` on names and
binders) and returns a :class:`CheckedProgram`; it never raises on bad programs, it
collects diagnostics.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from enum import StrEnum

from . import ast as A
from .builtins import BRANCH_ATTRS, FUNCTIONS, HIDDEN_ATTRS, HIDDEN_NAMES, STATE
from .diagnostics import NOWHERE, Diagnostic, DiagnosticsError, Reporter, Span
from .limits import Limits
from .parser import ACTIONS
from .types import (ANSWER, ANY, BOOL, BRANCH, ERROR, FLOAT, INT, RECORDS, SCALARS, Ty, assignable,
                    is_num, join, list_of, map_of)

PARAM_TYPES = (INT, FLOAT, BOOL)


class SymbolKind(StrEnum):
    """What a name is bound to (starlark-go's ``resolve.Scope``). A ``str`` enum: the members
    compare equal to their values, so ``kind == "state"`` elsewhere keeps working."""

    STATE = "state"    # built-in episode state (completed, branches, ...)
    PARAM = "param"    # a knob from the params block
    BETA = "beta"      # the schedule variable, visible in the params block only
    VAR = "var"        # an episode variable (var)
    BVAR = "bvar"      # a per-branch variable (branch var)
    LOCAL = "local"    # a let binding
    LOOP = "loop"      # a for/repeat/comprehension variable
    BOUND = "bound"    # the branch bound by 'open/read as NAME'
    ARG = "arg"        # a function's argument


@dataclass(eq=False)
class Symbol:
    name: str
    kind: SymbolKind
    ty: Ty
    uid: int
    span: Span
    mutable: bool = False
    uses_beta: bool = False  # a param whose value depends on beta (directly or through a param)


@dataclass
class ParamInfo:
    name: str
    ty: Ty
    direction: str | None
    lo: float | None
    hi: float | None
    expr: A.Expr
    uses_beta: bool
    decl: A.Param
    symbol: Symbol


@dataclass(eq=False)
class FuncInfo:
    """A user function: its argument symbols, result type and declaration; ``uid`` mints its
    name in generated code."""

    name: str
    args: list  # list[Symbol]
    ret: Ty
    decl: A.FuncDef
    uid: int
    ok: bool = True  # its body checked without errors

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(f'{a.name}: {a.ty}' for a in self.args)}) -> {self.ret}"


def _rebuild(e, leaf):
    """A copy of expression ``e`` where ``leaf(node)`` (when not None) replaces a node."""
    r = leaf(e)
    if r is not None or not isinstance(e, A.Expr):
        return e if r is None else r
    out = copy.copy(e)
    for name in e.__dataclass_fields__:
        v = getattr(e, name)
        if isinstance(v, A.Expr):
            setattr(out, name, _rebuild(v, leaf))
        elif isinstance(v, list):
            setattr(out, name, [_rebuild(x, leaf) if isinstance(x, A.Expr) else x for x in v])
    return out


def _expand(e: A.Expr) -> A.Expr:
    """``e`` with every user-function call replaced by its inlined body (what the schedule
    evaluator and the prover see; the checker set ``inlined`` on each such call)."""
    return _rebuild(e, lambda n: _expand(n.inlined) if getattr(n, "inlined", None) is not None else None)


def _substitute(e, env: dict):
    """A fresh copy of expression ``e`` with names in ``env`` replaced by copies of their values."""
    return _rebuild(e, lambda n: copy.deepcopy(env[n.id]) if isinstance(n, A.Name) and n.id in env else None)


def inline_body(stmts: list, env: dict) -> A.Expr:
    """A function block as one expression (lets substituted, ifs as conditionals): how the
    prover sees a function used in a param value. Blocks are small and non-recursive."""
    st, rest = stmts[0], stmts[1:]
    if isinstance(st, A.Return):
        return _substitute(st.value, env)
    if isinstance(st, A.Let):
        return inline_body(rest, {**env, st.name: _substitute(st.value, env)})
    out = inline_body((st.orelse or []) + rest, env)
    for cond, body in reversed(st.arms):
        out = A.IfExp(_substitute(cond, env), inline_body(body + rest, env), out, span=st.span)
    return out


@dataclass
class CheckedProgram:
    program: A.Program
    params: list[ParamInfo]
    vars: list[Symbol]
    branch_vars: list[Symbol]
    warnings: list[Diagnostic] = field(default_factory=list)
    uses_history: bool = False
    funcs: list = field(default_factory=list)  # list[FuncInfo], in source order

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def source(self) -> str:
        return self.program.source

    @property
    def file(self) -> str:
        return self.program.file

    @property
    def uses_beta(self) -> bool:
        return any(p.uses_beta for p in self.params)

    def param(self, name: str) -> ParamInfo | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


class _Scope:
    def __init__(self, parent: "_Scope | None" = None):
        self.parent = parent
        self.names: dict[str, Symbol] = {}

    def lookup(self, name):
        s = self
        while s is not None:
            if name in s.names:
                return s.names[name]
            s = s.parent
        return None

    def visible(self, kinds: tuple[SymbolKind, ...] | None = None) -> set[str]:
        """The names visible here (the candidates for did-you-mean), optionally only those
        whose innermost binding is of one of ``kinds``."""
        s, seen = self, {}
        while s is not None:
            for name, sym in s.names.items():
                seen.setdefault(name, sym)
            s = s.parent
        return {n for n, sym in seen.items() if kinds is None or sym.kind in kinds}


def schedule_functions() -> list[str]:
    """The built-ins a param value or an initial value may call, in registry order."""
    return [name for name, f in FUNCTIONS.items() if f.schedule_ok]


def _literal_number(e: A.Expr):
    """Value of a constant numeric expression made of literals only (for ranges)."""
    if isinstance(e, A.Num):
        return e.value
    if isinstance(e, A.Unary) and e.op in "-+":
        v = _literal_number(e.operand)
        if v is None:
            return None
        return -v if e.op == "-" else v
    return None


class Checker:
    def __init__(self, prog: A.Program, limits: Limits | None = None):
        self.prog = prog
        self.limits = limits or Limits()
        self.report = Reporter(prog.file, "check")
        self.diags = self.report.diagnostics
        self.uid = 0
        self.loop_depth = 0
        self.mode = "body"  # body | schedule | const
        self.uses_history = False
        self.bvars: dict[str, Symbol] = {}
        self.global_scope = _Scope()
        self._beta_seen = False  # set while checking a param value that reads beta
        self.funcs: dict[str, FuncInfo] = {}
        self.func: FuncInfo | None = None  # the function whose body is being checked
        self.call_lines: dict[str, int] = {}  # function -> line of its first call
        self.in_trace = False  # checking a trace field (it charges no steps: no user calls there)

    # ----------------------------------------------------------------- helpers

    def sym(self, name, kind: SymbolKind, ty, span, mutable=False, uses_beta=False):
        self.uid += 1
        return Symbol(name, kind, ty, self.uid, span, mutable, uses_beta)

    def resolve_type(self, t: A.TypeRef) -> Ty:
        if t.name == "map" or t.val is not None:
            if t.name != "map" or t.val is None:
                self.report.bad_type_argument(t.span, "map_args" if t.name == "map" else "argument", t.name)
                return ERROR
            key, val = self.resolve_type(t.arg), self.resolve_type(t.val)
            if ERROR in (key, val):
                return ERROR
            if key != ANSWER:
                self.report.bad_type_argument(t.arg.span, "map_key", str(key))
                return ERROR
            if val not in (INT, FLOAT):
                self.report.bad_type_argument(t.val.span, "map_value", str(val))
                return ERROR
            return map_of(val)
        if t.name == "list":
            if t.arg is None:
                self.report.bad_type_argument(t.span, "no_element")
                return ERROR
            inner = self.resolve_type(t.arg)
            if inner.is_list or inner.is_map:
                self.report.bad_type_argument(t.span, "nested" if inner.is_list else "map_in_list")
                return ERROR
            return list_of(inner)
        if t.arg is not None:
            self.report.bad_type_argument(t.span, "argument", t.name)
            return ERROR
        if t.name in SCALARS:
            return SCALARS[t.name]
        self.report.unknown_type(t.span, t.name, list(SCALARS) + ["list"])
        return ERROR

    def check_name_ok(self, name, span, what):
        if name.startswith("__"):
            self.report.dunder_name(span, what, name)
            return False
        if name in STATE or name == "beta":
            self.report.reserved_name(span, name)
            return False
        return True

    # ----------------------------------------------------------------- program
    def run(self) -> CheckedProgram:
        p = self.prog
        g = self.global_scope
        for s in STATE.values():
            g.names[s.name] = self.sym(s.name, SymbolKind.STATE, s.ty, NOWHERE)
        self.declare_funcs(p.funcs)
        params = self.check_params(p.params)
        # episode vars
        self.mode = "const"
        vars_ = []
        for d in p.vars:
            ty = self.resolve_type(d.type)
            if (d.value is None) != ty.is_map:  # a map starts empty; anything else has a value
                if d.value is not None:
                    self.report.map_place(d.value.span, "value", d.name)
                elif ty != ERROR:
                    self.report.map_place(d.name_span, "missing_value", d.name)
            vt = self.expr(d.value, g) if d.value is not None else ty
            if ty != ERROR and not assignable(vt, ty):
                self.report.type_mismatch(d.value.span, "var_init", ty, vt, name=d.name)
            if self.check_name_ok(d.name, d.name_span, "variable"):
                if g.lookup(d.name) is not None:
                    self.report.duplicate(d.name_span, "var", d.name)
                else:
                    s = self.sym(d.name, SymbolKind.VAR, ty, d.name_span, mutable=True)
                    g.names[d.name] = s
                    vars_.append(s)
                    d.ref = s
        bvars = []
        for d in p.branch_vars:
            ty = self.resolve_type(d.type)
            # 'new' names the branch being opened: an initial value that reads it is computed
            # for each branch when it is opened or read (after its first reveal)
            init = _Scope(g)
            new = self.sym("new", SymbolKind.BOUND, BRANCH, d.span)
            init.names["new"] = new
            self.mode = "bvar_init"
            vt = self.expr(d.value, init)
            self.mode = "const"
            if any(isinstance(n, A.Name) and n.ref is new for n in A.walk(d.value)):
                d.new_ref = new
            if ty.is_map:
                self.report.map_place(d.type.span, "bvar")
            elif ty != ERROR and not assignable(vt, ty):
                self.report.type_mismatch(d.value.span, "bvar_init", ty, vt, name=d.name)
            if ty == BRANCH:
                self.report.branch_var_holds_branch(d.type.span)
            if d.name in BRANCH_ATTRS or d.name in HIDDEN_ATTRS:
                self.report.duplicate(d.name_span, "branch_attr", d.name)
            elif d.name in self.bvars:
                self.report.duplicate(d.name_span, "bvar", d.name)
            elif self.check_name_ok(d.name, d.name_span, "branch variable"):
                s = self.sym(d.name, SymbolKind.BVAR, ty, d.name_span, mutable=True)
                d.ref = s
                self.bvars[d.name] = s
                bvars.append(s)
        self.mode = "body"
        body_scope = _Scope(g)
        _, answers = self.block(p.body, body_scope)
        if not answers and not any(d.severity == "error" for d in self.diags):
            last = p.body[-1].span if p.body else p.span
            end = Span(last.end_line, max(1, last.end_col - 1), last.end_line, last.end_col)
            self.report.no_answer_at_end(end)
        for f in self.funcs.values():  # name the call site of a function whose body has errors
            if not f.ok and f.name in self.call_lines:
                self.report.called_from(f.decl.name_span, f.name, self.call_lines[f.name])
        errors = [d for d in self.diags if d.severity == "error"]
        if errors:
            raise DiagnosticsError(self.diags, p.source)
        return CheckedProgram(p, params, vars_, bvars, [d for d in self.diags if d.severity not in ("error", "note")],
                              self.uses_history, list(self.funcs.values()))

    # --------------------------------------------------------------- functions
    def declare_funcs(self, decls):
        """Signatures first (any function may call any other), then the call graph (no
        recursion), then each body, in a scope that holds its arguments only."""
        for d in decls:
            args = []
            for a in d.params:
                ty = self.resolve_type(a.type)
                if any(x.name == a.name for x in args):
                    self.report.duplicate(a.span, "func_arg", a.name)
                elif self.check_name_ok(a.name, a.span, "argument"):
                    a.ref = self.sym(a.name, SymbolKind.ARG, ty, a.span)
                    args.append(a.ref)
            ret = self.resolve_type(d.ret)
            if d.name in FUNCTIONS or d.name in ACTIONS:
                self.report.duplicate(d.name_span, "func_builtin", d.name)
            elif d.name in self.funcs:
                self.report.duplicate(d.name_span, "func", d.name)
            elif self.check_name_ok(d.name, d.name_span, "function"):
                self.uid += 1
                d.ref = self.funcs[d.name] = FuncInfo(d.name, args, ret, d, self.uid)
        calls = {f.name: [n.func for n in A.walk(f.decl.body) if isinstance(n, A.Call) and n.func in self.funcs]
                 for f in self.funcs.values()}
        done: set[str] = set()
        for f in self.funcs.values():  # depth-first, reporting each cycle once
            path: list[str] = []

            def visit(name):
                if name in path:
                    cycle = path[path.index(name):] + [name]
                    self.report.recursive_function(self.funcs[cycle[0]].decl.name_span, cycle)
                    for n in cycle:
                        self.funcs[n].ok = False
                    return
                if name in done:
                    return
                path.append(name)
                for callee in calls[name]:
                    visit(callee)
                path.pop()
                done.add(name)

            visit(f.name)
        recursive = {f.name for f in self.funcs.values() if not f.ok}
        for f in self.funcs.values():
            if f.name in recursive:
                continue
            n0 = len(self.diags)
            scope = _Scope(self.global_scope)
            for a in f.args:
                scope.names[a.name] = a
            self.mode, self.func = "func", f
            _, returns = self.block(f.decl.body, scope)
            self.mode, self.func = "body", None
            if not returns and len(self.diags) == n0:
                self.report.missing_return(f.decl.name_span, f.name)
            f.ok = not any(d.severity == "error" for d in self.diags[n0:])

    def s_Return(self, st: A.Return, scope):
        vt = self.expr(st.value, scope)
        f = self.func
        if vt != ERROR and f.ret != ERROR and not assignable(vt, f.ret):
            self.report.type_mismatch(st.value.span, "return", f.ret, vt, name=f.name)
        return True, True

    def user_call(self, e: A.Call, f: FuncInfo, scope):
        self.call_lines.setdefault(f.name, e.span.line)
        if self.in_trace or (self.mode == "bvar_init" and any(a.ty == BRANCH for a in f.args)):
            self.report.not_allowed_here(e.func_span, "call_in_trace" if self.in_trace else "func_in_init", f.name)
            return ERROR
        if len(e.args) != len(f.args):
            self.report.arity(e.span, f.name, len(f.args), len(f.args), len(e.args), f.signature)
            for a in e.args:
                self.expr(a, scope)
            return ERROR
        bad = False
        for a, s in zip(e.args, f.args):
            t = self.expr(a, scope)
            if t == ERROR or s.ty == ERROR:
                bad = True
            elif not assignable(t, s.ty):
                self.report.type_mismatch(a.span, "func_arg", s.ty, t, name=f.name, what=s.name)
                bad = True
        if bad or not f.ok or f.ret == ERROR:
            return ERROR
        if self.mode == "schedule":  # the prover and the schedule see through the call
            e.inlined = inline_body(f.decl.body, {s.name: a for s, a in zip(f.args, e.args)})
            n0 = len(self.diags)
            t = self.expr(e.inlined, scope)
            if len(self.diags) > n0:
                self.report.called_from(f.decl.name_span, f.name, e.span.line)
                return ERROR
            if t != ERROR and not assignable(t, f.ret):
                self.report.type_mismatch(e.span, "return", f.ret, t, name=f.name)
                return ERROR
        return f.ret

    def check_params(self, decls):
        g = self.global_scope
        out = []
        beta_sym = self.sym("beta", SymbolKind.BETA, FLOAT, self.prog.span)
        sched = _Scope(g)
        sched.names["beta"] = beta_sym
        for d in decls:
            ty = self.resolve_type(d.type)
            if ty != ERROR and ty not in PARAM_TYPES:
                self.report.param_type(d.type.span, d.name, ty)
            self.mode = "schedule"
            self._beta_seen = False
            vt = self.expr(d.value, sched)
            uses_beta = self._beta_seen
            self.mode = "body"
            if ty in PARAM_TYPES and vt != ERROR and not assignable(vt, ty):
                case = "param_float_for_int" if ty == INT and vt == FLOAT else "param"
                self.report.type_mismatch(d.value.span, case, ty, vt, name=d.name)
            lo = hi = None
            if d.lo is not None:
                lo, hi = _literal_number(d.lo), _literal_number(d.hi)
                if lo is None or hi is None:
                    self.report.bad_range(d.lo.span, "not_literal")
                elif lo > hi:
                    self.report.bad_range(d.lo.span.to(d.hi.span), "empty", lo, hi)
                if ty == BOOL:
                    self.report.bad_range(d.lo.span, "bool")
            if uses_beta and d.direction is None:
                self.report.param_direction(d.name_span, "missing", d.name, ty)
            if ty == BOOL and d.direction in ("increasing", "decreasing"):
                self.report.param_direction(d.name_span, "bool", d.name)
            if self.check_name_ok(d.name, d.name_span, "param"):
                if g.lookup(d.name) is not None or sched.names.get(d.name):
                    self.report.duplicate(d.name_span, "param", d.name)
                    continue
                s = self.sym(d.name, SymbolKind.PARAM, ty, d.name_span, uses_beta=uses_beta)
                g.names[d.name] = s
                inlined = any(getattr(n, "inlined", None) is not None for n in A.walk(d.value))
                out.append(ParamInfo(d.name, ty, d.direction, lo, hi, _expand(d.value) if inlined else d.value,
                                     uses_beta, d, s))
        return out

    # -------------------------------------------------------------- statements
    def block(self, stmts, scope) -> tuple[bool, bool]:
        """Check a statement list. Returns (always jumps, always answers)."""
        jumped = answered = False
        reported = False
        for st in stmts:
            if jumped and not reported:
                self.report.unreachable(st.span)
                reported = True
            j, a = self.stmt(st, scope)
            jumped = jumped or j
            answered = answered or a
        return jumped, answered

    def stmt(self, st, scope) -> tuple[bool, bool]:
        m = getattr(self, "s_" + type(st).__name__)
        return m(st, scope)

    def s_Let(self, st: A.Let, scope):
        vt = self.expr(st.value, scope)
        ty = vt
        if st.type is not None:
            ty = self.resolve_type(st.type)
            if ty != ERROR and not assignable(vt, ty):
                self.report.type_mismatch(st.value.span, "let", ty, vt, name=st.name)
        elif vt.is_list and vt.arg == ANY:
            self.report.cannot_infer_element(st.value.span, st.name)
            ty = ERROR
        if ty.is_map:
            self.report.map_place(st.value.span, "let", st.name)
            ty = ERROR
        if self.check_name_ok(st.name, st.name_span, "variable"):
            prev = scope.lookup(st.name)
            if prev is not None and prev.kind != SymbolKind.STATE:
                self.report.duplicate(st.name_span, "let", st.name, prev.span.line)
            s = self.sym(st.name, SymbolKind.LOCAL, ty, st.name_span, mutable=True)
            scope.names[st.name] = s
            st.ref = s
        return False, False

    def s_Partition(self, st: A.Partition, scope):
        inner = _Scope(scope)
        el = self.query(st.query, scope, inner)
        ty = list_of(el) if el != ERROR else ERROR
        for name, span, attr in ((st.yes, st.yes_span, "yes_ref"), (st.no, st.no_span, "no_ref")):
            if self.check_name_ok(name, span, "variable"):
                prev = scope.lookup(name)
                if prev is not None and prev.kind != SymbolKind.STATE:
                    self.report.duplicate(span, "let", name, prev.span.line)
                s = self.sym(name, SymbolKind.LOCAL, ty, span, mutable=True)
                scope.names[name] = s
                setattr(st, attr, s)
        return False, False

    def s_Assign(self, st: A.Assign, scope):
        vt = self.expr(st.value, scope)
        t = st.target
        if isinstance(t, A.Name):
            s = scope.lookup(t.id)
            if s is None:
                self.report.unknown_name(t.span, "assigned", t.id, scope.visible())
                return False, False
            t.ref = s
            t.ty = s.ty
            if not s.mutable:
                self.report.read_only(t.span, "name", t.id, s.kind)
                return False, False
            if s.ty.is_map:
                self.report.map_place(t.span, "assign", t.id)
                return False, False
            if not assignable(vt, s.ty):
                self.report.type_mismatch(st.value.span, "assign", s.ty, vt, name=t.id)
            return False, False
        # attribute target: b.var = ...
        ot = self.expr(t.obj, scope)
        if ot == ERROR:
            return False, False
        if ot != BRANCH:
            self.report.read_only(t.span, "attribute_of", owner=ot)
            return False, False
        if t.name in BRANCH_ATTRS:
            self.report.read_only(t.name_span, "branch_attr", t.name)
            return False, False
        s = self.bvars.get(t.name)
        if s is None:
            self.report.no_attribute(t.name_span, "branch_var", t.name, options=self.bvars)
            return False, False
        t.ty = s.ty
        t.ref = s
        if not assignable(vt, s.ty):
            self.report.type_mismatch(st.value.span, "assign_bvar", s.ty, vt, name=t.name)
        return False, False

    def s_SetKey(self, st: A.SetKey, scope):
        t = st.target
        s = scope.lookup(t.id)
        self.want(st.key, ANSWER, scope, "a map key")
        vt = self.expr(st.value, scope)
        if s is None or s.kind != SymbolKind.VAR or not s.ty.is_map:
            if s is None or s.ty != ERROR:
                self.report.map_place(t.span, "not_map", t.id)
            return False, False
        t.ref, t.ty = s, s.ty
        if vt != ERROR and not assignable(vt, s.ty.arg):
            self.report.type_mismatch(st.value.span, "operand", s.ty.arg, vt, what="a map value")
        return False, False

    def s_If(self, st: A.If, scope):
        alls_j, alls_a = True, True
        for cond, body in st.arms:
            self.want(cond, BOOL, scope, "an if condition")
            j, a = self.block(body, _Scope(scope))
            alls_j &= j
            alls_a &= a
        if st.orelse is None:
            return False, False
        j, a = self.block(st.orelse, _Scope(scope))
        return alls_j and j, alls_a and a

    def s_For(self, st: A.For, scope):
        inner = _Scope(scope)
        self.query(st.query, scope, inner)
        self.loop_depth += 1
        self.block(st.body, inner)
        self.loop_depth -= 1
        return False, False

    def s_Repeat(self, st: A.Repeat, scope):
        self.want(st.count, INT, scope, "a repeat count")
        limit = st.count
        if st.bound is None:
            self.require_const(st.count, "the count of a repeat", "repeat")
        else:  # a count computed when the loop starts, capped by a constant bound
            self.want(st.bound, INT, scope, "a repeat bound")
            self.require_const(st.bound, "the bound of a repeat")
            limit = st.bound
        n = _literal_number(limit)
        if isinstance(n, int) and n > self.limits.max_loop_bound:  # a literal bound (params: at compile)
            self.report.loop_bound(limit.span, "repeat", n, self.limits.max_loop_bound)
        inner = _Scope(scope)
        if st.var is not None and self.check_name_ok(st.var, st.var_span, "loop variable"):
            s = self.sym(st.var, SymbolKind.LOOP, INT, st.var_span)
            inner.names[st.var] = s
            st.ref = s
        self.loop_depth += 1
        self.block(st.body, inner)
        self.loop_depth -= 1
        return False, False

    def s_Action(self, st: A.Action, scope):
        if st.target is not None:
            t = self.expr(st.target, scope)
            if t not in (BRANCH, ERROR):
                self.report.type_mismatch(st.target.span, "action_target", found=t, action=st.kind)
        if st.then is not None:  # an action as a condition: the binding lives in its block only
            inner = _Scope(scope)
            if st.bind is not None and self.check_name_ok(st.bind, st.bind_span, "branch binding"):
                prev = scope.lookup(st.bind)
                if prev is not None and prev.kind != SymbolKind.STATE:
                    self.report.duplicate(st.bind_span, "bind", st.bind, prev.span.line)
                s = self.sym(st.bind, SymbolKind.BOUND, BRANCH, st.bind_span)
                inner.names[st.bind] = s
                st.ref = s
            j, a = self.block(st.then, inner)
            if st.on_exhausted is None:
                return False, False
            j2, a2 = self.block(st.on_exhausted, _Scope(scope))
            return j and j2, a and a2
        if st.on_exhausted is not None:
            j, _ = self.block(st.on_exhausted, _Scope(scope))
            if st.bind is not None and not j:
                self.report.bind_needs_else(st.span, st.kind, st.bind, has_else=True)
        elif st.bind is not None:
            self.report.bind_needs_else(st.span, st.kind, st.bind, has_else=False)
        if st.bind is not None and self.check_name_ok(st.bind, st.bind_span, "branch binding"):
            prev = scope.lookup(st.bind)
            if prev is not None and prev.kind != SymbolKind.STATE:
                self.report.duplicate(st.bind_span, "bind", st.bind, prev.span.line)
            s = self.sym(st.bind, SymbolKind.BOUND, BRANCH, st.bind_span)
            scope.names[st.bind] = s
            st.ref = s
        return False, False

    def s_AnswerStmt(self, st: A.AnswerStmt, scope):
        t = self.expr(st.value, scope)
        if t not in (ANSWER, ERROR):
            self.report.type_mismatch(st.value.span, "answer_record" if t in RECORDS else "answer", found=t)
        return True, True

    def s_Break(self, st, scope):
        if self.loop_depth == 0:
            self.report.jump_outside_loop(st.span, "break")
        return True, False

    def s_Continue(self, st, scope):
        if self.loop_depth == 0:
            self.report.jump_outside_loop(st.span, "continue")
        return True, False

    def s_Pass(self, st, scope):
        return False, False

    def s_Trace(self, st: A.Trace, scope):
        seen = set()
        for k, v in st.fields:
            if k in seen:
                self.report.duplicate(v.span, "trace_field", k)
            seen.add(k)
            self.in_trace = True
            if self.expr(v, scope).is_map:
                self.report.map_place(v.span, "trace", v.id if isinstance(v, A.Name) else "m")
            self.in_trace = False
        return False, False

    # ---------------------------------------------------------------- queries
    def query(self, q: A.Query, outer, inner):
        st = self.expr(q.source, outer)
        el = ERROR
        if st.is_list:
            el = st.arg
        elif st != ERROR:
            self.report.type_mismatch(q.source.span, "loop_source", found=st)
        if self.check_name_ok(q.var, q.var_span, "loop variable"):
            prev = outer.lookup(q.var)
            if prev is not None and prev.kind != SymbolKind.STATE:
                self.report.duplicate(q.var_span, "loop", q.var, prev.span.line)
            s = self.sym(q.var, SymbolKind.LOOP, el, q.var_span)
            inner.names[q.var] = s
            q.ref = s
        if q.where is not None:
            self.want(q.where, BOOL, inner, "a where filter")
        for key, _ in q.sort_keys():
            kt = self.expr(key, inner)
            if kt not in (INT, FLOAT, BOOL, ERROR):
                self.report.type_mismatch(key.span, "sort_key", found=kt)
        if q.take is not None:  # evaluated once, outside the loop: the loop variable is not in scope
            self.want(q.take, INT, outer, "take")
        return el

    # ------------------------------------------------------------ expressions
    def want(self, e, ty, scope, what):
        t = self.expr(e, scope)
        if t != ERROR and not assignable(t, ty):
            self.report.type_mismatch(e.span, "operand", ty, t, what=what)
        return t

    def require_const(self, e, what, case="default"):
        bad = self.non_const(e)
        if bad is not None:
            self.report.not_constant(bad.span, what, bad.id if isinstance(bad, A.Name) else type(bad).__name__,
                                     case)

    def non_const(self, e):
        for n in A.walk(e):
            if isinstance(n, A.Name):
                if n.ref is not None and n.ref.kind != SymbolKind.PARAM:
                    return n
            elif isinstance(n, (A.Attr, A.Index, A.Slice, A.Comprehension, A.ListLit)):
                return n
            elif isinstance(n, A.Call):
                f = FUNCTIONS.get(n.func)
                if f is None or not f.schedule_ok:
                    return n
        return None

    def expr(self, e, scope) -> Ty:
        m = getattr(self, "e_" + type(e).__name__)
        t = m(e, scope)
        e.ty = t
        return t

    def e_Num(self, e, scope):
        if isinstance(e.value, float) and (e.value != e.value or e.value in (float("inf"), float("-inf"))):
            self.report.bad_number(e.span, "not_finite", e.text)
            return ERROR
        if isinstance(e.value, int) and abs(e.value) > 10 ** 15:
            self.report.bad_number(e.span, "too_large", e.text)
            return ERROR
        return INT if isinstance(e.value, int) else FLOAT

    def e_Bool(self, e, scope):
        if self.mode == "schedule" and False:
            return ERROR
        return BOOL

    def e_NoneLit(self, e, scope):
        if self.mode == "schedule":
            self.report.not_allowed_here(e.span, "none")
            return ERROR
        return ANSWER

    def e_Name(self, e: A.Name, scope):
        s = scope.lookup(e.id)
        if s is None:
            if e.id == "beta":
                self.report.beta_outside_params(e.span)
                return ERROR
            if e.id in HIDDEN_NAMES:
                self.report.hidden(e.span, e.id, HIDDEN_NAMES[e.id])
                return ERROR
            if e.id in FUNCTIONS or e.id in self.funcs:
                self.report.unknown_name(e.span, "function", e.id)
                return ERROR
            if self.mode == "func" and any(d.name == e.id for d in self.prog.params + self.prog.vars):
                self.report.not_allowed_here(e.span, "name_in_func", e.id)
                return ERROR
            kinds = (SymbolKind.PARAM, SymbolKind.BETA) if self.mode == "schedule" else None
            self.report.unknown_name(e.span, "unknown", e.id, scope.visible(kinds))
            return ERROR
        e.ref = s
        if self.mode == "func" and s.kind not in (SymbolKind.ARG, SymbolKind.LOCAL, SymbolKind.LOOP):
            self.report.not_allowed_here(e.span, "name_in_func", e.id)
            return ERROR
        if self.mode == "schedule":
            if s.kind == SymbolKind.BETA:
                self._beta_seen = True
            elif s.kind == SymbolKind.PARAM:
                if s.uses_beta:
                    self._beta_seen = True
            else:
                self.report.not_allowed_here(e.span, "name_in_param", e.id)
                return ERROR
        elif self.mode in ("const", "bvar_init") and s.kind != SymbolKind.PARAM and \
                not (self.mode == "bvar_init" and s.kind == SymbolKind.BOUND):
            self.report.not_allowed_here(e.span, "name_in_init", e.id)
            return ERROR
        return s.ty

    def e_Attr(self, e: A.Attr, scope):
        if self.mode != "bvar_init":  # a branch var's initial value may read the new branch
            self._schedule_forbid(e, "an attribute")
        ot = self.expr(e.obj, scope)
        if ot == ERROR:
            return ERROR
        if ot == BRANCH:
            if self.mode == "bvar_init" and (e.name not in BRANCH_ATTRS or e.name == "history"):
                self.report.not_allowed_here(e.span, "expr_in_init", what=f"'new.{e.name}'")
                return ERROR
            if e.name in BRANCH_ATTRS:
                if e.name == "history":
                    self.uses_history = True
                return BRANCH_ATTRS[e.name].ty
            if e.name in self.bvars:
                return self.bvars[e.name].ty
            if e.name in HIDDEN_ATTRS:
                self.report.hidden(e.name_span, e.name, HIDDEN_ATTRS[e.name])
                return ERROR
            self.report.no_attribute(e.name_span, "branch", e.name, options=list(BRANCH_ATTRS) + list(self.bvars))
            return ERROR
        if ot in RECORDS:
            f = RECORDS[ot].get(e.name)
            if f is None:
                self.report.no_attribute(e.name_span, "record", e.name, ot, RECORDS[ot])
                return ERROR
            return f[1]
        self.report.no_attribute(e.name_span, "value", e.name, ot)
        return ERROR

    def _schedule_forbid(self, e, what):
        if self.mode == "schedule":
            self.report.not_allowed_here(e.span, "expr_in_param", what=what)
        elif self.mode in ("const", "bvar_init"):
            self.report.not_allowed_here(e.span, "expr_in_init", what=what)

    def e_Index(self, e: A.Index, scope):
        self._schedule_forbid(e, "indexing")
        ot = self.expr(e.obj, scope)
        if ot.is_map:  # a missing key reads 0
            self.want(e.index, ANSWER, scope, "a map key")
            return ot.arg
        self.want(e.index, INT, scope, "an index")
        if ot == ERROR:
            return ERROR
        if not ot.is_list:
            self.report.type_mismatch(e.obj.span, "index", found=ot)
            return ERROR
        return ot.arg if ot.arg != ANY else ERROR

    def e_Slice(self, e: A.Slice, scope):
        self._schedule_forbid(e, "slicing")
        ot = self.expr(e.obj, scope)
        for x in (e.lo, e.hi):
            if x is not None:
                self.want(x, INT, scope, "a slice bound")
        if ot == ERROR:
            return ERROR
        if not ot.is_list:
            self.report.type_mismatch(e.obj.span, "slice", found=ot)
            return ERROR
        return ot

    def e_Call(self, e: A.Call, scope):
        if e.func in self.funcs:
            return self.user_call(e, self.funcs[e.func], scope)
        f = FUNCTIONS.get(e.func)
        if f is None:
            if e.func in ACTIONS or e.func in ("answer",):
                self.report.action_as_function(e.func_span, e.func)
            elif e.func in HIDDEN_NAMES:
                self.report.hidden(e.func_span, e.func, HIDDEN_NAMES[e.func])
            else:
                self.report.unknown_function(e.func_span, e.func, FUNCTIONS)
            for a in e.args:
                self.expr(a, scope)
            return ERROR
        if self.mode in ("schedule", "const", "bvar_init") and not f.schedule_ok and \
                not (self.mode == "bvar_init" and e.func == "valid"):  # valid(new.latest) reads the new branch
            self.report.not_allowed_here(e.func_span, "call_in_param" if self.mode == "schedule" else "call_in_init",
                                         e.func, allowed=schedule_functions() + (["valid"] if self.mode == "bvar_init"
                                                                                  else []))
            return ERROR
        lo, hi = f.arity
        if not (lo <= len(e.args) <= hi):
            self.report.arity(e.span, e.func, lo, hi, len(e.args), f.signature)
            for a in e.args:
                self.expr(a, scope)
            return ERROR
        ts = [self.expr(a, scope) for a in e.args]
        if ERROR in ts:
            return ERROR
        if e.func in ("min", "max") and len(ts) == 1 and self.mode == "schedule":
            self.report.not_allowed_here(e.span, "list_reduction", e.func)
            return ERROR
        if e.func == "range":
            for a in e.args:
                self.require_const(a, "a range bound")
            lits = [_literal_number(a) for a in e.args]
            if None not in lits and lits:  # literal bounds: the loop limit is known now (L005)
                lo, hi = (0, lits[0]) if len(lits) == 1 else (lits[0], lits[1])
                if hi - lo > self.limits.max_loop_bound:
                    self.report.loop_bound(e.span, "range", hi - lo, self.limits.max_loop_bound)
        r = f.typer(ts)
        if isinstance(r, str):
            self.report.type_mismatch(e.span, "arguments", message=r, signature=f.signature)
            return ERROR
        return r

    def e_BinOp(self, e: A.BinOp, scope):
        lt = self.expr(e.left, scope)
        rt = self.expr(e.right, scope)
        if ERROR in (lt, rt):
            return ERROR
        if e.op == "+" and lt.is_list and rt.is_list:
            self._schedule_forbid(e, "a list")
            j = join(lt, rt)
            if j is None:
                self.report.type_mismatch(e.span, "concatenate", left=lt, right=rt)
                return ERROR
            return j
        if not (is_num(lt) and is_num(rt)):
            bad = e.left if not is_num(lt) else e.right
            case = "arithmetic_list" if e.op == "+" and (lt.is_list or rt.is_list) else "arithmetic"
            self.report.type_mismatch(bad.span, case, found=lt if bad is e.left else rt, op=e.op, left=lt, right=rt)
            return ERROR
        if e.op == "/":
            return FLOAT
        return INT if (lt == INT and rt == INT) else FLOAT

    def e_Compare(self, e: A.Compare, scope):
        if self.mode == "schedule":
            self.report.not_allowed_here(e.span, "comparison")
            return ERROR
        lt = self.expr(e.left, scope)
        rt = self.expr(e.right, scope)
        if ERROR in (lt, rt):
            return BOOL
        if e.op in ("in", "not in"):
            if not rt.is_list:
                self.report.type_mismatch(e.right.span, "in_not_list", op=e.op, right=rt)
            elif rt.arg != ANY and join(lt, rt.arg) is None:
                self.report.type_mismatch(e.span, "in_element", left=lt, right=rt)
            return BOOL
        if e.op in ("==", "!="):
            if join(lt, rt) is None:
                self.report.type_mismatch(e.span, "equality", left=lt, right=rt)
            return BOOL
        if not (is_num(lt) and is_num(rt)):
            self.report.type_mismatch(e.span, "ordering", op=e.op, left=lt, right=rt)
        return BOOL

    def e_BoolOp(self, e: A.BoolOp, scope):
        if self.mode == "schedule":
            self.report.not_allowed_here(e.span, "bool_op", op=e.op)
            return ERROR
        self.want(e.left, BOOL, scope, f"the left side of '{e.op}'")
        self.want(e.right, BOOL, scope, f"the right side of '{e.op}'")
        return BOOL

    def e_Unary(self, e: A.Unary, scope):
        if e.op == "not":
            if self.mode == "schedule":
                self.report.not_allowed_here(e.span, "not")
                return ERROR
            self.want(e.operand, BOOL, scope, "the operand of 'not'")
            return BOOL
        t = self.expr(e.operand, scope)
        if t == ERROR:
            return ERROR
        if not is_num(t):
            self.report.type_mismatch(e.operand.span, "unary", found=t, op=e.op)
            return ERROR
        return t

    def e_IfExp(self, e: A.IfExp, scope):
        if self.mode == "schedule":
            self.report.not_allowed_here(e.span, "conditional")
            return ERROR
        self.want(e.cond, BOOL, scope, "the condition")
        a = self.expr(e.then, scope)
        b = self.expr(e.orelse, scope)
        j = join(a, b)
        if j is None:
            self.report.type_mismatch(e.span, "conditional", left=a, right=b)
            return ERROR
        return j

    def e_ListLit(self, e: A.ListLit, scope):
        if self.mode == "schedule":
            self._schedule_forbid(e, "a list")
        t = list_of(ANY)
        el = None
        for it in e.items:
            it_t = self.expr(it, scope)
            if it_t == ERROR:
                return ERROR
            if it_t.is_list:
                self.report.type_mismatch(it.span, "nested_list")
                return ERROR
            if it_t.is_map:
                self.report.map_place(it.span, "in_list")
                return ERROR
            el = it_t if el is None else join(el, it_t)
            if el is None:
                self.report.type_mismatch(it.span, "mixed_list")
                return ERROR
        if el is not None:
            t = list_of(el)
        return t

    def e_Comprehension(self, e: A.Comprehension, scope):
        self._schedule_forbid(e, "a comprehension")
        inner = _Scope(scope)
        self.query(e.query, scope, inner)
        t = self.expr(e.elt, inner)
        if t == ERROR:
            return ERROR
        if t.is_list:
            self.report.type_mismatch(e.elt.span, "nested_list")
            return ERROR
        if t.is_map:
            self.report.map_place(e.elt.span, "in_list")
            return ERROR
        return list_of(t)


def check_program(prog: A.Program, limits: Limits | None = None) -> CheckedProgram:
    """Check an AST. Raises :class:`DiagnosticsError` if there is any error."""
    return Checker(prog, limits).run()
