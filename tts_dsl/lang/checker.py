"""AST -> checked program: name resolution, types, arity, read-only state, bounded loops,
reachability, a final answer on every path, and information safety (nothing a program
can name reaches hidden data: the registry in :mod:`builtins` is the whole namespace).

The checker annotates the AST in place (``ty`` on expressions, ``ref`` on names and
binders) and returns a :class:`CheckedProgram`; it never raises on bad programs, it
collects diagnostics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast as A
from .builtins import BRANCH_ATTRS, FUNCTIONS, HIDDEN_ATTRS, HIDDEN_NAMES, STATE
from .diagnostics import Diagnostic, DiagnosticsError, Span, did_you_mean
from .limits import Limits
from .parser import ACTIONS
from .types import (ANSWER, ANY, BOOL, BRANCH, ERROR, FLOAT, INT, RECORDS, SCALARS, Ty, assignable,
                    is_num, join, list_of)

PARAM_TYPES = (INT, FLOAT, BOOL)


@dataclass(eq=False)
class Symbol:
    name: str
    kind: str  # state | param | var | bvar | local | loop | bound | beta
    ty: Ty
    uid: int
    span: Span
    mutable: bool = False


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


@dataclass
class CheckedProgram:
    program: A.Program
    params: list[ParamInfo]
    vars: list[Symbol]
    branch_vars: list[Symbol]
    warnings: list[Diagnostic] = field(default_factory=list)
    uses_history: bool = False

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

    def all_names(self):
        s, out = self, set()
        while s is not None:
            out.update(s.names)
            s = s.parent
        return out


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
        self.diags: list[Diagnostic] = []
        self.uid = 0
        self.loop_depth = 0
        self.mode = "body"  # body | schedule | const
        self.uses_history = False
        self.bvars: dict[str, Symbol] = {}
        self.global_scope = _Scope()

    # ----------------------------------------------------------------- helpers
    def err(self, code, msg, span, hint=None, expected=None, found=None, severity="error"):
        self.diags.append(Diagnostic(code, msg, span, severity=severity, hint=hint, expected=expected,
                                     found=found, stage="check", file=self.prog.file))

    def sym(self, name, kind, ty, span, mutable=False):
        self.uid += 1
        return Symbol(name, kind, ty, self.uid, span, mutable)

    def resolve_type(self, t: A.TypeRef) -> Ty:
        if t.name == "list":
            if t.arg is None:
                self.err("E102", "list needs an element type", t.span, hint="write list[answer], list[int], ...")
                return ERROR
            inner = self.resolve_type(t.arg)
            if inner.is_list:
                self.err("E102", "lists of lists are not supported", t.span)
                return ERROR
            return list_of(inner)
        if t.arg is not None:
            self.err("E102", f"'{t.name}' takes no type argument", t.span)
            return ERROR
        if t.name in SCALARS:
            return SCALARS[t.name]
        self.err("E101", f"unknown type '{t.name}'", t.span,
                 expected="int, float, bool, answer, branch, votes, weighted_votes or list[...]",
                 found=f"'{t.name}'", hint=did_you_mean(t.name, list(SCALARS) + ["list"]))
        return ERROR

    def check_name_ok(self, name, span, what):
        if name.startswith("__"):
            self.err("E103", f"{what} '{name}' starts with '__'", span,
                     hint="names starting with a double underscore are reserved")
            return False
        if name in STATE:
            self.err("E104", f"'{name}' is a built-in state name and cannot be redeclared", span,
                     hint="choose another name")
            return False
        if name == "beta":
            self.err("E104", "'beta' is reserved for the schedule", span, hint="choose another name")
            return False
        return True

    # ----------------------------------------------------------------- program
    def run(self) -> CheckedProgram:
        p = self.prog
        g = self.global_scope
        for s in STATE.values():
            g.names[s.name] = self.sym(s.name, "state", s.ty, A.NOWHERE if hasattr(A, "NOWHERE") else p.span)
        params = self.check_params(p.params)
        # episode vars
        self.mode = "const"
        vars_ = []
        for d in p.vars:
            ty = self.resolve_type(d.type)
            vt = self.expr(d.value, g)
            if ty != ERROR and not assignable(vt, ty):
                self.err("E201", f"initial value of '{d.name}' has type {vt}", d.value.span,
                         expected=str(ty), found=str(vt))
            if self.check_name_ok(d.name, d.name_span, "variable"):
                if g.lookup(d.name) is not None:
                    self.err("E105", f"'{d.name}' is already declared", d.name_span, hint="rename one of them")
                else:
                    s = self.sym(d.name, "var", ty, d.name_span, mutable=True)
                    g.names[d.name] = s
                    vars_.append(s)
                    d.ref = s if hasattr(d, "ref") else None
        bvars = []
        for d in p.branch_vars:
            ty = self.resolve_type(d.type)
            vt = self.expr(d.value, g)
            if ty != ERROR and not assignable(vt, ty):
                self.err("E201", f"initial value of branch var '{d.name}' has type {vt}", d.value.span,
                         expected=str(ty), found=str(vt))
            if ty == BRANCH:
                self.err("E106", "a branch variable cannot hold a branch", d.type.span)
            if d.name in BRANCH_ATTRS or d.name in HIDDEN_ATTRS:
                self.err("E105", f"'{d.name}' is a built-in branch attribute", d.name_span,
                         hint="choose another name")
            elif d.name in self.bvars:
                self.err("E105", f"branch var '{d.name}' is already declared", d.name_span)
            elif self.check_name_ok(d.name, d.name_span, "branch variable"):
                s = self.sym(d.name, "bvar", ty, d.name_span, mutable=True)
                self.bvars[d.name] = s
                bvars.append(s)
        self.mode = "body"
        body_scope = _Scope(g)
        _, answers = self.block(p.body, body_scope)
        if not answers and not any(d.severity == "error" for d in self.diags):
            last = p.body[-1].span if p.body else p.span
            end = Span(last.end_line, max(1, last.end_col - 1), last.end_line, last.end_col)
            self.err("E401", "the program can reach its end without answering", end,
                     hint="end the program with an answer, e.g. 'answer majority(completed)'")
        errors = [d for d in self.diags if d.severity == "error"]
        if errors:
            raise DiagnosticsError(self.diags, p.source)
        return CheckedProgram(p, params, vars_, bvars, [d for d in self.diags if d.severity != "error"],
                              self.uses_history)

    def check_params(self, decls):
        g = self.global_scope
        out = []
        beta_sym = self.sym("beta", "beta", FLOAT, self.prog.span)
        sched = _Scope(g)
        sched.names["beta"] = beta_sym
        for d in decls:
            ty = self.resolve_type(d.type)
            if ty != ERROR and ty not in PARAM_TYPES:
                self.err("E107", f"param '{d.name}' has type {ty}", d.type.span, expected="int, float or bool",
                         found=str(ty))
            self.mode = "schedule"
            self._beta_seen = False
            vt = self.expr(d.value, sched)
            uses_beta = self._beta_seen
            self.mode = "body"
            if ty in PARAM_TYPES and vt != ERROR and not assignable(vt, ty):
                hint = "use round(...), floor(...) or ceil(...) to get an int" if ty == INT and vt == FLOAT else None
                self.err("E201", f"param '{d.name}' is declared {ty} but its value is {vt}", d.value.span,
                         expected=str(ty), found=str(vt), hint=hint)
            lo = hi = None
            if d.lo is not None:
                lo, hi = _literal_number(d.lo), _literal_number(d.hi)
                if lo is None or hi is None:
                    self.err("E108", "a range needs number literals", d.lo.span, hint="write in [1, 128]")
                elif lo > hi:
                    self.err("E108", f"empty range [{lo}, {hi}]", d.lo.span.to(d.hi.span))
                if ty == BOOL:
                    self.err("E108", "a bool param has no range", d.lo.span)
            if uses_beta and d.direction is None:
                self.err("E109", f"param '{d.name}' depends on beta but declares no direction", d.name_span,
                         hint=f"write '{d.name}: {ty} increasing = ...' (or decreasing, constant)")
            if ty == BOOL and d.direction in ("increasing", "decreasing"):
                self.err("E109", "a bool param can only be constant", d.name_span)
            if self.check_name_ok(d.name, d.name_span, "param"):
                if g.lookup(d.name) is not None or sched.names.get(d.name):
                    self.err("E105", f"param '{d.name}' is already declared", d.name_span)
                    continue
                s = self.sym(d.name, "param", ty, d.name_span)
                s.uses_beta = uses_beta
                g.names[d.name] = s
                out.append(ParamInfo(d.name, ty, d.direction, lo, hi, d.value, uses_beta, d, s))
        return out

    # -------------------------------------------------------------- statements
    def block(self, stmts, scope) -> tuple[bool, bool]:
        """Check a statement list. Returns (always jumps, always answers)."""
        jumped = answered = False
        reported = False
        for st in stmts:
            if jumped and not reported:
                self.err("E402", "unreachable code", st.span,
                         hint="nothing after 'answer', 'break' or 'continue' in the same block runs")
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
                self.err("E201", f"'{st.name}' is declared {ty} but the value is {vt}", st.value.span,
                         expected=str(ty), found=str(vt))
        elif vt.is_list and vt.arg == ANY:
            self.err("E202", f"cannot infer the element type of '{st.name}'", st.value.span,
                     hint=f"declare it: let {st.name}: list[answer] = []")
            ty = ERROR
        if self.check_name_ok(st.name, st.name_span, "variable"):
            prev = scope.lookup(st.name)
            if prev is not None and prev.kind != "state":
                self.err("E105", f"'{st.name}' is already declared (line {prev.span.line})", st.name_span,
                         hint=f"to change it, assign: {st.name} = ...")
            s = self.sym(st.name, "local", ty, st.name_span, mutable=True)
            scope.names[st.name] = s
            st.ref = s
        return False, False

    def s_Assign(self, st: A.Assign, scope):
        vt = self.expr(st.value, scope)
        t = st.target
        if isinstance(t, A.Name):
            s = scope.lookup(t.id)
            if s is None:
                hint = did_you_mean(t.id, scope.all_names()) or f"declare it first: let {t.id} = ..."
                self.err("E301", f"'{t.id}' is not declared", t.span, hint=hint)
                return False, False
            t.ref = s
            t.ty = s.ty
            if not s.mutable:
                what = {"state": "built-in state", "param": "a param (constant during an episode)",
                        "loop": "a loop variable", "bound": "a branch binding"}.get(s.kind, s.kind)
                self.err("E302", f"'{t.id}' is read-only: it is {what}", t.span,
                         hint="declare your own variable with 'var' or 'let'")
                return False, False
            if not assignable(vt, s.ty):
                self.err("E201", f"cannot assign {vt} to '{t.id}' of type {s.ty}", st.value.span,
                         expected=str(s.ty), found=str(vt))
            return False, False
        # attribute target: b.var = ...
        ot = self.expr(t.obj, scope)
        if ot == ERROR:
            return False, False
        if ot != BRANCH:
            self.err("E302", f"cannot assign to an attribute of a {ot}", t.span)
            return False, False
        if t.name in BRANCH_ATTRS:
            self.err("E302", f"'{t.name}' is a built-in branch attribute and is read-only", t.name_span,
                     hint="declare a per-branch variable: branch var NAME: TYPE = VALUE")
            return False, False
        s = self.bvars.get(t.name)
        if s is None:
            self.err("E303", f"branch has no variable '{t.name}'", t.name_span,
                     hint=did_you_mean(t.name, self.bvars) or
                     f"declare it at the top: branch var {t.name}: int = 0")
            return False, False
        t.ty = s.ty
        t.ref = s if hasattr(t, "ref") else None
        if not assignable(vt, s.ty):
            self.err("E201", f"cannot assign {vt} to branch var '{t.name}' of type {s.ty}", st.value.span,
                     expected=str(s.ty), found=str(vt))
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
        self.require_const(st.count, "the count of a repeat")
        n = _literal_number(st.count)
        if isinstance(n, int) and n > self.limits.max_loop_bound:  # a literal bound (params: at compile)
            self.err("L005", f"repeat {n:,} times; the limit is {self.limits.max_loop_bound:,}", st.count.span,
                     hint="lower the count")
        inner = _Scope(scope)
        if st.var is not None and self.check_name_ok(st.var, st.var_span, "loop variable"):
            s = self.sym(st.var, "loop", INT, st.var_span)
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
                self.err("E201", f"'{st.kind}' needs a branch, found {t}", st.target.span,
                         expected="branch", found=str(t))
        if st.on_exhausted is not None:
            j, _ = self.block(st.on_exhausted, _Scope(scope))
            if st.bind is not None and not j:
                self.err("E403", f"'{st.kind} as {st.bind}' needs an else that leaves the block", st.span,
                         hint=f"when the pool is exhausted there is no '{st.bind}': "
                              f"end the else with break, continue or answer")
        elif st.bind is not None:
            self.err("E403", f"'{st.kind} as {st.bind}' needs an else clause", st.span,
                     hint=f"write '{st.kind} as {st.bind} else break' (or continue / answer ...)")
        if st.bind is not None and self.check_name_ok(st.bind, st.bind_span, "branch binding"):
            prev = scope.lookup(st.bind)
            if prev is not None and prev.kind != "state":
                self.err("E105", f"'{st.bind}' is already declared (line {prev.span.line})", st.bind_span)
            s = self.sym(st.bind, "bound", BRANCH, st.bind_span)
            scope.names[st.bind] = s
            st.ref = s
        return False, False

    def s_AnswerStmt(self, st: A.AnswerStmt, scope):
        t = self.expr(st.value, scope)
        if t not in (ANSWER, ERROR):
            hint = "answer the winner: answer votes(xs).winner" if t in RECORDS else \
                "answer an answer value, e.g. majority(completed) or b.latest"
            self.err("E201", f"'answer' needs an answer, found {t}", st.value.span, expected="answer",
                     found=str(t), hint=hint)
        return True, True

    def s_Break(self, st, scope):
        if self.loop_depth == 0:
            self.err("E404", "'break' outside a loop", st.span)
        return True, False

    def s_Continue(self, st, scope):
        if self.loop_depth == 0:
            self.err("E404", "'continue' outside a loop", st.span)
        return True, False

    def s_Pass(self, st, scope):
        return False, False

    def s_Trace(self, st: A.Trace, scope):
        seen = set()
        for k, v in st.fields:
            if k in seen:
                self.err("E105", f"trace field '{k}' repeated", v.span)
            seen.add(k)
            self.expr(v, scope)
        return False, False

    # ---------------------------------------------------------------- queries
    def query(self, q: A.Query, outer, inner):
        st = self.expr(q.source, outer)
        el = ERROR
        if st.is_list:
            el = st.arg
        elif st != ERROR:
            self.err("E201", f"can only loop over a list, found {st}", q.source.span, expected="a list",
                     found=str(st), hint="for counted loops use repeat N { ... } or range(N)")
        if self.check_name_ok(q.var, q.var_span, "loop variable"):
            prev = outer.lookup(q.var)
            if prev is not None and prev.kind not in ("state",):
                self.err("E105", f"'{q.var}' is already declared (line {prev.span.line})", q.var_span,
                         hint="use a fresh name for the loop variable")
            s = self.sym(q.var, "loop", el, q.var_span)
            inner.names[q.var] = s
            q.ref = s
        if q.where is not None:
            self.want(q.where, BOOL, inner, "a where filter")
        if q.key is not None:
            kt = self.expr(q.key, inner)
            if kt not in (INT, FLOAT, BOOL, ERROR):
                self.err("E201", f"'sorted by' needs a number key, found {kt}", q.key.span,
                         expected="int or float", found=str(kt))
        if q.take is not None:  # evaluated once, outside the loop: the loop variable is not in scope
            self.want(q.take, INT, outer, "take")
        return el

    # ------------------------------------------------------------ expressions
    def want(self, e, ty, scope, what):
        t = self.expr(e, scope)
        if t != ERROR and not assignable(t, ty):
            self.err("E201", f"{what} must be {ty}, found {t}", e.span, expected=str(ty), found=str(t))
        return t

    def require_const(self, e, what):
        bad = self.non_const(e)
        if bad is not None:
            self.err("E305", f"{what} must be constant during the episode", bad.span,
                     hint="use literals and params (to loop over state, use 'for x in ...')",
                     found=f"'{getattr(bad, 'id', type(bad).__name__)}'")

    def non_const(self, e):
        for n in A.walk(e):
            if isinstance(n, A.Name):
                if n.ref is not None and n.ref.kind not in ("param",):
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
            self.err("E110", f"number literal {e.text} is not finite", e.span)
            return ERROR
        if isinstance(e.value, int) and abs(e.value) > 10 ** 15:
            self.err("E110", f"integer literal {e.text} is too large", e.span, hint="use at most 15 digits")
            return ERROR
        return INT if isinstance(e.value, int) else FLOAT

    def e_Bool(self, e, scope):
        if self.mode == "schedule" and False:
            return ERROR
        return BOOL

    def e_NoneLit(self, e, scope):
        if self.mode == "schedule":
            self.err("E306", "'none' cannot appear in a param value", e.span)
            return ERROR
        return ANSWER

    def e_Name(self, e: A.Name, scope):
        s = scope.lookup(e.id)
        if s is None:
            if e.id == "beta":
                self.err("E304", "'beta' is only visible in the params block", e.span,
                         hint="declare a param that depends on beta and use that param here")
                return ERROR
            if e.id in HIDDEN_NAMES:
                self.err("E307", f"'{e.id}' is not available: {HIDDEN_NAMES[e.id]}", e.span)
                return ERROR
            if e.id in FUNCTIONS:
                self.err("E301", f"'{e.id}' is a function", e.span, hint=f"call it: {e.id}(...)")
                return ERROR
            cands = set(scope.all_names())
            if self.mode == "schedule":
                cands = {n for n in cands if scope.lookup(n).kind in ("param", "beta")}
            hint = {"True": "booleans are 'true' and 'false'", "False": "booleans are 'true' and 'false'",
                    "None": "the missing answer is 'none'"}.get(e.id) or did_you_mean(e.id, cands)
            self.err("E301", f"unknown name '{e.id}'", e.span, hint=hint)
            return ERROR
        e.ref = s
        if self.mode == "schedule":
            if s.kind == "beta":
                self._beta_seen = True
            elif s.kind == "param":
                if getattr(s, "uses_beta", False):
                    self._beta_seen = True
            else:
                self.err("E306", f"'{e.id}' cannot appear in a param value", e.span,
                         hint="param values are functions of beta and earlier params only")
                return ERROR
        elif self.mode == "const" and s.kind not in ("param",):
            self.err("E306", f"'{e.id}' cannot appear in an initial value", e.span,
                     hint="initial values use literals and params")
            return ERROR
        return s.ty

    def e_Attr(self, e: A.Attr, scope):
        self._schedule_forbid(e, "an attribute")
        ot = self.expr(e.obj, scope)
        if ot == ERROR:
            return ERROR
        if ot == BRANCH:
            if e.name in BRANCH_ATTRS:
                if e.name == "history":
                    self.uses_history = True
                return BRANCH_ATTRS[e.name].ty
            if e.name in self.bvars:
                return self.bvars[e.name].ty
            if e.name in HIDDEN_ATTRS:
                self.err("E307", f"'{e.name}' is not available: {HIDDEN_ATTRS[e.name]}", e.name_span)
                return ERROR
            self.err("E303", f"branch has no attribute '{e.name}'", e.name_span,
                     hint=did_you_mean(e.name, list(BRANCH_ATTRS) + list(self.bvars)),
                     expected="one of " + ", ".join(list(BRANCH_ATTRS) + list(self.bvars)))
            return ERROR
        if ot in RECORDS:
            f = RECORDS[ot].get(e.name)
            if f is None:
                self.err("E303", f"{ot} has no field '{e.name}'", e.name_span,
                         expected="one of " + ", ".join(RECORDS[ot]),
                         hint=did_you_mean(e.name, RECORDS[ot]))
                return ERROR
            return f[1]
        self.err("E303", f"a {ot} has no attributes", e.name_span)
        return ERROR

    def _schedule_forbid(self, e, what):
        if self.mode == "schedule":
            self.err("E306", f"{what} cannot appear in a param value", e.span,
                     hint="param values use beta, earlier params, numbers and math functions")
        elif self.mode == "const":
            self.err("E306", f"{what} cannot appear in an initial value", e.span)

    def e_Index(self, e: A.Index, scope):
        self._schedule_forbid(e, "indexing")
        ot = self.expr(e.obj, scope)
        self.want(e.index, INT, scope, "an index")
        if ot == ERROR:
            return ERROR
        if not ot.is_list:
            self.err("E201", f"cannot index a {ot}", e.obj.span, expected="a list", found=str(ot))
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
            self.err("E201", f"cannot slice a {ot}", e.obj.span, expected="a list", found=str(ot))
            return ERROR
        return ot

    def e_Call(self, e: A.Call, scope):
        f = FUNCTIONS.get(e.func)
        if f is None:
            if e.func in ACTIONS or e.func in ("answer",):
                self.err("E308", f"'{e.func}' is an action, not a function", e.func_span,
                         hint="actions are statements on their own line")
            elif e.func in HIDDEN_NAMES:
                self.err("E307", f"'{e.func}' is not available: {HIDDEN_NAMES[e.func]}", e.func_span)
            else:
                self.err("E309", f"unknown function '{e.func}'", e.func_span,
                         hint=did_you_mean(e.func, FUNCTIONS) or "see the function list in docs/language.md")
            for a in e.args:
                self.expr(a, scope)
            return ERROR
        if self.mode in ("schedule", "const") and not f.schedule_ok:
            self.err("E306", f"'{e.func}' cannot appear in a {'param value' if self.mode == 'schedule' else 'initial value'}",
                     e.func_span, hint="allowed: min, max, clip, round, floor, ceil, abs, int, float, sqrt, exp, log, sigmoid")
            return ERROR
        lo, hi = f.arity
        if not (lo <= len(e.args) <= hi):
            n = f"{lo}" if lo == hi else f"{lo} to {hi}"
            self.err("E310", f"{e.func} takes {n} argument{'s' if hi > 1 else ''}, found {len(e.args)}",
                     e.span, expected=f.signature)
            for a in e.args:
                self.expr(a, scope)
            return ERROR
        ts = [self.expr(a, scope) for a in e.args]
        if ERROR in ts:
            return ERROR
        if e.func in ("min", "max") and len(ts) == 1 and self.mode == "schedule":
            self.err("E306", f"{e.func} of a list cannot appear in a param value", e.span)
            return ERROR
        if e.func == "range":
            for a in e.args:
                self.require_const(a, "a range bound")
            lits = [_literal_number(a) for a in e.args]
            if None not in lits and lits:  # literal bounds: the loop limit is known now (L005)
                lo, hi = (0, lits[0]) if len(lits) == 1 else (lits[0], lits[1])
                if hi - lo > self.limits.max_loop_bound:
                    self.err("L005", f"range of {hi - lo:,} values; the limit is {self.limits.max_loop_bound:,}",
                             e.span, hint="lower the bound")
        r = f.typer(ts)
        if isinstance(r, str):
            self.err("E201", r, e.span, expected=f.signature)
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
                self.err("E201", f"cannot concatenate {lt} and {rt}", e.span)
                return ERROR
            return j
        if not (is_num(lt) and is_num(rt)):
            bad = e.left if not is_num(lt) else e.right
            self.err("E201", f"'{e.op}' needs numbers, found {lt} and {rt}", bad.span,
                     expected="int or float", found=str(lt if bad is e.left else rt),
                     hint="lists concatenate with + ([a] + xs)" if e.op == "+" and (lt.is_list or rt.is_list) else None)
            return ERROR
        if e.op == "/":
            return FLOAT
        return INT if (lt == INT and rt == INT) else FLOAT

    def e_Compare(self, e: A.Compare, scope):
        if self.mode == "schedule":
            self.err("E306", "comparisons cannot appear in a param value", e.span,
                     hint="use min, max or clip")
            return ERROR
        lt = self.expr(e.left, scope)
        rt = self.expr(e.right, scope)
        if ERROR in (lt, rt):
            return BOOL
        if e.op in ("in", "not in"):
            if not rt.is_list:
                self.err("E201", f"'{e.op}' needs a list on the right, found {rt}", e.right.span)
            elif rt.arg != ANY and join(lt, rt.arg) is None:
                self.err("E201", f"cannot look for a {lt} in a {rt}", e.span)
            return BOOL
        if e.op in ("==", "!="):
            if join(lt, rt) is None:
                self.err("E201", f"cannot compare {lt} with {rt}", e.span,
                         hint="an answer compares with answers (or none), numbers with numbers")
            return BOOL
        if not (is_num(lt) and is_num(rt)):
            self.err("E201", f"'{e.op}' needs numbers, found {lt} and {rt}", e.span, expected="numbers")
        return BOOL

    def e_BoolOp(self, e: A.BoolOp, scope):
        if self.mode == "schedule":
            self.err("E306", f"'{e.op}' cannot appear in a param value", e.span)
            return ERROR
        self.want(e.left, BOOL, scope, f"the left side of '{e.op}'")
        self.want(e.right, BOOL, scope, f"the right side of '{e.op}'")
        return BOOL

    def e_Unary(self, e: A.Unary, scope):
        if e.op == "not":
            if self.mode == "schedule":
                self.err("E306", "'not' cannot appear in a param value", e.span)
                return ERROR
            self.want(e.operand, BOOL, scope, "the operand of 'not'")
            return BOOL
        t = self.expr(e.operand, scope)
        if t == ERROR:
            return ERROR
        if not is_num(t):
            self.err("E201", f"unary '{e.op}' needs a number, found {t}", e.operand.span)
            return ERROR
        return t

    def e_IfExp(self, e: A.IfExp, scope):
        if self.mode == "schedule":
            self.err("E306", "conditional expressions cannot appear in a param value", e.span,
                     hint="use min, max or clip")
            return ERROR
        self.want(e.cond, BOOL, scope, "the condition")
        a = self.expr(e.then, scope)
        b = self.expr(e.orelse, scope)
        j = join(a, b)
        if j is None:
            self.err("E201", f"the two sides of the conditional have different types: {a} and {b}", e.span)
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
                self.err("E201", "lists of lists are not supported", it.span)
                return ERROR
            el = it_t if el is None else join(el, it_t)
            if el is None:
                self.err("E201", "list items have different types", it.span)
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
            self.err("E201", "lists of lists are not supported", e.elt.span)
            return ERROR
        return list_of(t)


def check_program(prog: A.Program, limits: Limits | None = None) -> CheckedProgram:
    """Check an AST. Raises :class:`DiagnosticsError` if there is any error."""
    return Checker(prog, limits).run()
