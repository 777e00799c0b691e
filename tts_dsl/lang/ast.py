"""The typed AST of a .tts program.

Built from the parse tree by :mod:`tts_dsl.lang.builder`; annotated in place by the
checker (``ty`` on expressions, ``ref`` on names). Every node carries its source span.
Equality ignores spans and annotations, so two parses of equivalent text compare equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .diagnostics import NOWHERE, Span


def _meta():
    return field(default=NOWHERE, compare=False, repr=False)


def _ann():
    return field(default=None, compare=False, repr=False)


# ------------------------------------------------------------------------ types
@dataclass(frozen=True)
class TypeRef:
    name: str
    arg: Optional["TypeRef"] = None
    span: Span = _meta()
    val: Optional["TypeRef"] = None  # a map's value type (``arg`` is its key type)

    def __str__(self) -> str:
        if self.val is not None:
            return f"{self.name}[{self.arg}, {self.val}]"
        return f"{self.name}[{self.arg}]" if self.arg else self.name


# ------------------------------------------------------------------ expressions
@dataclass
class Expr:
    pass


@dataclass
class Num(Expr):
    value: Any  # int | float
    text: str = field(default="", compare=False)
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Bool(Expr):
    value: bool
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class NoneLit(Expr):
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Name(Expr):
    id: str
    span: Span = _meta()
    ty: Any = _ann()
    ref: Any = _ann()


@dataclass
class Attr(Expr):
    obj: Expr
    name: str
    span: Span = _meta()
    name_span: Span = _meta()
    ty: Any = _ann()
    ref: Any = _ann()  # the branch var symbol when the attribute is one (checker)


@dataclass
class Index(Expr):
    obj: Expr
    index: Expr
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Slice(Expr):
    obj: Expr
    lo: Optional[Expr]
    hi: Optional[Expr]
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Call(Expr):
    func: str
    args: list
    span: Span = _meta()
    func_span: Span = _meta()
    ty: Any = _ann()


@dataclass
class BinOp(Expr):
    op: str  # + - * / // %
    left: Expr
    right: Expr
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Compare(Expr):
    op: str  # == != < <= > >= in "not in"
    left: Expr
    right: Expr
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class BoolOp(Expr):
    op: str  # and | or
    left: Expr
    right: Expr
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Unary(Expr):
    op: str  # - | + | not
    operand: Expr
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class IfExp(Expr):
    cond: Expr
    then: Expr
    orelse: Expr
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class ListLit(Expr):
    items: list
    span: Span = _meta()
    ty: Any = _ann()


@dataclass
class Query:
    """``for VAR in SOURCE [where COND] [sorted by KEY [asc|desc], ...] [take N]``.

    The first sort key is ``key`` (``descending``); further keys, which break its ties in
    order, are ``(KEY, descending)`` pairs in ``then_by``."""

    var: str
    source: Expr
    where: Optional[Expr] = None
    key: Optional[Expr] = None
    descending: bool = False
    take: Optional[Expr] = None
    span: Span = _meta()
    var_span: Span = _meta()
    ref: Any = _ann()
    then_by: list = field(default_factory=list)

    def sort_keys(self) -> list:
        """Every sort key as ``(KEY, descending)``, most significant first."""
        return ([(self.key, self.descending)] if self.key is not None else []) + list(self.then_by)


@dataclass
class Comprehension(Expr):
    elt: Expr
    query: Query
    span: Span = _meta()
    ty: Any = _ann()


# ------------------------------------------------------------------- statements
@dataclass
class Stmt:
    pass


@dataclass
class Let(Stmt):
    name: str
    type: Optional[TypeRef]
    value: Expr
    span: Span = _meta()
    name_span: Span = _meta()
    ref: Any = _ann()


@dataclass
class Partition(Stmt):
    """``let YES, NO = partition VAR in SOURCE by COND``: one pass over the source (taken
    when the statement runs), the elements where COND holds in YES, the others in NO, both
    in list order. The query's ``where`` holds COND."""

    yes: str
    no: str
    query: Query
    span: Span = _meta()
    yes_span: Span = _meta()
    no_span: Span = _meta()
    yes_ref: Any = _ann()
    no_ref: Any = _ann()


@dataclass
class Assign(Stmt):
    target: Expr  # Name | Attr
    value: Expr
    span: Span = _meta()


@dataclass
class SetKey(Stmt):
    """``MAP[KEY] = VALUE`` or ``MAP[KEY] += VALUE`` (op ``"="`` or ``"+="``) on a map var."""

    target: Expr  # Name
    key: Expr
    value: Expr
    op: str = "="
    span: Span = _meta()


