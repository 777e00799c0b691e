"""Diagnostics: the one error type every stage reports to users (and to LLMs, as JSON).

A diagnostic names file:line:col, shows the source line with a caret, says what was
expected and found, and gives a hint where one is possible.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Span:
    """A source range; lines and columns are 1-based, ``end_col`` is exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int

    @staticmethod
    def point(line: int, col: int) -> "Span":
        return Span(line, col, line, col + 1)

    def to(self, other: "Span") -> "Span":
        return Span(self.line, self.col, other.end_line, other.end_col)


NOWHERE = Span(1, 1, 1, 2)


@dataclass
class Diagnostic:
    code: str
    message: str
    span: Span = NOWHERE
    severity: str = "error"  # "error" | "warning" | "note"
    hint: str | None = None
    expected: str | None = None
    found: str | None = None
    stage: str = "check"  # parse | check | schedule | params | runtime | store
    file: str = "<program>"

    def to_dict(self) -> dict:
        d = {
            "stage": self.stage,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.span.line,
            "col": self.span.col,
            "end": {"line": self.span.end_line, "col": self.span.end_col},
            "hint": self.hint,
        }
        if self.expected is not None:
            d["expected"] = self.expected
        if self.found is not None:
            d["found"] = self.found
        return d

    def render(self, source: str | None = None) -> str:
        head = f"{self.file}:{self.span.line}:{self.span.col}: {self.severity}[{self.code}]: {self.message}"
        out = [head]
        if source is not None:
            lines = source.splitlines()
            if 1 <= self.span.line <= len(lines):
                text = lines[self.span.line - 1].expandtabs(1)
                num = str(self.span.line)
                pad = " " * len(num)
                width = 1
                if self.span.end_line == self.span.line:
                    width = max(1, self.span.end_col - self.span.col)
                width = min(width, max(1, len(text) - self.span.col + 1))
                out.append(f" {num} | {text}")
                out.append(f" {pad} | {' ' * (self.span.col - 1)}{'^' * width}")
        if self.expected is not None or self.found is not None:
            parts = []
            if self.expected is not None:
                parts.append(f"expected {self.expected}")
            if self.found is not None:
                parts.append(f"found {self.found}")
            out.append("  " + ", ".join(parts))
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


@dataclass
class DiagnosticsError(Exception):
    """Raised by a stage when user input has errors. Carries every diagnostic found."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    source: str | None = None

    def __post_init__(self):
        Exception.__init__(self, self.render())

    def __reduce__(self):  # picklable across worker processes
        return (type(self), (self.diagnostics, self.source))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def render(self) -> str:
        return "\n\n".join(d.render(self.source) for d in self.diagnostics)

    def to_json(self) -> str:
        return json.dumps([d.to_dict() for d in self.diagnostics], indent=2)


def did_you_mean(name: str, candidates) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return None


__all__ = ["Span", "Diagnostic", "DiagnosticsError", "did_you_mean", "NOWHERE", "asdict"]
