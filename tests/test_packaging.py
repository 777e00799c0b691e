"""Packaging: the shipped programs are found by name, the first install is the minimal one,
the version comes from the package metadata."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version

import tts_dsl
from tts_dsl import api
from tts_dsl.cli import main

from conftest import ROOT


def test_shipped_programs_by_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the checkout
    assert main(["programs"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()]
    assert names == sorted(p.stem for p in (ROOT / "programs").glob("*.tts"))
    assert "ASC, adaptive self-consistency" in out
    assert api.find_program("asc").read_text() == (ROOT / "programs" / "asc.tts").read_text()
    assert api.find_program("asc.tts") == api.find_program("asc")
    assert main(["check", "-q", "asc"]) == 0
    assert main(["eval", "sc", "--seeds", "2", "-q"]) == 0
    assert "program    sc\n" in capsys.readouterr().out
    (tmp_path / "asc").write_text("controller mine\nanswer none\n")  # a file of that name wins
    assert api.find_program("asc") == tmp_path.joinpath("asc").relative_to(tmp_path)
    assert str(api.find_program("nope")) == "nope" and str(api.find_program("d/asc")) == "d/asc"


def test_first_install_is_minimal():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("ray") for d in meta["dependencies"])
    assert meta["optional-dependencies"]["ray"][0].startswith("ray")
    readme = (ROOT / "README.md").read_text()
    first = re.search(r"pip install (.*)", readme).group(1)
    assert first == '-e ".[test]"'
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python -m pytest -q -m slow" in ci
    installed = re.search(r'pip install -q -e "\.\[(.*?)\]"', ci).group(1).split(",")
    assert {"test", "agents", "ray", "live", "fast"} <= set(installed), installed  # every extra's tests run in CI


def test_version_from_metadata():
    try:
        assert tts_dsl.__version__ == version("tts-dsl")
    except PackageNotFoundError:
        assert tts_dsl.__version__ == "0.0.0+checkout"
    assert main(["--version"]) == 0
