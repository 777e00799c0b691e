"""Discovery: config, language reference, validation stages, proposers (openai against a
fake chat-completions server on loopback, command against a script, evolve, replay),
crash-and-resume, budgets, the held-out split, the CLI."""

from __future__ import annotations

import http.server
import json
import sys
import threading
import time
from pathlib import Path

import pytest

from tts_dsl.discovery import config_from_dict
from tts_dsl.discovery.config import ConfigError
from tts_dsl.discovery.loop import Discovery

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "discovery"
GOOD = (FIX / "good.tts").read_text()
BROKEN = (FIX / "broken.tts").read_text()
TIMING = {"wall_s", "run_wall_s"}


def make_cfg(tmp_path, proposer=None, **run):
    table = {
        "run": {"out": str(tmp_path / "run"), "max_rounds": 3, "max_repairs": 2,
                "seed_programs": [str(ROOT / "programs" / "sc.tts"), str(ROOT / "programs" / "cmc.tts")],
                "betas": [0.0, 1.0], "jobs": 1, "plots": False, **run},
        "search": {"synthetic": [{"seed": 11, "questions": 5, "branches": 24}], "seeds": 3},
        "heldout": {"synthetic": [{"seed": 99, "questions": 5, "branches": 24}], "seeds": 3},
        "smoke": {"questions": 3, "branches": 16, "seeds": 2},
        "proposer": proposer or {"kind": "evolve"},
    }
    return config_from_dict(table, str(tmp_path))


