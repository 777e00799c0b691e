"""The language reference shown to proposers, generated from the grammar file and the
built-in registry at run time, so it can never drift from the implementation."""

from __future__ import annotations

import re


def _grammar_rules() -> str:
    from ..lang.parser import grammar_text

    text = grammar_text()
    lines = []
    for ln in text.splitlines():
        s = ln.rstrip()
        if s.lstrip().startswith("//") and not lines:
            continue  # the file's header comment
        if s.startswith("%"):
            continue
        lines.append(s)
    out = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", out)


def language_reference() -> str:
    from ..lang import builtins as B
    from ..lang.parser import DIRECTIONS, KEYWORDS, SORT_ORDERS
    from ..lang.types import RECORDS

    parts = ["## The .tts language", "",
             "A program is `controller NAME`, then declarations (`params { ... }`, `var x: T = v`, "
             "`branch var x: T = v` for one value per branch, read and written as `b.x`), then statements. "
             "Newlines end statements; blocks use braces; `#` starts a comment. "
             "Every `repeat` and `for` loop is bounded (constant or param bounds, or a list). Every path "
             "must end with `answer`. Params are knobs computed from `beta` in [0, 1] (the budget dial); "
             f"a direction ({', '.join(DIRECTIONS)}) is a monotonicity claim in beta that is checked; "
             "`in [lo, hi]` declares a range that every beta must respect. "
             "Pure functions: `def f(x: int, xs: list[answer]) -> float = EXPR`, or a block of `let`, `if` and "
             "`return` (no actions, no recursion; a function sees only its arguments). Answer-keyed maps: "
             "`var w: map[answer, float]` starts empty, `w[a]` reads 0 for a missing key, `w[a] += x`, "
             "`keys(w)`, `argmax(w)`. Junk probe answers (`ERR`, `?`, empty) are answers to votes; "
             "`valid(a)` and `real(xs)` tell them apart. `repeat n max 8` runs a count computed now, "
             "capped by a constant; `if open as b { ... } else { ... }` tests an action's success; "
             "`sorted by k1 desc, k2` takes several keys; `let yes, no = partition x in xs by COND` "
             "splits a list in one pass.", "",
             "### Grammar (Lark, LALR)", "", "```", _grammar_rules(), "```", "",
             f"Keywords: {', '.join(sorted(KEYWORDS))}. Sort orders: {', '.join(SORT_ORDERS)}.", "",
             "### Actions", ""]
    for k, doc in B.ACTION_DOCS.items():
        parts.append(f"- {doc}")
    parts += ["", "### State (read-only)", ""]
    for s in B.STATE.values():
        parts.append(f"- `{s.name}: {s.ty}`: {s.doc}")
    parts += ["", "### Branch attributes (`b.NAME` for a branch b)", ""]
    for a in B.BRANCH_ATTRS.values():
        parts.append(f"- `{a.name}: {a.ty}`: {a.doc}")
    parts += ["", "### Functions", ""]
    for f in B.FUNCTIONS.values():
        extra = " Usable in params." if f.schedule_ok else ""
        parts.append(f"- `{f.signature}`: {f.doc}{extra}")
    parts += ["", "### Records", ""]
    for ty, fields in RECORDS.items():
        parts.append(f"- `{ty}`: " + ", ".join(f"`.{n}: {t}`" for n, (_, t) in fields.items()))
    parts += ["", "### Not visible to a controller", ""]
    for n, why in {**B.HIDDEN_NAMES, **{f'b.{k}': v for k, v in B.HIDDEN_ATTRS.items()}}.items():
        parts.append(f"- `{n}`: {why}")
    return "\n".join(parts)
