"""Resource limits for programs. Every limit has a safe default, is configurable, and has
its own diagnostic code (L0xx) so a user or an LLM knows exactly which one was hit."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from .diagnostics import Diagnostic, Reporter, Span


@dataclass(frozen=True)
class Limits:
    max_source_chars: int = 100_000   # L001
    max_nesting: int = 64             # L002: brackets and blocks, checked before parsing
    max_expr_depth: int = 100         # L003: depth of one expression tree
    max_statements: int = 2_000       # L004
    max_loop_bound: int = 100_000     # L005: a repeat/range bound (static and at run time)
    max_actions: int = 50_000         # L006: actions per episode (the episode ends: action_cap)
    max_steps: int = 2_000_000        # L007: loop iterations per episode (the episode ends: step_cap)
    max_list_len: int = 100_000       # L008: length of any list value at run time
    max_seconds: float | None = 900.0  # L009: wall clock per evaluation (one program on one store)
    max_list_literal: int = 16        # L012: elements of one list literal (constant data a program carries)
    max_literals: int = 200           # L012: number literals in one program
    max_episode_cells: int = 1_000_000  # L013: list elements held by an episode's vars and branch vars at run time

    MAX_SECONDS = 10_000_000.0  # about 116 days: beyond, timers and deadlines overflow

    def __post_init__(self):
        s = self.max_seconds
        if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s)
                              or not 0 <= s <= self.MAX_SECONDS):
            raise ValueError(f"max_seconds must be a number of seconds from 0 up to {self.MAX_SECONDS:,.0f} "
                             f"(or None for no cap), got {s!r}")

    def with_(self, **kw) -> "Limits":
        return replace(self, **kw)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def check_source(self, source: str, file: str) -> list[Diagnostic]:
        report = Reporter(file, "parse")
        if len(source) > self.max_source_chars:
            report.source_too_long(Span.point(1, 1), len(source), self.max_source_chars)
            return report.diagnostics
        depth = 0
        line, col = 1, 0
        in_comment = in_string = False
        for ch in source:
            col += 1
            if ch == "\n":
                line, col = line + 1, 0
                in_comment = in_string = False
                continue
            if in_comment:
                continue
            if ch == '"':
                in_string = not in_string
            if in_string:
                continue
            if ch == "#":
                in_comment = True
            elif ch in "([{":
                depth += 1
                if depth > self.max_nesting:
                    report.nested_too_deep(Span.point(line, col), "brackets", self.max_nesting)
                    return report.diagnostics
            elif ch in ")]}":
                depth = max(0, depth - 1)
        return []
