"""Diagnostics: the one error type every stage reports to users (and to LLMs, as JSON).

A diagnostic names file:line:col, shows the source line with a caret, says what was
expected and found, and gives a hint where one is possible.
"""

from __future__ import annotations

import functools
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
    close = _closest(name, frozenset(candidates))
    return f"did you mean '{close}'?" if close is not None else None


@functools.lru_cache(maxsize=4096)
def _closest(name: str, candidates: frozenset) -> str | None:
    """The closest candidate (difflib ranks ties by name, so the set's order does not matter);
    memoised: a program that misspells one name many times pays once."""
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return close[0] if close else None


# ------------------------------------------------------------------ the catalogue
# One method per diagnostic code (as cel-go's checker/errors.go ``typeErrors``): the code, the
# wording of its message, hint, expected and found live here and nowhere else. Stages decide
# *which* situation they are in (the ``case`` of a code with several phrasings, the operand
# descriptions such as "an index"); the catalogue decides how to say it.

KINDS: dict[str, str] = {}  # code -> name of the Reporter method that makes it


@dataclass(frozen=True)
class _Said:
    message: str
    hint: str | None = None
    expected: str | None = None
    found: str | None = None
    severity: str = "error"


def _kind(code: str):
    def register(method):
        if code in KINDS:
            raise RuntimeError(f"two constructors for {code}: {KINDS[code]} and {method.__name__}")
        KINDS[code] = method.__name__

        @functools.wraps(method)
        def report(self, span: Span, *args, **kw) -> Diagnostic:
            if self.dropped and code != "L011":  # past the cap: not even worded (did-you-mean costs)
                self.dropped += 1
                return Diagnostic(code, "(not shown: too many diagnostics)", span, stage=self.stage, file=self.file)
            said = method(self, *args, **kw)
            d = Diagnostic(code, said.message, span, severity=said.severity, hint=said.hint,
                           expected=said.expected, found=said.found, stage=self.stage, file=self.file)
            if len(self.diagnostics) < self.cap or code == "L011":
                self.diagnostics.append(d)
            else:  # 16,384 unknown names must not make 16,384 diagnostics (each renders its line)
                self.dropped += 1
                worst = "error" if any(x.severity == "error" for x in self.diagnostics + [d]) else d.severity
                self.too_many_diagnostics(span, self.cap, worst)
            return d

        return report

    return register


def _pick(table: dict, case: str, **words) -> _Said:
    """Fill the phrasing ``case`` of a code's table with ``words``."""
    message, hint, expected, found = (table[case] + (None, None, None))[:4]
    fill = (lambda t: None if t is None else t.format(**words))
    return _Said(fill(message), fill(hint), fill(expected), fill(found))


PYTHON_WORDS = {  # Python words and what to write instead
    "while": "there are no unbounded loops; use 'repeat N { ... }' or 'for i in range(N) { ... }'",
    "def": "declare functions among the declarations: def NAME(x: int) -> int = EXPR",
    "return": "end the episode with 'answer EXPR' ('return' ends a function's block only)",
    "True": "booleans are 'true' and 'false'",
    "False": "booleans are 'true' and 'false'",
    "None": "the missing answer is 'none'",
    "lambda": "there are no user functions; use a comprehension [e for x in xs where ...]",
    "import": "programs cannot import anything",
    "class": "there are no classes; declare per-branch state with 'branch var NAME: TYPE = VALUE'",
    "print": "use trace \"label\" {key: value} to record values",
    "yield": "end the episode with 'answer EXPR'",
    "with": "'with' is not part of the language",
}

_CHAR_HINTS = {"'": 'labels use double quotes: trace "label"',
               "\\": "backslashes are not part of the language",
               '"': 'string literals are only trace labels, on one line: trace "label"'}

