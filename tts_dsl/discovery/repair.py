"""Repair guided by the diagnostic: the offline ``evolve`` proposer fixes a rejected
program at the diagnostic's span, by what its code says, instead of trying a fresh
random mutation.

| code | repair |
|---|---|
| E301 unknown name | import the donor's declaration of that name (param, ``var``, ``let``), else the nearest same-typed name in scope |
| E303 no branch variable | import the donor's ``branch var``, else declare ``branch var NAME: int = 0`` |
| E201 type mismatch | coerce (``float(...)``, ``round(...)``, ``.winner``) or replace the subexpression with a same-typed fragment whose names are in scope |
| E401 no final answer | append ``answer majority(completed)`` |
| E402 unreachable, E404 break outside a loop | delete the statement |
| E403 binding needs an else | add ``else break`` |
| E105 already declared | turn the second ``let`` into an assignment |
| S001 direction refuted | declare the direction the prover derived |
| S002 range refuted | clip the knob to its declared range |
| S101, R001, L006, L007, L009, L013 (smoke, sweep) | revert the last operator (the proposer keeps the chain) |
| D001, D002, D003 (duplicates) | one more operator on top |

:func:`repair` returns the repaired text and a note, ``REVERT`` / ``MUTATE`` for the
proposer, or None when the code has no repair.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..lang import ast as A
from ..lang.diagnostics import DiagnosticsError, Span
from .fragments import FragmentLibrary, Src, walk, within
from .mutations import add_declaration, edit, global_scope, scope_at

REVERT = "revert"
MUTATE = "mutate"
REVERT_CODES = {"S101", "R001", "L006", "L007", "L009", "L013", "X001"}
MUTATE_CODES = {"D001", "D002", "D003"}


@dataclass
class _Decl:
    name: str
    ty: str


@dataclass
class View:
    """What the scope functions need of a checked program, for a program that does not
    check: the AST as far as the checker annotated it, and its declarations."""

    program: object
    params: list
    vars: list
    branch_vars: list

    @property
    def source(self) -> str:
        return self.program.source


def partial_check(text: str):
    """(view, diagnostics): the checked program, or a :class:`View` of the AST annotated as
    far as the checker got (the checker annotates in place). (None, diags) if the text
    does not parse."""
    from ..api import check, parse

    try:
        prog = parse(text, "<repair>")
    except DiagnosticsError as ex:
        return None, ex.diagnostics
    try:
        return check(prog), []
    except DiagnosticsError as ex:
        decl = lambda ds: [_Decl(x.name, str(x.type)) for x in ds]  # noqa: E731
        return View(prog, decl(prog.params), decl(prog.vars), decl(prog.branch_vars)), ex.diagnostics


def _scope(view, src: Src, span):
    return scope_at(view, src, span)


def _name_in(msg: str) -> str | None:
    m = re.search(r"'([A-Za-z_][A-Za-z0-9_]*)'", msg)
    return m.group(1) if m else None


def _donor_decl(donor, name: str):
    """The donor's declaration of ``name``: (kind, text, type) or None."""
    if donor is None:
        return None
    src = Src(donor.source)
    prog = donor.program
    for p, info in zip(prog.params, donor.params):
        if p.name == name:
            return "param", src.get(p.span).strip(), str(info.ty)
    for d, s in zip(prog.vars, donor.vars):
        if d.name == name:
            return "var", src.get(d.span).strip(), str(s.ty)
    for d, s in zip(prog.branch_vars, donor.branch_vars):
        if d.name == name:
            return "bvar", src.get(d.span).strip(), str(s.ty)
    for n in walk(prog.body):
        if isinstance(n, A.Let) and n.name == name:
            t = src.stmt_text(n.span)
            if t is not None:
                return "let", t, str(n.ref.ty) if n.ref is not None else "?"
    return None


def _expr_at(prog, span) -> A.Expr | None:
    """The largest expression starting where the span starts."""
    best = None
    for n in walk(prog.body):
        if isinstance(n, A.Expr) and n.span.line == span.line and n.span.col == span.col:
            if best is None or within(best.span, n.span):
                best = n
    return best


def _stmt_at(view, src: Src, span):
    from .mutations import stmt_positions

    best = None
    for st, p in stmt_positions(view, src):
        if within(span, st.span) and (best is None or p.depth >= best[1].depth):
            best = (st, p)
    return best


def _param_at(prog, span):
    for p in prog.params:
        if p.name_span == span or within(span, p.span):
            return p
    return None


