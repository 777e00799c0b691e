"""A simple tree-walking reference evaluator over the checked AST.

It exists for differential testing of :mod:`tts_dsl.engines.python`: it follows the replay
spec (``explore``, ``probe_new``, ``get_new_branch_final_answer``) literally, with one
small object per branch, and evaluates expressions by walking the AST. It is slow and
meant to stay obviously correct; the compiled path is the one used for evaluation.

:func:`interpret_program` returns an :class:`~tts_dsl.engines.executable.Executable` whose
``episode`` has the compiled signature, so :func:`tts_dsl.evaluation.runner.run` accepts
either. Semantics shared with the compiler (and pinned by ``tests/test_differential.py``):

* every loop iteration (``for``, ``repeat``) costs one step of fuel, and a query that visits
  its source (a comprehension, a filtered ``for``) costs ``len(source)`` steps at once
  (``step_cap`` when it runs out; see :mod:`.analysis`); every action counts towards the
  action cap (``action_cap``);
* a ``for`` evaluates its source once, before the first iteration (``for b in branches``
  does not visit branches opened by its own body);
* ``advance`` on a finished or pruned branch and ``prune`` on a pruned branch do nothing
  and run the else-clause;
* list values are snapshots: ``completed`` is copied whenever it is used as a value;
* the episode's memory budget (``max_episode_cells``) counts the elements of every list
  ``var`` and every list ``branch var`` of every opened branch; the sum is checked after a
  var's initial value, after each assignment to one of them, and once after an ``open`` or
  ``read`` has given the new branch its list vars (``CellCap``, L013, at that statement).
"""

from __future__ import annotations

from ..lang import ast as A
from ..lang.builtins import FUNCTIONS
from ..lang.checker import CheckedProgram, SymbolKind
from ..lang.diagnostics import DiagnosticsError
from ..lang.limits import Limits
from ..lang.schedule import Binding
from ..lang.types import FLOAT, INT, RECORDS
from . import runtime
from .analysis import analyze
from .executable import Executable
from .runtime import RuntimeProblem


class _Branch:
    __slots__ = ("index", "source", "k", "charged", "steps", "latest", "finished", "pruned", "cost", "vars")

    def __init__(self, index, source, bvars):
        self.index = index
        self.source = source  # index into the question's branches
        self.k = 0  # intervals revealed
        self.charged = 0  # tokens charged by explore (the spec's 'charged')
        self.steps = 0
        self.latest = None
        self.finished = False
        self.pruned = False
        self.cost = 0  # tokens charged to this branch (any action)
        self.vars = dict(bvars)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Stop(Exception):
    def __init__(self, answer, reason):
        self.answer = answer
        self.reason = reason