_UNEXPECTED_TOKEN = {  # E003: case -> (message, hint)
    "token": ("unexpected {found}",),
    "open_read": ("'{word}' is an action, not a value",
                  "actions are statements: write '{word} ...' on its own line; the branch it opens is branches[-1]"),
    "action": ("'{word}' is an action, not a value", "actions are statements: write '{word} ...' on its own line"),
    "keyword": ("'{word}' is a reserved word", "choose another name"),
    "assign_for_compare": ("unexpected {found}", "use '==' to compare"),
    "colon_block": ("unexpected {found}", "blocks are written with braces: if cond {{ ... }}"),
    "python": ("unexpected {found}", "{python_hint}"),
    "two_statements": ("unexpected {found}", "one statement per line (or separate them with ';')"),
    "brace_next_line": ("unexpected {found}", "the block must start with '{{' on the same line"),
    "string_literal": ("unexpected {found}: answers have no literals",
                       "a string is only a trace label; compare answers with answers (b.latest == w), and to "
                       "leave out junk answers (\"ERR\", \"?\", empty) use valid(a) or real(xs)"),
    "late_declaration": ("'{word}' after a statement: declarations come first",
                         "move '{word} ...' above the first statement (params, var and branch var declarations "
                         "open the program); inside a block use 'let NAME = VALUE'"),
    "chained_compare": ("comparisons do not chain", "write {chain}"),
    "assign_target": ("only a name (x = ...) or a branch variable of a named branch (b.v = ...) can be assigned",
                      "{assign_hint}"),
}

_TOO_DEEP = {  # L002: case -> (message, hint)
    "brackets": ("nesting deeper than {limit} levels", "flatten the program: use 'let' for intermediate values"),
    "blocks": ("blocks nested deeper than {limit} levels", "flatten the program"),
    "parser": ("program is nested too deeply to parse", "flatten the nesting"),
    "builder": ("program is nested too deeply",),
}

_BAD_TYPE = {  # E102
    "no_element": ("list needs an element type", "write list[answer], list[int], ..."),
    "nested": ("lists of lists are not supported",),
    "argument": ("'{name}' takes no type argument",),
    "map_args": ("'{name}' takes one type argument", "a map is map[answer, int] or map[answer, float]"),
    "map_key": ("a map's keys are answers, found {name}", "write map[answer, float]"),
    "map_value": ("a map's values are int or float, found {name}", "write map[answer, float]"),
    "map_in_list": ("lists of maps are not supported",),
}

_MAP_PLACE = {  # E314: case -> (message, hint)
    "let": ("'{name}' would be a second name for a map", "maps live in vars: var NAME: map[answer, float]"),
    "assign": ("a map is changed key by key", "write {name}[KEY] = VALUE or {name}[KEY] += VALUE"),
    "value": ("a map var starts empty: it takes no initial value", "write var {name}: map[answer, float]"),
    "missing_value": ("var '{name}' needs an initial value", "write var {name}: TYPE = VALUE"),
    "bvar": ("a branch var cannot be a map", "key a map var by answer instead"),
    "trace": ("a map cannot be traced", "trace values: {name}[KEY], len({name}) or keys({name})"),
    "in_list": ("a list cannot hold a map",),
    "not_map": ("'{name}' is not a map var", "declare one: var {name}: map[answer, float]"),
}

_DUPLICATE = {  # E105: case -> (message, hint)
    "var": ("'{name}' is already declared", "rename one of them"),
    "branch_attr": ("'{name}' is a built-in branch attribute", "choose another name"),
    "bvar": ("branch var '{name}' is already declared",),
    "param": ("param '{name}' is already declared",),
    "let": ("'{name}' is already declared (line {line})", "to change it, assign: {name} = ..."),
    "bind": ("'{name}' is already declared (line {line})",),
    "loop": ("'{name}' is already declared (line {line})", "use a fresh name for the loop variable"),
    "trace_field": ("trace field '{name}' repeated",),
    "func": ("function '{name}' is already declared", "rename one of them"),
    "func_builtin": ("'{name}' is a built-in function", "choose another name"),
    "func_arg": ("argument '{name}' is already declared",),
}

_BAD_RANGE = {  # E108
    "not_literal": ("a range needs number literals", "write in [1, 128]"),
    "empty": ("empty range [{lo}, {hi}]",),
    "bool": ("a bool param has no range",),
}

_DIRECTION = {  # E109
    "missing": ("param '{name}' depends on beta but declares no direction",
                "write '{name}: {ty} increasing = ...' (or decreasing, constant)"),
    "bool": ("a bool param can only be constant",),
}

_BAD_NUMBER = {  # E110
    "not_finite": ("number literal {text} is not finite",),
    "too_large": ("integer literal {text} is too large", "use at most 15 digits"),
    "too_many_digits": ("integer literal with {digits:,} digits is too large", "use at most 15 digits"),
}

