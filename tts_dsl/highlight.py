"""A Pygments lexer for ``.tts`` programs.

Registered as the ``pygments.lexers`` entry point ``tts``, so once tts-dsl is installed
``pygmentize -l tts file.tts``, MkDocs and Sphinx (code fences marked ``tts``) colour the
language. Only Pygments imports this module, so Pygments is not a dependency of tts-dsl.
The word lists are plain data (no import of the rest of the package); a test keeps them in
step with ``grammar/tts.lark`` and the built-in registry, and with the TextMate grammar in
``editors/vscode``.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Whitespace

#: every keyword of grammar/tts.lark, by role
DECLARATIONS = ("controller", "params", "var", "branch", "let", "def")
CONTROL = ("if", "elif", "else", "for", "in", "where", "sorted", "by", "take", "repeat", "as", "partition", "break",
           "continue", "pass", "answer", "trace", "return")
ACTIONS = ("open", "read", "advance", "prune")
OPERATOR_WORDS = ("and", "or", "not")
CONSTANTS = ("true", "false", "none")
KEYWORDS = DECLARATIONS + CONTROL + ACTIONS + OPERATOR_WORDS + CONSTANTS

#: contextual words (NAME tokens the checker gives a meaning)
PSEUDO = ("increasing", "decreasing", "constant", "asc", "desc", "beta")
TYPES = ("int", "float", "bool", "list", "map", "votes", "weighted_votes")
FUNCTIONS = ("len", "count", "sum", "mean", "min", "max", "abs", "round", "floor", "ceil", "int", "float", "sqrt",
             "exp", "log", "sigmoid", "clip", "majority", "votes", "weighted_votes", "beta_confidence", "valid", "real",
             "keys", "argmax", "distinct", "entropy", "any", "all", "range")
STATE = ("branches", "completed", "opened", "remaining", "exhausted", "spent", "interval_tokens")


class TtsLexer(RegexLexer):
    """Lexer for tts-dsl test-time-scaling controllers."""

    name = "tts-dsl"
    aliases = ["tts", "tts-dsl"]
    filenames = ["*.tts"]
    mimetypes = ["text/x-tts"]

    tokens = {
        "root": [
            (r"[ \t\f\r]+", Whitespace),
            (r"\n", Whitespace),
            (r"\\[ \t]*\r?\n", Whitespace),
            (r"#.*$", Comment.Single),
            (r'"[^"\\\n]*"', String.Double),
            (r"([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[0-9]+[eE][-+]?[0-9]+", Number.Float),
            (r"[0-9]+", Number.Integer),
            (r"(controller)(\s+)([A-Za-z_][A-Za-z0-9_]*)", bygroups(Keyword.Declaration, Whitespace, Name.Class)),
            (words(DECLARATIONS, suffix=r"\b"), Keyword.Declaration),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(OPERATOR_WORDS, suffix=r"\b"), Operator.Word),
            (words(ACTIONS, suffix=r"\b"), Keyword.Reserved),
            (words(CONTROL, suffix=r"\b"), Keyword),
            (words(PSEUDO, suffix=r"\b"), Keyword.Pseudo),
            (words(FUNCTIONS, suffix=r"(?=\s*\()"), Name.Builtin),
            (words(TYPES, suffix=r"\b"), Keyword.Type),
            (words(STATE, suffix=r"\b"), Name.Builtin.Pseudo),
            (r"[A-Za-z_][A-Za-z0-9_]*", Name),
            (r"==|!=|<=|>=|//|[-+*/%<>=]", Operator),
            (r"[()\[\]{},.:;]", Punctuation),
        ],
    }