class _Episode:
    """The state of one episode and the evaluator over it."""

    def __init__(self, interp: "Interpreter", probes, nprobes, tokens, final, pf, nb, order, cap, fuel, junk=None):
        self.it = interp
        self.junk = junk  # the question's junk answer ids (valid, real)
        self.probes, self.nprobes, self.tokens, self.final = probes, nprobes, tokens, final
        self.pf, self.nb, self.order = pf, nb, order
        self.cap, self.fuel = cap, fuel
        self.branches: list[_Branch] = []
        self.completed: list = []
        self.spent = 0
        self.actions = 0
        self.env: dict = {}  # symbol uid -> value
        self.cells = 0  # list elements held by list vars and the opened branches' list vars

    # ------------------------------------------------------------ the pool
    def explore(self, b: _Branch):
        """The spec's explore(branch): reveal the next probe, or the final answer."""
        j = b.source
        if b.k < self.nprobes[j]:
            a = self.probes[j][b.k]
            b.k += 1
            c = self.pf
            b.charged += c
        else:
            a = self.final[j]
            c = max(0, self.tokens[j] - b.charged)
            b.finished = True
            self.completed.append(a)
        b.latest = a
        b.steps += 1
        b.cost += c
        self.spent += c

    def new_branch(self) -> _Branch:
        b = _Branch(len(self.branches), self.order[len(self.branches)], self.it.bvar_init)
        self.branches.append(b)
        return b

    # ------------------------------------------------------------ statements
    def block(self, stmts):
        for st in stmts:
            self.stmt(st)

    def stmt(self, st):
        getattr(self, "s_" + type(st).__name__)(st)

    def s_Return(self, st):
        raise _Return(self.ev(st.value))

    def call_user(self, f, args):
        """A user function: its arguments bound by symbol (no function is active twice: the
        checker refuses recursion), its block run to its return."""
        for s, v in zip(f.args, args):
            self.env[s.uid] = v
        try:
            self.block(f.decl.body)
        except _Return as r:
            return r.value
        raise AssertionError(f"function {f.name} ended without a return")

    def s_Let(self, st):
        self.env[st.ref.uid] = self.ev(st.value)

    def s_Partition(self, st):
        q = st.query
        uid = q.ref.uid
        src = self.ev(q.source)
        self.tick(len(src))
        yes, no = [], []
        for x in src:
            self.env[uid] = x
            (yes if self.ev(q.where) else no).append(x)
        self.env[st.yes_ref.uid] = yes
        self.env[st.no_ref.uid] = no

    def s_SetKey(self, st):
        m = self.env[st.target.ref.uid]
        key = self.ev(st.key)
        value = self.ev(st.value)
        if st.op == "+=":
            value = m.get(key, 0.0 if st.target.ty.arg == FLOAT else 0) + value
        self.it.put(m, key, value)

    def s_Assign(self, st):
        t = st.target
        if isinstance(t, A.Name):
            value = self.ev(st.value)
            if t.ref.uid in self.it.cell_vars:
                self.hold(len(value) - len(self.env[t.ref.uid]), st.span)
            self.env[t.ref.uid] = value
        else:
            b = self.branches[self.ev(t.obj)]
            value = self.ev(st.value)
            if t.name in self.it.cell_bvars:
                self.hold(len(value) - len(b.vars[t.name]), st.span)
            b.vars[t.name] = value

    def hold(self, more: int, span):
        """The episode's list state changed by ``more`` elements: check the memory budget."""
        self.cells += more
        if self.cells > self.it.limits.max_episode_cells:
            raise runtime.CellCap(self.cells, self.it.limits.max_episode_cells, span)

    def s_If(self, st):
        for cond, body in st.arms:
            if self.ev(cond):
                self.block(body)
                return
        if st.orelse is not None:
            self.block(st.orelse)

    def tick(self, n=1):
        self.fuel -= n
        if self.fuel < 0:
            raise _Stop(None, 2)

    def loop(self, var_uid, values, body):
        for v in values:
            self.tick()
            if var_uid is not None:
                self.env[var_uid] = v
            try:
                self.block(body)
            except _Continue:
                continue
            except _Break:
                break

    def s_For(self, st):
        self.loop(st.query.ref.uid, self.query(st.query), st.body)

    def s_Repeat(self, st):
        times = self.it.an.bounds[id(st)]
        if st.bound is not None:  # a computed count, capped by the bound
            times = times[:max(0, self.ev(st.count))]
        self.loop(st.ref.uid if st.ref is not None else None, times, st.body)

    def s_Action(self, st):
        if self.act(st) and st.then is not None:  # an action as a condition: done
            self.block(st.then)

    def act(self, st) -> bool:
        """Do the action; False (after its else block) when it could not be done."""
        self.actions += 1
        if self.actions > self.cap:
            raise _Stop(None, 1)
        k = st.kind
        if k in ("open", "read"):
            if len(self.branches) >= self.nb:
                self.otherwise(st)
                return False
            b = self.new_branch()
            if k == "open":
                self.explore(b)
            else:
                a = self.final[b.source]
                c = self.tokens[b.source]
                b.finished = True
                b.latest = a
                b.cost = c
                self.spent += c
                self.completed.append(a)
            for d in self.it.new_inits:  # branch vars whose initial value reads the new branch
                self.env[d.new_ref.uid] = b.index
                b.vars[d.name] = self.ev(d.value)
            if self.it.cell_bvars:  # the new branch's list vars count towards the budget
                self.hold(sum(len(b.vars[n]) for n in self.it.cell_bvars), st.span)
            if st.bind is not None:
                self.env[st.ref.uid] = b.index
            return True
        b = self.branches[self.ev(st.target)]
        if k == "advance":
            if b.finished or b.pruned:
                self.otherwise(st)
                return False
            self.explore(b)
        elif b.pruned:
            self.otherwise(st)
            return False
        else:
            b.pruned = True
        return True

    def otherwise(self, st):
        if st.on_exhausted is not None:
            self.block(st.on_exhausted)

    def s_AnswerStmt(self, st):
        raise _Stop(self.ev(st.value), 0)

    def s_Break(self, st):
        raise _Break()

    def s_Continue(self, st):
        raise _Continue()

    def s_Pass(self, st):
        pass

    def s_Trace(self, st):
        pass

    # ----------------------------------------------------------- expressions
    def ev(self, e):
        return getattr(self, "x_" + type(e).__name__)(e)

    def x_Num(self, e):
        return e.value

    def x_Bool(self, e):
        return e.value

    def x_NoneLit(self, e):
        return None

    def x_Name(self, e):
        s = e.ref
        if s.kind == SymbolKind.STATE:
            n = e.id
            if n == "branches":
                return list(range(len(self.branches)))
            if n == "completed":
                return list(self.completed)
            if n == "opened":
                return len(self.branches)
            if n == "remaining":
                return self.nb - len(self.branches)
            if n == "exhausted":
                return len(self.branches) >= self.nb
            if n == "spent":
                return self.spent
            if n == "interval_tokens":
                return self.pf
            raise AssertionError(n)
        if s.kind == SymbolKind.PARAM:
            return self.it.values[e.id]
        return self.env[s.uid]

    def x_Attr(self, e):
        o = self.ev(e.obj)
        if e.obj.ty in RECORDS:
            return o[RECORDS[e.obj.ty][e.name][0]]
        if e.name == "index":
            return o
        b = self.branches[o]
        if e.name == "history":
            h = list(self.probes[b.source][:b.k])
            if b.finished:
                h.append(self.final[b.source])
            return h
        if e.name in ("steps", "latest", "finished", "pruned", "cost"):
            return getattr(b, e.name)
        return b.vars[e.name]

    def x_Index(self, e):
        if e.obj.ty.is_map:  # a missing key reads 0
            return self.ev(e.obj).get(self.ev(e.index), 0.0 if e.obj.ty.arg == FLOAT else 0)
        return self.ev(e.obj)[self.ev(e.index)]

    def x_Slice(self, e):
        xs = self.ev(e.obj)
        lo = self.ev(e.lo) if e.lo is not None else None
        hi = self.ev(e.hi) if e.hi is not None else None
        return xs[lo:hi]

    def x_Call(self, e):
        f = e.func
        if f == "range":
            return list(self.it.an.bounds[id(e)])
        args = [self.ev(a) for a in e.args]
        if f in self.it.funcs:
            return self.call_user(self.it.funcs[f], args)
        if FUNCTIONS[f].reads_junk:
            args.append(self.junk)
        return self.it.functions[f](*args)

    def x_BinOp(self, e):
        a = self.ev(e.left)
        b = self.ev(e.right)
        op = e.op
        if op == "+":
            if e.ty.is_list:
                return self.it.cat(a, b)
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            if e.left.ty == INT and e.right.ty == INT:
                return runtime.imul(a, b)
            return a * b
        if op == "/":
            return a / b
        if op == "//":
            return a // b
        return a % b

    def x_Compare(self, e):
        a = self.ev(e.left)
        b = self.ev(e.right)
        op = e.op
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == "<=":
            return a <= b
        if op == ">":
            return a > b
        if op == ">=":
            return a >= b
        if op == "in":
            return a in b
        return a not in b

    def x_BoolOp(self, e):
        a = self.ev(e.left)
        if e.op == "and":
            return self.ev(e.right) if a else a
        return a if a else self.ev(e.right)

    def x_Unary(self, e):
        v = self.ev(e.operand)
        if e.op == "not":
            return not v
        return -v if e.op == "-" else +v

    def x_IfExp(self, e):
        return self.ev(e.then) if self.ev(e.cond) else self.ev(e.orelse)

    def x_ListLit(self, e):
        return [self.ev(i) for i in e.items]

    def query(self, q: A.Query) -> list:
        """The elements a query yields, computed once."""
        uid = q.ref.uid
        out = []
        src = self.ev(q.source)
        if id(q) in self.it.an.charged:
            self.tick(len(src))
        for x in src:
            if q.where is not None:
                self.env[uid] = x
                if not self.ev(q.where):
                    continue
            out.append(x)
        if q.key is not None:
            keyed = []  # every key of every element, keys in order
            for x in out:
                self.env[uid] = x
                keyed.append([self.ev(k) for k, _ in q.sort_keys()])
            idx = list(range(len(out)))
            for j, (_, desc) in reversed(list(enumerate(q.sort_keys()))):  # stable: least significant first
                idx = sorted(idx, key=lambda i: keyed[i][j], reverse=desc)
            out = [out[i] for i in idx]
        if q.take is not None:
            out = out[:max(0, self.ev(q.take))]
        return out

    def x_Comprehension(self, e):
        uid = e.query.ref.uid
        out = []
        for x in self.query(e.query):
            self.env[uid] = x
            out.append(self.ev(e.elt))
        return out


