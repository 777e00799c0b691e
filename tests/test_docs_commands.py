"""Docs truth: every command in docs/*.md and README.md whose output is shown is run here
and its output compared with the documented one, so drift fails CI.

Two forms are collected: a ```text/```console block whose lines start with ``$ CMD``
followed by the output, and a ```bash block holding one ``tts-dsl`` command followed
directly by a ```text block (the output). Comparison normalises times (``12.3 s``,
``wall_s``) and ignores status lines on stderr (progress, "wrote FILE", cache notes); a
documented line ``...`` stands for any number of lines. ``compare`` reports shown as raw
Markdown in docs/reports.md are compared too (marked slow: minutes of evaluation). Commands run in a scratch
directory that sees the checkout's programs/, tests/ and tools/ (``../shared`` is the shared
data); files the docs use but do not ship (``typo.tts``) are written there first."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from tts_dsl.cli import main

from conftest import REPLAY, ROOT, SHARED

DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)
# Files the docs run commands on without shipping them.
FILES = {"typo.tts": "# typo.tts: 'majority' misspelt\ncontroller typo\n\n# the answer\nanswer majorty(completed)\n"}
# Documented on purpose as machine-dependent (timing-limited counts): not compared.
NOT_COMPARED = {"python tools/fuzz.py": "counts depend on the machine's load through time limits"}
STATUS = re.compile(r"^(evaluating[: ]|wrote |\d+ rows? from the cache|\d+ evaluations in |behavior of )")
OUTPUT_OPTS = {"--out", "--csv", "--plot", "--png", "--traces"}


def documented_runs():
    out = []
    for f in DOCS:
        blocks = [(m.group(1), m.group(2), m.start(), m.end()) for m in FENCE.finditer(f.read_text())]
        text = f.read_text()
        for i, (lang, body, start, end) in enumerate(blocks):
            if lang in ("text", "console") and body.startswith("$ "):
                cmd, exp = None, []
                for line in body.splitlines():
                    if line.startswith("$ "):
                        if cmd:
                            out.append((f, cmd, exp))
                        cmd, exp = line[2:], []
                    else:
                        exp.append(line)
                out.append((f, cmd, exp))
            elif lang in ("bash", "sh") and i + 1 < len(blocks) and blocks[i + 1][0] == "text":
                between = text[end:blocks[i + 1][2]]
                cmd = body.replace("\\\n", " ").strip()
                if between.strip() == "" and cmd.startswith("tts-dsl ") and "\n" not in cmd:
                    out.append((f, cmd, blocks[i + 1][1].splitlines()))
            if lang in ("bash", "sh") and body.startswith("tts-dsl compare "):
                report = compare_output(text[end:blocks[i + 1][2] if i + 1 < len(blocks) else len(text)])
                if report:
                    out.append((f, body.replace("\\\n", " ").strip(), report))
    return [pytest.param(f, cmd, exp, id=f"{f.name}:{cmd[:60]}…{len(exp)}",
                         marks=([pytest.mark.shared] if "../shared" in cmd else [])
                         + ([pytest.mark.slow] if cmd.startswith("tts-dsl compare") else []))
            for f, cmd, exp in out if cmd and any(line.strip() for line in exp)]


def compare_output(text: str) -> list[str] | None:
    """A ``compare`` report shown as raw Markdown after its command (docs/reports.md): from
    its first line to its Provenance line."""
    lines = text.splitlines()
    try:
        a = next(i for i, x in enumerate(lines) if x.startswith(("Accuracy (%) with a", "Frontier area: ")))
        b = next(i for i, x in enumerate(lines) if i > a and x.startswith("Provenance: "))
    except StopIteration:
        return None
    head = [] if lines[a].startswith("Accuracy") else ["..."]  # the docs show the report's tail
    return head + lines[a:b + 1]


def normalise(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        line = re.sub(r"\b\d+(\.\d+)? s\b", "<T> s", line.rstrip())
        line = re.sub(r"^(wall_s\s+)\S+", r"\1<T>", line)
        out.append(line)
    return out


def matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` with ``...`` lines as wildcards (any number of lines) equals ``actual``."""
    pat = []
    for line in expected:
        pat.append(r"(?:[^\n]*\n)*?" if line.strip() == "..." else re.escape(line) + r"\n")
    return re.fullmatch("".join(pat), "".join(a + "\n" for a in actual)) is not None


@pytest.mark.parametrize("doc, cmd, expected", documented_runs())
def test_documented_output(doc, cmd, expected, tmp_path, monkeypatch, capsys):
    for prefix, why in NOT_COMPARED.items():
        if cmd.startswith(prefix):
            pytest.skip(f"{prefix}: {why}")
    assert cmd.startswith("tts-dsl "), f"{doc.name}: a documented command that is not run: {cmd}"
    if "../shared" in cmd and not REPLAY.is_dir():
        pytest.skip("needs ../shared")
    for d in ("programs", "tests", "tools", "examples"):
        (tmp_path / d).symlink_to(ROOT / d)
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("../shared", str(SHARED)) for a in shlex.split(cmd)[1:]]
    for i, a in enumerate(argv[:-1]):
        if a in OUTPUT_OPTS:
            argv[i + 1] = str(tmp_path / "out" / Path(argv[i + 1]).name)
    (tmp_path / "out").mkdir()
    main(argv)
    cap = capsys.readouterr()
    got = [line.replace(str(SHARED), "../shared") for line in (cap.out + cap.err).splitlines()
           if not STATUS.match(line)]
    if cmd.startswith("tts-dsl compare") and got and got[0].startswith("# "):
        got = got[2:]  # the report's title and blank line, which the docs leave out
    exp, act = normalise(expected), normalise(got)
    assert matches(exp, act), f"{doc.name}: `{cmd}` printed:\n" + "\n".join(act)


def test_docs_have_shown_commands():
    assert len(documented_runs()) >= 8