def strip_timing(x):
    if isinstance(x, dict):
        return {k: strip_timing(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [strip_timing(v) for v in x]
    return x


def records(out) -> list[dict]:
    return [json.loads(line) for line in (Path(out) / "candidates.jsonl").read_text().splitlines()]


def fenced(src: str) -> str:
    return f"Sure.\n\n```tts\n{src}```\n"


# ----------------------------------------------------------------- config
def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="max_round"):
        make_cfg(tmp_path, max_round=3)
    with pytest.raises(ConfigError, match=r"\[search\]"):
        config_from_dict({"run": {}}, str(tmp_path))
    with pytest.raises(ConfigError, match="kind"):
        make_cfg(tmp_path, proposer={"kind": "gpt"})
    with pytest.raises(ConfigError, match="betas"):
        make_cfg(tmp_path, betas=[0.5, 2.0])


def test_example_configs_load():
    from tts_dsl.discovery import load_config

    paths = sorted((ROOT / "examples").glob("discover*.toml"))
    assert paths
    for p in paths:
        cfg = load_config(p)
        assert cfg.search.root or cfg.search.synthetic


# -------------------------------------------------------- language reference
def test_language_reference_is_generated_from_grammar_and_registry():
    from tts_dsl.discovery.langref import language_reference
    from tts_dsl.lang import builtins as B

    ref = language_reference()
    for name in list(B.FUNCTIONS) + list(B.STATE) + list(B.BRANCH_ATTRS):
        assert f"`{name}" in ref, name
    for doc in B.ACTION_DOCS.values():
        assert doc in ref
    assert "for_stmt:" in ref and "repeat_stmt:" in ref  # grammar rules, verbatim


# --------------------------------------------------------------- validation
def _validate(tmp_path, text, known=None):
    from tts_dsl.discovery.validate import validate

    return validate(text, "cand.tts", known or {}, make_cfg(tmp_path))


def test_extract_needs_a_tts_block(tmp_path):
    v = _validate(tmp_path, "controller x\nanswer none\n")
    assert not v.ok and v.stage == "extract" and v.diagnostics[0]["code"] == "X001"
    v = _validate(tmp_path, "```python\ncontroller x\nanswer none\n```")
    assert v.stage == "extract" and "tag the block" in v.diagnostics[0]["hint"]
    assert _validate(tmp_path, fenced(GOOD)).ok


def test_stages_report_structured_diagnostics(tmp_path):
    v = _validate(tmp_path, fenced("controller x\nlet y = (1\nanswer none\n"))
    assert v.stage == "parse"
    d = v.diagnostics[0]
    assert d["line"] == 3 and d["col"] == 1 and "^" in d["rendered"]
    v = _validate(tmp_path, fenced(BROKEN))
    assert v.stage == "check"
    assert v.diagnostics[0]["line"] == 11 and "top3" in v.diagnostics[0]["message"]
    dec = GOOD.replace("max(2, round(2 + 10 * beta))", "max(2, round(12 - 10 * beta))")
    v = _validate(tmp_path, fenced(dec))
    assert v.stage == "schedule" and "increasing" in json.dumps(v.diagnostics)
    crash = GOOD.replace("answer majority(completed)", "answer completed[5]")
    v = _validate(tmp_path, fenced(crash))
    assert v.stage == "smoke" and v.diagnostics[0]["code"] == "R001"
    silent = GOOD.replace("answer majority(completed)", "answer none").replace("answer v.winner", "break")
    v = _validate(tmp_path, fenced(silent))
    assert v.stage == "smoke" and v.diagnostics[0]["code"] == "S101"


def test_dedupe_ignores_formatting_comments_and_name(tmp_path):
    from tts_dsl.api import check
    from tts_dsl.discovery.validate import program_hash

    h = program_hash(check(GOOD).program)
    variant = "# another comment\n" + GOOD.replace("fixture_good", "renamed").replace("repeat n {", "repeat n   {")
    v = _validate(tmp_path, fenced(variant), {h: "candidate c0001"})
    assert v.stage == "dedupe" and v.duplicate_of == "candidate c0001"
    other = GOOD.replace(">= 3", ">= 4")
    assert _validate(tmp_path, fenced(other), {h: "candidate c0001"}).ok


# ------------------------------------------------------------------ evolve
def test_evolve_end_to_end_programs_check_and_eval(tmp_path):
    cfg = make_cfg(tmp_path, max_rounds=4, plots=True)
    d = Discovery.start(cfg, tmp_path / "run")
    final = d.run()
    recs = records(tmp_path / "run")
    assert [r["id"] for r in recs] == [0, 1, 2, 3]
    ok = [r for r in recs if r["status"] == "ok"]
    assert ok, [r["stage"] for r in recs]
    assert all(r["attempts"][0]["meta"]["operators"] for r in ok)
    files = sorted((tmp_path / "run" / "programs").glob("*.tts")) + [tmp_path / "run" / "best.tts"]
    assert len(files) == len(ok) + 1
    for f in files:
        from tts_dsl.cli import main

        assert main(["check", str(f)]) == 0
        assert main(["eval", str(f), "--seeds", "1", "--jobs", "1", "-q"]) == 0
    assert final["selected"] in final["programs"]
    assert (tmp_path / "run" / "report.md").read_text().startswith("# Discovery report")
    assert (tmp_path / "run" / "frontier_search.png").stat().st_size > 1000


def test_a_run_keeps_one_pool_of_workers_for_every_candidate_and_stops_it_at_the_end(tmp_path):
    """Two workers: each candidate's evaluation is one batch on the same kept pool (the
    workers' start is paid once per run); nothing is left running after the run."""
    import os

    from tts_dsl.discovery.evaluator import Evaluator
    from tts_dsl.evaluation.sweep import descendants

    before = set(descendants(os.getpid()))
    seen = []
    plain = Evaluator.evaluate

    def watched(self, *a, **kw):
        out = plain(self, *a, **kw)
        seen.append(frozenset(set(descendants(os.getpid())) - before))
        return out

    d = Discovery.start(make_cfg(tmp_path, max_rounds=3, jobs=2), tmp_path / "run")
    try:
        Evaluator.evaluate = watched
        final = d.run()
    finally:
        Evaluator.evaluate = plain
    assert final["selected"] in final["programs"]
    pools = [x for x in seen if x]  # (a single task runs in this process: SC has no beta)
    assert len(pools) >= 4 and len(pools[0]) == 2
    assert set(pools) == {pools[0]}  # the same two workers throughout
    assert not set(descendants(os.getpid())) & pools[0]  # stopped at the end
    assert d.evaluator.executor is None


# slow: two separate runs giving identical records is also what the crash-and-resume test below
# checks in the default suite (its resumed run must equal a straight run); CI runs this too
@pytest.mark.slow
def test_evolve_is_deterministic(tmp_path):
    a = make_cfg(tmp_path / "a", max_rounds=3)
    b = make_cfg(tmp_path / "b", max_rounds=3)
    Discovery.start(a, tmp_path / "a").run()
    Discovery.start(b, tmp_path / "b").run()
    ra, rb = records(tmp_path / "a"), records(tmp_path / "b")
    assert [r["source"] for r in ra] == [r["source"] for r in rb]


def test_evolve_operators_produce_checked_new_programs():
    from hypothesis import given, settings, strategies as st

    from tts_dsl.api import check
    from tts_dsl.discovery.config import ProposerConfig
    from tts_dsl.discovery.proposers.evolve import EvolveProposer
    from tts_dsl.discovery.proposers import Context
    from tts_dsl.discovery.validate import extract_program, program_hash

    pool = []
    for name in ("cmc", "parallel_probe", "asc", "sc"):
        src = (ROOT / "programs" / f"{name}.tts").read_text()
        pool.append({"id": name, "source": src, "area": 1.0})
    known = {program_hash(check(p["source"]).program): p["id"] for p in pool}
    ev = EvolveProposer(ProposerConfig(kind="evolve"))

    @settings(max_examples=10, deadline=None)
    @given(st.integers(0, 10_000))
    def prop(seed):
        r = ev.propose([], Context(seed, 0, 0, pool, known))
        src, _ = extract_program(r.text)
        c = check(src)  # raises if the program does not check
        assert program_hash(c.program) not in known
        assert r.parents and r.parents[0] in known.values()

    prop()


# ------------------------------------------------------------------ openai
class FakeChat:
    """A chat-completions server on 127.0.0.1 with a script of replies."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        self.replies: list[tuple] = []  # (time the reply was written, its text), in order
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization"),
                                       "t0": time.perf_counter()})
                step = outer.script.pop(0) if outer.script else ("500",)
                try:
                    if step[0] == "sleep":
                        time.sleep(step[1])
                        step = ("reply", "too late")
                    if step[0] == "delay":  # ("delay", seconds, text): a slow but good reply
                        time.sleep(step[1])
                        step = ("reply", step[2])
                    if step[0] in ("429", "500"):
                        self.send_response(int(step[0]))
                        self.send_header("Content-Type", "application/json")
                        self.end_headers()
                        self.wfile.write(b'{"error": "busy"}')
                        return
                    data = {"model": body["model"], "choices": [{"message": {"role": "assistant", "content": step[1]}}],
                            "usage": {"prompt_tokens": 1000, "completion_tokens": 200}}
                    raw = json.dumps(data).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                    outer.replies.append((time.perf_counter(), step[1]))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.server.shutdown()
        self.server.server_close()


def test_openai_proposer_retries_and_repairs_through_diagnostics(tmp_path, monkeypatch):
    pytest.importorskip("httpx")
    monkeypatch.setenv("FAKE_KEY", "sk-test")
    script = [("429",), ("sleep", 1.5), ("reply", fenced(BROKEN)), ("reply", fenced(GOOD))]
    with FakeChat(script) as srv:
        cfg = make_cfg(tmp_path, max_rounds=1, proposer={
            "kind": "openai", "base_url": srv.url, "model": "fake-model", "api_key_env": "FAKE_KEY",
            "timeout_s": 0.5, "backoff_s": 0.01, "max_retries": 3,
            "price_in_per_mtok": 2.0, "price_out_per_mtok": 10.0})
        final = Discovery.start(cfg, tmp_path / "run").run()
    (rec,) = records(tmp_path / "run")
    assert rec["status"] == "ok"
    assert rec["llm_calls"] == 4  # 429, timeout, broken, fixed
    assert [a["validation"]["stage"] for a in rec["attempts"]] == ["check", None]
    assert rec["attempts"][0]["meta"]["retries"] == 2
    assert rec["tokens_in"] == 2000 and rec["tokens_out"] == 400
    assert rec["usd"] == pytest.approx(2 * (1000 * 2 + 200 * 10) / 1e6)
    assert all(r["path"] == "/v1/chat/completions" and r["auth"] == "Bearer sk-test" for r in srv.requests)
    # the repair went back in the same conversation, with the structured diagnostics
    last = srv.requests[-1]["body"]["messages"]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user"]
    assert last[2]["content"] == fenced(BROKEN)
    assert "stage check" in last[3]["content"] and "line 11, col" in last[3]["content"]
    assert "top3" in last[3]["content"]
    assert final["selected"] == "c0000"


def test_openai_gives_up_cleanly_and_fatal_errors_stop_the_run(tmp_path):
    pytest.importorskip("httpx")
    with FakeChat([("500",)] * 20) as srv:
        cfg = make_cfg(tmp_path, max_rounds=1, max_repairs=1, proposer={
            "kind": "openai", "base_url": srv.url, "model": "m", "backoff_s": 0.0, "max_retries": 1})
        Discovery.start(cfg, tmp_path / "run").run()
    (rec,) = records(tmp_path / "run")
    assert rec["status"] == "invalid" and rec["stage"] == "proposer"
    assert rec["llm_calls"] == 4 and all("gave up" in a["error"] for a in rec["attempts"])


# ----------------------------------------------------------------- command
def test_command_proposer_against_a_script(tmp_path):
    cfg = make_cfg(tmp_path, max_rounds=1, proposer={
        "kind": "command", "command": [sys.executable, str(FIX / "agent.py")], "timeout_s": 30})
    Discovery.start(cfg, tmp_path / "run").run()
    (rec,) = records(tmp_path / "run")
    assert rec["status"] == "ok" and len(rec["attempts"]) == 2
    assert rec["attempts"][0]["validation"]["stage"] == "check"
    assert "rejected at stage `check`" in rec["attempts"][1]["message"]
    assert "fixture_good" in rec["source"]


def test_command_proposer_timeout_is_an_attempt_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("FIXTURE_SLEEP", "5")
    cfg = make_cfg(tmp_path, max_rounds=1, max_repairs=0, proposer={
        "kind": "command", "command": [sys.executable, str(FIX / "agent.py")], "timeout_s": 0.5})
    Discovery.start(cfg, tmp_path / "run").run()
    (rec,) = records(tmp_path / "run")
    assert rec["status"] == "invalid" and "timed out" in rec["attempts"][0]["error"]


# ------------------------------------------------------------------ replay
def test_replay_reproduces_a_recorded_run_exactly(tmp_path):
    agent = {"kind": "command", "command": [sys.executable, str(FIX / "agent.py")], "timeout_s": 30}
    responses = tmp_path / "responses.jsonl"
    rec_cfg = make_cfg(tmp_path / "a", max_rounds=2, proposer={
        "kind": "replay", "record": True, "responses": str(responses), "inner": agent})
    fa = Discovery.start(rec_cfg, tmp_path / "a").run()
    assert responses.exists()
    rep_cfg = make_cfg(tmp_path / "b", max_rounds=2, proposer={"kind": "replay", "responses": str(responses)})
    fb = Discovery.start(rep_cfg, tmp_path / "b").run()
    ra, rb = strip_timing(records(tmp_path / "a")), strip_timing(records(tmp_path / "b"))
    for r in ra + rb:
        r.pop("proposer")
        r.pop("proposer_kind")
    assert ra == rb and len(ra) == 2
    assert strip_timing(fa["programs"]) == strip_timing(fb["programs"])
    # a run that diverges from the recording stops cleanly
    div = make_cfg(tmp_path / "c", max_rounds=2, proposer={"kind": "replay", "responses": str(responses)},
                   betas=[0.0, 0.5, 1.0])
    fc = Discovery.start(div, tmp_path / "c").run()
    assert "diverged" in fc["stop_reason"]


# ----------------------------------------------------------- crash / resume
class Crash(Exception):
    pass


@pytest.mark.slow  # two discovery runs and a crash (about 9 s); test_resume_cli_and_budget_override resumes in the default suite; CI runs the slow set
def test_crash_and_resume_redoes_nothing_and_matches_a_straight_run(tmp_path):
    straight = make_cfg(tmp_path / "s", max_rounds=4)
    Discovery.start(straight, tmp_path / "s").run()
    cfg = make_cfg(tmp_path / "c", max_rounds=4)
    d = Discovery.start(cfg, tmp_path / "c")
    inner = d.proposer()
    calls = []

    class Crashing:
        is_llm = False
        kind = "evolve"

        def propose(self, messages, ctx):
            calls.append(ctx.round)
            if ctx.round == 2:
                raise KeyboardInterrupt  # Ctrl-C in the middle of round 2
            return inner.propose(messages, ctx)

        def close(self):
            pass

    d._proposer = Crashing()
    with pytest.raises(KeyboardInterrupt):
        d.run()
    out = tmp_path / "c"
    assert len(records(out)) == 2
    with open(out / "candidates.jsonl", "a") as f:
        f.write('{"id": 2, "status": "ok", "sour')  # a torn write
    evaluated = []
    d2 = Discovery.resume(out)
    d2.setup()
    orig = d2.evaluator.evaluate

    def counting(source, file, phash, uses_beta, refs, seeds, progress=None, **kw):
        evaluated.append((phash, refs[0].synthetic_seed, kw.get("betas")))
        return orig(source, file, phash, uses_beta, refs, seeds, progress, **kw)

    d2.evaluator.evaluate = counting
    d2.setup = lambda: None
    finish = d2.finish
    d2.finish = lambda recs: (evaluated.append("finish"), finish(recs))[1]
    d2.run()
    got, want = strip_timing(records(out)), strip_timing(records(tmp_path / "s"))
    assert [r["id"] for r in got] == [0, 1, 2, 3]
    assert got == want
    # during the rounds, only the programs of rounds 2 and 3 were evaluated after the resume
    rounds = evaluated[:evaluated.index("finish")]
    search = [h for h, store, betas in rounds if store == 11 and betas is None]
    assert search == [r["hash"] for r in got[2:] if r["status"] == "ok"]
    assert any(e[1] == 99 for e in evaluated[evaluated.index("finish"):])  # the held-out split, at the end


def test_resume_cli_and_budget_override(tmp_path):
    from tts_dsl.cli import main

    cfg_path = tmp_path / "d.toml"
    cfg_path.write_text(f"""
[run]
out = "run"
max_rounds = 1
seed_programs = ["{ROOT / 'programs' / 'sc.tts'}", "{ROOT / 'programs' / 'cmc.tts'}"]
betas = [0.0, 1.0]
jobs = 1
[search]
synthetic = [{{seed = 5, questions = 4, branches = 16}}]
seeds = 2
[smoke]
questions = 3
branches = 16
seeds = 1
""")
    assert main(["discover", "--config", str(cfg_path), "-q"]) == 0
    assert len(records(tmp_path / "run")) == 1
    assert main(["discover", "--config", str(cfg_path), "-q"]) == 2  # the directory holds a run
    assert main(["discover", "--resume", str(tmp_path / "run"), "--max-rounds", "3", "-q"]) == 0
    assert len(records(tmp_path / "run")) == 3
    assert main(["discover", "--resume", str(tmp_path / "nope")]) == 2


def test_bad_config_is_a_clean_error(tmp_path, capsys):
    from tts_dsl.cli import main

    p = tmp_path / "bad.toml"
    p.write_text("[run]\nmax_rounds = 'x\n")
    assert main(["discover", "--config", str(p)]) == 2
    err = capsys.readouterr().err
    assert "invalid TOML" in err and "Traceback" not in err


# ------------------------------------------------------------------ budgets
def test_budgets_stop_cleanly(tmp_path):
    pytest.importorskip("httpx")
    with FakeChat([("reply", fenced(BROKEN))] * 10) as srv:
        cfg = make_cfg(tmp_path / "a", max_rounds=5, max_llm_calls=3, max_repairs=4, proposer={
            "kind": "openai", "base_url": srv.url, "model": "m", "backoff_s": 0.0})
        f = Discovery.start(cfg, tmp_path / "a").run()
    recs = records(tmp_path / "a")
    assert "max_llm_calls" in f["stop_reason"]
    assert sum(r["llm_calls"] for r in recs) == 3
    assert recs[-1]["status"] == "stopped"
    with FakeChat([("reply", fenced(GOOD.replace(">= 3", f">= {i}"))) for i in range(3, 13)]) as srv:
        cfg = make_cfg(tmp_path / "b", max_rounds=5, max_usd=0.01, proposer={
            "kind": "openai", "base_url": srv.url, "model": "m", "price_in_per_mtok": 4.0})
        f = Discovery.start(cfg, tmp_path / "b").run()
    assert "max_usd" in f["stop_reason"] and len(records(tmp_path / "b")) == 3


# ---------------------------------------------------------------- held-out
def test_heldout_never_enters_a_prompt(tmp_path):
    from tts_dsl.discovery import prompt as P

    seen = []
    orig = P.build_prompt

    def spy(*a, **kw):
        text = orig(*a, **kw)
        seen.append(text)
        return text

    import tts_dsl.discovery.loop as L

    L.build_prompt, saved = spy, L.build_prompt
    try:
        cfg = make_cfg(tmp_path, max_rounds=3)
        d = Discovery.start(cfg, tmp_path / "run")
        order = []
        d.setup()
        orig_eval = d.evaluator.evaluate

        def ev(source, file, phash, uses_beta, refs, seeds, progress=None, **kw):
            order.append(("eval", tuple(r.synthetic_seed for r in refs)))
            return orig_eval(source, file, phash, uses_beta, refs, seeds, progress, **kw)

        d.evaluator.evaluate = ev
        d.setup = lambda: None
        final = d.run()
    finally:
        L.build_prompt = saved
    assert len(seen) == 3
    held = final["heldout"]["stores"][0]
    assert held.startswith("synthetic99")
    for text in seen:
        assert "synthetic99" not in text
    # held-out evaluations happen only after the last round
    first_held = next(i for i, (_, s) in enumerate(order) if s == (99,))
    assert all(s == (99,) for _, s in order[first_held:])
    out = tmp_path / "run"
    assert "synthetic99" not in (out / "candidates.jsonl").read_text()
    state = json.loads((out / "state.json").read_text())
    state.pop("split", None)  # the split names every part's stores (no results)
    assert "synthetic99" not in json.dumps(state)


@pytest.mark.slow  # a 3-round discovery run for one prompt (about 5 s); test_discovery_prompt.py covers prompts by default; CI runs the slow set
def test_prompt_respects_the_budget(tmp_path):
    from tts_dsl.discovery.langref import language_reference
    from tts_dsl.discovery.prompt import build_prompt

    cfg = make_cfg(tmp_path, max_rounds=3)
    Discovery.start(cfg, tmp_path / "run").run()
    recs = records(tmp_path / "run")
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    ref = language_reference()
    big = build_prompt(cfg, ref, state["seeds"], recs)
    cfg.prompt["budget_chars"] = len(ref) + 4000
    small = build_prompt(cfg, ref, state["seeds"], recs)
    assert len(small) <= cfg.prompt["budget_chars"] < len(big)
    assert "## Task" in small and "```tts" in small


def test_print_prompt(tmp_path, capsys):
    from tts_dsl.cli import main

    cfg_path = tmp_path / "d.toml"
    cfg_path.write_text(f"""
[run]
seed_programs = ["{ROOT / 'programs' / 'sc.tts'}"]
jobs = 1
[search]
synthetic = [{{seed = 5, questions = 4, branches = 16}}]
seeds = 2
""")
    assert main(["discover", "--config", str(cfg_path), "--print-prompt"]) == 0
    out = capsys.readouterr().out
    assert "### Parent sc" in out and "## The .tts language" in out and "PARENT: sc" in out
    assert not (tmp_path / "discovery-run").exists()


# ------------------------------------------------------- real stores (slow)
@pytest.mark.shared
@pytest.mark.slow
def test_evolve_on_a_real_store_short(tmp_path, replay_root):
    cfg = config_from_dict({
        "run": {"max_rounds": 3, "seed_programs": [str(ROOT / "programs" / "cmc.tts")], "betas": [0.0, 0.5, 1.0]},
        "search": {"root": str(replay_root), "models": ["Qwen3-8B"], "datasets": ["aime24"], "seeds": 10},
        "proposer": {"kind": "evolve"}}, str(tmp_path))
    final = Discovery.start(cfg, tmp_path / "run").run()
    assert final["rounds"] == 3 and final["selected"]


def test_docs_python_example_runs(tmp_path):
    from tts_dsl.discovery import load_config, run_config

    cfg = load_config(ROOT / "examples" / "discover-synthetic.toml")
    cfg.max_rounds = 1
    cfg.plots = False
    final = run_config(cfg, out=tmp_path / "demo")
    assert final["selected"] in final["programs"]
    doc = (ROOT / "docs" / "discovery.md").read_text()
    assert "examples/discover-synthetic.toml" in doc and "run_config(cfg" in doc


def test_trace_excerpt_collapses_repeated_actions():
    from tts_dsl.discovery.traces import collapse

    lines = ["# head"] + [x for i in range(10) for x in (f"-- iteration {i} (spent 0)", f"L3 open b{i} -> '1' (+500)")]
    lines += ["L9 end (answer): answer '1', 5000 tokens"]
    out = collapse(lines)
    assert out[0] == "# head" and out[-1].startswith("L9 end")
    assert "... 6 more 'L3 open' ..." in out and "L3 open b0 -> '1' (+500)" in out and "L3 open b9 -> '1' (+500)" in out
    assert len(out) == 8  # the first iteration marker stays
    assert collapse(lines[:5]) == lines[:5]


def test_behavioural_duplicates_are_caught_before_evaluation(tmp_path):
    from tts_dsl.api import check
    from tts_dsl.discovery.validate import behaviour_key

    cfg = make_cfg(tmp_path)  # betas 0 and 1
    bk = behaviour_key(check(GOOD), cfg.betas)
    # the same knob values at beta 0 and 1 (2 and 12), written differently
    same = GOOD.replace("max(2, round(2 + 10 * beta))", "round(2 + 10 * (beta * beta))")
    v = _validate(tmp_path, fenced(same), {bk: "candidate c0003"})
    assert v.stage == "dedupe" and v.diagnostics[0]["code"] == "D002"
    other = GOOD.replace("max(2, round(2 + 10 * beta))", "round(2 + 11 * beta)")
    assert _validate(tmp_path, fenced(other), {bk: "candidate c0003"}).ok


# ------------------------------------------------- split and significance (issue 12)
def test_validation_part_never_reaches_a_prompt_and_shares_no_question(tmp_path, monkeypatch):
    """Every candidate is reported on the validation part, but its figures stay out of every
    prompt: sentinel figures injected into the validation part reach the records, never a prompt."""
    import tts_dsl.discovery.evaluator as E
    import tts_dsl.discovery.loop as L

    real = E.parts_of

    def marked(full, split):
        parts = real(full, split)
        for rows in parts["validation"].stores.values():
            for r in rows:
                if not r.get("error") and r.get("q_correct") is not None:
                    r["accuracy"], r["q_correct"] = 87.654, [0.87654] * len(r["q_correct"])
        return parts

    monkeypatch.setattr(E, "parts_of", marked)
    seen = []
    orig = L.build_prompt

    def spy(*a, **kw):
        seen.append(orig(*a, **kw))
        return seen[-1]

    monkeypatch.setattr(L, "build_prompt", spy)
    final = Discovery.start(make_cfg(tmp_path, max_rounds=3), tmp_path / "run").run()
    assert len(seen) == 3
    for text in seen:
        assert "87.65" not in text and "validation_part" not in text
    recs = records(tmp_path / "run")
    ok = [r for r in recs if r["status"] == "ok"]
    assert ok and all(row["accuracy"] == 87.654 for r in ok  # kept, but apart
                      for rows in r["validation_part"]["curves"].values() for row in rows)
    assert all(row["accuracy"] != 87.654 for r in ok for rows in r["curves"].values() for row in rows)
    # the default split holds out questions, never the same questions with other seeds
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    split = state["split"]
    assert split["kind"] == "questions" and split["search"]["seeds"] == split["validation"]["seeds"]
    val = {s["label"]: set(s["questions"]) for s in split["validation"]["slices"]}
    for s in split["search"]["slices"]:
        assert s["questions"] and not set(s["questions"]) & val.get(s["label"], set())
    assert final["validation"]["stores"] == ["synthetic11/q5b24"]
    assert "cannot tell" in final["split"]["description"]
    report = (tmp_path / "run" / "report.md").read_text()
    sel = final["selected"]
    assert sel.startswith("seed:") or f"## Ancestry of {sel}" in report  # the winner's diff to its seed


SIG_SEEDS = {  # two weak seed programs: answer only when two branches agree; pay for 8, answer nothing
    "seed_half": "controller seed_half\nrepeat 2 { read else break }\nlet v = votes(completed)\n"
                 "if v.top2 == 0 { answer v.winner }\nanswer none\n",
    "seed_none8": "controller seed_none8\nrepeat 8 { read else break }\nanswer none\n"}
SC1 = "controller cand_sc1\nrepeat 1 { read else break }\nanswer majority(completed)\n"  # below the window
SC2 = "controller cand_sc2\nrepeat 2 { read else break }\nanswer majority(completed)\n"  # right on more questions


class FixedProposer:
    is_llm = False
    kind = "evolve"

    def __init__(self, texts):
        self.texts, self.n = texts, 0

    def propose(self, messages, ctx):
        from tts_dsl.discovery.proposers import Reply

        self.n += 1
        return Reply(fenced(self.texts[(self.n - 1) % len(self.texts)]), llm_calls=0)

    def close(self):
        pass


def _significance_run(tmp_path, name, texts, require):
    progs = tmp_path / "progs"
    progs.mkdir(exist_ok=True)
    for k, src in SIG_SEEDS.items():
        (progs / f"{k}.tts").write_text(src)
    cfg = config_from_dict({
        "run": {"max_rounds": len(texts), "max_repairs": 0, "seed_programs": [str(progs / "*.tts")],
                "betas": [0.0, 1.0], "jobs": 1, "plots": False, "cache": str(tmp_path / "cache.jsonl")},
        "search": {"synthetic": [{"seed": 21, "questions": 30, "branches": 32}], "seeds": 3},
        "smoke": {"questions": 3, "branches": 16, "seeds": 2},
        "cascade": {"enabled": False},
        "select": {"require_significant": require, "bootstrap": 1000},
        "proposer": {"kind": "evolve"}}, str(tmp_path))
    return Discovery.start(cfg, tmp_path / name, proposer=FixedProposer(texts)).run()


def test_require_significant_both_ways(tmp_path):
    # a candidate that does not beat every seed significantly wins only without the requirement
    f = _significance_run(tmp_path, "plain", [SC1], False)
    assert f["selected"] == "c0000" and f["programs"]["c0000"]["beats_every_seed"] is False
    vs = f["programs"]["c0000"]["versus_seeds"]
    assert set(vs) == {"seed:seed_half", "seed:seed_none8"} and not vs["seed:seed_half"]["significant"]
    f = _significance_run(tmp_path, "strict", [SC1], True)
    assert f["selected"].startswith("seed:") and "no candidate" in f["selection_note"]
    # one that does beat every seed program significantly on the validation part is selected
    f = _significance_run(tmp_path, "strict2", [SC1, SC2], True)
    assert f["selected"] == "c0001" and f["programs"]["c0001"]["beats_every_seed"] is True
    for d in f["programs"]["c0001"]["versus_seeds"].values():
        assert d["lo"] > 0 and d["p"] < 0.025 and d["diff"] > 0
    iv = f["programs"]["c0001"]["validation_interval"]
    assert iv["lo"] <= f["programs"]["c0001"]["validation_score"]["hv"] <= iv["hi"]
    report = (tmp_path / "strict2" / "report.md").read_text()
    assert "c0001 on the validation part: **beats every seed program significantly**" in report