class Interpreter:
    """A checked program with its params bound, ready to interpret episodes."""

    def __init__(self, checked: CheckedProgram, binding: Binding, limits: Limits | None = None):
        self.c = checked
        self.funcs = {f.name: f for f in checked.funcs}
        self.values = dict(binding.values)
        self.limits = limits or Limits()
        self.cat = runtime.make_cat(self.limits.max_list_len)
        self.put = runtime.make_put(self.limits.max_list_len)
        self.functions = runtime.functions()
        self.an = analyze(checked, binding, self.limits)
        if self.an.diags:
            raise DiagnosticsError(self.an.diags, checked.source)
        # initial values are constants (literals and params): evaluate them once
        boot = _Episode(self, [], [], [], [], 1, 0, (), 0, 0)
        self.bvar_init = {d.name: boot.ev(d.value) for d in checked.program.branch_vars if d.new_ref is None}
        self.new_inits = [d for d in checked.program.branch_vars if d.new_ref is not None]
        self.var_init = [(s.uid, d) for s, d in zip(checked.vars, checked.program.vars)]
        # the memory budget counts these (max_episode_cells)
        self.cell_vars = {s.uid for s in checked.vars if s.ty.is_list}
        self.cell_bvars = [s.name for s in checked.branch_vars if s.ty.is_list]

    def episode(self, PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, TR=None, JUNK=None):  # noqa: N803
        ep = _Episode(self, PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, JUNK)
        try:
            for uid, decl in self.var_init:
                ep.env[uid] = ep.ev(decl.value) if decl.value is not None else {}
                if uid in self.cell_vars:
                    ep.hold(len(ep.env[uid]), decl.span)
            ep.block(self.c.program.body)
        except _Stop as s:
            return (s.answer, ep.spent, s.reason)
        return (None, ep.spent, 3)


def interpret_program(checked: CheckedProgram, binding: Binding, limits: Limits | None = None) -> Executable:
    """An :class:`Executable` backed by the reference evaluator (traces are not recorded)."""
    it = Interpreter(checked, binding, limits)
    return Executable(checked, binding, "", it.episode, {}, False)


__all__ = ["Interpreter", "interpret_program", "RuntimeProblem"]
