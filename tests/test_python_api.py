"""The Python API mirrors the command line: sweep / compare / trace, the same validation,
short reprs, numpy per-episode arrays, provenance; docs/python.md runs as written."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tts_dsl
from tts_dsl.evaluation.sweep import check_betas

from conftest import ROOT


def test_validation_is_the_clis(tmp_path):
    for bad in (2.0, -0.1, float("nan"), [0.5, 1.5], np.array([0.2, 3.0])):
        with pytest.raises(ValueError, match="outside \\[0, 1\\]"):
            tts_dsl.sweep("sc", beta=bad, jobs=1)
    with pytest.raises(ValueError, match="seeds"):
        tts_dsl.sweep("sc", seeds=0, jobs=1)
    with pytest.raises(ValueError, match="seeds"):
        tts_dsl.evaluate("sc", seeds=0)
    with pytest.raises(ValueError, match="outside"):
        tts_dsl.evaluate("certaindex", beta=2.0, seeds=2)
    assert check_betas(np.linspace(0, 1, 3)) == [0.0, 0.5, 1.0]
    assert check_betas(np.float64(0.25)) == [0.25] and check_betas("0:1:0.5") == [0.0, 0.5, 1.0]
    with pytest.raises(ValueError):
        tts_dsl.sweep("sc", model="x")  # a model needs a store, as --model needs --store


def test_sweep_matches_the_cli_rows(capsys):
    import json

    from tts_dsl.cli import main

    df = tts_dsl.sweep(["sc", "certaindex"], beta=np.array([0.0, 1.0]), seeds=4)
    assert list(df.program) == ["sc", "certaindex", "certaindex"]
    assert np.isnan(df.beta[0]) and list(df.beta[1:]) == [0.0, 1.0]  # sc ignores beta: once
    assert main(["eval", "sc", "certaindex", "--beta", "0,1", "--seeds", "4", "--json", "--no-cache", "-q"]) == 0
    cli_rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    for r, (_, a) in zip(cli_rows, df.iterrows()):
        assert (r["accuracy"], r["avg_cost"], r["program_hash"]) == (a.accuracy, a.avg_cost, a.program_hash)
    for col in ("tool", "store_hash", "program_hash", "seed_list"):
        assert df[col].notna().all()
    assert df.seed_list[0] == "0-3" and df.tool[0] == tts_dsl.__version__
    assert df.store_hash[0] == tts_dsl.open_store().digest


def test_default_beta_is_recorded_honestly():
    r = tts_dsl.evaluate_one("certaindex", seeds=2)
    assert r.beta == 0.5
    assert tts_dsl.sweep("certaindex", seeds=2, jobs=1).beta[0] == 0.5
    assert tts_dsl.evaluate_one("sc", seeds=2).beta is None


def test_episode_arrays_and_short_reprs():
    df = tts_dsl.sweep("asc", seeds=3, episodes=True, jobs=1)
    c = df.loc[0, "correct"]
    assert isinstance(c, np.ndarray) and c.shape == (3, 30) and set(np.unique(c)) <= {0, 1}
    assert isinstance(df.loc[0, "cost"], np.ndarray)
    assert abs(c.mean() * 100 - df.accuracy[0]) < 0.01
    assert len(repr(tts_dsl.open_store())) < 120
    assert len(repr(tts_dsl.open_store().questions[0])) < 120
    rep = tts_dsl.compare(["sc", "esc"], seeds=2, n_boot=100, n_perm=100, jobs=1)
    assert len(repr(rep)) < 120 and "| sc |" in rep.markdown() and rep.json()["baseline"] == "sc"


def test_trace_takes_names_and_store_paths():
    rec = tts_dsl.trace("sc", question=1, seed=2)
    assert rec["question"] == 1 and rec["seed"] == 2 and rec["program"] == "sc"
    with pytest.raises(ValueError):
        tts_dsl.trace("sc", question=999)


def test_py_typed_and_exports():
    assert (ROOT / "tts_dsl" / "py.typed").is_file()
    for name in ("sweep", "compare", "trace", "evaluate", "load"):
        assert callable(getattr(tts_dsl, name)) and getattr(tts_dsl, name).__doc__


def test_python_doc_runs_as_a_notebook(capsys):
    """docs/python.md's python blocks, run in order in one namespace (our own docs)."""
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    ns: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/python.md#{i}", "exec"), ns)
    out = capsys.readouterr().out
    assert "ValueError: beta 2 is outside [0, 1]" in out and "ValueError: seeds must be" in out
    assert ns["correct"].shape == (5, 30)


def test_reports_carry_provenance():
    rep = tts_dsl.compare(["sc", "esc"], seeds=2, n_boot=100, n_perm=100, jobs=1)
    pv = rep.json()["settings"]["provenance"]
    assert pv["tool"] == tts_dsl.__version__ and pv["seed_list"] == "0-1"
    assert pv["stores"] == {"synthetic/default": tts_dsl.open_store().digest}
    assert set(pv["programs"]) == {"sc", "esc"}
    assert rep.markdown().rstrip().splitlines()[-1].startswith(f"Provenance: tts-dsl {tts_dsl.__version__}; seeds 0-1")
    cells = rep.frame()
    cells = cells[cells.kind == "cell"]
    assert (cells.program_hash == cells.program.map(pv["programs"])).all() and (cells.seed_list == "0-1").all()


def test_eval_and_compare_reuse_the_cache(tmp_path, monkeypatch, capsys):
    from tts_dsl.cli import main

    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path / "cache"))
    args = ["eval", "sc", "esc", "--seeds", "3", "-q", "-j", "1"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "from the cache" not in first.err
    assert main(args) == 0
    second = capsys.readouterr()
    assert "2 rows from the cache" in second.err and second.out == first.out
    assert main(args + ["--no-cache"]) == 0
    assert "from the cache" not in capsys.readouterr().err
    cmp = ["compare", "sc", "esc", "--seeds", "3", "--bootstrap", "100", "--permutations", "100", "-q", "-j", "1"]
    assert main(cmp) == 0
    a = capsys.readouterr().out
    assert main(cmp) == 0
    b = capsys.readouterr()
    assert "from the cache" in b.err and b.out == a  # episodes come back from the cache identical
