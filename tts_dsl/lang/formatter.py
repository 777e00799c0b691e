"""AST -> canonical program text (``tts-dsl fmt``).

The layout is a function of the AST alone: one statement per line, two-space indentation,
braces on the statement line, ``} elif``/``} else`` on the closing line, single spaces
around binary operators, parentheses only where operator precedence needs them (so ASTs
built or mutated in code print correctly). Two things come from the source when the AST
has positions: comments (``Program.comments``) and single blank lines between statements.

Properties (tested in ``tests/test_formatter.py``):

* ``parse(format_program(p)) == p`` for every AST the parser can produce (AST equality
  ignores spans), and for code-built ASTs whose names, labels and numbers are writable;
* ``format_source`` is idempotent;
* every comment of the source appears in the output, in order.

A comment on the line of a statement stays at the end of (the last output line of) that
statement; any other comment is
attached to the nearest following statement, declaration or closing brace, at its
indentation; comments after the last statement stay at the end.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from . import ast as A
from .diagnostics import NOWHERE
from .parser import KEYWORDS

INDENT = "  "

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INT = re.compile(r"[0-9]+\Z")
_FLOAT = re.compile(r"(([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+)\Z")
_LABEL = re.compile(r'[^"\\\n]*\Z')  # the grammar's STRING, without the quotes
_TYPE_KEYWORDS = ("branch", "answer")

# precedence levels, lowest first (mirrors grammar/tts.lark)
TERNARY, OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, POSTFIX, ATOM = range(10)
_BINOP_LEVEL = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "//": PRODUCT, "%": PRODUCT}
_COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")


class FormatError(ValueError):
    """The AST contains something no program text can express (a name that is not an
    identifier, a label with a quote, an unknown operator, ...)."""


# ------------------------------------------------------------------- expressions
def _name(s, what="name") -> str:
    if not isinstance(s, str) or not _NAME.match(s) or s in KEYWORDS:
        raise FormatError(f"cannot write {what} {s!r}: not an identifier or a reserved word")
    return s


def _int_text(v: int) -> str:
    try:
        return str(v)
    except ValueError:  # more digits than int->str allows; convert in chunks (no global setting)
        chunk = 10 ** 1000
        parts = []
        while v:
            v, r = divmod(v, chunk)
            parts.append(r)
        out = str(parts[-1])
        for r in reversed(parts[:-1]):
            out += str(r).zfill(1000)
        return out


def _num(e: A.Num) -> tuple[str, int]:
    v = e.value
    text = e.text or ""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FormatError(f"cannot write number {v!r}")
    if isinstance(v, int):
        if v < 0:
            return "-" + _int_text(-v), UNARY
        if _INT.match(text) and len(text) <= 4000 and int(text) == v:
            return text, ATOM
        return _int_text(v), ATOM
    if v != v:
        return "(1e999 - 1e999)", ATOM  # NaN has no literal; the checker rejects it anyway
    if math.copysign(1.0, v) < 0:
        s, _ = _num(A.Num(-v))
        return "-" + s, UNARY
    if _FLOAT.match(text) and float(text) == v:
        return text, ATOM
    if v == math.inf:
        return "1e999", ATOM
    s = repr(v)
    if not _FLOAT.match(s):  # e.g. an integral repr without a point (never for floats today)
        s = s + ".0"
    return s, ATOM


def format_expr(e: A.Expr, level: int = TERNARY) -> str:
    """The text of one expression, parenthesised if it binds looser than ``level``."""
    s, own = _expr(e)
    return f"({s})" if own < level else s


def _expr(e) -> tuple[str, int]:  # noqa: C901 - one case per node type
    f = format_expr
    if isinstance(e, A.Num):
        return _num(e)
    if isinstance(e, A.Bool):
        return ("true" if e.value else "false"), ATOM
    if isinstance(e, A.NoneLit):
        return "none", ATOM
    if isinstance(e, A.Name):
        return _name(e.id), ATOM
    if isinstance(e, A.Call):
        return f"{_name(e.func, 'function')}({', '.join(f(a) for a in e.args)})", ATOM
    if isinstance(e, A.ListLit):
        return f"[{', '.join(f(a) for a in e.items)}]", ATOM
    if isinstance(e, A.Comprehension):
        return f"[{f(e.elt)} {_query(e.query)}]", ATOM
    if isinstance(e, A.Attr):
        return f"{_postfix_obj(e.obj)}.{_name(e.name, 'attribute')}", POSTFIX
    if isinstance(e, A.Index):
        return f"{_postfix_obj(e.obj)}[{f(e.index)}]", POSTFIX
    if isinstance(e, A.Slice):
        lo = "" if e.lo is None else f(e.lo)
        hi = "" if e.hi is None else f(e.hi)
        return f"{_postfix_obj(e.obj)}[{lo}:{hi}]", POSTFIX
    if isinstance(e, A.Unary):
        if e.op == "not":
            return f"not {f(e.operand, NOT)}", NOT
        if e.op in ("-", "+"):
            inner = f(e.operand, UNARY)
            sep = " " if inner[:1] in ("-", "+") else ""
            return f"{e.op}{sep}{inner}", UNARY
        raise FormatError(f"unknown unary operator {e.op!r}")
    if isinstance(e, A.BinOp):
        lvl = _BINOP_LEVEL.get(e.op)
        if lvl is None:
            raise FormatError(f"unknown operator {e.op!r}")
        return f"{f(e.left, lvl)} {e.op} {f(e.right, lvl + 1)}", lvl
    if isinstance(e, A.Compare):
        if e.op not in _COMPARE_OPS:
            raise FormatError(f"unknown comparison {e.op!r}")
        return f"{f(e.left, SUM)} {e.op} {f(e.right, SUM)}", COMPARE
    if isinstance(e, A.BoolOp):
        if e.op == "or":
            return f"{f(e.left, OR)} or {f(e.right, AND)}", OR
        if e.op == "and":
            return f"{f(e.left, AND)} and {f(e.right, NOT)}", AND
        raise FormatError(f"unknown boolean operator {e.op!r}")
    if isinstance(e, A.IfExp):
        return f"{f(e.then, OR)} if {f(e.cond, OR)} else {f(e.orelse, TERNARY)}", TERNARY
    raise FormatError(f"cannot write {type(e).__name__} as an expression")


def _postfix_obj(obj) -> str:
    s, own = _expr(obj)
    # a number followed by '.' would lex as a float: "(5).x"
    if own < POSTFIX or isinstance(obj, A.Num):
        return f"({s})"
    return s


def _head(e) -> str:
    """An expression in a statement head (followed by '{', 'else', 'where', ...)."""
    return format_expr(e, OR) if isinstance(e, A.IfExp) else format_expr(e)


def _query(q: A.Query) -> str:
    out = f"for {_name(q.var)} in {_head(q.source)}"
    if q.where is not None:
        out += f" where {_head(q.where)}"
    if q.key is not None:
        out += " sorted by " + ", ".join(_head(k) + (" desc" if desc else "") for k, desc in q.sort_keys())
    elif q.descending or q.then_by:
        raise FormatError("a query sorted descending needs a key")
    if q.take is not None:
        out += f" take {_head(q.take)}"
    return out


def _type(t: A.TypeRef) -> str:
    if t is None:
        raise FormatError("missing type")
    if t.val is not None:
        return f"{_name(t.name, 'type')}[{_type(t.arg)}, {_type(t.val)}]"
    if t.arg is not None:
        return f"{_name(t.name, 'type')}[{_type(t.arg)}]"
    if t.name in _TYPE_KEYWORDS:
        return t.name
    return _name(t.name, "type")


# -------------------------------------------------------------------- statements
@dataclass
class _Line:
    indent: int
    text: str
    own: Optional[tuple] = None   # source lines this output line stands for (trailing comments)
    anchor: Optional[int] = None  # comments on earlier source lines go before this line
    closer: bool = False          # a "}" line: leading comments belong to the inner block
    blank_before: bool = False    # a mandatory blank line before this one


def _known(span) -> bool:
    return span is not None and span is not NOWHERE and span != NOWHERE


def _lines_of(node) -> Optional[tuple]:
    sp = node.span
    return (sp.line, sp.end_line) if _known(sp) else None


def _start(node) -> Optional[int]:
    sp = node.span
    return sp.line if _known(sp) else None


def _end(node) -> Optional[int]:
    sp = node.span
    return sp.end_line if _known(sp) else None


def _head_lines(stmt, *exprs) -> Optional[tuple]:
    s = _start(stmt)
    if s is None:
        return None
    ends = [_end(x) for x in exprs if x is not None]
    ends = [x for x in ends if x is not None]
    return (s, max(ends) if ends else s)


ONE_LINE_WIDTH = 100
_SIMPLE = (A.Action, A.Assign, A.SetKey, A.AnswerStmt, A.Break, A.Continue, A.Pass)


class _Emitter:
    def __init__(self, comment_lines=frozenset()):
        self.out: list[_Line] = []
        self.comment_lines = comment_lines

    def one_line(self, head: str, s, body, d) -> bool:
        """Write ``head { stmt }`` on one line when the block holds one simple statement
        (an action with at most a jump as its else, an assignment, answer, break,
        continue, pass), no comment sits inside it, and the line fits."""
        if body is None or len(body) != 1 or not isinstance(body[0], _SIMPLE):
            return False
        b = body[0]
        if isinstance(b, A.Action) and b.on_exhausted is not None and not (
                len(b.on_exhausted) == 1 and isinstance(b.on_exhausted[0], (A.Break, A.Continue, A.AnswerStmt))):
            return False
        lines = _lines_of(s)
        if lines is not None and any(lines[0] < ln <= lines[1] for ln in self.comment_lines):
            return False
        tmp = _Emitter()
        tmp.stmt(b, 0)
        if len(tmp.out) != 1:
            return False
        text = f"{head} {{ {tmp.out[0].text} }}"
        if len(INDENT) * d + len(text) > ONE_LINE_WIDTH:
            return False
        self.line(d, text, lines)
        return True

    def line(self, indent, text, own=None, anchor=None, closer=False, blank_before=False):
        if anchor is None and own is not None:
            anchor = own[0]
        self.out.append(_Line(indent, text, own, anchor, closer, blank_before))

    def block(self, stmts, indent):
        if stmts is None:
            raise FormatError("a block must be a list of statements")
        for s in stmts:
            self.stmt(s, indent)

    def close(self, indent, text, own=None, anchor=None):
        self.line(indent, text, own, anchor, closer=True)

    def stmt(self, s, d):  # noqa: C901 - one case per statement type
        if isinstance(s, A.Let):
            ty = f": {_type(s.type)}" if s.type is not None else ""
            self.line(d, f"let {_name(s.name)}{ty} = {format_expr(s.value)}", _lines_of(s))
        elif isinstance(s, A.SetKey):
            if not isinstance(s.target, A.Name) or s.op not in ("=", "+="):
                raise FormatError("a map key is set on a map var with = or +=")
            self.line(d, f"{_name(s.target.id)}[{format_expr(s.key)}] {s.op} {format_expr(s.value)}", _lines_of(s))
        elif isinstance(s, A.Return):
            self.line(d, f"return {format_expr(s.value)}", _lines_of(s))
        elif isinstance(s, A.Partition):
            q = s.query
            if q.where is None or q.key is not None or q.take is not None or q.then_by:
                raise FormatError("a partition has a condition and no sort or take")
            self.line(d, f"let {_name(s.yes)}, {_name(s.no)} = partition {_name(q.var)} in {_head(q.source)} "
                         f"by {format_expr(q.where)}", _lines_of(s))
        elif isinstance(s, A.Assign):
            t = s.target
            if isinstance(t, A.Name):
                tgt = _name(t.id)
            elif isinstance(t, A.Attr) and isinstance(t.obj, A.Name):
                tgt = f"{_name(t.obj.id)}.{_name(t.name, 'attribute')}"
            else:
                raise FormatError("an assignment target is a name or NAME.attribute")
            self.line(d, f"{tgt} = {format_expr(s.value)}", _lines_of(s))
        elif isinstance(s, A.If):
            if not s.arms:
                raise FormatError("an if statement needs a condition")
            cond, body = s.arms[0]
            if len(s.arms) == 1 and s.orelse is None and self.one_line(f"if {_head(cond)}", s, body, d):
                return
            self.line(d, f"if {_head(cond)} {{", _head_lines(s, cond))
            self.block(body, d + 1)
            for cond, body in s.arms[1:]:
                self.close(d, f"}} elif {_head(cond)} {{", _head_lines(cond, cond))
                self.block(body, d + 1)
            if s.orelse is not None:
                first = _start(s.orelse[0]) if s.orelse else _end(s)
                self.close(d, "} else {", None, anchor=first)
                self.block(s.orelse, d + 1)
            self.close(d, "}", _end_line(s))
        elif isinstance(s, A.For):
            q = s.query
            if self.one_line(_query(q), s, s.body, d):
                return
            self.line(d, f"{_query(q)} {{", _head_lines(s, q.source, q.where, q.take, *[k for k, _ in q.sort_keys()]))
            self.block(s.body, d + 1)
            self.close(d, "}", _end_line(s))
        elif isinstance(s, A.Repeat):
            as_ = f" as {_name(s.var)}" if s.var is not None else ""
            if s.bound is not None:
                as_ = f" max {_head(s.bound)}{as_}"
            if self.one_line(f"repeat {_head(s.count)}{as_}", s, s.body, d):
                return
            self.line(d, f"repeat {_head(s.count)}{as_} {{", _head_lines(s, s.count, s.bound))
            self.block(s.body, d + 1)
            self.close(d, "}", _end_line(s))
        elif isinstance(s, A.Action):
            self.action(s, d)
        elif isinstance(s, A.AnswerStmt):
            self.line(d, f"answer {format_expr(s.value)}", _lines_of(s))
        elif isinstance(s, A.Break):
            self.line(d, "break", _lines_of(s))
        elif isinstance(s, A.Continue):
            self.line(d, "continue", _lines_of(s))
        elif isinstance(s, A.Pass):
            self.line(d, "pass", _lines_of(s))
        elif isinstance(s, A.Trace):
            if not isinstance(s.label, str) or not _LABEL.match(s.label):
                raise FormatError(f"cannot write trace label {s.label!r}: labels have no quotes, "
                                  "backslashes or newlines")
            rec = ""
            if s.fields:
                rec = " {" + ", ".join(f"{_name(k, 'field')}: {format_expr(v)}" for k, v in s.fields) + "}"
            self.line(d, f'trace "{s.label}"{rec}', _lines_of(s))
        else:
            raise FormatError(f"cannot write {type(s).__name__} as a statement")

    def action(self, s: A.Action, d):
        if s.kind in ("open", "read"):
            if s.target is not None:
                raise FormatError(f"'{s.kind}' takes no target")
            head = s.kind + (f" as {_name(s.bind)}" if s.bind is not None else "")
        elif s.kind in ("advance", "prune"):
            if s.target is None or s.bind is not None:
                raise FormatError(f"'{s.kind}' takes a target and no 'as'")
            head = f"{s.kind} {_head(s.target)}"
        else:
            raise FormatError(f"unknown action {s.kind!r}")
        ex = s.on_exhausted
        if s.then is not None:  # an action as a condition
            self.line(d, f"if {head} {{", _head_lines(s, s.target))
            self.block(s.then, d + 1)
            if ex is not None:
                self.close(d, "} else {", None, anchor=_start(ex[0]) if ex else _end(s))
                self.block(ex, d + 1)
            self.close(d, "}", _end_line(s))
        elif ex is None:
            self.line(d, head, _lines_of(s))
        elif len(ex) == 1 and isinstance(ex[0], (A.Break, A.Continue, A.AnswerStmt)):
            one = ex[0]
            tail = ("break" if isinstance(one, A.Break) else "continue" if isinstance(one, A.Continue)
                    else f"answer {format_expr(one.value)}")
            self.line(d, f"{head} else {tail}", _lines_of(s))
        else:
            self.line(d, f"{head} else {{", _head_lines(s, s.target))
            self.block(ex, d + 1)
            self.close(d, "}", _end_line(s))


def _end_line(s) -> Optional[tuple]:
    e = _end(s)
    return (e, e) if e is not None else None


_PARAMS_OPEN = re.compile(r"\s*params\b")
_CLOSE = re.compile(r"[^#\"]*}")


def _params_lines(prog: A.Program) -> tuple[Optional[int], Optional[int]]:
    """Source lines of the (first) 'params {' and of the '}' closing the last params block."""
    if not prog.source or not prog.params or not all(_known(p.span) for p in prog.params):
        return None, None
    lines = prog.source.split("\n")  # Lark counts "\n" only (not "\r", "\x0b", "\u2028", ...)
    first = prog.params[0].span.line
    open_line = None
    for i in range(min(first, len(lines)), 0, -1):
        if _PARAMS_OPEN.match(lines[i - 1]):
            open_line = i
            break
    close_line = None
    last = prog.params[-1].span.end_line
    for i in range(last, len(lines) + 1):  # param values contain no braces
        if _CLOSE.match(lines[i - 1]):
            close_line = i
            break
    return open_line, close_line


def _layout(prog: A.Program) -> list[_Line]:
    em = _Emitter(frozenset(c[0] for c in prog.comments or []))
    em.line(0, f"controller {_name(prog.name)}", _lines_of_span(prog.name_span))
    for f in prog.funcs:  # functions first: params and initial values may call them
        args = ", ".join(f"{_name(a.name)}: {_type(a.type)}" for a in f.params)
        head = f"def {_name(f.name)}({args}) -> {_type(f.ret)}"
        if f.expr_bodied:
            if len(f.body) != 1 or not isinstance(f.body[0], A.Return):
                raise FormatError("an expression-bodied function holds one return")
            em.line(0, f"{head} = {format_expr(f.body[0].value)}", _lines_of(f), blank_before=True)
            continue
        em.line(0, head + " {", _head_lines(f, f.ret), blank_before=True)
        em.block(f.body, 1)
        em.close(0, "}", _end_line(f))
    if prog.params:
        open_line, close_line = _params_lines(prog)
        em.line(0, "params {", (open_line, open_line) if open_line else None,
                anchor=open_line or _start(prog.params[0]), blank_before=True)
        for p in prog.params:
            text = f"{_name(p.name)}: {_type(p.type)}"
            if p.direction is not None:
                if p.direction not in ("increasing", "decreasing", "constant"):
                    raise FormatError(f"unknown direction {p.direction!r}")
                text += f" {p.direction}"
            if (p.lo is None) != (p.hi is None):
                raise FormatError(f"param {p.name}: a range needs both bounds")
            if p.lo is not None:
                text += f" in [{format_expr(p.lo)}, {format_expr(p.hi)}]"
            text += f" = {format_expr(p.value)}"
            em.line(1, text, _lines_of(p))
        em.close(0, "}", (close_line, close_line) if close_line else None)
    first_decl = True
    for kw, v in [("branch var", v) for v in prog.branch_vars] + [("var", v) for v in prog.vars]:
        value = f" = {format_expr(v.value)}" if v.value is not None else ""  # a map starts empty
        em.line(0, f"{kw} {_name(v.name)}: {_type(v.type)}{value}", _lines_of(v), blank_before=first_decl)
        first_decl = False
    first_stmt = len(em.out)
    em.block(prog.body, 0)
    if len(em.out) > first_stmt:
        em.out[first_stmt].blank_before = True
    return em.out


def _lines_of_span(sp) -> Optional[tuple]:
    return (sp.line, sp.end_line) if _known(sp) else None


def _render(lines: list[_Line], comments) -> str:
    comments = sorted((c for c in comments or []), key=lambda c: (c[0], c[1]))
    trailing: dict[int, list[str]] = {}
    claim: dict[int, int] = {}
    for i, ln in enumerate(lines):
        if ln.own is not None:
            for src in range(ln.own[0], ln.own[1] + 1):
                claim[src] = i  # the last thing on a source line owns its end-of-line comment
    leading = []
    for line, _col, text in comments:
        text = str(text).rstrip()
        if line in claim:
            trailing.setdefault(claim[line], []).append(text)
        else:
            leading.append((line, text))

    out: list[str] = []
    last_src = None  # the last source line accounted for in the output

    def emit(text, src_first, src_last, is_closer=False, force_blank=False):
        nonlocal last_src
        prev = out[-1] if out else None
        want_blank = force_blank
        if (not is_closer and src_first is not None and last_src is not None
                and src_first > last_src + 1):
            want_blank = True
        if want_blank and prev is not None and prev != "" and not prev.rstrip().endswith("{"):
            out.append("")
        out.append(text)
        if src_last is not None:
            last_src = max(last_src or 0, src_last)

    k = 0
    for i, ln in enumerate(lines):
        if ln.anchor is not None:
            first = True
            while k < len(leading) and leading[k][0] < ln.anchor:
                line, text = leading[k]
                ind = INDENT * (ln.indent + (1 if ln.closer else 0))
                emit(ind + text, line, line, force_blank=ln.blank_before and first)
                first = False
                k += 1
            forced = ln.blank_before and first
        else:
            forced = ln.blank_before
        text = INDENT * ln.indent + ln.text
        if i in trailing:
            text += "  " + " ".join(trailing[i])
        src_first = ln.own[0] if ln.own else ln.anchor if not ln.closer else None
        emit(text, src_first, ln.own[1] if ln.own else None, is_closer=ln.closer, force_blank=forced)
    while k < len(leading):
        line, text = leading[k]
        emit(text, line, line)
        k += 1
    return "\n".join(out) + "\n"


def format_program(program: A.Program) -> str:
    """The canonical text of ``program`` (with its comments, if it was parsed from text)."""
    if not isinstance(program, A.Program):
        raise FormatError(f"expected a Program, got {type(program).__name__}")
    return _render(_layout(program), program.comments)


def format_source(text: str, file: str = "<program>", limits=None) -> str:
    """Parse ``text`` and return its canonical layout (raises ``DiagnosticsError``)."""
    from .builder import parse_program

    return format_program(parse_program(text, file, limits))


__all__ = ["format_program", "format_source", "format_expr", "FormatError"]
