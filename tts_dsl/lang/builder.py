"""Parse tree -> AST. A non-recursive Lark transformer: deep inputs cannot exhaust the
Python stack here; the expression depth limit is enforced right after building."""

from __future__ import annotations

from lark import Token, Transformer_NonRecursive, v_args

from . import ast as A
from .diagnostics import NOWHERE, Diagnostic, DiagnosticsError, Reporter, Span
from .limits import Limits
from .parser import DIRECTIONS, SORT_ORDERS, parse_tree


def _span(meta) -> Span:
    if meta.empty:  # lark's Meta has positions only when it is not empty
        return Span(1, 1, 1, 2)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tspan(tok: Token) -> Span:
    return Span(tok.line, tok.column, tok.end_line or tok.line, tok.end_column or tok.column + len(tok))


class _Params(list):
    pass


class _Tail(tuple):
    pass


@v_args(meta=True)
class _Builder(Transformer_NonRecursive):
    def __init__(self, file: str = "<program>"):
        super().__init__()
        self.report = Reporter(file, "parse")

    # ---------------------------------------------------------------- program
    def start(self, meta, ch):
        name_tok = ch[0]
        params, vars_, bvars, body, funcs = [], [], [], [], []
        for c in ch[1:]:
            if isinstance(c, A.FuncDef):
                funcs.append(c)
            elif isinstance(c, _Params):
                params.extend(c)
            elif isinstance(c, A.VarDecl):
                (bvars if c.per_branch else vars_).append(c)
            else:
                body.append(c)
        return A.Program(str(name_tok), params, vars_, bvars, body, span=_span(meta),
                         name_span=_tspan(name_tok), funcs=funcs)

    def header(self, meta, ch):
        return ch[0]

    def params_block(self, meta, ch):
        return _Params(ch)

    def param(self, meta, ch):
        name, ty, direction, rng, value = ch
        lo, hi = rng if rng else (None, None)
        return A.Param(str(name), ty, direction, lo, hi, value, span=_span(meta), name_span=_tspan(name))

    def direction(self, meta, ch):
        word = str(ch[0])
        if word not in DIRECTIONS:
            self.report.unknown_direction(_tspan(ch[0]), word, DIRECTIONS)
        return word

    def range(self, meta, ch):
        return (ch[0], ch[1])

    def var_decl(self, meta, ch):
        return A.VarDecl(str(ch[0]), ch[1], ch[2], False, span=_span(meta), name_span=_tspan(ch[0]))

    def branch_var_decl(self, meta, ch):
        return A.VarDecl(str(ch[0]), ch[1], ch[2], True, span=_span(meta), name_span=_tspan(ch[0]))

    def func_decl(self, meta, ch):
        name, *params, ret, (body, expr_bodied) = ch
        return A.FuncDef(str(name), [p for p in params if p is not None], ret, body, expr_bodied,
                         span=_span(meta), name_span=_tspan(name))

    def func_param(self, meta, ch):
        return A.FuncParam(str(ch[0]), ch[1], span=_tspan(ch[0]))

    def func_expr(self, meta, ch):
        return ([A.Return(ch[0], span=ch[0].span)], True)

    def func_body(self, meta, ch):
        return (ch[0], False)

    def func_block(self, meta, ch):
        return list(ch)

    def func_if(self, meta, ch):
        return self.if_stmt(meta, ch)

    def func_elif(self, meta, ch):
        return self.elif_clause(meta, ch)

    def func_else(self, meta, ch):
        return self.else_block(meta, ch)

    def return_stmt(self, meta, ch):
        return A.Return(ch[0], span=_span(meta))

    def simple_type(self, meta, ch):
        return A.TypeRef(str(ch[0]), None, span=_span(meta))

    def branch_type(self, meta, ch):
        return A.TypeRef("branch", None, span=_span(meta))

    def answer_type(self, meta, ch):
        return A.TypeRef("answer", None, span=_span(meta))

    def map_type(self, meta, ch):
        return A.TypeRef(str(ch[0]), ch[1], span=_span(meta), val=ch[2])

    def assign_key(self, meta, ch):
        return A.SetKey(A.Name(str(ch[0]), span=_tspan(ch[0])), ch[1], ch[2], "=", span=_span(meta))

    def add_key(self, meta, ch):
        return A.SetKey(A.Name(str(ch[0]), span=_tspan(ch[0])), ch[1], ch[2], "+=", span=_span(meta))

    def generic_type(self, meta, ch):
        return A.TypeRef(str(ch[0]), ch[1], span=_span(meta))

    # ------------------------------------------------------------- statements
    def block(self, meta, ch):
        return list(ch)

    def let_stmt(self, meta, ch):
        return A.Let(str(ch[0]), ch[1], ch[2], span=_span(meta), name_span=_tspan(ch[0]))

    def partition_stmt(self, meta, ch):
        yes, no, var, src, cond = ch
        q = A.Query(str(var), src, cond, span=_span(meta), var_span=_tspan(var))
        return A.Partition(str(yes), str(no), q, span=_span(meta), yes_span=_tspan(yes), no_span=_tspan(no))

    def assign_name(self, meta, ch):
        return A.Assign(A.Name(str(ch[0]), span=_tspan(ch[0])), ch[1], span=_span(meta))

    def assign_attr(self, meta, ch):
        obj = A.Name(str(ch[0]), span=_tspan(ch[0]))
        target = A.Attr(obj, str(ch[1]), span=_tspan(ch[0]).to(_tspan(ch[1])), name_span=_tspan(ch[1]))
        return A.Assign(target, ch[2], span=_span(meta))

    def if_stmt(self, meta, ch):
        arms = [(ch[0], ch[1])]
        orelse = None
        for c in ch[2:]:
            if isinstance(c, tuple) and len(c) == 3 and c[0] == "elif":
                arms.append((c[1], c[2]))
            elif c is not None:
                orelse = c[1]
        return A.If(arms, orelse, span=_span(meta))

    def elif_clause(self, meta, ch):
        return ("elif", ch[0], ch[1])

    def else_block(self, meta, ch):
        return ("else", ch[0])

    def for_stmt(self, meta, ch):
        var, src, tail, body = ch
        q = self._query(var, src, tail, meta)
        return A.For(q, body, span=_span(meta))

    def repeat_stmt(self, meta, ch):
        count, word, bound, var, body = ch
        if word is not None and str(word) != "max":
            self.report.unknown_repeat_word(_tspan(word), str(word))
        return A.Repeat(count, str(var) if var else None, body, span=_span(meta),
                        var_span=_tspan(var) if var else _span(meta), bound=bound)

    def _action(self, kind, meta, target, bind, on_ex):
        return A.Action(kind, target, str(bind) if bind else None, on_ex, span=_span(meta),
                        bind_span=_tspan(bind) if bind else _span(meta))

    def open_stmt(self, meta, ch):
        return self._action("open", meta, None, ch[0], ch[1])

    def read_stmt(self, meta, ch):
        return self._action("read", meta, None, ch[0], ch[1])

    def advance_stmt(self, meta, ch):
        return self._action("advance", meta, ch[0], None, ch[1])

    def prune_stmt(self, meta, ch):
        return self._action("prune", meta, ch[0], None, ch[1])

    def if_action_stmt(self, meta, ch):
        act, then, orelse = ch
        act.then = then
        act.on_exhausted = orelse[1] if orelse is not None else None
        act.span = _span(meta)
        return act

    def cond_open(self, meta, ch):
        return self._action("open", meta, None, ch[0], None)

    def cond_read(self, meta, ch):
        return self._action("read", meta, None, ch[0], None)

    def cond_advance(self, meta, ch):
        return self._action("advance", meta, ch[0], None, None)

    def cond_prune(self, meta, ch):
        return self._action("prune", meta, ch[0], None, None)

    def on_exhausted(self, meta, ch):
        return ch[0]

    def on_exhausted_stmt(self, meta, ch):
        return [ch[0]]

    def answer_stmt(self, meta, ch):
        return A.AnswerStmt(ch[0], span=_span(meta))

    def break_stmt(self, meta, ch):
        return A.Break(span=_span(meta))

    def continue_stmt(self, meta, ch):
        return A.Continue(span=_span(meta))

    def pass_stmt(self, meta, ch):
        return A.Pass(span=_span(meta))

    def trace_stmt(self, meta, ch):
        label = str(ch[0])[1:-1]
        fields = ch[1] or []
        return A.Trace(label, fields, span=_span(meta))

    def trace_record(self, meta, ch):
        return [c for c in ch if c is not None]

    def trace_field(self, meta, ch):
        return (str(ch[0]), ch[1])

    # ---------------------------------------------------------------- queries
    def query_tail(self, meta, ch):
        return _Tail(ch)

    def where_clause(self, meta, ch):
        return ch[0]

    def sort_clause(self, meta, ch):
        return list(ch)

    def sort_key(self, meta, ch):
        word = str(ch[1]) if ch[1] is not None else "asc"
        if word not in SORT_ORDERS:
            self.report.unknown_sort_order(_tspan(ch[1]), word, SORT_ORDERS)
        return (ch[0], word == "desc")

    def take_clause(self, meta, ch):
        return ch[0]

    def _query(self, var, src, tail, meta):
        where, sort, take = tail
        key, desc = sort[0] if sort else (None, False)
        return A.Query(str(var), src, where, key, desc, take, span=_span(meta), var_span=_tspan(var),
                       then_by=sort[1:] if sort else [])

    # ------------------------------------------------------------ expressions
    def ifexp(self, meta, ch):
        return A.IfExp(ch[1], ch[0], ch[2], span=_span(meta))

    def or_op(self, meta, ch):
        return A.BoolOp("or", ch[0], ch[1], span=_span(meta))

    def and_op(self, meta, ch):
        return A.BoolOp("and", ch[0], ch[1], span=_span(meta))

    def not_op(self, meta, ch):
        return A.Unary("not", ch[0], span=_span(meta))

    def compare(self, meta, ch):
        return A.Compare(str(ch[1]), ch[0], ch[2], span=_span(meta))

    def in_op(self, meta, ch):
        return A.Compare("in", ch[0], ch[1], span=_span(meta))

    def not_in_op(self, meta, ch):
        return A.Compare("not in", ch[0], ch[1], span=_span(meta))

    def _bin(op):  # noqa: N805
        def f(self, meta, ch):
            return A.BinOp(op, ch[0], ch[1], span=_span(meta))
        return f

    add = _bin("+")
    sub = _bin("-")
    mul = _bin("*")
    div = _bin("/")
    floordiv = _bin("//")
    mod = _bin("%")
    del _bin

    def neg(self, meta, ch):
        return A.Unary("-", ch[0], span=_span(meta))

    def pos(self, meta, ch):
        return A.Unary("+", ch[0], span=_span(meta))

    def attr(self, meta, ch):
        return A.Attr(ch[0], str(ch[1]), span=_span(meta), name_span=_tspan(ch[1]))

    def index(self, meta, ch):
        return A.Index(ch[0], ch[1], span=_span(meta))

    def slice(self, meta, ch):
        return A.Slice(ch[0], ch[1], ch[2], span=_span(meta))

    def int_lit(self, meta, ch):
        text = str(ch[0])
        if len(text) > 1000:  # int() refuses > 4300 digits; the checker allows 15 anyway
            self.report.bad_number(_span(meta), "too_many_digits", digits=len(text))
            return A.Num(0, text[:20] + "...", span=_span(meta))
        return A.Num(int(text), text, span=_span(meta))

    def float_lit(self, meta, ch):
        return A.Num(float(ch[0]), str(ch[0]), span=_span(meta))

    def true_lit(self, meta, ch):
        return A.Bool(True, span=_span(meta))

    def false_lit(self, meta, ch):
        return A.Bool(False, span=_span(meta))

    def none_lit(self, meta, ch):
        return A.NoneLit(span=_span(meta))

    def name(self, meta, ch):
        return A.Name(str(ch[0]), span=_span(meta))

    def call(self, meta, ch):
        args = [c for c in ch[1:] if c is not None]
        return A.Call(str(ch[0]), args, span=_span(meta), func_span=_tspan(ch[0]))

    def list_lit(self, meta, ch):
        return A.ListLit([c for c in ch if c is not None], span=_span(meta))

    def comprehension(self, meta, ch):
        elt, var, src, tail = ch
        return A.Comprehension(elt, self._query(var, src, tail, meta), span=_span(meta))