_TYPE_MISMATCH = {  # E201: case -> (message, hint, expected, found)
    "var_init": ("initial value of '{name}' has type {found}", None, "{expected}", "{found}"),
    "bvar_init": ("initial value of branch var '{name}' has type {found}", None, "{expected}", "{found}"),
    "param": ("param '{name}' is declared {expected} but its value is {found}", None, "{expected}", "{found}"),
    "param_float_for_int": ("param '{name}' is declared {expected} but its value is {found}",
                            "use round(...), floor(...) or ceil(...) to get an int", "{expected}", "{found}"),
    "let": ("'{name}' is declared {expected} but the value is {found}", None, "{expected}", "{found}"),
    "return": ("function '{name}' returns {expected} but the value is {found}", None, "{expected}", "{found}"),
    "func_arg": ("argument '{what}' of '{name}' is {expected}, found {found}", None, "{expected}", "{found}"),
    "assign": ("cannot assign {found} to '{name}' of type {expected}", None, "{expected}", "{found}"),
    "assign_bvar": ("cannot assign {found} to branch var '{name}' of type {expected}", None, "{expected}",
                    "{found}"),
    "action_target": ("'{action}' needs a branch, found {found}", None, "branch", "{found}"),
    "answer_record": ("'answer' needs an answer, found {found}", "answer the winner: answer votes(xs).winner",
                      "answer", "{found}"),
    "answer": ("'answer' needs an answer, found {found}",
               "answer an answer value, e.g. majority(completed) or b.latest", "answer", "{found}"),
    "loop_source": ("can only loop over a list, found {found}",
                    "for counted loops use repeat N {{ ... }} or range(N)", "a list", "{found}"),
    "sort_key": ("'sorted by' needs a number key, found {found}", None, "int or float", "{found}"),
    "operand": ("{what} must be {expected}, found {found}", None, "{expected}", "{found}"),
    "index": ("cannot index a {found}", None, "a list", "{found}"),
    "slice": ("cannot slice a {found}", None, "a list", "{found}"),
    "arguments": ("{message}", None, "{signature}"),
    "concatenate": ("cannot concatenate {left} and {right}",),
    "arithmetic": ("'{op}' needs numbers, found {left} and {right}", None, "int or float", "{found}"),
    "arithmetic_list": ("'{op}' needs numbers, found {left} and {right}", "lists concatenate with + ([a] + xs)",
                        "int or float", "{found}"),
    "in_not_list": ("'{op}' needs a list on the right, found {right}",),
    "in_element": ("cannot look for a {left} in a {right}",),
    "equality": ("cannot compare {left} with {right}",
                 "an answer compares with answers (or none), numbers with numbers"),
    "ordering": ("'{op}' needs numbers, found {left} and {right}", None, "numbers"),
    "unary": ("unary '{op}' needs a number, found {found}",),
    "conditional": ("the two sides of the conditional have different types: {left} and {right}",),
    "nested_list": ("lists of lists are not supported",),
    "mixed_list": ("list items have different types",),
}

_READ_ONLY = {  # E302
    "name": ("'{name}' is read-only: it is {what}", "declare your own variable with 'var' or 'let'"),
    "attribute_of": ("cannot assign to an attribute of a {owner}",),
    "branch_attr": ("'{name}' is a built-in branch attribute and is read-only",
                    "declare a per-branch variable: branch var NAME: TYPE = VALUE"),
}
READ_ONLY_KINDS = {"state": "built-in state", "param": "a param (constant during an episode)",
                   "loop": "a loop variable", "bound": "a branch binding"}

_NOT_CONSTANT_HERE = {  # E306: case -> (message, hint)
    "none": ("'none' cannot appear in a param value",),
    "name_in_param": ("'{name}' cannot appear in a param value",
                      "param values are functions of beta and earlier params only"),
    "name_in_init": ("'{name}' cannot appear in an initial value", "initial values use literals and params"),
    "expr_in_param": ("{what} cannot appear in a param value",
                      "param values use beta, earlier params, numbers and math functions"),
    "expr_in_init": ("{what} cannot appear in an initial value",),
    "call_in_param": ("'{name}' cannot appear in a param value", "allowed: {allowed}"),
    "call_in_init": ("'{name}' cannot appear in a initial value", "allowed: {allowed}"),  # sic: pinned text
    "list_reduction": ("{name} of a list cannot appear in a param value",),
    "comparison": ("comparisons cannot appear in a param value", "use min, max or clip"),
    "bool_op": ("'{op}' cannot appear in a param value",),
    "not": ("'not' cannot appear in a param value",),
    "conditional": ("conditional expressions cannot appear in a param value", "use min, max or clip"),
    "call_in_trace": ("function '{name}' cannot appear in a trace field",
                      "let its result first and trace that: let v = {name}(...)"),
    "func_in_init": ("function '{name}' cannot appear in an initial value", "it takes a branch: pass 'new.ATTR' values"),
    "name_in_func": ("'{name}' cannot appear in a function",
                     "a function sees only its arguments: pass '{name}' as an argument"),
}