@dataclass
class If(Stmt):
    arms: list  # list[tuple[Expr, list[Stmt]]]
    orelse: Optional[list]
    span: Span = _meta()


@dataclass
class For(Stmt):
    query: Query
    body: list
    span: Span = _meta()


@dataclass
class Repeat(Stmt):
    """``repeat COUNT [max BOUND] [as VAR] { ... }``: without a bound the count is constant;
    with one, the count is computed when the loop starts and the constant bound caps it."""

    count: Expr
    var: Optional[str]
    body: list
    span: Span = _meta()
    var_span: Span = _meta()
    ref: Any = _ann()
    bound: Optional[Expr] = None


@dataclass
class Action(Stmt):
    """open / read (with optional ``as NAME``) and advance / prune (with a target).

    As a condition (``if open as b { THEN } else { ON_EXHAUSTED }``), ``then`` holds the
    block that runs when the action was done (the binding is visible there only)."""

    kind: str  # open | read | advance | prune
    target: Optional[Expr] = None
    bind: Optional[str] = None
    on_exhausted: Optional[list] = None
    span: Span = _meta()
    bind_span: Span = _meta()
    ref: Any = _ann()
    then: Optional[list] = None


@dataclass
class Return(Stmt):
    """``return EXPR`` (in a function's block only)."""

    value: Expr
    span: Span = _meta()


@dataclass
class AnswerStmt(Stmt):
    value: Expr
    span: Span = _meta()


@dataclass
class Break(Stmt):
    span: Span = _meta()


@dataclass
class Continue(Stmt):
    span: Span = _meta()


@dataclass
class Pass(Stmt):
    span: Span = _meta()


@dataclass
class Trace(Stmt):
    label: str
    fields: list  # list[tuple[str, Expr]]
    span: Span = _meta()


# ----------------------------------------------------------------- declarations
@dataclass
class Param:
    name: str
    type: TypeRef
    direction: Optional[str]  # increasing | decreasing | constant | None (undeclared)
    lo: Optional[Expr]
    hi: Optional[Expr]
    value: Expr
    span: Span = _meta()
    name_span: Span = _meta()


@dataclass
class VarDecl:
    name: str
    type: TypeRef
    value: Optional[Expr]  # None for a map (it starts empty)
    per_branch: bool = False
    span: Span = _meta()
    name_span: Span = _meta()
    ref: Any = _ann()  # its symbol (checker)
    new_ref: Any = _ann()  # a branch var's initial value that reads the new branch: the symbol of 'new'


@dataclass
class FuncParam:
    name: str
    type: TypeRef
    span: Span = _meta()
    ref: Any = _ann()


@dataclass
class FuncDef:
    """``def NAME(ARG: TYPE, ...) -> TYPE = EXPR`` or ``... -> TYPE { lets, ifs, return }``.
    The expression form's body is ``[Return(EXPR)]`` (``expr_bodied``)."""

    name: str
    params: list  # list[FuncParam]
    ret: TypeRef
    body: list
    expr_bodied: bool = False
    span: Span = _meta()
    name_span: Span = _meta()
    ref: Any = _ann()  # its checker.FuncInfo


@dataclass
class Program:
    name: str
    params: list
    vars: list
    branch_vars: list
    body: list
    span: Span = _meta()
    name_span: Span = _meta()
    source: str = field(default="", compare=False, repr=False)
    file: str = field(default="<program>", compare=False, repr=False)
    comments: list = field(default_factory=list, compare=False, repr=False)
    funcs: list = field(default_factory=list)  # list[FuncDef], in source order


def walk(node, in_order: bool = False):
    """Yield ``node`` and every AST node below it (expressions, statements, queries,
    including a query's ``source``). ``in_order``: depth-first in source order (a node
    before its children, children left to right); otherwise in an unspecified order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n is None:
            continue
        if isinstance(n, (list, tuple)):
            stack.extend(reversed(n))
            continue
        if not isinstance(n, (Expr, Stmt, Query, Param, VarDecl, FuncDef, Program)):
            continue
        yield n
        for name in (reversed(n.__dataclass_fields__) if in_order else n.__dataclass_fields__):
            if name in ("span", "ty", "ref", "file", "comments", "name_span",
                        "func_span", "var_span", "bind_span", "text", "yes_span", "no_span",
                        "yes_ref", "no_ref"):
                continue
            v = getattr(n, name)
            if isinstance(v, (Expr, Stmt, Query, list, tuple)):
                stack.append(v)
