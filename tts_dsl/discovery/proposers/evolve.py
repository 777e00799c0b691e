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
from ..fragments import Src as _Src
from .base import Context, Proposer, ProposerError, Reply

# loop rejections whose repairs are prechecked on the smoke store before they go back
PRECHECK_CODES = {"S101", "L006", "L007", "D001", "D002", "D003"}

OPERATORS = {"number": 0.34, "compare": 0.08, "subexpr": 0.1, "delete": 0.07, "insert": 0.07,
             "param_cross": 0.12, "block_cross": 0.06, "betaify": 0.16}


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


STRUCTURAL = {"stmt_insert": 0.07, "stmt_delete": 0.05, "stmt_replace": 0.05, "stmt_move": 0.03,
              "cond_change": 0.06, "agg_change": 0.07, "gate_insert": 0.09, "gate_tune": 0.05, "transplant": 0.09}
CONSTANT = {"number": 0.17, "compare": 0.04, "subexpr": 0.05, "delete": 0.0, "insert": 0.0,
            "param_cross": 0.05, "block_cross": 0.0, "betaify": 0.08}
DEFAULT_WEIGHTS = {**CONSTANT, **STRUCTURAL}
SCHEDULE_OPS = {"number", "betaify", "param_cross"}  # operators that only change constants/schedules
NEEDS_DONOR = {"param_cross", "block_cross", "transplant"}