def repair(text: str, diag, rng, lib: FragmentLibrary | None = None, donor=None):
    """Repair ``text`` for one diagnostic (a Diagnostic or its dict). Returns
    (new text, note), (REVERT | MUTATE, note), or None."""
    d = diag if isinstance(diag, dict) else diag.to_dict()
    code, msg = d.get("code"), d.get("message") or ""
    if code in REVERT_CODES:
        return REVERT, f"{code}: revert the last operator"
    if code in MUTATE_CODES:
        return MUTATE, f"{code}: one more operator"
    end = d.get("end") or {}
    span = Span(int(d.get("line") or 1), int(d.get("col") or 1), int(end.get("line") or d.get("line") or 1),
                int(end.get("col") or (int(d.get("col") or 1) + 1)))
    src = Src(text)
    if code == "E401":
        return text.rstrip("\n") + "\nanswer majority(completed)\n", "E401: append answer majority(completed)"
    view, _ = partial_check(text)
    if view is None:
        return None
    if code == "E301":
        name = _name_in(msg)
        if name is None:
            return None
        dec = _donor_decl(donor, name)
        scope, pos = _scope(view, src, span)
        pool = [n for n, t in scope.items() if (dec is None or t == dec[2]) and n != name]
        if dec is not None and dec[0] in ("param", "var", "bvar") and (not pool or rng.random() < 0.6):
            return add_declaration(text, view, dec[0], dec[1]), f"E301: import {dec[0]} {name} from the donor"
        if dec is not None and dec[0] == "let" and pos is not None and (not pool or rng.random() < 0.6):
            from .mutations import insert_lines

            return insert_lines(text, pos.offset, dec[1], pos.indent), f"E301: import let {name} from the donor"
        if not pool:
            return None
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.0)
        to = close[0] if close else rng.choice(pool)
        a = src.off(span.line, span.col)
        if text[a:a + len(name)] != name:
            return None
        return edit(text, a, a + len(name), to), f"E301: {name} -> {to}"
    if code == "E303":
        name = _name_in(msg)
        if name is None:
            return None
        dec = _donor_decl(donor, name)
        if dec is not None and dec[0] == "bvar":
            return add_declaration(text, view, "bvar", dec[1]), f"E303: import branch var {name}"
        return add_declaration(text, view, "bvar", f"branch var {name}: int = 0"), f"E303: declare branch var {name}"
    if code == "E201":
        e = _expr_at(view.program, span)
        exp = d.get("expected")
        if e is None or not exp:
            return None
        a, b = src.span(e.span)
        old = text[a:b]
        found = d.get("found") or (str(e.ty) if e.ty is not None else "")
        if exp == "float" and found == "int":
            return edit(text, a, b, f"float({old})"), "E201: float(...)"
        if exp == "int" and found == "float":
            return edit(text, a, b, f"round({old})"), "E201: round(...)"
        if exp == "answer" and found in ("votes", "weighted_votes"):
            return edit(text, a, b, f"({old}).winner"), "E201: .winner"
        if lib is not None:
            scope, _ = _scope(view, src, span)
            frags = [f for f in lib.expressions(exp, scope) if f.text != old]
            if frags:
                f = rng.choice(frags)
                return edit(text, a, b, f"({f.text})"), f"E201: a {exp} fragment from {f.origin}"
        return None
    if code in ("E402", "E404"):
        got = _stmt_at(view, src, span)
        if got is None:
            return None
        a, b = src.line_range(got[0].span)
        return edit(text, a, b, ""), f"{code}: delete the statement"
    if code == "E403":
        got = _stmt_at(view, src, span)
        if got is None or not isinstance(got[0], A.Action) or got[0].on_exhausted is not None:
            return None
        b = src.off(got[0].span.end_line, got[0].span.end_col)
        return edit(text, b, b, " else break"), "E403: else break"
    if code == "E105":
        line = text.split("\n")[span.line - 1] if span.line - 1 < len(text.split("\n")) else ""
        name = _name_in(msg)
        if name and re.match(rf"\s*let\s+{re.escape(name)}\b", line):
            a = src.starts[span.line - 1]
            new_line = re.sub(rf"let\s+{re.escape(name)}(\s*:\s*[^=]+)?\s*=", f"{name} =", line, count=1)
            return edit(text, a, a + len(line), new_line), f"E105: let {name} -> assignment"
        return None
    if code == "S001":
        p = _param_at(view.program, span)
        m = re.search(r"derived direction: (\w+)", d.get("found") or "")
        derived = [w for w in ("increasing", "decreasing", "constant") if m and w.startswith(m.group(1))]
        if p is None or not derived:
            return None
        a, b = src.span(p.span)
        decl = text[a:b]
        new = re.sub(r"\b(increasing|decreasing|constant)\b", derived[0], decl, count=1)
        if new == decl:
            return None
        return edit(text, a, b, new), f"S001: declare {p.name} {derived[0]}"
    if code == "E109" and "no direction" in msg:
        p = _param_at(view.program, span)
        if p is None:
            return None
        a, b = src.span(p.span)
        decl = text[a:b]
        new = re.sub(r"^(\s*\w+\s*:\s*\w+)", r"\1 " + rng.choice(["increasing", "decreasing"]), decl, count=1)
        return edit(text, a, b, new), f"E109: declare a direction for {p.name}"
    if code == "S002":
        p = _param_at(view.program, span)
        if p is None or p.lo is None or p.hi is None:
            return None
        a, b = src.span(p.value.span)
        lo, hi = src.get(p.lo.span), src.get(p.hi.span)
        return edit(text, a, b, f"clip({text[a:b]}, {lo}, {hi})"), f"S002: clip {p.name} to [{lo}, {hi}]"
    return None


def diagnostics_from_message(message: str) -> list[dict]:
    """Diagnostics as the loop's repair message lists them (code, line, col, message,
    expected/found) -- for when the structured validation is not at hand."""
    out = []
    for m in re.finditer(r"^- stage (\w+), (\w+) (\w+) at line (\d+), col (\d+): (.*)$", message or "", re.M):
        d = {"stage": m.group(1), "severity": m.group(2), "code": m.group(3), "line": int(m.group(4)),
             "col": int(m.group(5)), "message": m.group(6)}
        rest = message[m.end():].split("\n", 2)
        if len(rest) > 1:
            ef = re.match(r"\s+expected (.*), found (.*)$", rest[1])
            if ef:
                d["expected"] = None if ef.group(1) == "-" else ef.group(1)
                d["found"] = None if ef.group(2) == "-" else ef.group(2)
        out.append(d)
    return out


__all__ = ["repair", "partial_check", "diagnostics_from_message", "REVERT", "MUTATE", "global_scope"]
