"""The editor analysis (what the language server answers) inside user functions."""

from __future__ import annotations

from tts_dsl.faces.analysis import analyze, completions, document_symbols, hover

SRC = """controller t
def lead(xs: list[answer], margin: int) -> answer {
  let v = votes(xs)
  return v.winner if v.top1 - v.top2 >= margin else none
}
def half(n: int) -> int = n // 2
repeat 4 { open else break }
answer lead([b.latest for b in branches], half(2))
"""


def _pos(text: str, line: int) -> tuple[int, int]:
    return line, SRC.splitlines()[line - 1].index(text) + 1


def test_functions_their_args_and_their_lets_are_declared_and_resolved():
    an = analyze(SRC)
    assert [d for d in an.diagnostics if d["severity"] == "error"] == []
    kinds = {(d.name, d.kind) for d in an.decls}
    assert {("lead", "function"), ("half", "function"), ("xs", "arg"), ("margin", "arg"), ("n", "arg"),
            ("v", "let")} <= kinds
    # a call names its function's declaration; an arg used in the body names the arg
    call = an.at(*_pos("lead(", 8))
    assert call.kind == "ref" and call.decl.kind == "function" and call.decl.span.line == 2
    use = an.at(*_pos("margin else", 4))
    assert use.kind == "ref" and use.decl.kind == "arg" and use.decl.span.line == 2
    body_let = an.at(*_pos("v.winner", 4))
    assert body_let.decl.kind == "let" and body_let.decl.span.line == 3
    text, _ = hover(an, *_pos("half(2)", 8))
    assert "half: (n: int) -> int" in text and "function" in text
    assert [d.name for d in document_symbols(an)] == ["lead", "v", "half"]
    assert any(c.label == "half" and c.kind == "function" for c in completions(an, 8, 1))
