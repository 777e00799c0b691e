"""Every ``tts`` code block in docs/*.md parses, checks (schedules proved) and runs; the
language reference mentions every built-in the registry defines."""

from __future__ import annotations

import re

import pytest

from tts_dsl import api
from tts_dsl.lang.builtins import BRANCH_ATTRS, FUNCTIONS, STATE
from tts_dsl.lang.prover import schedule_diagnostics
from tts_dsl.replay.synthetic import synthetic_store

from conftest import ROOT

DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"```tts\n(.*?)```", re.S)


def blocks():
    out = []
    for f in DOCS:
        for i, m in enumerate(BLOCK.finditer(f.read_text())):
            out.append(pytest.param(f, m.group(1), id=f"{f.name}#{i}"))
    return out


STORE = synthetic_store(seed=11, n_questions=3, n_branches=16)


@pytest.mark.parametrize("path, src", blocks())
def test_doc_example_checks_and_runs(path, src):
    c = api.check(src, f"{path.name}")
    assert [d.message for d in schedule_diagnostics(c, strict=True)] == []
    r = api.evaluate_one(c, STORE, seeds=2)
    assert r.ok, r.error and r.error.render(src)


def test_language_doc_has_examples():
    assert len(BLOCK.findall((ROOT / "docs" / "language.md").read_text())) >= 7


def test_language_doc_covers_registry():
    text = (ROOT / "docs" / "language.md").read_text()
    for name in list(FUNCTIONS) + list(STATE):
        assert f"`{name}" in text, name
    for name in BRANCH_ATTRS:
        assert f"`b.{name}`" in text, name


@pytest.mark.shared
def test_readme_python_example_runs(monkeypatch, capsys):
    """The README's Python API example runs as written (from the repo root)."""
    text = (ROOT / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    exec(compile(code, "README.md", "exec"), ns)  # our own documentation, not a program
    df = ns["df"]
    assert list(df["beta"]) == [0.0, 0.5, 1.0]
    assert list(df["accuracy"]) == [81.4, 84.27, 85.77]  # CMC reference rows, Qwen3-8B
    assert "avg_cost" in capsys.readouterr().out
