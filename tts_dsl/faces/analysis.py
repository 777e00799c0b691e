"""What an editor asks about a ``.tts`` text, answered from the checker's own results:
diagnostics, the declarations and every use of each (by the symbols the checker resolved),
hover text, completions, document symbols and did-you-mean fixes. No LSP types here: the
language server (:mod:`tts_dsl.faces.lsp_server`) converts. Positions are 1-based
(line, column) like :class:`~tts_dsl.lang.diagnostics.Span`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .. import api
from ..lang import ast as A
from ..lang.diagnostics import DiagnosticsError, Span

DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")


@dataclass
class Decl:
    name: str
    kind: str  # param | var | branch var | let | loop | bound | function | arg
    span: Span  # the name
    full: Span  # the whole declaration
    ty: str | None = None
    scope: tuple | None = None  # (start line, end line) where the name is visible; None: everywhere
    node: object = None


@dataclass
class Occurrence:
    span: Span
    kind: str  # decl | ref | function | state | attr | battr
    name: str
    decl: Decl | None = None


@dataclass
class Analysis:
    source: str
    file: str
    program: A.Program | None = None
    diagnostics: list = field(default_factory=list)  # dicts (schema diagnostic.v1.json)
    decls: list = field(default_factory=list)
    occurrences: list = field(default_factory=list)
    knobs: dict = field(default_factory=dict)  # param name -> KnobResult

    # ------------------------------------------------------------- queries
    def at(self, line: int, col: int) -> Occurrence | None:
        """The innermost name occurrence covering (line, col); the column just after a name counts."""
        best = None
        for o in self.occurrences:
            s = o.span
            if s.line == line == s.end_line and s.col <= col <= s.end_col:
                if best is None or (s.end_col - s.col) < (best.span.end_col - best.span.col):
                    best = o
        return best

    def uses(self, decl: Decl) -> list[Occurrence]:
        return [o for o in self.occurrences if o.decl is decl]

    def visible(self, line: int) -> list[Decl]:
        return [d for d in self.decls if d.scope is None or d.scope[0] <= line <= d.scope[1]]


def analyze(source: str, file: str = "<program>") -> Analysis:
    an = Analysis(source, file)
    try:
        prog = api.parse(source, file)
    except DiagnosticsError as ex:
        an.diagnostics = [d.to_dict() for d in ex.diagnostics]
        return an
    an.program = prog
    rep = api.check_report(prog, file)  # annotates prog: names get their symbols
    an.diagnostics = rep["diagnostics"]
    an.knobs = {r.name: r for r in rep.get("_results") or []}
    _index(an, prog)
    return an


# ----------------------------------------------------------------- indexing
def _end_line(node) -> int:
    return getattr(node, "span", None).end_line if getattr(node, "span", None) else 10 ** 9


def _index(an: Analysis, prog: A.Program):
    by_pos: dict = {}

    def declare(name, kind, span, full, ty=None, scope=None, node=None):
        if span is None or span == A.NOWHERE:
            return None
        d = Decl(name, kind, span, full or span, ty, scope, node)
        an.decls.append(d)
        by_pos[(span.line, span.col)] = d
        an.occurrences.append(Occurrence(span, "decl", name, d))
        return d

    for p in prog.params:
        declare(p.name, "param", p.name_span, p.span, str(p.type), None, p)
    for v in prog.vars:
        declare(v.name, "var", v.name_span, v.span, str(v.type), None, v)
    bvars = {}
    for v in prog.branch_vars:
        bvars[v.name] = declare(v.name, "branch var", v.name_span, v.span, str(v.type), None, v)

    def ty_of(node):
        ref = getattr(node, "ref", None)
        return str(ref.ty) if ref is not None and getattr(ref, "ty", None) is not None else None

    def block(stmts, end: int):
        for st in stmts or []:
            if isinstance(st, A.Let):
                declare(st.name, "let", st.name_span, st.span, str(st.type) if st.type else ty_of(st),
                        (st.span.line, end), st)
            elif isinstance(st, A.Action) and st.bind:
                declare(st.bind, "bound", st.bind_span, st.span, "branch", (st.span.line, end), st)
            elif isinstance(st, A.Repeat) and st.var:
                declare(st.var, "loop", st.var_span, st.span, "int", (st.span.line, st.span.end_line), st)
            elif isinstance(st, A.For):
                q = st.query
                declare(q.var, "loop", q.var_span, q.span, ty_of(q), (st.span.line, st.span.end_line), q)
            for sub in _blocks(st):
                block(sub, _end_line(st))

    funcs = {}
    for f in getattr(prog, "funcs", None) or []:
        sig = ", ".join(f"{a.name}: {a.type}" for a in f.params)
        funcs[f.name] = declare(f.name, "function", f.name_span, f.span, f"({sig}) -> {f.ret}", None, f)
        inside = (f.span.line, f.span.end_line)
        for a in f.params:
            declare(a.name, "arg", Span(a.span.line, a.span.col, a.span.line, a.span.col + len(a.name))
                    if a.span is not None and a.span != A.NOWHERE else None, a.span, str(a.type), inside, a)
        if not f.expr_bodied:
            block(f.body, f.span.end_line)
    block(prog.body, 10 ** 9)
    for n in A.walk(prog):
        if isinstance(n, A.Comprehension):
            q = n.query
            declare(q.var, "loop", q.var_span, q.span, ty_of(q), (n.span.line, n.span.end_line), q)
    vocab = api.vocabulary()
    for n in A.walk(prog):
        if isinstance(n, A.Name):
            ref = n.ref
            if ref is not None and getattr(ref, "kind", None) == "state" or ref is None and n.id in vocab["state"]:
                an.occurrences.append(Occurrence(n.span, "state", n.id))
            elif ref is not None:
                d = by_pos.get((ref.span.line, ref.span.col))
                if d is not None:
                    an.occurrences.append(Occurrence(n.span, "ref", n.id, d))
        elif isinstance(n, A.Call):
            if funcs.get(n.func) is not None:
                an.occurrences.append(Occurrence(n.func_span, "ref", n.func, funcs[n.func]))
            else:
                an.occurrences.append(Occurrence(n.func_span, "function", n.func))
        elif isinstance(n, A.Attr):
            if n.name in bvars and bvars[n.name] is not None and _is_branch(n.obj):
                an.occurrences.append(Occurrence(n.name_span, "ref", n.name, bvars[n.name]))
            else:
                an.occurrences.append(Occurrence(n.name_span, "attr", n.name))


def _is_branch(e) -> bool:
    ty = getattr(e, "ty", None)
    return ty is None or str(ty) == "branch"


def _blocks(st):
    if isinstance(st, A.If):
        for _, body in st.arms:
            yield body
        if st.orelse:
            yield st.orelse
    elif isinstance(st, (A.For, A.Repeat)):
        yield st.body
    elif isinstance(st, A.Action) and st.on_exhausted:
        yield st.on_exhausted


# ------------------------------------------------------------------ hover
def hover(an: Analysis, line: int, col: int) -> tuple[str, Span] | None:
    o = an.at(line, col)
    if o is None:
        return _keyword_hover(an, line, col)
    vocab = api.vocabulary()
    if o.kind in ("decl", "ref") and o.decl is not None:
        return _decl_hover(an, o.decl), o.span
    if o.kind == "state" and o.name in vocab["state"]:
        ty, doc = vocab["state"][o.name]
        return f"```tts\n{o.name}: {ty}\n```\nstate (read-only): {doc}", o.span
    if o.kind == "function" and o.name in vocab["functions"]:
        sig, doc, sched = vocab["functions"][o.name]
        return f"```tts\n{sig}\n```\n{doc}" + (" Usable in params." if sched else ""), o.span
    if o.kind == "attr":
        if o.name in vocab["branch_attrs"]:
            ty, doc = vocab["branch_attrs"][o.name]
            return f"```tts\nb.{o.name}: {ty}\n```\nbranch attribute: {doc}", o.span
        for rec, fields in vocab["records"].items():
            if o.name in fields:
                return f"```tts\n.{o.name}: {fields[o.name]}\n```\nfield of a `{rec}` record", o.span
    return None


def _keyword_hover(an: Analysis, line: int, col: int):
    word, span = word_at(an.source, line, col)
    actions = api.vocabulary()["actions"]
    if word in actions:
        return f"`{word}` (action): {actions[word]}", span
    return None


def _decl_hover(an: Analysis, d: Decl) -> str:
    head = f"```tts\n{d.name}: {d.ty or '?'}\n```\n{d.kind}, declared at line {d.span.line}"
    if d.kind != "param":
        return head
    text = _slice(an.source, d.full).strip()
    lines = [f"```tts\n{text}\n```", f"param, line {d.span.line}"]
    r = an.knobs.get(d.name)
    if r is not None:
        declared = r.declared or "constant"
        lines.append(f"- schedule: declared **{declared}** in beta; {r.status}"
                     + (f" (derived: {r.direction})" if r.status != "proved" else ""))
        if r.counterexample:
            ce = r.counterexample
            lines.append(f"- counterexample: {d.name}({ce['b1']!r}) = {ce['v1']!r}, "
                         f"{d.name}({ce['b2']!r}) = {ce['v2']!r}")
        if r.lo is not None and r.hi is not None:
            rng = f"{r.lo:g}" if r.lo == r.hi else f"{r.lo:g} .. {r.hi:g}"
            lines.append(f"- values over beta in [0, 1]: {rng}")
        lines.append(f"- declared range: {r.range_status}" if d.node.lo is not None
                     else "- no declared range")
        if r.note:
            lines.append(f"- {r.note}")
    return "\n".join(lines)


def _slice(source: str, span: Span) -> str:
    lines = source.splitlines()
    if span.line == span.end_line:
        return lines[span.line - 1][span.col - 1: span.end_col - 1]
    out = [lines[span.line - 1][span.col - 1:]] + lines[span.line: span.end_line - 1]
    out.append(lines[span.end_line - 1][: span.end_col - 1])
    return "\n".join(out)


def word_at(source: str, line: int, col: int) -> tuple[str | None, Span | None]:
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return None, None
    text = lines[line - 1]
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
        if m.start() + 1 <= col <= m.end() + 1:
            return m.group(), Span(line, m.start() + 1, line, m.end() + 1)
    return None, None


# ------------------------------------------------------------- completion
@dataclass
class Completion:
    label: str
    kind: str  # keyword | function | state | attr | field | variable | param | direction
    detail: str = ""
    doc: str = ""


def completions(an: Analysis, line: int, col: int) -> list[Completion]:
    """Completions at (line, col): after ``x.``, the attributes of x's type (branch
    attributes and branch vars, or record fields); elsewhere keywords, built-ins and the
    names declared in scope."""
    vocab = api.vocabulary()
    lines = an.source.splitlines()
    before = lines[line - 1][: col - 1] if 1 <= line <= len(lines) else ""
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*[A-Za-z_0-9]*$", before)
    if m:
        ty = _type_of_name(an, m.group(1), line)
        out = []
        if ty in (None, "branch"):
            out += [Completion(n, "attr", t, d) for n, (t, d) in vocab["branch_attrs"].items()]
            out += [Completion(d.name, "field", d.ty or "", "branch var") for d in an.decls if d.kind == "branch var"]
        for rec, fields in vocab["records"].items():
            if ty in (None, rec):
                out += [Completion(n, "field", t, f"field of {rec}") for n, t in fields.items()]
        return out
    out = [Completion(k, "keyword") for k in vocab["keywords"]]
    out += [Completion(n, "function", sig, doc) for n, (sig, doc, _) in vocab["functions"].items()]
    out += [Completion(n, "state", t, d) for n, (t, d) in vocab["state"].items()]
    out += [Completion(n, "direction") for n in vocab["directions"]]
    seen = set()
    for d in an.visible(line):
        if d.kind == "branch var" or d.name in seen:
            continue
        seen.add(d.name)
        kind = {"param": "param", "function": "function"}.get(d.kind, "variable")
        out.append(Completion(d.name, kind, d.ty or "", d.kind))
    if "beta" not in seen:
        out.append(Completion("beta", "variable", "float", "the budget dial in [0, 1] (params only)"))
    return out


def _type_of_name(an: Analysis, name: str, line: int) -> str | None:
    for d in reversed(an.visible(line)):
        if d.name == name and d.kind != "branch var":
            return d.ty
    state = api.vocabulary()["state"]
    return state[name][0] if name in state else None


# ------------------------------------------------------- symbols and fixes
def document_symbols(an: Analysis) -> list[Decl]:
    """Params, vars, branch vars, functions and lets, in source order."""
    return sorted([d for d in an.decls if d.kind in ("param", "var", "branch var", "function", "let")],
                  key=lambda d: (d.span.line, d.span.col))


def fixes(diagnostic: dict) -> list[str]:
    """The replacement texts a diagnostic's hint proposes (its did-you-mean names)."""
    return DID_YOU_MEAN.findall(diagnostic.get("hint") or "")
