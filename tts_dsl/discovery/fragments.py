"""The fragment library of the offline ``evolve`` proposer: statements, blocks and
expressions mined from every program it may start from (the seed programs and the valid
candidates), indexed by kind, type and free names.

A :class:`Fragment` is a piece of source text (dedented) with what a transplant needs to
know to put it elsewhere: the names it uses but does not declare (with their types, and
the donor's declaration when the name is a param or a ``var``), the branch variables it
reads or writes, the names it declares, and whether it needs an enclosing loop (a
``break`` or ``continue`` not inside a loop of its own). :mod:`.mutations` inserts
fragments and fixes their free names up against the target's scope.

Only the public AST (:mod:`tts_dsl.lang.ast`) and checked programs are used: the checker
annotates names with their symbols (``ref``) and expressions with their types (``ty``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..lang import ast as A

STMT_KINDS = (A.Let, A.Assign, A.If, A.For, A.Repeat, A.Action, A.AnswerStmt, A.Break, A.Continue)
BLOCK_KINDS = (A.If, A.For, A.Repeat)
EXPR_TYPES = ("bool", "int", "float", "answer", "list[answer]", "list[branch]", "list[int]", "list[float]",
              "votes", "weighted_votes")


class Src:
    """Source text with line/col -> offset conversion (spans are 1-based, end exclusive)."""

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

    def indent(self, sp) -> str | None:
        """The indentation of the node's first line, or None if something precedes the node
        on its line or follows it on its last line (the node is not on lines of its own)."""
        a, b = self.line_range(sp)
        first = self.text[a:self.off(sp.line, sp.col)]
        if first.strip() or self.text[self.off(sp.end_line, sp.end_col):b].strip():
            return None
        return first

    def stmt_text(self, sp) -> str | None:
        """A statement on lines of its own, dedented (None if it shares a line)."""
        ind = self.indent(sp)
        if ind is None:
            return None
        a, b = self.line_range(sp)
        lines = self.text[a:b].rstrip("\n").split("\n")
        n = len(ind)
        return "\n".join(ln[n:] if ln[:n].strip() == "" else ln.lstrip() for ln in lines)


def walk(node):
    """Every AST node below ``node`` in source order (:func:`tts_dsl.lang.ast.walk`)."""
    return A.walk(node, in_order=True)


def within(inner, outer) -> bool:
    return (inner.line, inner.col) >= (outer.line, outer.col) and \
        (inner.end_line, inner.end_col) <= (outer.end_line, outer.end_col)


@dataclass
class Fragment:
    kind: str  # "stmt" | "expr"
    node: str  # the AST class name (If, Let, For, ..., or the expression's class)
    text: str
    origin: str  # the id of the program it was mined from
    ty: str | None = None  # expressions: the checked type
    free: dict = field(default_factory=dict)  # name -> type (names used, declared outside)
    free_bvars: dict = field(default_factory=dict)  # branch var name -> type
    decls: dict = field(default_factory=dict)  # free name / branch var -> the donor's declaration
    defines: list = field(default_factory=list)  # names the fragment declares at its top level
    needs_loop: bool = False  # break/continue outside any loop of the fragment
    gate: bool = False  # an if that answers: a stopping gate
    answers: bool = False

    @property
    def is_block(self) -> bool:
        return self.node in ("If", "For", "Repeat")


def _decl_text(src: Src, node) -> str | None:
    t = src.get(node.span).strip()
    return t or None


def _declarations(checked, src: Src) -> dict:
    """name -> (kind, declaration text) for the program's params, vars and branch vars."""
    prog = checked.program
    out = {}
    for p in prog.params:
        out[p.name] = ("param", _decl_text(src, p))
    for v in prog.vars:
        out[v.name] = ("var", _decl_text(src, v))
    for v in prog.branch_vars:
        out[v.name] = ("bvar", _decl_text(src, v))
    return out


def _lets(checked, src: Src) -> dict:
    """name -> the first ``let`` declaring it (own lines only)."""
    out = {}
    for n in walk(checked.program.body):
        if isinstance(n, A.Let) and n.name not in out and src.stmt_text(n.span) is not None:
            out[n.name] = n
    return out


def free_names(node, span, bvar_names) -> tuple[dict, dict]:
    """Names used in ``node`` whose symbols are declared outside ``span`` (state names
    excluded), and the branch variables it reads or writes, each with its type."""
    free, bvars = {}, {}
    for n in walk(node):
        if isinstance(n, A.Name):
            s = n.ref
            if s is None or s.kind in ("state", "beta"):
                continue
            if not within(s.span, span):
                free.setdefault(n.id, str(s.ty))
        elif isinstance(n, A.Attr) and n.name in bvar_names:
            bvars.setdefault(n.name, bvar_names[n.name])
        elif isinstance(n, A.Assign) and isinstance(n.target, A.Attr) and n.target.name in bvar_names:
            bvars.setdefault(n.target.name, bvar_names[n.target.name])
    return free, bvars


def _needs_loop(node) -> bool:
    """A break/continue in ``node`` that no loop inside ``node`` encloses."""
    def go(n, in_loop):
        if isinstance(n, (A.Break, A.Continue)):
            return not in_loop
        if isinstance(n, (A.For, A.Repeat)):
            return any(go(s, True) for s in n.body)
        if isinstance(n, A.If):
            return any(go(s, in_loop) for _, body in n.arms for s in body) or \
                any(go(s, in_loop) for s in (n.orelse or []))
        if isinstance(n, A.Action) and n.on_exhausted:
            return any(go(s, in_loop) for s in n.on_exhausted)
        return False
    return go(node, False)


