"""Structural mutations of the offline ``evolve`` proposer: operators that change what a
program does, not only its constants.

Every operator takes the source text and its checked program (and, for crossover, a
donor program) and returns new source text or None. Changes are edits of the text at the
typed AST's spans, so comments and layout elsewhere survive. Statements are only moved,
removed or inserted when they sit on lines of their own.

* ``stmt_insert`` / ``stmt_delete`` / ``stmt_replace`` / ``stmt_move``: a statement or a
  whole block (``if``/``for``/``repeat``) inserted from the fragment library, deleted,
  replaced by a fragment of the same kind, or moved to another place;
* ``cond_change``: an ``if`` condition or a ``where`` filter replaced by a boolean fragment
  whose names are in scope, conjoined or disjoined with one, or negated;
* ``agg_change``: an aggregator changed: ``majority(xs)`` / ``votes(xs).winner`` /
  ``weighted_votes(xs, ws).winner`` (weights by branch length, steps or the stability of
  its answers), ``mean``/``min``/``max``;
* ``gate_insert``: a new stopping gate ``if <cond> { answer <agg> }`` inside a loop, its
  condition a statistic of an answer list in scope (the Beta posterior of ASC, unanimity
  of ESC, a vote margin, normalised entropy, a vote count or share);
* ``gate_tune``: a gate's threshold moved or its statistic replaced;
* ``transplant`` (crossover): a block of the donor put into the program (inserted, or in
  place of a block of the same kind), with name fix-up: a name the block uses that the
  target lacks is mapped to a same-typed name in scope, or the donor's param, ``var``,
  ``branch var`` or ``let`` declaration is imported.

Scopes are computed from the checked AST (``ref`` symbols and ``ty`` types), so the
fix-up knows the type of every name on both sides.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..lang import ast as A
from ..lang.builtins import STATE
from .fragments import BLOCK_KINDS, Fragment, FragmentLibrary, Src, stmt_fragment, walk, within

JUMPS = (A.AnswerStmt, A.Break, A.Continue)


def edit(text: str, a: int, b: int, new: str) -> str:
    return text[:a] + new + text[b:]


@dataclass
class Pos:
    """A place between statements: insert new lines at ``offset`` with ``indent``."""

    block: list
    index: int  # before block[index]; len(block): at the end
    offset: int
    indent: str
    scope: dict  # name -> type visible here
    in_loop: bool
    after_jump: bool  # the statement before it always leaves the block
    depth: int


def global_scope(checked) -> dict:
    names = {k: str(v.ty) for k, v in STATE.items()}
    for p in checked.params:
        names[p.name] = str(p.ty)
    for v in checked.vars:
        names[v.name] = str(v.ty)
    return names


def branch_vars(checked) -> dict:
    return {v.name: str(v.ty) for v in checked.branch_vars}


def _ty(sym) -> str:
    return str(sym.ty) if sym is not None and getattr(sym, "ty", None) is not None else "?"


def positions(checked, src: Src) -> list[Pos]:
    """Every place where a statement can go (blocks whose statements are on own lines)."""
    out: list[Pos] = []

    def block(stmts, scope, in_loop, depth):
        scope = dict(scope)
        inds = [src.indent(st.span) for st in stmts]
        ok = bool(stmts) and all(i is not None for i in inds)
        jumped = False
        for i, st in enumerate(stmts):
            if ok:
                out.append(Pos(stmts, i, src.line_range(st.span)[0], inds[i], dict(scope), in_loop, jumped, depth))
            children(st, scope, in_loop, depth)
            if isinstance(st, A.Let):
                scope[st.name] = _ty(st.ref)
            elif isinstance(st, A.Action) and st.bind:
                scope[st.bind] = "branch"
            jumped = isinstance(st, JUMPS)
        if ok:
            out.append(Pos(stmts, len(stmts), src.line_range(stmts[-1].span)[1], inds[-1], scope, in_loop, jumped,
                           depth))

    def children(st, scope, in_loop, depth):
        if isinstance(st, A.If):
            for _, body in st.arms:
                block(body, scope, in_loop, depth + 1)
            if st.orelse:
                block(st.orelse, scope, in_loop, depth + 1)
        elif isinstance(st, A.For):
            block(st.body, {**scope, st.query.var: _ty(st.query.ref)}, True, depth + 1)
        elif isinstance(st, A.Repeat):
            block(st.body, {**scope, **({st.var: "int"} if st.var else {})}, True, depth + 1)
        elif isinstance(st, A.Action) and st.on_exhausted:
            block(st.on_exhausted, scope, in_loop, depth + 1)

    block(checked.program.body, global_scope(checked), False, 0)
    return out


def stmt_positions(checked, src: Src) -> list[tuple]:
    """(statement, its position) for every statement on lines of its own."""
    return [(p.block[p.index], p) for p in positions(checked, src) if p.index < len(p.block)]


def scope_at(checked, src: Src, span) -> tuple[dict, Pos | None]:
    """The names visible at ``span``, and the position of the innermost own-line statement
    containing it (None if none)."""
    best = None
    for st, p in stmt_positions(checked, src):
        if within(span, st.span) and (best is None or p.depth >= best[1].depth):
            best = (st, p)
    if best is None:
        return global_scope(checked), None
    st, p = best
    scope = dict(p.scope)
    # names bound by the statement itself around the span (loop variables, comprehensions)
    for n in walk(st):
        if isinstance(n, A.Query) and n.ref is not None and within(span, n.span if n.span else st.span):
            scope[n.var] = _ty(n.ref)
        if isinstance(n, A.For) and within(span, n.span):
            scope[n.query.var] = _ty(n.query.ref)
        if isinstance(n, A.Repeat) and n.var and within(span, n.span):
            scope[n.var] = "int"
    return scope, p


def indent_text(body: str, indent: str) -> str:
    return "".join(indent + ln + "\n" if ln.strip() else "\n" for ln in body.split("\n"))


def insert_lines(text: str, offset: int, body: str, indent: str) -> str:
    new = indent_text(body, indent)
    if offset > 0 and text[offset - 1] != "\n":
        new = "\n" + new
    return edit(text, offset, offset, new)


def rename_name(text: str, old: str, new: str) -> str:
    """Rename a variable token (not an attribute: nothing after a dot)."""
    return re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, text)


def rename_attr(text: str, old: str, new: str) -> str:
    return re.sub(rf"(?<=\.){re.escape(old)}(?!\w)", new, text)


# ------------------------------------------------------------------ declarations
def add_declaration(text: str, checked, kind: str, decl: str) -> str:
    """Add a param (into the params block, made if missing) or a var / branch var (before
    the first statement)."""
    src = Src(text)
    prog = checked.program
    if kind == "param":
        if prog.params:
            last = prog.params[-1]
            a, b = src.line_range(last.span)
            ind = src.text[a:src.off(last.span.line, last.span.col)]
            if ind.strip():
                return text
            return insert_lines(text, b, decl, ind)
        a = src.starts[prog.name_span.line] if prog.name_span.line < len(src.starts) else len(text)
        return edit(text, a, a, "\nparams {\n  " + decl + "\n}\n")
    if not prog.body:
        return text
    a = src.line_range(prog.body[0].span)[0]
    return edit(text, a, a, decl + "\n")


def declared_names(checked) -> set:
    prog = checked.program
    return {p.name for p in prog.params} | {v.name for v in prog.vars} | {v.name for v in prog.branch_vars}


def _fresh(name: str, taken) -> str:
    i = 2
    while f"{name}_{i}" in taken:
        i += 1
    return f"{name}_{i}"


def fixup(frag: Fragment, pos: Pos, checked, rng, import_bias: float = 0.5, taken: set | None = None):
    """Fit a fragment's free names to the scope at ``pos``: keep a name in scope with the
    same type; otherwise map it to a same-typed name in scope (the most similar first),
    or import the donor's declaration. Returns (body text, [(kind, decl text)], notes) or
    None if a name can be neither mapped nor imported."""
    body = frag.text
    imports, notes = [], []
    taken = (taken if taken is not None else set(pos.scope) | declared_names(checked)) | set(frag.defines)
    prelude = []
    for name, ty in frag.free.items():
        if pos.scope.get(name) == ty:
            continue
        same = [n for n, t in pos.scope.items() if t == ty and n not in frag.defines and n not in STATE]
        if not same and not (frag.decls.get(name) or ("", ""))[0] in ("param", "var", "let"):
            same = [n for n, t in pos.scope.items() if t == ty and n not in frag.defines]
        decl = frag.decls.get(name)
        can_import = decl is not None and decl[0] in ("param", "var", "let")
        if same and (not can_import or rng.random() >= import_bias):
            close = difflib.get_close_matches(name, same, n=1, cutoff=0.0)
            to = close[0] if close and rng.random() < 0.7 else rng.choice(same)
            body = rename_name(body, name, to)
            notes.append(f"{name}->{to}")
            continue
        if not can_import:
            return None
        kind, dtext = decl[0], decl[1]
        newname = name
        if name in taken:
            newname = _fresh(name, taken)
            body = rename_name(body, name, newname)
            dtext = rename_name(dtext, name, newname)
        taken.add(newname)
        if kind == "let":
            sub = decl[2] if len(decl) > 2 else None
            if sub is not None:  # the let's own names, fixed up the same way
                fx = fixup(sub, pos, checked, rng, import_bias, taken)
                if fx is None:
                    return None
                stext, simports, snotes = fx
                dtext = rename_name(stext, name, newname) if newname != name else stext
                imports += simports
                notes += snotes
            prelude.append(dtext)
            notes.append(f"import let {newname}")
        else:
            imports.append((kind, dtext))
            notes.append(f"import {kind} {newname}")
    tb = branch_vars(checked)
    for name, ty in frag.free_bvars.items():
        if tb.get(name) == ty:
            continue
        decl = frag.decls.get(name)
        if decl is None:
            return None
        dtext = decl[1]
        if name in tb:
            new = _fresh(name, set(tb) | taken)
            body = rename_attr(body, name, new)
            dtext = re.sub(rf"\b{re.escape(name)}\b", new, dtext, count=1)
        imports.append(("bvar", dtext))
        notes.append(f"import branch var {name}")
    if prelude:
        body = "\n".join(prelude) + "\n" + body
    return body, imports, notes


def place(text: str, checked, frag: Fragment, pos: Pos, rng, replace=None):
    """Insert ``frag`` at ``pos`` (or in place of the statement ``replace``), names fixed up.
    Returns (new text, notes) or None."""
    if frag.needs_loop and not pos.in_loop:
        return None
    if pos.after_jump and replace is None:
        return None
    fx = fixup(frag, pos, checked, rng)
    if fx is None:
        return None
    body, imports, notes = fx
    src = Src(text)
    if replace is not None:
        a, b = src.line_range(replace.span)
        new = edit(text, a, b, indent_text(body, pos.indent))
    else:
        new = insert_lines(text, pos.offset, body, pos.indent)
    for kind, decl in imports:  # declarations sit above every statement position
        new = add_declaration(new, checked, "param" if kind == "param" else kind, decl)
    return new, notes


# --------------------------------------------------------------- answer lists
def _fresh_var(scope) -> str:
    for v in ("b", "c", "br", "x", "y"):
        if v not in scope:
            return v
    return "b_"


def answer_lists(scope: dict) -> list[str]:
    """Expressions of type list[answer] built from names in scope."""
    out = [n for n, t in scope.items() if t == "list[answer]"]
    v = _fresh_var(scope)
    for n, t in scope.items():
        if t == "list[branch]":
            out += [f"[{v}.latest for {v} in {n}]", f"[{v}.latest for {v} in {n} where {v}.finished]",
                    f"[{v}.latest for {v} in {n} where not {v}.pruned]"]
    return out


def gate_condition(rng, xs: str) -> tuple[str, str]:
    """A stopping condition on the answer list ``xs`` and the answer to give."""
    kind = rng.choice(["asc", "unanimous", "margin", "entropy", "count", "share"])
    if kind == "asc":
        c = (f"len({xs}) >= {rng.choice([2, 3, 4])} and beta_confidence(votes({xs}).top1, votes({xs}).top2) > "
             f"{rng.choice([0.8, 0.9, 0.95, 0.99])}")
    elif kind == "unanimous":
        c = f"len({xs}) >= {rng.choice([2, 3, 4, 5, 8])} and votes({xs}).top1 == len({xs})"
    elif kind == "margin":
        c = f"votes({xs}).top1 - votes({xs}).top2 >= {rng.choice([2, 3, 4, 6, 8])}"
    elif kind == "entropy":
        c = f"len({xs}) >= {rng.choice([2, 3, 4, 8])} and entropy({xs}) / log(len({xs})) < {rng.choice([0.2, 0.3, 0.5])}"
    elif kind == "count":
        c = f"votes({xs}).top1 >= {rng.choice([2, 3, 4, 5, 8])}"
    else:
        c = f"len({xs}) >= {rng.choice([3, 4, 6])} and votes({xs}).top1 >= {rng.choice([0.6, 0.75, 0.9])} * len({xs})"
    ans = rng.choice([f"votes({xs}).winner", f"majority({xs})"])
    return c, ans


# Vote weights per branch: shorter chains (Hassid et al. 2025: shorter thinking chains are more
# often right) by tokens, with a length scale in intervals, or by steps; the stability of a
# branch's revealed answers; its length (the opposite preference).
WEIGHTS = ["1.0 / (1 + {v}.cost)", "exp(-{v}.cost / (8.0 * interval_tokens))",
           "exp(-{v}.cost / (16.0 * interval_tokens))", "exp(-{v}.cost / (32.0 * interval_tokens))",
           "1.0 / (1 + {v}.steps)", "1 + count({v}.history, {v}.latest)",
           "count({v}.history, {v}.latest) / (1.0 + len({v}.history))", "{v}.steps"]


def _answer_comprehension(e):
    """(var, source text span node, where) of ``[v.latest for v in SRC ...]``, else None."""
    if isinstance(e, A.Comprehension) and isinstance(e.elt, A.Attr) and e.elt.name == "latest" \
            and isinstance(e.elt.obj, A.Name) and e.elt.obj.id == e.query.var:
        return e
    return None


# -------------------------------------------------------------------- operators
class Structural:
    """Structural operators; ``lib`` is the fragment library, ``rng`` a seeded Random."""

    NAMES = ("stmt_insert", "stmt_delete", "stmt_replace", "stmt_move", "cond_change", "agg_change",
             "gate_insert", "gate_tune", "transplant")

    def __init__(self, rng, lib: FragmentLibrary):
        self.rng = rng
        self.lib = lib
        self.notes: list = []
        self.donor_id: str | None = None  # the pool id of the donor (for the notes)

    def _positions(self, checked, src):
        return positions(checked, src)

    # -- statements
    def stmt_insert(self, text, c, other):
        src = Src(text)
        frags = self.lib.statements()
        poss = [p for p in self._positions(c, src) if not p.after_jump]
        if not frags or not poss:
            return None
        f = self.rng.choice(frags)
        p = self.rng.choice([q for q in poss if q.in_loop or not f.needs_loop] or poss)
        got = place(text, c, f, p, self.rng)
        if got is None:
            return None
        self.notes = [f"insert {f.node} from {f.origin}"] + got[1]
        return got[0]

    def stmt_delete(self, text, c, other):
        src = Src(text)
        body = c.program.body
        cands = [(st, p) for st, p in stmt_positions(c, src)
                 if len(p.block) > 1 and not (p.block is body and p.index == len(body) - 1)]
        if not cands:
            return None
        st, p = self.rng.choice(cands)
        a, b = src.line_range(st.span)
        self.notes = [f"delete {type(st).__name__} at line {st.span.line}"]
        return edit(text, a, b, "")

    def stmt_replace(self, text, c, other):
        src = Src(text)
        cands = stmt_positions(c, src)
        if not cands:
            return None
        st, p = self.rng.choice(cands)
        mine = src.stmt_text(st.span)
        frags = [f for f in self.lib.statements([type(st).__name__]) if f.text != mine]
        if not frags:
            return None
        f = self.rng.choice(frags)
        got = place(text, c, f, p, self.rng, replace=st)
        if got is None:
            return None
        self.notes = [f"replace {type(st).__name__} at line {st.span.line} by one from {f.origin}"] + got[1]
        return got[0]

    def stmt_move(self, text, c, other):
        src = Src(text)
        body = c.program.body
        cands = [(st, p) for st, p in stmt_positions(c, src)
                 if not (p.block is body and p.index == len(body) - 1)]
        if not cands:
            return None
        st, p = self.rng.choice(cands)
        a, b = src.line_range(st.span)
        dests = [q for q in self._positions(c, src) if not (a <= q.offset <= b) and not q.after_jump
                 and (q.in_loop or not isinstance(st, (A.Break, A.Continue)))]
        if not dests:
            return None
        q = self.rng.choice(dests)
        chunk = src.stmt_text(st.span)
        new = edit(text, a, b, "")
        off = q.offset - (b - a) if q.offset > b else q.offset
        self.notes = [f"move {type(st).__name__} from line {st.span.line}"]
        return insert_lines(new, off, chunk, q.indent)

    # -- conditions and aggregators
    def cond_change(self, text, c, other):
        src = Src(text)
        conds = []
        for st, p in stmt_positions(c, src):
            if isinstance(st, A.If):
                conds += [(cond, st) for cond, _ in st.arms]
        for n in walk(c.program.body):
            if isinstance(n, A.Query) and n.where is not None:
                conds.append((n.where, n))
        if not conds:
            return None
        cond, holder = self.rng.choice(conds)
        scope, _ = scope_at(c, src, cond.span)
        if isinstance(holder, A.Query):
            scope = {**scope, holder.var: _ty(holder.ref)}
        frags = [f for f in self.lib.expressions("bool", scope) if f.text != src.get(cond.span)]
        old = src.get(cond.span)
        r = self.rng.random()
        if frags and r < 0.35:
            new = self.rng.choice(frags).text
        elif frags and r < 0.6:
            new = f"({old}) and ({self.rng.choice(frags).text})"
        elif frags and r < 0.85:
            new = f"({old}) or ({self.rng.choice(frags).text})"
        else:
            new = f"not ({old})"
        a, b = src.span(cond.span)
        self.notes = [f"condition at line {cond.span.line}"]
        return edit(text, a, b, new)

    def agg_change(self, text, c, other):
        src = Src(text)
        sites = []
        for n in walk(c.program.body):
            if isinstance(n, A.Call) and n.func == "majority":
                sites.append(("majority", n))
            elif isinstance(n, A.Attr) and n.name == "winner" and isinstance(n.obj, A.Call) \
                    and n.obj.func in ("votes", "weighted_votes"):
                sites.append((n.obj.func, n))
            elif isinstance(n, A.Call) and n.func in ("mean", "min", "max") and len(n.args) == 1:
                sites.append(("stat", n))
        if not sites:
            return None
        kind, n = self.rng.choice(sites)
        a, b = src.span(n.span)
        if kind == "stat":
            new = self.rng.choice([f for f in ("mean", "min", "max") if f != n.func]) + "(" + src.get(n.args[0].span) + ")"
            self.notes = [f"{n.func} -> {new.split('(')[0]}"]
            return edit(text, a, b, new)
        xs = n.args[0] if kind == "majority" else n.obj.args[0]
        if kind == "weighted_votes" and self.rng.random() < 0.5:
            self.notes = ["weighted_votes -> majority"]
            return edit(text, a, b, f"majority({src.get(xs.span)})")
        if kind == "votes":
            self.notes = ["votes.winner -> majority"]
            return edit(text, a, b, f"majority({src.get(xs.span)})")
        scope, _ = scope_at(c, src, n.span)
        comp = _answer_comprehension(xs)
        if comp is not None:
            v, q = comp.query.var, comp.query
            tail = src.text[src.off(q.source.span.end_line, q.source.span.end_col):src.off(comp.span.end_line, comp.span.end_col) - 1]
            w = self.rng.choice(WEIGHTS).format(v=v)
            ws = f"[{w} for {v} in {src.get(q.source.span)}{tail}]"
            new = f"weighted_votes({src.get(xs.span)}, {ws}).winner"
        elif isinstance(xs, A.Name) and xs.id == "completed":
            v = _fresh_var(scope)
            w = self.rng.choice(WEIGHTS).format(v=v)
            new = (f"weighted_votes([{v}.latest for {v} in branches where {v}.finished], "
                   f"[{w} for {v} in branches where {v}.finished]).winner")
        else:
            return None
        self.notes = [f"{kind} -> weighted_votes"]
        return edit(text, a, b, new)

    # -- gates
    def gate_insert(self, text, c, other):
        src = Src(text)
        poss = [p for p in self._positions(c, src) if p.in_loop and not p.after_jump]
        if not poss:
            return None
        p = self.rng.choice(poss)
        lists = answer_lists(p.scope)
        if not lists:
            return None
        xs = self.rng.choice(lists)
        cond, ans = gate_condition(self.rng, xs)
        self.notes = [f"gate on {xs} at line {src.text.count(chr(10), 0, p.offset) + 1}"]
        return insert_lines(text, p.offset, f"if {cond} {{ answer {ans} }}", p.indent)

    def _gates(self, c):
        return [n for n in walk(c.program.body)
                if isinstance(n, A.If) and any(isinstance(m, A.AnswerStmt) for m in walk(n))]

    def gate_tune(self, text, c, other):
        src = Src(text)
        gates = self._gates(c)
        if not gates:
            return None
        g = self.rng.choice(gates)
        cond = g.arms[0][0]
        nums = [n for n in walk(cond) if isinstance(n, A.Num)]
        lists = [n.args[0] for n in walk(cond) if isinstance(n, A.Call) and n.func in ("votes", "majority", "entropy")
                 and n.args]
        if nums and (not lists or self.rng.random() < 0.6):
            n = self.rng.choice(nums)
            v = n.value
            if isinstance(v, int):
                nv = max(1, v + self.rng.choice([-2, -1, 1, 2, v]))
                new = str(nv)
            else:
                nv = min(0.999, max(0.01, v + self.rng.choice([-0.1, -0.05, -0.02, 0.02, 0.05])))
                new = repr(round(nv, 3))
            a, b = src.span(n.span)
            self.notes = [f"gate threshold {n.text or v} -> {new}"]
            return edit(text, a, b, new)
        if not lists:
            return None
        xs = src.get(self.rng.choice(lists).span)
        new, _ = gate_condition(self.rng, xs)
        a, b = src.span(cond.span)
        self.notes = ["gate statistic"]
        return edit(text, a, b, new)

    # -- crossover
    def transplant(self, text, c, other):
        """A block (preferably a gate) of the donor ``other`` into this program."""
        if other is None:
            return None
        dsrc = Src(other.source)
        did = self.donor_id or other.name
        donor = [stmt_fragment(other, st, did, dsrc) for st, _ in stmt_positions(other, dsrc)
                 if isinstance(st, BLOCK_KINDS)]
        donor = [f for f in donor if f is not None]
        if not donor:
            return None
        gates = [f for f in donor if f.gate]
        f = self.rng.choice(gates if gates and self.rng.random() < 0.6 else donor)
        src = Src(text)
        mine = [(st, p) for st, p in stmt_positions(c, src) if type(st).__name__ == f.node]
        if mine and self.rng.random() < 0.35:
            st, p = self.rng.choice(mine)
            got = place(text, c, f, p, self.rng, replace=st)
            how = f"replace {f.node} at line {st.span.line}"
        else:
            poss = [p for p in positions(c, src) if not p.after_jump and (p.in_loop or not f.needs_loop)]
            if f.gate:
                poss = [p for p in poss if p.in_loop] or poss
            if not poss:
                return None
            p = self.rng.choice(poss)
            got = place(text, c, f, p, self.rng)
            how = "insert"
        if got is None:
            return None
        self.notes = [f"transplant {f.node} from {did} ({how})"] + got[1]
        return got[0]


# ------------------------------------------------------------------------ tidy
def unused(checked) -> list:
    """Declarations nothing reads: ``let``s (own lines) whose name is never used, params
    no other param or statement uses, ``var``s and ``branch var``s never used. Imports of a
    transplant that the fix-up mapped away, or a deleted statement's helpers, end here."""
    prog = checked.program
    used_syms, used_names, used_attrs = set(), set(), set()
    for n in walk(prog):
        if isinstance(n, A.Name):
            used_names.add(n.id)
            if n.ref is not None:
                used_syms.add(id(n.ref))
        elif isinstance(n, A.Attr):
            used_attrs.add(n.name)
    out = []
    for n in walk(prog.body):
        if isinstance(n, A.Let) and n.ref is not None and id(n.ref) not in used_syms:
            out.append(n)
    # a param, var or branch var is used if its name appears anywhere else (params may
    # refer to earlier params; names are unique among declarations)
    for p in prog.params:
        if p.name not in used_names:
            out.append(p)
    for v in prog.vars:
        if v.name not in used_names:
            out.append(v)
    for v in prog.branch_vars:
        if v.name not in used_attrs:
            out.append(v)
    return out


def tidy(text: str, checked, check) -> tuple[str, object, list]:
    """Remove unused declarations (see :func:`unused`), one pass at a time while the
    program still checks. ``check`` is the checking function (text -> checked program,
    raising on errors). Returns (text, checked, notes)."""
    notes = []
    for _ in range(8):
        src = Src(text)
        dead = []
        for n in unused(checked):
            if isinstance(n, A.Param):
                if src.indent(n.span) is not None:
                    dead.append((n, f"param {n.name}"))
            elif src.indent(n.span) is not None:
                what = "let" if isinstance(n, A.Let) else ("branch var" if n.per_branch else "var")
                dead.append((n, f"{what} {n.name}"))
        if not dead:
            break
        new = text
        for n, _ in sorted(dead, key=lambda x: -src.line_range(x[0].span)[0]):
            a, b = src.line_range(n.span)
            new = new[:a] + new[b:]
        new = re.sub(r"\n[ \t]*params[ \t]*\{[ \t]*\n[ \t]*\}[ \t]*\n", "\n", new)  # an emptied params block
        try:
            nc = check(new)
        except Exception:  # noqa: BLE001 - keep the last text that checks
            break
        notes += [what for _, what in dead]
        text, checked = new, nc
    return text, checked, notes
