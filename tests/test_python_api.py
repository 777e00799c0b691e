"""The Python API mirrors the command line: sweep / compare / trace / discover, the same validation,
short reprs, numpy per-episode arrays, provenance; docs/python.md runs as written."""

from __future__ import annotations

import json
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
    for name in ("sweep", "compare", "trace", "discover", "evaluate", "load"):
        assert callable(getattr(tts_dsl, name)) and getattr(tts_dsl, name).__doc__


@pytest.mark.slow  # every cell of docs/python.md (about 8 s); CI runs the slow set
def test_python_doc_runs_as_a_notebook(capsys, monkeypatch):
    """docs/python.md's python blocks, run in order in one namespace (our own docs), from
    the checkout's root as a reader would (the discovery example names examples/...)."""
    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    ns: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/python.md#{i}", "exec"), ns)
    out = capsys.readouterr().out
    assert "ValueError: beta 2 is outside [0, 1]" in out and "ValueError: seeds must be" in out
    assert ns["correct"].shape == (5, 30)
    res = ns["res"]
    assert isinstance(res, tts_dsl.DiscoveryResult) and res.final["rounds"] == 3 and res.selected
    shown = [ln for ln in out.splitlines() if ln.startswith(f"<DiscoveryResult {ns['run_dir']}: selected ")]
    assert len(shown) == 1 and ", search hv " in shown[0] and shown[0].endswith("2 rounds, 2 valid>"), out
    assert "3 rounds" in out and "ConfigError: [run] unknown key 'max_round' (did you mean 'max_rounds'?)" in out
    ns["tmp"].cleanup()


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


# -- discover ---------------------------------------------------------------------------

def _discovery_config(tmp_path, proposer='kind = "evolve"', rounds=2):
    """A discovery config small enough to run in a few seconds (one tiny synthetic store)."""
    cfg = tmp_path / "d.toml"
    cfg.write_text(f"""[run]
max_rounds = {rounds}
max_repairs = 1
plots = false
seed_programs = ["{ROOT / 'programs' / 'sc.tts'}", "{ROOT / 'programs' / 'cmc.tts'}"]
[evaluation]
betas = [0.0, 1.0]
[search]
synthetic = [{{seed = 1, questions = 6, branches = 16}}]
seeds = 3
[cascade]
enabled = false
[proposer]
{proposer}
""")
    return cfg


@pytest.mark.slow  # a discovery run through the Python API (about 4 s); CI runs the slow set
def test_discover_mirrors_the_cli(tmp_path, capsys):
    from tts_dsl.cli import main

    cfg = _discovery_config(tmp_path)
    res = tts_dsl.discover(cfg, out=tmp_path / "api")
    assert res.run_dir == tmp_path / "api" and res.final_json.is_file() and res.report.is_file()
    assert res.best.read_text().strip() and res.final["rounds"] == 2 and not res.failed
    assert res.selected in res.final["programs"] and set(res.winners) >= {"frontier", "accuracy"}
    sc = res.scores[res.selected]
    assert sc["search_hv"] == res.final["programs"][res.selected]["search_score"]["hv"]
    assert len(repr(res)) - len(str(res.run_dir)) < 110 and repr(res).startswith(f"<DiscoveryResult {res.run_dir}: selected {res.selected}")
    assert main(["discover", "--config", str(cfg), "--out", str(tmp_path / "cli"), "-q"]) == 0
    out = capsys.readouterr().out
    assert out == res.summary().replace(str(tmp_path / "api"), str(tmp_path / "cli")) + "\n"
    cli = tts_dsl.DiscoveryResult(tmp_path / "cli", json.loads((tmp_path / "cli" / "final.json").read_text()))
    assert (cli.selected, cli.winners, cli.scores, cli.stop_reason) == (res.selected, res.winners, res.scores,
                                                                        res.stop_reason)


def test_discover_resumes_and_raises_the_clis_errors(tmp_path, capsys):
    from tts_dsl.cli import main
    from tts_dsl.discovery import ConfigError

    cfg = _discovery_config(tmp_path, rounds=1)
    run = tmp_path / "run"
    first = tts_dsl.discover(cfg, out=run)
    assert first.final["rounds"] == 1
    again = tts_dsl.discover(resume=run, max_rounds=2)  # as --resume DIR --max-rounds 2
    assert again.final["rounds"] == 2 and again.run_dir == run
    recs = [json.loads(x) for x in (run / "candidates.jsonl").read_text().splitlines()]
    assert [r["id"] for r in recs] == [0, 1]  # the first round kept, one more added

    def cli_error(*args):
        assert main(["discover", *args]) == 2
        return capsys.readouterr().err.strip()

    with pytest.raises(FileExistsError) as exc:
        tts_dsl.discover(cfg, out=run)
    assert cli_error("--config", str(cfg), "--out", str(run)) == f"error: {exc.value}"
    with pytest.raises(FileNotFoundError) as exc:
        tts_dsl.discover(resume=tmp_path / "nothing")
    assert cli_error("--resume", str(tmp_path / "nothing")) == f"error: {exc.value}"
    bad = tmp_path / "bad.toml"
    bad.write_text(cfg.read_text().replace("max_rounds", "max_round"))
    for given in (bad, {"run": {"max_round": 1}}):
        with pytest.raises(ConfigError, match="unknown key 'max_round'") as exc:
            tts_dsl.discover(given, out=tmp_path / "never")
    assert cli_error("--config", str(bad), "--out", str(tmp_path / "never")) == f"error: config: {exc.value}"
    with pytest.raises(ConfigError, match="betas"):
        tts_dsl.discover({"evaluation": {"betas": [2.0]}})
    for both_or_neither in ({}, {"config": cfg, "resume": run}):
        with pytest.raises(ValueError, match="exactly one"):
            tts_dsl.discover(**both_or_neither)
    assert not (tmp_path / "never").exists()


def test_discover_proposer_failures_are_errors(tmp_path, capsys):
    import socket
    import sys

    from tts_dsl.cli import main
    from tts_dsl.discovery.proposers import ProposerError

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg = _discovery_config(tmp_path, f'kind = "openai"\nmodel = "m"\nbase_url = "http://127.0.0.1:{port}/v1"\n'
                                      'max_retries = 1\nbackoff_s = 0.1\n')
    with pytest.raises(ProposerError, match="nothing was evaluated") as exc:
        tts_dsl.discover(cfg, out=tmp_path / "a")
    assert "127.0.0.1" in str(exc.value) and not (tmp_path / "a" / "state.json").exists()
    assert main(["discover", "--config", str(cfg), "--out", str(tmp_path / "b"), "-q"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {exc.value}"

    script = tmp_path / "fail.py"
    script.write_text("import sys\nsys.stderr.write('model overloaded\\n')\nsys.exit(1)\n")
    cfg = _discovery_config(tmp_path, f'kind = "command"\ncommand = ["{sys.executable}", "{script}"]\n', rounds=5)
    with pytest.raises(ProposerError, match="the run stopped on a proposer failure") as exc:
        tts_dsl.discover(cfg, out=tmp_path / "c")
    res = exc.value.result
    assert res.failed and res.final_json.is_file() and "model overloaded" in res.stop_reason
