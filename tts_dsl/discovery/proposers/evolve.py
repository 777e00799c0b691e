"""The offline ``evolve`` proposer: grammar-aware mutation and crossover of programs in
the history, no LLM needed.

Operators work on the typed AST (``tts_dsl.lang.ast``) and apply their change as an edit
of the source text at the nodes' spans, so the rest of the program (comments, layout)
is kept:

* ``number``: perturb a numeric constant (schedule constants first);
* ``compare``: swap a comparison operator (``<``/``<=``/``>``/``>=``, ``==``/``!=``) or
  ``and``/``or``;
* ``subexpr``: replace a sub-expression with another one of the same type taken from
  this program or another one;
* ``delete`` / ``insert``: delete a statement, or insert one taken from a program in the
  history;
* ``param_cross`` / ``block_cross``: recombine two parents: take a knob's schedule, or a
  whole ``if``/``for``/``repeat`` block, from the other parent;
* ``betaify``: turn a constant knob into a monotone function of beta, or reshape a
  schedule (scale the coefficient of beta; beta -> beta * beta or sqrt(beta)).

Each proposal stacks one to three operators on a parent drawn by rank from the best
programs so far, and is pre-checked with the public API (parse, check, dedupe) until one
passes or ``tries`` is spent; the loop then validates it through every stage like any
other proposal. Everything is seeded by (run seed, round, attempt): reruns are identical.
"""

from __future__ import annotations

import random
import re

from ...lang import ast as A
from ...lang.diagnostics import DiagnosticsError
from ..config import ProposerConfig
from .base import Context, Proposer, ProposerError, Reply

OPERATORS = {"number": 0.34, "compare": 0.08, "subexpr": 0.1, "delete": 0.07, "insert": 0.07,
             "param_cross": 0.12, "block_cross": 0.06, "betaify": 0.16}


