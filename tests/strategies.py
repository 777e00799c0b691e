"""Hypothesis strategies that generate programs, for the formatter, fuzz and safety tests
(and for other test modules: ``from strategies import valid_programs``).

* :func:`raw_programs` -- syntactically valid ASTs of any shape (names, operators and
  nesting at random; most do not type-check). For the formatter round-trip.
* :func:`valid_programs` -- typed ASTs built from the language's registry of state names,
  functions and branch attributes, with bounded loops and an answer at the end; most pass
  the checker and run. For runtime and information-safety properties.
* :func:`mutated_sources` -- program *texts*: the shipped programs with deleted tokens,
  swapped operators, out-of-range and huge numbers, unicode, long names, deep nesting,
  NaN/infinity in schedules, division by zero, ...
* :func:`hostile_sources` -- everything above, plus random bytes-ish text.

All strategies are deterministic given hypothesis' seed; none touches the file system
except reading ``programs/*.tts`` once.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from hypothesis import strategies as st

from tts_dsl.lang import ast as A
from tts_dsl.lang.formatter import format_program
from tts_dsl.lang.parser import KEYWORDS

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"

# ------------------------------------------------------------------ raw ASTs
idents = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(lambda s: s not in KEYWORDS)
labels = st.text(st.characters(blacklist_characters='"\\\n', blacklist_categories=("Cs",)), max_size=12)

_nums = st.one_of(
    st.integers(0, 20).map(lambda v: A.Num(v)),
    st.integers(0, 10 ** 30).map(lambda v: A.Num(v)),
    st.floats(0, allow_nan=False, allow_infinity=True).map(lambda v: A.Num(v)),
)
_leaves = st.one_of(
    _nums,
    st.booleans().map(lambda v: A.Bool(v)),
    st.just(None).map(lambda _: A.NoneLit()),
    idents.map(lambda s: A.Name(s)),
)


def _query(children):
    def mk(var, src, where, key, desc, take, then_by):
        return A.Query(var, src, where, key, bool(desc and key is not None), take,
                       then_by=then_by if key is not None else [])
    return st.builds(mk, idents, children, st.none() | children, st.none() | children, st.booleans(),
                     st.none() | children, st.lists(st.tuples(children, st.booleans()), max_size=2))


def _extend(children):
    kids = st.lists(children, max_size=3)
    return st.one_of(
        st.builds(A.Attr, children, idents),
        st.builds(A.Index, children, children),
        st.builds(A.Slice, children, st.none() | children, st.none() | children),
        st.builds(A.Call, idents, kids),
        st.builds(A.BinOp, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children, children),
        st.builds(A.Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]), children, children),
        st.builds(A.BoolOp, st.sampled_from(["and", "or"]), children, children),
        st.builds(A.Unary, st.sampled_from(["-", "+", "not"]), children),
        st.builds(A.IfExp, children, children, children),
        st.builds(A.ListLit, kids),
        st.builds(A.Comprehension, children, _query(children)),
    )


raw_exprs = st.recursive(_leaves, _extend, max_leaves=12)

_types = st.recursive(
    st.one_of(idents.map(lambda s: A.TypeRef(s)), st.sampled_from(["branch", "answer"]).map(lambda s: A.TypeRef(s))),
    lambda inner: st.builds(A.TypeRef, idents, inner),
    max_leaves=3,
)


def _simple_stmts():
    return st.one_of(
        st.builds(A.Let, idents, st.none() | _types, raw_exprs),
        st.builds(A.Assign, idents.map(lambda s: A.Name(s)), raw_exprs),
        st.builds(lambda o, n, v: A.Assign(A.Attr(A.Name(o), n), v), idents, idents, raw_exprs),
        st.builds(A.AnswerStmt, raw_exprs),
        st.just(None).map(lambda _: A.Break()),
        st.just(None).map(lambda _: A.Continue()),
        st.just(None).map(lambda _: A.Pass()),
        st.builds(A.Trace, labels, st.lists(st.tuples(idents, raw_exprs), max_size=3)),
    )


def _compound(stmts):
    block = st.lists(stmts, max_size=3)
    on_ex = st.none() | block | st.sampled_from([A.Break, A.Continue]).map(lambda c: [c()])
    return st.one_of(
        st.builds(A.If, st.lists(st.tuples(raw_exprs, block), min_size=1, max_size=3), st.none() | block),
        st.builds(A.For, _query(raw_exprs), block),
        st.builds(lambda c, v, b, m: A.Repeat(c, v, b, bound=m), raw_exprs, st.none() | idents, block,
                  st.none() | raw_exprs),
        st.builds(lambda k, b, ex: A.Action(k, None, b, ex), st.sampled_from(["open", "read"]), st.none() | idents, on_ex),
        st.builds(lambda k, t, ex: A.Action(k, t, None, ex), st.sampled_from(["advance", "prune"]), raw_exprs, on_ex),
    )


raw_stmts = st.recursive(_simple_stmts(), _compound, max_leaves=8)


def _param():
    def mk(name, ty, direction, rng, value):
        lo, hi = rng if rng else (None, None)
        return A.Param(name, ty, direction, lo, hi, value)
    return st.builds(mk, idents, _types, st.sampled_from([None, "increasing", "decreasing", "constant"]),
                     st.none() | st.tuples(raw_exprs, raw_exprs), raw_exprs)


raw_programs = st.builds(
    lambda name, params, vars_, bvars, body: A.Program(name, params, vars_, bvars, body),
    idents,
    st.lists(_param(), max_size=3),
    st.lists(st.builds(lambda n, t, v: A.VarDecl(n, t, v, False), idents, _types, raw_exprs), max_size=2),
    st.lists(st.builds(lambda n, t, v: A.VarDecl(n, t, v, True), idents, _types, raw_exprs), max_size=2),
    st.lists(raw_stmts, max_size=6),
)


# ----------------------------------------------------------------- typed ASTs
INTS = ["opened", "remaining", "spent", "interval_tokens"]
LISTS = ("list[answer]", "list[branch]", "list[int]", "list[float]")


def _T(name):  # a TypeRef for a type string
    if name.startswith("list["):
        return A.TypeRef("list", A.TypeRef(name[5:-1]))
    return A.TypeRef(name)


class _Gen:
    """A typed program generator driven by hypothesis' ``draw``."""

    def __init__(self, draw, hostile: bool, gaps: bool = False):
        self.draw = draw
        self.hostile = hostile
        self.gaps = gaps
        self.n = 0
        self.params: dict[str, str] = {}
        self.vars: dict[str, str] = {}
        self.bvars: list[str] = []

    def fresh(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"

    def pick(self, xs):
        return self.draw(st.sampled_from(list(xs)))

    def chance(self, p):
        return self.draw(st.floats(0, 1)) < p

    def names_of(self, scope, ty):
        return [n for n, t in scope.items() if t == ty]

    # -- expressions
    def lit_int(self):
        if self.hostile and self.chance(0.1):
            return A.Num(self.pick([0, 10 ** 15, 999_999_999_999_999, 100_000, 1_000_000]))
        return A.Num(self.draw(st.integers(0, 12)))

    def lit_float(self):
        if self.hostile and self.chance(0.1):
            return A.Num(self.pick([1e308, 1e-308, 5e-324, 0.0, 1.7976931348623157e308]))
        return A.Num(self.pick([0.0, 0.05, 0.5, 0.9, 0.95, 1.0, 2.5]))

    def const_int(self, scope):
        """A loop bound: literals and int params only (the checker requires constants)."""
        ps = [n for n, t in self.params.items() if t == "int"]
        if ps and self.chance(0.4):
            return A.Name(self.pick(ps))
        if self.hostile and self.chance(0.05):
            return A.Num(self.pick([100_000, 100_001, 10 ** 9]))
        return A.Num(self.draw(st.integers(0, 6)))

    def e(self, ty, scope, d):  # noqa: C901 - one arm per type
        leaf = d <= 0 or self.chance(0.3)
        names = self.names_of(scope, ty)
        if ty == "int":
            if leaf:
                opts = [self.lit_int, lambda: A.Name(self.pick(INTS))]
                if names:
                    opts.append(lambda: A.Name(self.pick(names)))
                return opts[self.draw(st.integers(0, len(opts) - 1))]()
            k = self.draw(st.integers(0, 9))
            if k == 0:
                return A.BinOp(self.pick(["+", "-", "*", "//", "%"]), self.e("int", scope, d - 1), self.e("int", scope, d - 1))
            if k == 1:
                return A.Call("len", [self.e(self.pick(LISTS), scope, d - 1)])
            if k == 2:
                return A.Call("count", [self.e("list[answer]", scope, d - 1), self.e("answer", scope, d - 1)])
            if k == 3:
                b = self.e("branch", scope, d - 1)
                return A.Attr(b, self.pick(["steps", "index", "cost"]))
            if k == 4:
                return A.Call(self.pick(["round", "floor", "ceil", "int"]), [self.e("float", scope, d - 1)])
            if k == 5:
                return A.Call(self.pick(["min", "max"]), [self.e("int", scope, d - 1), self.e("int", scope, d - 1)])
            if k == 6:
                return A.Attr(A.Call("votes", [self.e("list[answer]", scope, d - 1)]), self.pick(["top1", "top2"]))
            if k == 7:
                return A.Call("sum", [self.e("list[int]", scope, d - 1)])
            if k == 8:
                return A.IfExp(self.e("bool", scope, d - 1), self.e("int", scope, d - 1), self.e("int", scope, d - 1))
            return A.Unary("-", self.e("int", scope, d - 1))
        if ty == "float":
            if leaf:
                if names and self.chance(0.5):
                    return A.Name(self.pick(names))
                return self.lit_float()
            k = self.draw(st.integers(0, 8))
            if k == 0:
                return A.BinOp(self.pick(["+", "-", "*", "/"]), self.e("float", scope, d - 1),
                               self.e(self.pick(["int", "float"]), scope, d - 1))
            if k == 1:
                return A.Call(self.pick(["sqrt", "log", "exp", "sigmoid", "float", "abs"]),
                              [self.e(self.pick(["int", "float"]), scope, d - 1)])
            if k == 2:
                return A.Call("mean", [self.e(self.pick(["list[int]", "list[float]"]), scope, d - 1)])
            if k == 3:
                if self.gaps and self.chance(0.05):  # huge vote counts (docs/safety.md, "Long steps")
                    return A.Call("beta_confidence", [A.Num(self.pick([10 ** 6, 10 ** 15])), self.lit_int()])
                kinds = ["int", "int"] if self.chance(0.6) else [self.pick(["int", "float"]), "float"]
                return A.Call("beta_confidence", [self.e(t, scope, d - 1) for t in kinds])
            if k == 4:
                return A.Call("entropy", [self.e("list[answer]", scope, d - 1)])
            if k == 5:
                return A.Call("clip", [self.e("float", scope, d - 1), self.lit_float(), self.lit_float()])
            if k == 6:
                return A.Call("round", [self.e("float", scope, d - 1), A.Num(self.draw(st.integers(0, 4)))])
            if k == 7:
                return A.IfExp(self.e("bool", scope, d - 1), self.e("float", scope, d - 1), self.e("float", scope, d - 1))
            return A.BinOp("/", self.e("int", scope, d - 1), self.e("int", scope, d - 1))
        if ty == "bool":
            if leaf:
                if names and self.chance(0.3):
                    return A.Name(self.pick(names))
                return self.pick([A.Bool(True), A.Bool(False), A.Name("exhausted")])
            k = self.draw(st.integers(0, 6))
            if k == 0:
                nt = self.pick(["int", "float"])
                return A.Compare(self.pick(["==", "!=", "<", "<=", ">", ">="]), self.e(nt, scope, d - 1),
                                 self.e(self.pick(["int", "float"]), scope, d - 1))
            if k == 1:
                return A.Compare(self.pick(["==", "!="]), self.e("answer", scope, d - 1), self.e("answer", scope, d - 1))
            if k == 2:
                return A.Compare(self.pick(["in", "not in"]), self.e("answer", scope, d - 1),
                                 self.e("list[answer]", scope, d - 1))
            if k == 3:
                return A.BoolOp(self.pick(["and", "or"]), self.e("bool", scope, d - 1), self.e("bool", scope, d - 1))
            if k == 4:
                return A.Unary("not", self.e("bool", scope, d - 1))
            if k == 5:
                return A.Attr(self.e("branch", scope, d - 1), self.pick(["finished", "pruned"]))
            if self.chance(0.3):
                return A.Call("valid", [self.e("answer", scope, d - 1)])
            v = self.fresh("c")
            inner = dict(scope, **{v: "branch"})
            return A.Call(self.pick(["any", "all"]),
                          [A.Comprehension(self.e("bool", inner, d - 1), A.Query(v, A.Name("branches")))])
        if ty == "answer":
            if leaf:
                opts = [A.NoneLit(), A.Call("majority", [A.Name("completed")])]
                if names:
                    opts.append(A.Name(self.pick(names)))
                return self.pick(opts)
            k = self.draw(st.integers(0, 4))
            if k == 0:
                return A.Call("majority", [self.e("list[answer]", scope, d - 1)])
            if k == 1:
                return A.Attr(self.e("branch", scope, d - 1), "latest")
            if k == 2:
                return A.Attr(A.Call("votes", [self.e("list[answer]", scope, d - 1)]), "winner")
            if k == 3:
                ix = A.Index(A.Name("completed"), self.e("int", scope, d - 1) if self.chance(0.2) else
                             self.pick([A.Num(0), A.Unary("-", A.Num(1))]))
                if self.chance(0.2):
                    return ix
                return A.IfExp(A.Compare(">", A.Call("len", [A.Name("completed")]), A.Num(0)), ix, A.NoneLit())
            return A.IfExp(self.e("bool", scope, d - 1), self.e("answer", scope, d - 1), self.e("answer", scope, d - 1))
        if ty == "branch":
            bs = self.names_of(scope, "branch")
            if bs and (leaf or self.chance(0.6)):
                return A.Name(self.pick(bs))
            idx = self.e("int", scope, d - 1) if not leaf and self.chance(0.15) else \
                self.pick([A.Num(0), A.Unary("-", A.Num(1))])
            return A.Index(A.Name("branches"), idx)
        if ty.startswith("list["):
            el = ty[5:-1]
            if leaf:
                base = {"list[answer]": "completed", "list[branch]": "branches"}.get(ty)
                if names and (base is None or self.chance(0.5)):
                    return A.Name(self.pick(names))
                if base:
                    return A.Name(base)
                if el == "int":
                    return A.Call("range", [self.const_int(scope)])
                return A.ListLit([self.e(el, scope, 0)])
            if el == "answer" and self.chance(0.15):
                return A.Call("real", [self.e(ty, scope, d - 1)])
            k = self.draw(st.integers(0, 4))
            if k == 0 or (k == 1 and el == "branch"):
                v = self.fresh("c")
                inner = dict(scope, **{v: "branch"})
                elt = A.Name(v) if el == "branch" else self.e(el, inner, d - 1) if el != "answer" else \
                    A.Attr(A.Name(v), self.pick(["latest", "latest"]))
                q = A.Query(v, self.e("list[branch]", scope, d - 1),
                            self.e("bool", inner, d - 1) if self.chance(0.6) else None,
                            None, False, None)
                if self.chance(0.4):
                    q.key = self.e(self.pick(["int", "float"]), inner, d - 1)
                    q.descending = self.chance(0.5)
                    q.then_by = [(self.e(self.pick(["int", "float", "bool"]), inner, d - 1), self.chance(0.5))
                                 for _ in range(self.draw(st.integers(0, 2)))]
                if self.chance(0.3):
                    q.take = self.e("int", scope, d - 1)
                return A.Comprehension(elt, q)
            if k == 1:
                return A.Slice(self.e(ty, scope, d - 1), self.e("int", scope, d - 1) if self.chance(0.7) else None,
                               self.e("int", scope, d - 1) if self.chance(0.5) else None)
            if k == 2:
                return A.BinOp("+", self.e(ty, scope, d - 1), self.e(ty, scope, d - 1))
            if k == 3 and el == "answer":
                return self.pick([A.Attr(self.e("branch", scope, d - 1), "history"),
                                  A.Call("distinct", [self.e(ty, scope, d - 1)])])
            if el == "int":
                return A.Call("range", [self.const_int(scope)])
            return A.ListLit([self.e(el, scope, d - 1) for _ in range(self.draw(st.integers(1, 3)))])
        raise AssertionError(ty)

    # -- statements
    def block(self, scope, d, in_loop, max_len=4):
        out = []
        scope = dict(scope)
        for _ in range(self.draw(st.integers(0 if d > 0 else 1, max_len))):
            s = self.stmt(scope, d, in_loop)
            out.append(s)
            if _always_jumps(s):
                return out
        if self.chance(0.25):
            opts = [lambda: A.AnswerStmt(self.e("answer", scope, 2))]
            if in_loop:
                opts += [lambda: A.Break(), lambda: A.Continue()]
            out.append(opts[self.draw(st.integers(0, len(opts) - 1))]())
        return out

    def on_else(self, scope, d, in_loop, must_leave):
        if must_leave:
            opts = [lambda: [A.AnswerStmt(self.e("answer", scope, 1))]]
            if in_loop:
                opts += [lambda: [A.Break()], lambda: [A.Continue()]]
            return opts[self.draw(st.integers(0, len(opts) - 1))]()
        if self.chance(0.4):
            return None
        if in_loop and self.chance(0.5):
            return [A.Break()]
        return self.block(scope, d - 1, in_loop, 2) if d > 0 else [A.Pass()]

    def stmt(self, scope, d, in_loop):  # noqa: C901
        k = self.draw(st.integers(0, 13 if d > 0 else 8))
        ed = 3
        if k == 0 and self.chance(0.2):  # partition: one pass, two lists
            v, yes, no = self.fresh("c"), self.fresh("l"), self.fresh("l")
            src_ty = self.pick(["list[branch]", "list[answer]", "list[int]"])
            el = src_ty[5:-1]
            q = A.Query(v, self.e(src_ty, scope, 2), self.e("bool", dict(scope, **{v: el}), 2))
            scope[yes] = scope[no] = src_ty
            return A.Partition(yes, no, q)
        if k == 0:
            name = self.fresh("l")
            ty = self.pick(["int", "float", "bool", "answer", "list[answer]", "list[branch]"])
            scope[name] = ty
            return A.Let(name, _T(ty), self.e(ty, {x: t for x, t in scope.items() if x != name}, ed))
        if k == 1 and self.vars:
            name = self.pick(self.vars)
            return A.Assign(A.Name(name), self.e(self.vars[name], scope, ed))
        if k == 2 and self.bvars and self.names_of(scope, "branch"):
            return A.Assign(A.Attr(A.Name(self.pick(self.names_of(scope, "branch"))), self.pick(self.bvars)),
                            self.e("int", scope, ed))
        if k in (3, 4):
            kind = self.pick(["open", "read"])
            if self.chance(0.3):
                name = self.fresh("b")
                s = A.Action(kind, None, name, self.on_else(scope, d, in_loop, True))
                scope[name] = "branch"
                return s
            return A.Action(kind, None, None, self.on_else(scope, d, in_loop, False))
        if k in (5, 6):
            return A.Action(self.pick(["advance", "prune", "advance"]), self.e("branch", scope, 2), None,
                            self.on_else(scope, d, in_loop, False))
        if k == 7:
            fields = [(self.fresh("f"), self.e(self.pick(["int", "float", "bool", "answer", "list[answer]"]), scope, 2))
                      for _ in range(self.draw(st.integers(0, 3)))]
            return A.Trace(self.draw(labels), fields)
        if k == 8:
            return A.Pass()
        if k == 9 and self.chance(0.3):  # an action as a condition
            kind = self.pick(["open", "read", "advance", "prune"])
            target = self.e("branch", scope, 2) if kind in ("advance", "prune") else None
            name = self.fresh("b") if kind in ("open", "read") and self.chance(0.6) else None
            inner = dict(scope, **({name: "branch"} if name else {}))
            s = A.Action(kind, target, name, self.block(scope, d - 1, in_loop) if self.chance(0.5) else None)
            s.then = self.block(inner, d - 1, in_loop)
            return s
        if k == 9:
            arms = [(self.e("bool", scope, ed), self.block(scope, d - 1, in_loop))
                    for _ in range(self.draw(st.integers(1, 3)))]
            return A.If(arms, self.block(scope, d - 1, in_loop) if self.chance(0.5) else None)
        if k in (10, 11):
            v = self.fresh("i")
            if self.chance(0.6):
                inner = dict(scope, **{v: "branch"})
                q = A.Query(v, self.e("list[branch]", scope, 1),
                            self.e("bool", inner, 2) if self.chance(0.5) else None)
                if self.chance(0.3):
                    q.key, q.descending = self.e("int", inner, 1), self.chance(0.5)
                    if self.chance(0.4):
                        q.then_by = [(self.e(self.pick(["int", "bool"]), inner, 1), self.chance(0.5))]
                if self.chance(0.3):
                    q.take = self.e("int", scope, 1)
            else:
                inner = dict(scope, **{v: "int"})
                q = A.Query(v, A.Call("range", [self.const_int(scope)]))
            return A.For(q, self.block(inner, d - 1, True))
        if k == 12:
            v = self.fresh("r") if self.chance(0.5) else None
            inner = dict(scope, **({v: "int"} if v else {}))
            if self.chance(0.3):  # a computed count under a constant bound
                return A.Repeat(self.e("int", scope, 1), v, self.block(inner, d - 1, True), bound=self.const_int(scope))
            return A.Repeat(self.const_int(scope), v, self.block(inner, d - 1, True))
        name = self.fresh("l")
        scope[name] = "votes"
        return A.Let(name, None, A.Call("votes", [self.e("list[answer]", scope, 2)]))

    def program(self):
        params = []
        for _ in range(self.draw(st.integers(0, 3))):
            name = self.fresh("p")
            if self.chance(0.6):
                lo, hi = 1, self.draw(st.integers(1, 64))
                if self.chance(0.5):
                    value = A.Num(self.draw(st.integers(lo, hi)))
                    params.append(A.Param(name, A.TypeRef("int"), None, A.Num(lo), A.Num(hi), value))
                else:
                    value = A.Call("max", [A.Num(1), A.Call("round", [A.BinOp("*", A.Num(float(hi)), A.Name("beta"))])])
                    params.append(A.Param(name, A.TypeRef("int"), "increasing", A.Num(lo), A.Num(hi), value))
                self.params[name] = "int"
            else:
                value = A.Call("round", [A.BinOp("+", A.Num(0.5), A.BinOp("*", A.Num(0.4), A.Name("beta"))), A.Num(3)])
                params.append(A.Param(name, A.TypeRef("float"), "increasing", A.Num(0), A.Num(1), value))
                self.params[name] = "float"
        vars_ = []
        for _ in range(self.draw(st.integers(0, 3))):
            name = self.fresh("v")
            ty = self.pick(["int", "float", "answer", "list[answer]", "bool"])
            init = {"int": A.Num(0), "float": A.Num(0.0), "answer": A.NoneLit(), "list[answer]": A.ListLit([]),
                    "bool": A.Bool(False)}[ty]
            vars_.append(A.VarDecl(name, _T(ty), init, False))
            self.vars[name] = ty
        maps = []
        if self.chance(0.4):  # an answer-keyed map (starts empty), set and read below
            name, vt = self.fresh("m"), self.pick(["int", "float"])
            vars_.append(A.VarDecl(name, A.TypeRef("map", A.TypeRef("answer"), val=A.TypeRef(vt)), None, False))
            maps.append((name, vt))
        bvars = []
        for _ in range(self.draw(st.integers(0, 2))):
            name = self.fresh("bv")
            init = A.Num(0) if self.chance(0.6) else \
                A.BinOp("+", A.Attr(A.Name("new"), self.pick(["steps", "index", "cost"])), A.Num(1))  # the new branch
            bvars.append(A.VarDecl(name, A.TypeRef("int"), init, True))
            self.bvars.append(name)
        scope = {"branches": "list[branch]", "completed": "list[answer]", "exhausted": "bool",
                 **{n: "int" for n in INTS}, **self.params, **self.vars}
        body, funcs = [], []
        for _ in range(self.draw(st.integers(0, 2))):  # pure functions, each called once
            name, k = self.fresh("f"), A.Num(self.draw(st.integers(0, 6)))
            x = A.Name("x")
            if self.chance(0.5):
                fbody, expr = [A.Return(A.BinOp(self.pick(["+", "-", "*", "//", "%"]), x, A.BinOp("+", k, A.Num(1))))], True
            else:
                y = self.fresh("y")
                fbody, expr = [A.Let(y, None, A.BinOp("*", x, A.Num(2))),
                               A.If([(A.Compare(">", A.Name(y), k), [A.Return(A.Name(y))])], None),
                               A.Return(A.Call("max", [x, k]))], False
            funcs.append(A.FuncDef(name, [A.FuncParam("x", A.TypeRef("int"))], A.TypeRef("int"), fbody, expr))
            v = self.fresh("l")
            body.append(A.Let(v, None, A.Call(name, [self.e("int", scope, 2)])))
            scope[v] = "int"
        for name, vt in maps:
            body.append(A.SetKey(A.Name(name), self.e("answer", scope, 2), self.e(vt, scope, 2), self.pick(["=", "+="])))
            v = self.fresh("l")
            body.append(A.Let(v, None, A.Index(A.Name(name), A.Call("argmax", [A.Name(name)]))))
            scope[v] = vt
        if self.chance(0.7):  # most controllers open some branches first
            body.append(A.Repeat(self.const_int(scope), None, [A.Action(self.pick(["open", "open", "read"]), None, None,
                                                                        [A.Break()])]))
        body += self.block(scope, 3, False, 5)
        if not body or not _always_jumps(body[-1]):
            body.append(A.AnswerStmt(A.Call("majority", [A.Name("completed")])))
        return A.Program(self.fresh("fuzz"), params, vars_, bvars, body, funcs=funcs)


def _always_jumps(s) -> bool:
    if isinstance(s, (A.AnswerStmt, A.Break, A.Continue)):
        return True
    if isinstance(s, A.If) and s.orelse is not None:
        return all(b and _always_jumps(b[-1]) for _, b in s.arms) and bool(s.orelse) and _always_jumps(s.orelse[-1])
    if isinstance(s, A.Action) and s.then is not None and s.on_exhausted:  # an action as a condition
        return bool(s.then) and _always_jumps(s.then[-1]) and _always_jumps(s.on_exhausted[-1])
    return False


@st.composite
def valid_programs(draw, hostile: bool = False, gaps: bool = False) -> A.Program:
    """A typed program AST (usually accepted by the checker). ``hostile``: huge literals
    and loop bounds; ``gaps``: also huge vote counts and long steps (docs/safety.md)."""
    return _Gen(draw, hostile, gaps).program()


@st.composite
def valid_sources(draw, hostile: bool = False, gaps: bool = False) -> str:
    return format_program(draw(valid_programs(hostile, gaps)))


# ---------------------------------------------------------------- mutations
@lru_cache(maxsize=1)
def shipped_sources() -> tuple:
    return tuple(p.read_text(encoding="utf-8") for p in sorted(PROGRAMS.glob("*.tts")))


_TOKEN = re.compile(r'"[^"\n]*"|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|//|==|!=|<=|>=|\S')
_SWAPS = {"+": "-", "-": "*", "*": "/", "/": "//", "//": "%", "%": "+", "<": ">=", ">": "<=", "<=": "==",
          ">=": "!=", "==": "=", "!=": "<", "and": "or", "or": "and", "not": "", "{": "(", "}": ")",
          "(": "[", ")": "]", "[": "{", "]": "}", ",": ";", ":": "=", "=": ":", ".": ",",
          "if": "while", "for": "repeat", "repeat": "for", "answer": "return", "open": "read",
          "true": "True", "false": "None", "none": "null", "desc": "descending", "break": "continue"}
HUGE = ["1e308", "1e309", "1e999", "10" + "0" * 400, "9" * 20, "1" + "0" * 5000, "0.0000000000000000000001",
        "2147483648", "-1", "0", "1e-400", "123456789012345678", "4.9e-324"]
WEIRD = ["é", "ü", "∞", "𝔁", "\u200b", "\ufeff", "\x00", "\r", "\t", "'", "\\", "@", "$", "`", "?", "!", "&", "|",
         "~", "^", "\u2028", "\x85", "ℕ", "🙂", "\x1b[2J", "%s", "{0}", "__import__", "os.system", "__class__",
         "eval", "exec", "open", "gold", "gold_answer", ".final", ".probes", ".tokens"]
DEEP = ["(" * 200 + "1" + ")" * 200, "[" * 70 + "]" * 70, "-" * 500 + "1", "not " * 300 + "true",
        "1" + " + 1" * 3000, "x" * 10_000, "a." * 200 + "b", "f(" * 80 + ")" * 80]
SCHEDULE_POISON = ["0 / 0", "1 / 0", "1e308 * 10", "log(0)", "sqrt(-1)", "exp(1000)", "(1e999 - 1e999)",
                   "10 ** 400", "beta / 0", "round(1e308 * 10)", "floor(1e999)", "int(1e999 - 1e999)",
                   "max()", "min(1)", "clip(1, 2)", "1 // 0", "5 % 0", "round(beta, 99999)", "round(beta, -99999)"]


def _tokens(src):
    return [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(src)]


@st.composite
def mutated_sources(draw) -> str:
    """A shipped or generated program text with 1-4 hostile mutations."""
    if draw(st.booleans()):
        src = draw(st.sampled_from(shipped_sources()))
    else:
        src = draw(valid_sources(hostile=True))
    for _ in range(draw(st.integers(1, 4))):
        toks = _tokens(src)
        if not toks:
            break
        i = draw(st.integers(0, len(toks) - 1))
        a, b, t = toks[i]
        kind = draw(st.integers(0, 9))
        if kind == 0:  # delete a token
            rep = ""
        elif kind == 1:  # swap an operator / keyword
            rep = _SWAPS.get(t, draw(st.sampled_from(sorted(set(_SWAPS.values())))))
        elif kind == 2:  # numbers out of range
            rep = draw(st.sampled_from(HUGE))
        elif kind == 3:  # unicode and injection text
            rep = t + draw(st.sampled_from(WEIRD)) if draw(st.booleans()) else draw(st.sampled_from(WEIRD))
        elif kind == 4:  # very long names
            rep = (t if t[:1].isalpha() else "x") * draw(st.integers(50, 2000))
        elif kind == 5:  # deep nesting in an expression position
            rep = draw(st.sampled_from(DEEP))
        elif kind == 6:  # poison a params value
            m = re.search(r"params \{\n(\s+\w+:[^=\n]*= )([^\n]*)", src)
            if m:
                a, b = m.start(2), m.end(2)
            rep = draw(st.sampled_from(SCHEDULE_POISON))
        elif kind == 7:  # duplicate a line
            lines = src.split("\n")
            j = draw(st.integers(0, len(lines) - 1))
            lines.insert(j, lines[j])
            src = "\n".join(lines)
            continue
        elif kind == 8:  # a random character anywhere
            rep = t + draw(st.characters(blacklist_categories=("Cs",)))
        else:  # truncate
            src = src[:a]
            continue
        src = src[:a] + rep + src[b:]
    return src


hostile_sources = st.one_of(
    mutated_sources(),
    valid_sources(hostile=True),
    st.text(max_size=200),
    st.lists(st.sampled_from(list("{}()[];\n #\"'=:.,+-*/<>!") + ["controller x", "answer", "if", "for",
                                                                   "repeat", "open", "params", "var", "x", "1"]),
             max_size=60).map(lambda s: "controller x\n" + " ".join(s)),
)

__all__ = ["raw_programs", "raw_exprs", "valid_programs", "valid_sources", "mutated_sources",
           "hostile_sources", "shipped_sources", "idents", "labels"]
