"""Text -> parse tree. Loads the Lark grammar, normalises newlines, reports syntax errors
as :class:`Diagnostic` objects (never as Lark or Python exceptions)."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from .diagnostics import NOWHERE, PYTHON_WORDS, Diagnostic, DiagnosticsError, Reporter, Span
from .limits import Limits

KEYWORDS = {
    "controller", "params", "var", "branch", "let", "if", "elif", "else", "for", "in",
    "where", "sorted", "by", "take", "repeat", "as", "open", "read", "advance", "prune",
    "answer", "break", "continue", "trace", "pass", "and", "or", "not", "true", "false",
    "none", "partition", "def", "return",
}
DIRECTIONS = ("increasing", "decreasing", "constant")
SORT_ORDERS = ("asc", "desc")
ACTIONS = {"open", "read", "advance", "prune"}


def grammar_path() -> Path:
    """The grammar file: inside the installed package (wheel) or in the checkout."""
    here = Path(__file__).resolve().parent.parent
    for p in (here / "grammar" / "tts.lark", here.parent / "grammar" / "tts.lark"):
        if p.is_file():
            return p
    raise FileNotFoundError("tts.lark not found: the installation is incomplete")


def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


class _Newlines:
    """Post-lexer: newline normalisation described at the top of the grammar."""

    always_accept = ()

    def process(self, stream):
        stack: list[str] = []  # "(", "[", "rec" (trace record), "blk"
        prev = None  # last emitted token
        pending = None  # a held newline
        for tok in stream:
            if tok.type == "_NL":
                if stack and stack[-1] != "blk":
                    continue
                if prev is None or prev.type == "_NL" or prev.value == "{":
                    continue
                if pending is None:
                    pending = tok
                continue
            v = tok.value
            if pending is not None:
                if not (v in ("else", "elif") and prev is not None and prev.value == "}"):
                    yield pending
                    prev = pending
                pending = None
            if v == "}" and tok.type != "STRING":
                kind = stack.pop() if stack else "blk"
                if kind == "blk" and prev is not None and prev.type != "_NL" and prev.value != "{":
                    nl = Token.new_borrow_pos("_NL", "\n", tok)
                    yield nl
            elif v in (")", "]") and tok.type != "STRING":
                if stack:
                    stack.pop()
            elif v in ("(", "[") and tok.type != "STRING":
                stack.append(v)
            elif v == "{" and tok.type != "STRING":
                stack.append("rec" if prev is not None and prev.type == "STRING" else "blk")
            yield tok
            prev = tok
        if prev is not None and prev.type != "_NL":
            yield Token.new_borrow_pos("_NL", "\n", prev)


@lru_cache(maxsize=1)
def _lark() -> Lark:
    """The parser. Building its LALR tables takes 0.2-0.4 s, every process that parses a
    program (each command, each worker); Lark saves them in tts-dsl's cache directory
    (``grammar/``, named by the grammar's hash; Lark checks its own hash of grammar, options
    and version inside and rebuilds on a mismatch or an unreadable file) and loads them in
    about 10 ms next time. No cache directory (``TTS_DSL_CACHE=off``, unwritable): built."""
    text = grammar_text()
    return Lark(
        text,
        parser="lalr",
        lexer="basic",
        postlex=_Newlines(),
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_tables_file(text) or False,
    )


def _tables_file(text: str) -> str | None:
    import hashlib

    from ..files import cache_root

    root = cache_root()
    if root is None:
        return None
    d = root / "grammar"
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    if not os.access(d, os.W_OK):
        return None
    return str(d / f"tts-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}.lark")


def _describe_terminals(names) -> list[str]:
    lark = _lark()
    pats = {t.name: t.pattern for t in lark.terminals}
    nice = {
        "NAME": "a name", "INT": "an integer", "FLOAT": "a number", "STRING": 'a "label"',
        "_NL": "end of line", "COMP_OP": "a comparison", "$END": "end of file",
    }
    out = []
    for n in sorted(names):
        if n in nice:
            out.append(nice[n])
        elif n in pats and pats[n].type == "str":
            out.append(f"'{pats[n].value}'")
        else:
            out.append(n.lower())
    seen = []
    for o in out:
        if o not in seen:
            seen.append(o)
    return seen


def _tok_text(tok) -> str:
    if tok.type == "_NL":
        return "end of line"
    if tok.type == "$END":
        return "end of file"
    return f"'{tok.value}'"


PYTHONISMS = PYTHON_WORDS  # the words; what to write instead is in the diagnostics catalogue


def _python_word(tok, source: str) -> str | None:
    """A Python keyword at or just before the unexpected token, if any."""
    if tok.type == "NAME" and str(tok.value) in PYTHONISMS:
        return str(tok.value)
    lines = source.splitlines()
    line = tok.line or 1
    if 1 <= line <= len(lines):
        words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", lines[line - 1][: max(0, (tok.column or 1) - 1)])
        if words and words[-1] in PYTHONISMS:
            return words[-1]
    return None


_OPERAND_ENDS = {"if", "elif", "where", "and", "or", "not", "else", "let", "answer", "take", "sorted", "by",
                 "in", "{", "}", ",", "=", ":", ";"}


def _scan_operand(toks, opening: tuple, closing: tuple) -> list:
    """The tokens of ``toks`` up to a keyword, a separator or an unmatched ``closing``
    bracket; ``opening`` brackets nest. Used forwards and, with the brackets swapped, backwards."""
    depth, out = 0, []
    for t in toks:
        v = str(t.value)
        if v in opening:
            depth += 1
        elif v in closing:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (v in _OPERAND_ENDS or t.type == "COMP_OP"):
            break
        out.append(t)
    return out


def _operand(toks: list) -> str:
    """The text of the operand at the end of ``toks`` (stops at a keyword, a separator or an
    unmatched bracket)."""
    return _text(_scan_operand(reversed(toks), (")", "]"), ("(", "["))[::-1])


def _text(toks: list) -> str:
    return (" ".join(str(t.value) for t in toks).replace("( ", "(").replace(" )", ")").replace("[ ", "[")
            .replace(" ]", "]").replace(" ,", ",").replace(" . ", ".").replace(" (", "(").replace(" [", "["))


def _unchain(tok, source: str) -> str:
    """'a < b and b < c' for the chain 'a < b < c' whose second operator is ``tok``."""
    generic = "'a < x and x < b'"
    line = source.splitlines()[(tok.line or 1) - 1] if source.splitlines() else ""
    try:
        toks = [t for t in _lark().lex(line) if t.type != "_NL"]
    except UnexpectedInput:
        return generic
    at = next((i for i, t in enumerate(toks) if t.column == tok.column and t.type == "COMP_OP"), None)
    if at is None:
        return generic
    first = next((i for i in range(at - 1, -1, -1) if toks[i].type == "COMP_OP"), None)
    if first is None:
        return generic
    left, mid = _operand(toks[:first]), _operand(toks[first + 1:at])
    right = _text(_until_end(toks[at + 1:]))
    if not (left and mid and right):
        return generic
    return f"'{left} {toks[first].value} {mid} and {mid} {tok.value} {right}'"


def _until_end(toks: list) -> list:
    return _scan_operand(toks, ("(", "["), (")", "]"))


def _assign_hint(tok, source: str) -> str:
    lines = source.splitlines()
    line = lines[(tok.line or 1) - 1] if lines else ""
    m = re.match(r"\s*(.+)\.([A-Za-z_][A-Za-z0-9_]*)\s*=[^=]", line + " ")
    if m is None:
        return "name the branch first (let b = ...), then assign b.v = ..."
    return f"name the branch first: 'let b = {m.group(1).strip()}', then 'b.{m.group(2)} = ...'"


def _syntax_diagnostic(err: UnexpectedInput, source: str, file: str) -> Diagnostic:
    report = Reporter(file, "parse")
    if isinstance(err, UnexpectedCharacters):
        ch = source[err.pos_in_stream] if err.pos_in_stream < len(source) else "?"
        return report.unexpected_character(Span.point(err.line, err.column), ch)
    tok = getattr(err, "token", None)
    expected = set(getattr(err, "expected", None) or getattr(err, "accepts", None) or [])
    if isinstance(err, UnexpectedEOF) or tok is None or tok.type == "$END":
        lines = source.splitlines() or [""]
        return report.unexpected_end(Span.point(len(lines), len(lines[-1]) + 1),
                                     ", ".join(_describe_terminals(expected)[:8]) or None,
                                     source.count("{") > source.count("}"))
    line, col = tok.line or 1, tok.column or 1
    end = col + max(1, len(str(tok.value))) if tok.type != "_NL" else col + 1
    span = Span(line, col, line, end)
    exp = _describe_terminals(expected)
    v = str(tok.value)
    word = v
    extra = {}
    if tok.type == "STRING":
        case = "string_literal"
    elif v in ("var", "params", "branch", "def") and "LET" in expected:
        case = "late_declaration"
    elif v == "return" and "RETURN" not in expected:  # 'return' ends a function's block only
        case = "python"
    elif tok.type == "COMP_OP" and "COMP_OP" not in expected:
        case, extra = "chained_compare", {"chain": _unchain(tok, source)}
    elif v in ("[", "(") and expected in ({"DOT", "EQUAL"}, {"DOT", "EQUAL", "LSQB"}):
        case, extra = "assign_target", {"assign_hint": _assign_hint(tok, source)}
    elif v == "." and "EQUAL" in expected and len(expected) == 2 and "LSQB" not in expected:
        # NAME[KEY] then '.': a map key is assigned, never an attribute through an index
        line = source.splitlines()[(tok.line or 1) - 1]
        col = line.find("[") + 1 or col
        span = Span(line_no := (tok.line or 1), col, line_no, col + 1)
        case, extra = "assign_target", {"assign_hint": _assign_hint(tok, source)}
    elif v in ACTIONS and ("NAME" in expected or "INT" in expected):
        case = "open_read" if v in ("open", "read") else "action"
    elif v == "=" and "COMP_OP" in expected:
        case = "assign_for_compare"
    elif v == ":" and "LBRACE" in expected:
        case = "colon_block"
    elif v in KEYWORDS and "NAME" in expected:
        case = "keyword"
    elif _python_word(tok, source) is not None:
        case, word = "python", _python_word(tok, source)
    elif tok.type == "NAME" and "_NL" in expected:
        case = "two_statements"
    elif tok.type == "_NL" and "LBRACE" in expected:
        case = "brace_next_line"
    else:
        case = "token"
    return report.unexpected_token(
        span, case, _tok_text(tok),
        ("one of " + ", ".join(exp[:10])) if len(exp) > 1 else (exp[0] if exp else None), word, **extra)


def parse_tree(source: str, file: str = "<program>", limits: Limits | None = None) -> tuple[Tree, list]:
    """Parse ``source`` into a Lark tree. Returns ``(tree, comments)``.

    Raises :class:`DiagnosticsError` on a syntax error or a violated size limit.
    """
    limits = limits or Limits()
    pre = limits.check_source(source, file)
    if pre:
        raise DiagnosticsError(pre, source)
    comments: list[Token] = []
    lark = _lark()
    try:
        # comments are collected by lexing once with the same lexer
        tree = lark.parse(source)
        for tok in lark.lex(source, dont_ignore=True):
            if tok.type == "COMMENT":
                comments.append(tok)
    except UnexpectedInput as err:
        raise DiagnosticsError([_syntax_diagnostic(err, source, file)], source) from None
    except RecursionError:
        raise DiagnosticsError([Reporter(file, "parse").nested_too_deep(NOWHERE, "parser")], source) from None
    return tree, comments