class _Src:
    """Source text with line/col -> offset conversion."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0]
        for i, ch in enumerate(text):
            if ch == "\n":
                self.starts.append(i + 1)

    def off(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def span(self, sp) -> tuple[int, int]:
        return self.off(sp.line, sp.col), self.off(sp.end_line, sp.end_col)

    def get(self, sp) -> str:
        a, b = self.span(sp)
        return self.text[a:b]

    def line_range(self, sp) -> tuple[int, int]:
        """Offsets of whole lines sp.line .. sp.end_line (with the final newline)."""
        a = self.starts[sp.line - 1]
        b = self.starts[sp.end_line] if sp.end_line < len(self.starts) else len(self.text)
        return a, b


def _edit(text: str, a: int, b: int, new: str) -> str:
    return text[:a] + new + text[b:]


def _parse(text: str):
    from ...api import check

    return check(text, "<evolve>")


def _exprs(node):
    return [n for n in A.walk(node) if isinstance(n, A.Expr)]


def _blocks(prog: A.Program):
    """Every statement list (block) in the body, with the body itself first."""
    out = [prog.body]
    for n in A.walk(prog.body):
        if isinstance(n, A.If):
            out += [body for _, body in n.arms]
            if n.orelse:
                out.append(n.orelse)
        elif isinstance(n, (A.For, A.Repeat)):
            out.append(n.body)
        elif isinstance(n, A.Action) and n.on_exhausted:
            out.append(n.on_exhausted)
    return [b for b in out if b]


def _fmt_float(x: float) -> str:
    s = repr(round(x, 4))
    return s if ("." in s or "e" in s) else s + ".0"


class Mutator:
    def __init__(self, rng: random.Random):
        self.rng = rng

    # each operator: (text, checked, other_checked) -> new text or None
    def number(self, text, c, other):
        src = _Src(text)
        in_params = [n for p in c.program.params for n in _exprs(p.value) if isinstance(n, A.Num)]
        in_body = [n for n in _exprs(c.program.body) if isinstance(n, A.Num)]
        pool = in_params if in_params and (self.rng.random() < 0.8 or not in_body) else in_body
        if not pool:
            return None
        n = self.rng.choice(pool)
        v = n.value
        r = self.rng
        if isinstance(v, int) and not isinstance(v, bool):
            if v == 0:
                nv = r.choice([1, 2])
            else:
                nv = r.choice([v - 1, v + 1, v - 2, v + 2, round(v * 0.75), round(v * 1.5), round(v * 0.5), v * 2])
            nv = max(0, nv)
            if nv == v:
                nv = v + 1
            new = str(nv)
        else:
            if 0 < v < 1:
                step = r.choice([0.01, 0.02, 0.03, 0.05, 0.1]) * r.choice([-1, 1])
                nv = min(0.999, max(0.001, v + step))
            else:
                nv = max(0.0, v * r.choice([0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0]))
            new = _fmt_float(nv)
        a, b = src.span(n.span)
        return _edit(text, a, b, new)

    def compare(self, text, c, other):
        src = _Src(text)
        nodes = [n for n in _exprs(c.program) if isinstance(n, (A.Compare, A.BoolOp))
                 and n.op in ("<", "<=", ">", ">=", "==", "!=", "and", "or")]
        if not nodes:
            return None
        n = self.rng.choice(nodes)
        a = src.off(n.left.span.end_line, n.left.span.end_col)
        b = src.off(n.right.span.line, n.right.span.col)
        mid = text[a:b]
        if n.op in ("and", "or"):
            new_op = "or" if n.op == "and" else "and"
            new_mid, k = re.subn(rf"\b{n.op}\b", new_op, mid, count=1)
        else:
            choices = {"<": ["<=", ">", ">="], "<=": ["<", ">=", ">"], ">": [">=", "<", "<="],
                       ">=": [">", "<=", "<"], "==": ["!="], "!=": ["=="]}[n.op]
            new_op = self.rng.choice(choices)
            new_mid, k = re.subn(r"==|!=|<=|>=|<|>", new_op, mid, count=1)
        if not k:
            return None
        return _edit(text, a, b, new_mid)

    def subexpr(self, text, c, other):
        src = _Src(text)
        targets = [n for n in _exprs(c.program.body) if n.ty is not None and str(n.ty) in ("int", "float", "bool")
                   and not isinstance(n, A.Num)]
        if not targets:
            return None
        t = self.rng.choice(targets)
        donors = []
        for prog, s in ((c, src), (other, _Src(other.source) if other else None)):
            if prog is None:
                continue
            for n in _exprs(prog.program.body):
                if n.ty == t.ty and n is not t and not isinstance(n, A.Name):
                    donors.append(s.get(n.span))
        donors = [d for d in donors if d != src.get(t.span) and "\n" not in d]
        if not donors:
            return None
        new = self.rng.choice(donors)
        a, b = src.span(t.span)
        return _edit(text, a, b, f"({new})")

    def delete(self, text, c, other):
        src = _Src(text)
        cands = []
        for blk in _blocks(c.program):
            for i, st in enumerate(blk):
                if len(blk) > 1 and not (blk is c.program.body and i == len(blk) - 1):
                    cands.append(st)
        if not cands:
            return None
        st = self.rng.choice(cands)
        a, b = src.line_range(st.span)
        # only whole statements on their own lines
        if text[a:src.off(st.span.line, st.span.col)].strip() or text[src.off(st.span.end_line, st.span.end_col):b].strip():
            return None
        return _edit(text, a, b, "")

    def _stmt_text(self, s: _Src, st) -> str | None:
        a, b = s.line_range(st.span)
        chunk = s.text[a:b]
        lines = chunk.splitlines()
        if not lines:
            return None
        ind = len(lines[0]) - len(lines[0].lstrip())
        if lines[0][:ind].strip() or s.text[s.off(st.span.end_line, st.span.end_col):b].strip():
            return None
        return "\n".join(ln[ind:] if len(ln) >= ind else ln.lstrip() for ln in lines)

    def insert(self, text, c, other):
        src = _Src(text)
        donor = other if (other is not None and self.rng.random() < 0.5) else c
        dsrc = _Src(donor.source)
        stmts = [n for n in A.walk(donor.program.body) if isinstance(n, (A.If, A.Let, A.Assign, A.Action, A.For, A.Repeat))]
        if not stmts:
            return None
        body = self._stmt_text(dsrc, self.rng.choice(stmts))
        if body is None:
            return None
        blocks = _blocks(c.program)
        blk = self.rng.choice(blocks)
        st = self.rng.choice(blk)
        a, _ = src.line_range(st.span)
        first = text[a:src.off(st.span.line, st.span.col)]
        if first.strip():
            return None
        new = "\n".join(first + ln for ln in body.splitlines()) + "\n"
        return _edit(text, a, a, new)

    def param_cross(self, text, c, other):
        if other is None:
            return None
        src, osrc = _Src(text), _Src(other.source)
        mine = {p.name: p for p in c.program.params}
        pairs = [(mine[p.name], p) for p in other.program.params
                 if p.name in mine and osrc.get(p.value.span) != src.get(mine[p.name].value.span)]
        if not pairs:
            return None
        p, q = self.rng.choice(pairs)
        a, b = src.span(p.value.span)
        return _edit(text, a, b, osrc.get(q.value.span))

    def block_cross(self, text, c, other):
        if other is None:
            return None
        src, osrc = _Src(text), _Src(other.source)
        kinds = (A.If, A.For, A.Repeat)
        mine = [n for n in A.walk(c.program.body) if isinstance(n, kinds)]
        theirs = [n for n in A.walk(other.program.body) if isinstance(n, kinds)]
        pairs = [(m, t) for m in mine for t in theirs if type(m) is type(t)]
        if not pairs:
            return None
        m, t = self.rng.choice(pairs)
        body = self._stmt_text(osrc, t)
        if body is None:
            return None
        a, b = src.line_range(m.span)
        first = text[a:src.off(m.span.line, m.span.col)]
        if first.strip():
            return None
        return _edit(text, a, b, "\n".join(first + ln for ln in body.splitlines()) + "\n")

    def betaify(self, text, c, other):
        src = _Src(text)
        consts = [p for p in c.params if not p.uses_beta and isinstance(p.expr, A.Num)]
        if not consts or self.rng.random() < 0.6:
            # reshape an existing schedule: scale the coefficient of beta, or bend the
            # curve (beta -> beta * beta spends less at low beta, sqrt(beta) more)
            muls = [n for p in c.program.params for n in _exprs(p.value)
                    if isinstance(n, A.BinOp) and n.op == "*" and isinstance(n.right, A.Name)
                    and n.right.id == "beta" and isinstance(n.left, A.Num)]
            if not muls:
                return None
            n = self.rng.choice(muls)
            if self.rng.random() < 0.35:
                a, b = src.span(n.right.span)
                return _edit(text, a, b, self.rng.choice(["(beta * beta)", "sqrt(beta)"]))
            f = self.rng.choice([0.5, 0.75, 1.25, 1.5])
            v = n.left.value * f
            new = str(max(1, round(v))) if isinstance(n.left.value, int) else _fmt_float(v)
            a, b = src.span(n.left.span)
            return _edit(text, a, b, new)
        p = self.rng.choice(consts)
        v = p.expr.value
        r = self.rng
        if str(p.ty) == "int":
            lo_v = max(1 if v >= 1 else 0, round(v * r.choice([0.125, 0.25, 0.5])))
            hi_v = max(lo_v + 1, round(v * r.choice([1, 1.5, 2])))
            e = f"round({lo_v} + {hi_v - lo_v} * beta)"
            if p.lo is not None:
                e = f"clip({e}, {int(p.lo)}, {int(p.hi)})"
        elif str(p.ty) == "float":
            lo_v, hi_v = v * r.choice([0.8, 0.9, 0.95]), v * r.choice([1.0, 1.02, 1.05])
            if p.hi is not None:
                hi_v = min(hi_v, p.hi)
            e = f"round({_fmt_float(lo_v)} + {_fmt_float(hi_v - lo_v)} * beta, 4)"
        else:
            return None
        a, b = src.span(p.decl.value.span)
        return _edit(text, a, b, e)


def rename(text: str, name: str) -> str:
    return re.sub(r"^(\s*controller\s+)[A-Za-z_][A-Za-z0-9_]*", lambda m: m.group(1) + name, text, count=1,
                  flags=re.M)


class EvolveProposer(Proposer):
    kind = "evolve"
    is_llm = False

    def __init__(self, cfg: ProposerConfig):
        self.cfg = cfg
        self._checked: dict = {}

    def _check(self, key, source):
        if key not in self._checked:
            try:
                self._checked[key] = _parse(source)
            except DiagnosticsError:
                self._checked[key] = None
        return self._checked[key]

    def propose(self, messages, ctx: Context) -> Reply:
        from ..validate import program_hash

        pool = [p for p in ctx.pool if p.get("source")]
        if not pool:
            raise ProposerError("evolve: no program to start from (give seed_programs)", fatal=True, calls=0)
        rng = random.Random(f"evolve:{ctx.seed}:{ctx.round}:{ctx.attempt}")
        elite = pool[:max(1, self.cfg.elite)]
        weights = [1.0 / (i + 1) ** 2 for i in range(len(elite))]
        ops, opw = list(OPERATORS), list(OPERATORS.values())
        mut = Mutator(rng)
        last = None
        for _ in range(max(1, self.cfg.tries)):
            pa = rng.choices(elite, weights)[0]
            pb = rng.choice(pool)
            ca = self._check(pa["id"], pa["source"])
            cb = self._check(pb["id"], pb["source"])
            if ca is None:
                continue
            text, used = pa["source"], []
            depth = rng.choices([1, 2, 3], [0.6, 0.3, 0.1])[0]
            cur = ca
            for _k in range(depth):
                op = rng.choices(ops, opw)[0]
                new = getattr(mut, op)(text, cur, cb if pb is not pa else None)
                if new is None or new == text:
                    continue
                try:
                    nc = _parse(new)
                except DiagnosticsError:
                    last = new
                    break
                text, cur = new, nc
                used.append(op)
            if not used:
                continue
            base = re.sub(r"(_e\d+)+$", "", ca.name)
            text = rename(text, f"{base}_e{ctx.round}")
            last = text
            try:
                nc = _parse(text)
            except DiagnosticsError:
                continue
            if program_hash(nc.program) in ctx.known:
                continue
            parents = [pa["id"]] + ([pb["id"]] if pb is not pa and any(o.endswith("cross") or o in ("insert", "subexpr")
                                                                      for o in used) else [])
            return Reply(f"```tts\n{text.rstrip()}\n```\n", 0, 0, 0.0, 0, parents=parents,
                         meta={"operators": used})
        if last is None:
            raise ProposerError("evolve: no mutation applied (the programs offer nothing to mutate)", calls=0)
        return Reply(f"```tts\n{last.rstrip()}\n```\n", 0, 0, 0.0, 0, meta={"operators": ["unchecked"]})