class EvolveProposer(Proposer):
    kind = "evolve"
    is_llm = False

    def __init__(self, cfg: ProposerConfig):
        from ..fragments import FragmentLibrary

        self.cfg = cfg
        self._checked: dict = {}
        self.library = FragmentLibrary()
        w = dict(DEFAULT_WEIGHTS)
        for k, v in (getattr(cfg, "operators", None) or {}).items():
            if k not in w:
                raise ProposerError(f"evolve: unknown operator {k!r} (known: {', '.join(sorted(w))})", fatal=True,
                                    calls=0)
            w[k] = float(v)
        self.weights = {k: v for k, v in w.items() if v > 0}
        self._chains: dict = {}  # round -> the last proposal's steps [(text, op, notes)], parents

    def _check(self, key, source):
        if key not in self._checked:
            try:
                self._checked[key] = _parse(source)
            except DiagnosticsError:
                self._checked[key] = None
        return self._checked[key]

    def _mine(self, pool):
        """The fragment library holds every program the proposer may start from."""
        for p in pool:
            c = self._check(p["id"], p["source"])
            if c is not None:
                self.library.add_program(p["id"], c)

    # ------------------------------------------------------------ one operator
    def _apply(self, op, rng, mut, struct, text, cur, donor):
        struct.notes = []
        if op in STRUCTURAL:
            new = getattr(struct, op)(text, cur, donor)
            return new, list(struct.notes)
        return getattr(mut, op)(text, cur, donor), []

    def _checked_or_repaired(self, text, rng, donor, steps):
        """Check ``text``; on errors, repair at the first error's span (up to ``steps``
        times). Returns (text, checked, repairs) or (None, None, repairs)."""
        from ..repair import repair

        repairs = []
        for _ in range(max(0, steps) + 1):
            try:
                return text, _parse(text), repairs
            except DiagnosticsError as ex:
                errs = ex.errors or ex.diagnostics
                if not errs or len(repairs) >= steps:
                    return None, None, repairs
                got = repair(text, errs[0], rng, self.library, donor)
                if got is None or got[0] in ("revert", "mutate") or got[0] == text:
                    return None, None, repairs + [f"{errs[0].code}: no repair"]
                text = got[0]
                repairs.append(got[1])
        return None, None, repairs

    def _schedule_ok(self, text, checked, rng, donor, steps):
        """The prover's errors repaired (S001: the derived direction, S002: clip)."""
        from ..repair import repair
        from ..validate import schedule_diagnostics

        repairs = []
        for _ in range(steps + 1):
            errs = [d for d in schedule_diagnostics(checked, []) if d.severity == "error"]
            if not errs:
                return text, checked, repairs
            got = repair(text, errs[0], rng, self.library, donor)
            if got is None or got[0] in ("revert", "mutate"):
                return None, None, repairs
            text, checked, more = self._checked_or_repaired(got[0], rng, donor, 1)
            repairs += [got[1]] + more
            if checked is None:
                return None, None, repairs
        return None, None, repairs

    def _is_new(self, checked, ctx) -> bool:
        from ..validate import behaviour_key, program_hash

        if program_hash(checked.program) in ctx.known:
            return False
        betas = getattr(ctx, "betas", None)
        if betas:
            bk = behaviour_key(checked, betas)
            if bk is not None and bk in ctx.known:
                return False
        return True

    def _mutate(self, rng, mut, struct, text, cur, donor, depth, ops, steps, donor_id=None):
        """Stack ``depth`` operators; each result is checked (and repaired by its
        diagnostics); an operator whose result cannot be repaired is dropped (reverted)."""
        struct.donor_id = donor_id
        names, w = list(self.weights), list(self.weights.values())
        for _k in range(depth):
            op = rng.choices(names, w)[0]
            if op in NEEDS_DONOR and donor is None:
                continue
            new, notes = self._apply(op, rng, mut, struct, text, cur, donor)
            if new is None or new == text:
                continue
            new, nc, reps = self._checked_or_repaired(new, rng, donor, steps)
            if nc is None:
                ops.append({"op": op, "notes": notes, "repairs": reps, "reverted": True})
                continue
            new, nc, reps2 = self._schedule_ok(new, nc, rng, donor, steps)
            if nc is None:
                ops.append({"op": op, "notes": notes, "repairs": reps + reps2, "reverted": True})
                continue
            ops.append({"op": op, "notes": notes, "repairs": reps + reps2, "text": new})
            text, cur = new, nc
        return text, cur

    def _tidy(self, text, cur, ops):
        """Drop declarations nothing reads any more (a transplant's imports that the fix-up
        mapped away, a deleted statement's helpers): the diff shows only what acts."""
        from ..mutations import tidy

        new, nc, notes = tidy(text, cur, _parse)
        if notes:
            ops.append({"op": "tidy", "marker": True, "notes": [f"remove unused {n}" for n in notes],
                        "repairs": []})
        return new, nc

    def _reply(self, ctx, text, base, pa, pb, ops, extra=None, texts=None):
        """The reply; the chain (texts after each applied operator) is kept for a later
        revert. ``ops`` are the steps: applied operators, reverted ones, and markers
        (``revert``, ``repair``) of the loop-level repairs."""
        text = rename(text, f"{base}_e{ctx.round}")
        applied = [o for o in ops if not o.get("reverted") and not o.get("marker")]
        used = [o["op"] for o in applied]
        donor_used = pb is not None and any(o in NEEDS_DONOR for o in used)
        parents = [pa["id"]] + ([pb["id"]] if donor_used or (pb is not None and any(
            o in ("insert", "subexpr", "stmt_insert", "stmt_replace") for o in used)) else [])
        if texts is None:
            texts = [pa["source"]] + [o["text"] for o in applied if "text" in o]
        steps = [{k: v for k, v in o.items() if k != "text"} for o in ops]
        self._chains[ctx.round] = {"texts": texts, "pa": pa, "pb": pb, "steps": steps}
        meta = {"operators": used, "steps": steps, "parents": parents,
                "structural": any(o in STRUCTURAL for o in used),
                "schedule_only": bool(used) and all(o in SCHEDULE_OPS for o in used)}
        if extra:
            meta.update(extra)
        return Reply(f"```tts\n{text.rstrip()}\n```\n", 0, 0, 0.0, 0, parents=parents, meta=meta)

    # ------------------------------------------------------------ the loop's repair
    def _last(self, messages, ctx):
        """(previous program text, its diagnostics) on a repair attempt."""
        from ..repair import diagnostics_from_message
        from ..validate import extract_program

        last = getattr(ctx, "last", None)
        if last:
            v = last.get("validation") or {}
            return last.get("source"), v.get("diagnostics") or []
        if len(messages) >= 2 and messages[-2].get("role") == "assistant":
            src, _ = extract_program(messages[-2]["content"])
            return src, diagnostics_from_message(messages[-1].get("content", ""))
        return None, []

    def _repair_attempt(self, messages, ctx, rng, mut, struct):
        """Repair the loop's rejection by its diagnostic: revert the last operator (smoke,
        sweep), repair at the span (schedule, check), or stack one more operator (dedupe).
        None if there is nothing to repair (the caller then proposes afresh)."""
        from ..repair import MUTATE, REVERT, repair

        chain = self._chains.get(ctx.round)
        prev, diags = self._last(messages, ctx)
        if chain is None or prev is None or not diags:
            return None
        d = diags[0]
        code = d.get("code")
        pa, pb = chain["pa"], chain["pb"]
        donor = self._check(pb["id"], pb["source"]) if pb is not None else None
        ca = self._check(pa["id"], pa["source"])
        base = re.sub(r"(_e\d+)+$", "", ca.name)
        steps_n = self.cfg_steps()
        got = repair(prev, d, rng, self.library, donor)
        if got is None:
            return None
        # smoke and dedupe rejections: each try is checked here first on the smoke store (it
        # must pass the smoke stage and behave there unlike the rejected program, its parent,
        # its donor and the program it duplicated), so the loop gets a repair that can pass
        precheck = code in PRECHECK_CODES and bool(getattr(ctx, "smoke", None))
        seen = set()  # smoke behaviours a repair must not have: the rejected program's, its
        if precheck:  # parent's and donor's, and the program it duplicated
            dup = str((((getattr(ctx, "last", None) or {}).get("validation") or {}).get("duplicate_of") or "")).split()
            others = [prev, pa["source"]] + ([pb["source"]] if pb is not None else [])
            others += [p["source"] for p in ctx.pool if dup and p.get("id") == dup[-1] and p.get("source")]
            for src in others:
                pc = self._check(("t", src), src)
                if pc is not None:
                    seen.add(self._smoke(pc, ctx)[1])
        for _ in range(max(1, self.cfg.tries // 4) * (3 if precheck else 1)):
            ops = [dict(s) for s in chain["steps"]]
            texts = list(chain["texts"])
            if got[0] == REVERT:
                live = [i for i, o in enumerate(ops) if not o.get("reverted") and not o.get("marker")]
                if not live or len(texts) < 2:
                    return None
                ops[live[-1]]["reverted"] = True
                texts.pop()
                ops.append({"op": "revert", "marker": True, "notes": [got[1]], "repairs": []})
                text = texts[-1]
            elif got[0] == MUTATE:
                text = texts[-1]
                ops.append({"op": "mutate", "marker": True, "notes": [got[1]], "repairs": []})
            else:
                ops.append({"op": "repair", "marker": True, "notes": [got[1]], "repairs": []})
                text = got[0]
            cur = self._check(("t", text), text)
            if cur is None:
                text, cur, _reps = self._checked_or_repaired(text, rng, donor, steps_n)
                if cur is None:
                    return None
            if got[0] not in (REVERT, MUTATE) and text != texts[-1]:
                texts.append(text)
            n_ops = len(ops)
            if got[0] in (REVERT, MUTATE) or not self._is_new(cur, ctx):
                text, cur = self._mutate(rng, mut, struct, text, cur, donor, 1, ops, steps_n,
                                         pb["id"] if pb is not None else None)
                texts += [o["text"] for o in ops[n_ops:] if "text" in o and not o.get("reverted")]
            text, cur = self._tidy(text, cur, ops)
            live = [o for o in ops if not o.get("reverted") and not o.get("marker")]
            if live and self._is_new(cur, ctx):
                if precheck:
                    errs, beh = self._smoke(cur, ctx)
                    if errs or beh in seen:
                        continue
                return self._reply(ctx, text, base, pa, pb, ops, {"repair_of": code, "prechecked": precheck}, texts)
        return None

    def _smoke(self, checked, ctx) -> tuple:
        """(the smoke stage's errors, the behaviour there: every smoke episode's answer and
        cost) of a checked program, memoised by its text."""
        from ..validate import smoke

        key = ("smoke", checked.source)
        if key not in self._checked:
            out: list = []
            try:
                errs = [x for x in smoke(checked, ctx.smoke, out) if x.severity == "error"]
            except Exception as ex:  # noqa: BLE001 - a program the smoke run cannot take fails the precheck
                errs = [ex]
            self._checked[key] = (errs, tuple(out))
        return self._checked[key]

    def cfg_pick(self) -> float:
        return float(getattr(self.cfg, "follow_pick", 0.6))

    def cfg_steps(self) -> int:
        return int(getattr(self.cfg, "repair_steps", 3))

    # ------------------------------------------------------------ propose
    def propose(self, messages, ctx: Context) -> Reply:
        from ..mutations import Structural

        pool = [p for p in ctx.pool if p.get("source")]
        if not pool:
            raise ProposerError("evolve: no program to start from (give seed_programs)", fatal=True, calls=0)
        self._mine(pool)
        rng = random.Random(f"evolve:{ctx.seed}:{ctx.round}:{ctx.attempt}")
        mut, struct = Mutator(rng), Structural(rng, self.library)
        if ctx.attempt > 0:
            r = self._repair_attempt(messages, ctx, rng, mut, struct)
            if r is not None:
                return r
        elite = pool[:max(1, self.cfg.elite)]
        weights = [1.0 / (i + 1) ** 2 for i in range(len(elite))]
        steps = self.cfg_steps()
        picked = [p for p in (getattr(ctx, "parents", None) or []) if p.get("source")]
        donors = [p for p in (getattr(ctx, "inspirations", None) or []) if p.get("source")]
        for i in range(max(1, self.cfg.tries)):
            # the loop's pick (across archive cells and islands), or by rank on the score: an
            # archive cell keeps the most accurate point of its band, so a program that is best
            # by the score (e.g. a single point at the top of the window) may hold no cell
            use_pick = picked and i < max(1, self.cfg.tries // 2) and rng.random() < self.cfg_pick()
            pa = picked[0] if use_pick else rng.choices(elite, weights)[0]
            pb = rng.choice(donors) if donors and rng.random() < 0.7 else rng.choice(pool)
            pb = None if pb is pa or pb.get("id") == pa.get("id") else pb
            ca = self._check(pa["id"], pa["source"])
            cb = self._check(pb["id"], pb["source"]) if pb is not None else None
            if ca is None:
                continue
            depth = rng.choices([1, 2, 3], [0.6, 0.3, 0.1])[0]
            ops: list = []
            text, cur = self._mutate(rng, mut, struct, pa["source"], ca, cb, depth, ops, steps,
                                     pb["id"] if pb is not None else None)
            if not [o for o in ops if not o.get("reverted")]:
                continue
            text, cur = self._tidy(text, cur, ops)
            if not self._is_new(cur, ctx):
                continue
            base = re.sub(r"(_e\d+)+$", "", ca.name)
            return self._reply(ctx, text, base, pa, pb, ops)
        raise ProposerError("evolve: no new program found in the tries (the programs offer nothing to mutate)",
                            calls=0)