_LOOP_BOUND_HINTS = {("repeat", "literal"): "lower the count", ("range", "literal"): "lower the bound",
                     ("repeat", "param"): "lower the count or the param"}


def _cut_off(n: int, episodes: int, beta, cap_name: str, cap: int) -> _Said:  # L006, L007 (smoke runs)
    return _Said(f"{n} of {episodes} smoke episodes at beta={beta} were cut off by the {cap_name} ({cap})",
                 "make sure every loop ends: break when nothing is left to advance")


class Reporter:
    """Collects the diagnostics of one stage on one file; one method per code (see ``KINDS``).

    Every method takes the span first and returns the diagnostic it recorded."""

    MAX_DIAGNOSTICS = 100  # per file and stage; then one L011 summary

    def __init__(self, file: str = "<program>", stage: str = "check", cap: int | None = None):
        self.file = file
        self.stage = stage
        self.diagnostics: list[Diagnostic] = []
        self.cap = self.MAX_DIAGNOSTICS if cap is None else cap
        self.dropped = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    # ------------------------------------------------------------ files (F)
    @_kind("F001")
    def unreadable_file(self, path, case: str, reason: str | None = None):
        return _Said({"missing": f"no such program file: {path}",
                      "directory": f"{path} is a directory, not a .tts file",
                      "os": f"cannot read {path}: {reason}"}[case])

    @_kind("F002")
    def not_utf8(self, path, byte: int):
        return _Said(f"{path} is not UTF-8 text (byte {byte})")

    # ----------------------------------------------------------- syntax (E0)
    @_kind("E001")
    def unexpected_character(self, ch: str):
        hint = _CHAR_HINTS.get(ch)
        if hint is None and ch in "@$`?!^&|~":
            hint = "operators are + - * / // %, comparisons == != < <= > >=, and/or/not"
        elif hint is None and ord(ch) > 127:
            hint = "names use ASCII letters, digits and _ only"
        return _Said(f"unexpected character {ch!r}", hint, found=repr(ch))

    @_kind("E002")
    def unexpected_end(self, expected: str | None, unclosed: bool):
        return _Said("unexpected end of file", "a block or bracket is not closed" if unclosed else None,
                     expected=expected)

    @_kind("E003")
    def unexpected_token(self, case: str, found: str, expected: str | None, word: str = "", **words):
        said = _pick(_UNEXPECTED_TOKEN, case, found=found, word=word, python_hint=PYTHON_WORDS.get(word), **words)
        return _Said(said.message, said.hint, expected=expected, found=found)

    @_kind("E004")
    def unknown_direction(self, word: str, directions):
        return _Said(f"unknown direction '{word}'", did_you_mean(word, directions),
                     expected="increasing, decreasing or constant", found=f"'{word}'")

    @_kind("E005")
    def unknown_sort_order(self, word: str, orders):
        return _Said(f"unknown sort order '{word}'", did_you_mean(word, orders), expected="asc or desc",
                     found=f"'{word}'")

    @_kind("E006")
    def unknown_repeat_word(self, word: str):
        return _Said(f"unexpected '{word}' after the repeat count", "a computed count takes a constant bound: "
                     "repeat n max 8 { ... }", expected="max", found=f"'{word}'")

    # ------------------------------------------------------ declarations (E1)
    @_kind("E101")
    def unknown_type(self, name: str, names):
        return _Said(f"unknown type '{name}'", did_you_mean(name, names),
                     expected="int, float, bool, answer, branch, votes, weighted_votes or list[...]",
                     found=f"'{name}'")

    @_kind("E102")
    def bad_type_argument(self, case: str, name: str = ""):
        return _pick(_BAD_TYPE, case, name=name)

    @_kind("E103")
    def dunder_name(self, what: str, name: str):
        return _Said(f"{what} '{name}' starts with '__'", "names starting with a double underscore are reserved")

    @_kind("E104")
    def reserved_name(self, name: str):
        if name == "beta":
            return _Said("'beta' is reserved for the schedule", "choose another name")
        return _Said(f"'{name}' is a built-in state name and cannot be redeclared", "choose another name")

    @_kind("E105")
    def duplicate(self, case: str, name: str, line: int | None = None):
        return _pick(_DUPLICATE, case, name=name, line=line)

    @_kind("E106")
    def branch_var_holds_branch(self):
        return _Said("a branch variable cannot hold a branch")

    @_kind("E107")
    def param_type(self, name: str, ty):
        return _Said(f"param '{name}' has type {ty}", expected="int, float or bool", found=str(ty))

    @_kind("E108")
    def bad_range(self, case: str, lo=None, hi=None):
        return _pick(_BAD_RANGE, case, lo=lo, hi=hi)

    @_kind("E109")
    def param_direction(self, case: str, name: str, ty=None):
        return _pick(_DIRECTION, case, name=name, ty=ty)

    @_kind("E110")
    def bad_number(self, case: str, text: str = "", digits: int = 0):
        return _pick(_BAD_NUMBER, case, text=text, digits=digits)

    # ------------------------------------------------------------ types (E2)
    @_kind("E201")
    def type_mismatch(self, case: str, expected=None, found=None, **words):
        return _pick(_TYPE_MISMATCH, case, expected=expected, found=found, **words)

    @_kind("E202")
    def cannot_infer_element(self, name: str):
        return _Said(f"cannot infer the element type of '{name}'",
                     f"declare it: let {name}: list[answer] = []")

    # ------------------------------------------------------------ names (E3)
    @_kind("E301")
    def unknown_name(self, case: str, name: str, candidates=()):
        if case == "function":
            return _Said(f"'{name}' is a function", f"call it: {name}(...)")
        if case == "assigned":
            return _Said(f"'{name}' is not declared",
                         did_you_mean(name, candidates) or f"declare it first: let {name} = ...")
        hint = PYTHON_WORDS[name] if name in ("True", "False", "None") else did_you_mean(name, candidates)
        return _Said(f"unknown name '{name}'", hint)

    @_kind("E302")
    def read_only(self, case: str, name: str = "", kind: str = "", owner=None):
        return _pick(_READ_ONLY, case, name=name, what=READ_ONLY_KINDS.get(kind, kind), owner=owner)

    @_kind("E303")
    def no_attribute(self, case: str, name: str, owner=None, options=()):
        options = list(options)
        if case == "branch":
            return _Said(f"branch has no attribute '{name}'", did_you_mean(name, options),
                         expected="one of " + ", ".join(options))
        if case == "record":
            return _Said(f"{owner} has no field '{name}'", did_you_mean(name, options),
                         expected="one of " + ", ".join(options))
        if case == "branch_var":
            return _Said(f"branch has no variable '{name}'",
                         did_you_mean(name, options) or f"declare it at the top: branch var {name}: int = 0")
        return _Said(f"a {owner} has no attributes")

    @_kind("E304")
    def beta_outside_params(self):
        return _Said("'beta' is only visible in the params block",
                     "declare a param that depends on beta and use that param here")

    @_kind("E305")
    def not_constant(self, what: str, found: str, case: str = "default"):
        hint = ("for a count computed now, give it a constant bound: repeat n max 8 { ... }" if case == "repeat"
                else "use literals and params (to loop over state, use 'for x in ...')")
        return _Said(f"{what} must be constant during the episode", hint, found=f"'{found}'")

    @_kind("E306")
    def not_allowed_here(self, case: str, name: str = "", what: str = "", op: str = "", allowed=()):
        return _pick(_NOT_CONSTANT_HERE, case, name=name, what=what, op=op, allowed=", ".join(allowed))

    @_kind("E307")
    def hidden(self, name: str, why: str):
        return _Said(f"'{name}' is not available: {why}")

    @_kind("E308")
    def action_as_function(self, name: str):
        return _Said(f"'{name}' is an action, not a function", "actions are statements on their own line")

    @_kind("E309")
    def unknown_function(self, name: str, functions):
        return _Said(f"unknown function '{name}'",
                     did_you_mean(name, functions) or "see the function list in docs/language.md")

    @_kind("E310")
    def arity(self, func: str, lo: int, hi: int, n: int, signature: str):
        takes = f"{lo}" if lo == hi else f"{lo} to {hi}"
        return _Said(f"{func} takes {takes} argument{'s' if hi > 1 else ''}, found {n}", expected=signature)

    @_kind("E314")
    def map_place(self, case: str, name: str = ""):
        return _pick(_MAP_PLACE, case, name=name)

    @_kind("E311")
    def recursive_function(self, cycle: list):
        return _Said(f"function '{cycle[0]}' calls itself: {' -> '.join(cycle)}",
                     "functions cannot be recursive; use a comprehension or a bounded loop in the body")

    @_kind("E312")
    def called_from(self, name: str, line: int):
        return _Said(f"in function '{name}', called from line {line}", severity="note")

    @_kind("E313")
    def missing_return(self, name: str):
        return _Said(f"function '{name}' does not return a value on every path",
                     "end its block with 'return EXPR'")

    # -------------------------------------------------------- control (E4)
    @_kind("E401")
    def no_answer_at_end(self):
        return _Said("the program can reach its end without answering",
                     "end the program with an answer, e.g. 'answer majority(completed)'")

    @_kind("E402")
    def unreachable(self):
        return _Said("unreachable code", "nothing after 'answer', 'break' or 'continue' in the same block runs")

    @_kind("E403")
    def bind_needs_else(self, action: str, bind: str, has_else: bool):
        if has_else:
            return _Said(f"'{action} as {bind}' needs an else that leaves the block",
                         f"when the pool is exhausted there is no '{bind}': end the else with break, continue or answer")
        return _Said(f"'{action} as {bind}' needs an else clause",
                     f"write '{action} as {bind} else break' (or continue / answer ...)")

    @_kind("E404")
    def jump_outside_loop(self, word: str):
        return _Said(f"'{word}' outside a loop")

    # ----------------------------------------------------------- limits (L)
    @_kind("L001")
    def source_too_long(self, n: int, limit: int, at_least: bool = False):
        return _Said(f"program is {'more than ' if at_least else ''}{n:,} characters; the limit is {limit:,}",
                     "controllers are short; remove generated or repeated code")

    @_kind("L002")
    def nested_too_deep(self, case: str, limit: int = 0):
        return _pick(_TOO_DEEP, case, limit=limit)

    @_kind("L003")
    def expression_too_deep(self, limit: int):
        return _Said(f"expression nested deeper than {limit} levels", "split the expression with 'let'")

    @_kind("L004")
    def too_many_statements(self, n: int, limit: int):
        return _Said(f"{n} statements; the limit is {limit}", "controllers are short")

    @_kind("L005")
    def loop_bound(self, loop: str, n: int, limit: int, origin: str = "literal"):
        """``loop``: repeat | range; ``origin``: literal (checker), param (compiler) or reference
        (the reference interpreter, which says no hint)."""
        what = f"repeat {n:,} times" if loop == "repeat" else f"range of {n:,} values"
        return _Said(f"{what}; the limit is {limit:,}", _LOOP_BOUND_HINTS.get((loop, origin)))

    @_kind("L010")
    def loop_bound_failed(self, loop: str, why: str):
        """A constant loop bound (literals and params) whose evaluation fails: division by
        zero, an int beyond 2**62, sqrt of a negative number, an infinite float."""
        return _Said(f"the bound of this {loop} cannot be evaluated: {why}",
                     "a loop bound must be a finite count; check the arithmetic and the params it uses")

    @_kind("L011")
    def too_many_diagnostics(self, shown: int, severity: str = "error"):
        return _Said(f"more than {shown:,} diagnostics in this file; the rest are not shown",
                     "fix these first", severity=severity)

    @_kind("L012")
    def constant_data(self, case: str, n: int, limit: int):
        """``case``: list (one list literal) | total (number literals in the program)."""
        what = (f"a list literal of {n:,} elements" if case == "list"
                else f"{n:,} number literals in the program")
        return _Said(f"{what}; the limit is {limit:,}",
                     "controllers compute from what they observe; they do not carry tables of data")

    @_kind("L013")
    def episode_cells(self, cells: int, limit: int, question, seed):
        """The episode's list state (list vars, list branch vars of opened branches) grew
        beyond ``max_episode_cells`` elements (the compiled and reference engines alike)."""
        return _Said(f"episode memory budget exceeded on question {question}, seed {seed}: the episode's list "
                     f"variables hold {cells:,} elements; the limit is {limit:,}",
                     "keep a summary (a count, a sum, the last few values with xs[-k:]) instead of whole lists "
                     "per branch, or raise the budget with --limit max_episode_cells=N")

    @_kind("L006")
    def action_cap(self, n: int, episodes: int, beta, cap: int):
        return _cut_off(n, episodes, beta, "action cap", cap)

    @_kind("L007")
    def step_cap(self, n: int, episodes: int, beta, cap: int):
        return _cut_off(n, episodes, beta, "step cap", cap)

    @_kind("L009")
    def time_limit(self, seconds: float, done: int, total: int):
        return _Said(f"evaluation exceeded {seconds:g} s (after {done} of {total} seeds)",
                     "raise the limit with --max-seconds, or simplify the program")

    # ------------------------------------------------------ params (P), runtime (R)
    @_kind("P001")
    def unknown_param(self, name: str, names):
        return _Said(f"the program has no param '{name}'", did_you_mean(name, names) or
                     (f"params: {', '.join(sorted(names))}" if names else "it declares no params"))

    @_kind("P002")
    def bad_param_value(self, message: str, expected, found):
        return _Said(message, expected=expected, found=found)

    @_kind("P003")
    def param_out_of_range(self, name: str, value, problem: str, beta=None):
        at = f" at beta={beta}" if beta is not None else ""
        return _Said(f"param '{name}' = {value!r}{at} is {problem}")

    @_kind("P004")
    def beta_not_a_number(self):
        return _Said("beta is not a number")

    @_kind("P005")
    def param_failed(self, name: str, error, beta=None):
        at = f" at beta={beta}" if beta is not None else ""
        return _Said(f"param '{name}'{at}: {error}")

    @_kind("R001")
    def runtime_error(self, detail: str, question=None, seed=None, index_error: bool = False,
                      search_store: bool = False):
        if search_store:
            return _Said(detail, "the program failed on a search store; guard the failing expression")
        return _Said(f"runtime error on question {question}, seed {seed}: {detail}",
                     "guard the expression (e.g. check len(xs) > 0 before xs[0])" if index_error else None)

    # ------------------------------------------------------------- schedule (S)
    @_kind("S001")
    def direction_refuted(self, name: str, declared: str, b1, v1, b2, v2, derived: str | None = None):
        """With ``derived`` (the prover): the knob wording; without (a grid check): the param wording."""
        if derived is None:
            return _Said(f"param '{name}' is declared {declared} but {name}({b1}) = {v1!r} and {name}({b2}) = {v2!r}",
                         "fix the expression or the declared direction")
        rel = {"increasing": "decreases", "decreasing": "increases", "constant": "changes"}[declared]
        return _Said(f"knob '{name}' is declared {declared} but {rel}: {name}({b1!r}) = {v1!r}, {name}({b2!r}) = {v2!r}",
                     "fix the expression or declare the direction it has", expected=f"{declared} in beta",
                     found=f"derived direction: {derived}")

    @_kind("S002")
    def range_refuted(self, name: str, value, beta, message: str):
        what = f"= {value!r}" if value is not None else "fails"
        return _Said(f"knob '{name}' {what} at beta={beta!r}: {message}",
                     "bound it with min/max/clip, or widen the declared range")

    @_kind("S003")
    def direction_unknown(self, name: str, declared, note: str, strict: bool):
        return _Said(f"could not prove knob '{name}' {declared}; {note}",
                     "write the knob as min/max/clip/round of a sum of terms c * beta",
                     severity="error" if strict else "warning")

    @_kind("S004")
    def range_unknown(self, name: str, strict: bool):
        return _Said(f"could not prove knob '{name}' stays in its range for every beta "
                     "(no violation on a 4,001-point grid)", severity="error" if strict else "warning")


__all__ = ["Span", "Diagnostic", "DiagnosticsError", "Reporter", "KINDS", "did_you_mean", "NOWHERE",
           "PYTHON_WORDS", "READ_ONLY_KINDS", "asdict"]