def stmt_fragment(checked, st, origin: str, src: Src | None = None, depth: int = 0) -> Fragment | None:
    """The statement as a fragment. A free name declared by a ``let`` of the donor gets
    that ``let`` as its declaration: ("let", text, its own fragment), so a transplant can
    import it with its names fixed up too (to ``depth`` 3)."""
    src = src or Src(checked.source)
    text = src.stmt_text(st.span)
    if text is None:
        return None
    bvar_names = {v.name: str(v.ty) for v in checked.branch_vars}
    free, bvars = free_names(st, st.span, bvar_names)
    decls = _declarations(checked, src)
    lets = _lets(checked, src)
    need = {}
    for name in list(free) + list(bvars):
        if name in decls and decls[name][1]:
            need[name] = decls[name]
        elif name in lets and lets[name] is not st:
            sub = stmt_fragment(checked, lets[name], origin, src, depth + 1) if depth < 3 else None
            need[name] = ("let", src.stmt_text(lets[name].span), sub)
    defines = [st.name] if isinstance(st, A.Let) else ([st.bind] if isinstance(st, A.Action) and st.bind else [])
    answers = any(isinstance(n, A.AnswerStmt) for n in walk(st))
    return Fragment("stmt", type(st).__name__, text, origin, None, free, bvars, need, defines, _needs_loop(st),
                    isinstance(st, A.If) and answers, answers)


def expr_fragment(checked, e, origin: str, src: Src | None = None) -> Fragment | None:
    src = src or Src(checked.source)
    if e.ty is None:
        return None
    text = src.get(e.span)
    if "\n" in text or not text.strip():
        return None
    bvar_names = {v.name: str(v.ty) for v in checked.branch_vars}
    free, bvars = free_names(e, e.span, bvar_names)
    decls = _declarations(checked, src)
    need = {n: decls[n] for n in list(free) + list(bvars) if n in decls and decls[n][1]}
    return Fragment("expr", type(e).__name__, text, origin, str(e.ty), free, bvars, need)


def statements(body):
    """Every statement in a body, nested ones included (with their blocks)."""
    return [n for n in walk(body) if isinstance(n, STMT_KINDS)]


class FragmentLibrary:
    """Fragments of many programs, indexed by kind (statement class) and by type
    (expressions). The same text mined from several programs is kept once, from the
    program with the smallest id, and queries list fragments by text: the library depends
    only on the set of programs mined, not on their order (a resumed run proposes what a
    straight run does)."""

    def __init__(self):
        self._stmts: dict = {}  # text -> Fragment
        self._exprs: dict = {}  # (type, text) -> Fragment
        self._sorted: dict | None = None
        self.programs: set = set()

    def __len__(self) -> int:
        return len(self._stmts) + len(self._exprs)

    @staticmethod
    def _keep(table: dict, key, f: Fragment) -> None:
        old = table.get(key)
        if old is None or f.origin < old.origin:
            table[key] = f

    def add_program(self, pid: str, checked) -> None:
        if pid in self.programs:
            return
        self.programs.add(pid)
        self._sorted = None
        src = Src(checked.source)
        for st in statements(checked.program.body):
            f = stmt_fragment(checked, st, pid, src)
            if f is not None:
                self._keep(self._stmts, f.text, f)
        for e in walk(checked.program.body):
            if not isinstance(e, A.Expr) or isinstance(e, (A.Num, A.Bool, A.NoneLit)):
                continue
            f = expr_fragment(checked, e, pid, src)
            if f is not None and f.ty in EXPR_TYPES:
                self._keep(self._exprs, (f.ty, f.text), f)

    def _index(self) -> dict:
        if self._sorted is None:
            stmts: dict = {}
            for text in sorted(self._stmts):
                f = self._stmts[text]
                stmts.setdefault(f.node, []).append(f)
            exprs: dict = {}
            for key in sorted(self._exprs):
                exprs.setdefault(key[0], []).append(self._exprs[key])
            self._sorted = {"stmts": stmts, "exprs": exprs}
        return self._sorted

    @property
    def stmts(self) -> dict:
        return self._index()["stmts"]

    @property
    def exprs(self) -> dict:
        return self._index()["exprs"]

    def statements(self, kinds=None, gates: bool | None = None) -> list[Fragment]:
        out = [f for k, fs in sorted(self.stmts.items()) if kinds is None or k in kinds for f in fs]
        if gates is not None:
            out = [f for f in out if f.gate == gates]
        return out

    def expressions(self, ty: str, names: dict | None = None) -> list[Fragment]:
        """Expressions of type ``ty``; with ``names`` (name -> type in scope), only those whose
        free names are all in scope with the same type and that use no branch variable."""
        out = self.exprs.get(ty, [])
        if names is not None:
            out = [f for f in out if not f.free_bvars and all(names.get(n) == t for n, t in f.free.items())]
        return out

    def summary(self) -> dict:
        return {"programs": len(self.programs), "statements": {k: len(v) for k, v in sorted(self.stmts.items())},
                "expressions": {k: len(v) for k, v in sorted(self.exprs.items())}}
