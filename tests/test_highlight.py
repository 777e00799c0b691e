"""Highlighting: the Pygments lexer (an entry point) and the TextMate grammar of the VS Code
extension stay in step with grammar/tts.lark and the built-in registry."""

from __future__ import annotations

import json
import os
import re
import tomllib
from importlib import metadata

import pytest

from conftest import PROGRAMS, ROOT, require
from tts_dsl import api

pygments = require("pygments", "test")
from pygments.token import Error, Keyword, Name  # noqa: E402

from tts_dsl import highlight as H  # noqa: E402

TM = json.loads((ROOT / "editors" / "vscode" / "syntaxes" / "tts.tmLanguage.json").read_text())


def grammar_keywords() -> set[str]:
    text = (ROOT / "grammar" / "tts.lark").read_text()
    return set(re.findall(r'"([A-Za-z_]+)"', text))


def tm_words(rule: dict) -> list[str]:
    m = re.fullmatch(r"\\b\(([A-Za-z_|]+)\)\\b(?:\(\?=.*\))?", rule["match"])
    assert m, rule["match"]
    return m.group(1).split("|")


def test_keywords_match_the_grammar():
    kw = grammar_keywords()
    assert kw == set(api.vocabulary()["keywords"])
    assert sorted(H.KEYWORDS) == sorted(kw)  # every keyword once, in one role
    tm = [w for rule in TM["repository"]["keywords"]["patterns"] if "pseudo" not in rule["name"]
          for w in tm_words(rule)]
    assert sorted(tm) == sorted(kw)
    roles = {r["name"].split(".")[-2] if "declaration" not in r["name"] else "declaration": set(tm_words(r))
             for r in TM["repository"]["keywords"]["patterns"]}
    assert roles["declaration"] == set(H.DECLARATIONS) and roles["action"] == set(H.ACTIONS)


def test_builtins_match_the_registry():
    v = api.vocabulary()
    assert list(H.FUNCTIONS) == list(v["functions"])
    assert list(H.STATE) == list(v["state"])
    assert set(H.TYPES) == set(v["types"]) - set(v["keywords"])
    assert set(H.PSEUDO) == set(v["directions"]) | set(v["sort_orders"]) | {"beta"}
    assert tm_words(TM["repository"]["functions"]) == list(H.FUNCTIONS)
    assert tm_words(TM["repository"]["state"]) == list(H.STATE)
    assert tm_words(TM["repository"]["types"]) == list(H.TYPES)
    pseudo = next(r for r in TM["repository"]["keywords"]["patterns"] if "pseudo" in r["name"])
    assert tm_words(pseudo) == list(H.PSEUDO)


def test_the_lexer_colours_every_shipped_program():
    lexer = H.TtsLexer()
    for p in sorted(PROGRAMS.glob("*.tts")):
        text = p.read_text()
        toks = list(lexer.get_tokens(text))
        assert not [t for t in toks if t[0] is Error], p.name
        assert "".join(v for _, v in toks) == text if text.endswith("\n") else text + "\n"
    toks = [(t, v) for t, v in lexer.get_tokens((PROGRAMS / "asc.tts").read_text()) if v.strip()]
    assert ("asc", Name.Class) in [(v, t) for t, v in toks]
    kinds = {v: t for t, v in toks}
    assert kinds["repeat"] is Keyword and kinds["read"] is Keyword.Reserved
    assert kinds["majority"] is Name.Builtin and kinds["completed"] is Name.Builtin.Pseudo
    assert kinds["params"] is Keyword.Declaration and kinds["float"] is Keyword.Type


def test_the_lexer_is_a_pygments_entry_point():
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pygments.lexers"]
    mod, _, cls = eps["tts"].partition(":")
    assert getattr(__import__(mod, fromlist=[cls]), cls) is H.TtsLexer
    dist = metadata.distribution("tts-dsl")
    here = ROOT.resolve().as_uri() in (dist.read_text("direct_url.json") or "")
    if not here:
        assert not os.environ.get("TTS_DSL_CI"), f"CI must install this checkout ({dist.read_text('direct_url.json')})"
        pytest.skip("tts-dsl is installed from another checkout; CI installs this one")
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename

    assert type(get_lexer_by_name("tts")).__name__ == "TtsLexer"
    assert type(get_lexer_for_filename("mine.tts")).__name__ == "TtsLexer"