def _depth_check(prog: A.Program, limits: Limits) -> list[Diagnostic]:
    """Iteratively measure statement nesting, expression depth and statement count."""
    report = Reporter(prog.file, "parse")
    n_stmts = n_literals = 0
    # (node, expr_depth, block_depth)
    stack = [(s, 0, 1) for s in prog.body]
    for d in prog.params + prog.vars + prog.branch_vars:
        stack.append((d, 0, 0))
    while stack:
        node, ed, bd = stack.pop()
        if isinstance(node, A.Stmt):
            n_stmts += 1
            if bd > limits.max_nesting:
                report.nested_too_deep(node.span, "blocks", limits.max_nesting)
                break
        if isinstance(node, A.Expr) and ed > limits.max_expr_depth:
            report.expression_too_deep(node.span, limits.max_expr_depth)
            break
        if isinstance(node, A.Num):
            n_literals += 1
        elif isinstance(node, A.ListLit) and len(node.items) > limits.max_list_literal:
            report.constant_data(node.span, "list", len(node.items), limits.max_list_literal)
            break
        for fname in node.__dataclass_fields__:
            if fname in ("span", "ty", "ref", "name_span", "func_span", "var_span", "bind_span", "yes_span",
                         "no_span", "yes_ref", "no_ref"):
                continue
            v = getattr(node, fname)
            items = v if isinstance(v, list) else [v]
            for it in items:
                if isinstance(it, tuple):
                    sub = list(it)
                else:
                    sub = [it]
                for x in sub:
                    if isinstance(x, list):
                        for s in x:
                            if isinstance(s, A.Stmt):
                                stack.append((s, 0, bd + 1))
                    elif isinstance(x, A.Stmt):
                        stack.append((x, 0, bd + 1))
                    elif isinstance(x, (A.Expr, A.Query)):
                        stack.append((x, ed + 1, bd))
    if not report.diagnostics and n_stmts > limits.max_statements:
        report.too_many_statements(prog.name_span, n_stmts, limits.max_statements)
    if not report.diagnostics and n_literals > limits.max_literals:
        report.constant_data(prog.name_span, "total", n_literals, limits.max_literals)
    return report.diagnostics


def parse_program(source: str, file: str = "<program>", limits: Limits | None = None) -> A.Program:
    """Text -> AST. Raises :class:`DiagnosticsError` with positioned diagnostics."""
    limits = limits or Limits()
    tree, comments = parse_tree(source, file, limits)
    builder = _Builder(file)
    try:
        prog = builder.transform(tree)
    except RecursionError:  # pragma: no cover - guarded by the nesting pre-check
        raise DiagnosticsError([Reporter(file, "parse").nested_too_deep(NOWHERE, "builder")], source) from None
    if builder.report.diagnostics:
        raise DiagnosticsError(builder.report.diagnostics, source)
    prog.source = source
    prog.file = file
    prog.comments = [(c.line, c.column, str(c)) for c in comments]
    diags = _depth_check(prog, limits)
    if diags:
        raise DiagnosticsError(diags, source)
    return prog
