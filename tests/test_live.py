"""Bring your own model (issue 17): the store builder, live runs, the client's fault
handling, answer matching. Everything runs against a fake completions server on
127.0.0.1 backed by a slice of a real replay store; no GPU, no other network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import PROGRAMS, REPLAY, require
from tts_dsl import api
from tts_dsl.cli import cli
from tts_dsl.evaluation.runner import run
from tts_dsl.live.answers import JUNK, equivalent, extract_answer, last_boxed
from tts_dsl.live.branch import Protocol
from tts_dsl.live.build import BuildConfig, BuildError, build, partial_path
from tts_dsl.live.client import CompletionsClient, ServerError
from tts_dsl.live.environment import run_episode
from tts_dsl.live.fake_server import FakeModel, FakeServer, write_questions
from tts_dsl.live.questions import QuestionFileError, load_questions
from tts_dsl.replay.meta import meta_path, read_meta
from tts_dsl.replay.store import Store, permutation, questions_from_json

MAX_TOKENS = 40000  # longer than any branch of the slice


def _slice(n_questions, n_branches):
    data = json.loads((REPLAY / "Qwen3-8B" / "aime24.json").read_text())[:n_questions]
    out = []
    for q in data:
        br = q["each_branch"][:n_branches]
        out.append({**q, "each_branch": br, "final_answers_trace": [b[2] for b in br]})
    return out


@pytest.fixture(scope="module")
def small():
    """Two questions x 6 branches of Qwen3-8B/aime24, as the store and its question file."""
    return _slice(2, 6)


@pytest.fixture()
def server(small):
    with FakeServer(FakeModel(small)) as srv:
        yield srv


def _qfile(tmp_path, data) -> Path:
    p = tmp_path / "questions.jsonl"
    write_questions(data, str(p))
    return p


def _cfg(srv, tmp_path, data, **kw) -> BuildConfig:
    return BuildConfig(endpoint=srv.url, model="fake", questions=str(_qfile(tmp_path, data)),
                       out=str(tmp_path / "root" / "fake" / "aime24.json"), branches=len(data[0]["each_branch"]),
                       concurrency=4, protocol=Protocol(max_tokens=MAX_TOKENS), **kw)


def _client(srv, **kw):
    return CompletionsClient(srv.url, "fake", backoff=0.001, **kw)


# ------------------------------------------------------------------ build
@pytest.mark.shared
def test_store_build_cli_reproduces_the_store_it_was_backed_by(server, small, tmp_path):
    q = _qfile(tmp_path, small)
    out = tmp_path / "root" / "fake" / "aime24.json"
    r = CliRunner().invoke(cli, ["store", "build", "--endpoint", server.url, "--model", "fake", "--questions", str(q),
                                 "--out", str(out), "-n", "6", "--max-tokens", str(MAX_TOKENS), "--quiet"])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text()) == small  # every field, every branch, in order
    assert not partial_path(out).exists()
    meta, warnings = read_meta(out)
    assert warnings == []
    assert meta["version"] == 1 and meta["model"] == "fake" and meta["branches"] == 6
    assert meta["protocol"]["interval"] == 500 and meta["protocol"]["probe_mode"] == "probe"
    assert meta["probe_approximation"] is False and meta["usage"]["requests"] == server.requests
    v = CliRunner().invoke(cli, ["store", "validate", str(out)])
    assert v.exit_code == 0, v.output
    assert "metadata" in v.output and "mode probe" in v.output and meta["content_hash"] in v.output
    # a store edited after its build is flagged
    out.write_text(out.read_text().replace('"204"', '"205"', 1))
    v = CliRunner().invoke(cli, ["store", "validate", str(out)])
    assert "does not match the store" in v.output


@pytest.mark.shared
def test_last_answer_mode_needs_no_probe_requests_and_is_marked(server, small, tmp_path):
    cfg = _cfg(server, tmp_path, small)
    cfg.protocol.probe_mode = "last"
    build(cfg)
    built = json.loads(Path(cfg.out).read_text())
    assert not any(b["prompt"].endswith(cfg.protocol.probe_suffix) for _, _, b in server.log)
    for qb, qs in zip(built, small):
        for (p1, t1, f1), (p2, t2, f2) in zip(qb["each_branch"], qs["each_branch"]):
            assert (t1, f1, len(p1)) == (t2, f2, len(p2))
            assert p1[:-1] == p2[:-1]  # the fake model writes its current answer at each interval's end
    meta, _ = read_meta(cfg.out)
    assert meta["probe_approximation"] is True and meta["protocol"]["probe_mode"] == "last"


@pytest.mark.shared
def test_dry_run_sends_nothing(server, small, tmp_path):
    q = _qfile(tmp_path, small)
    r = CliRunner().invoke(cli, ["store", "build", "--endpoint", server.url, "--model", "fake", "--questions", str(q),
                                 "--out", str(tmp_path / "m" / "d.json"), "-n", "4", "--max-tokens", "2000",
                                 "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)
    # 2 questions x 4 branches, at most 4 intervals each: 5 generation and 4 probe requests per branch
    assert plan["branches"] == 8 and plan["generation_requests_max"] == 40 and plan["probe_requests_max"] == 32
    assert plan["completion_tokens_max"] == 8 * 2000 + 32 * 32
    assert server.requests == 0 and not (tmp_path / "m").exists()


@pytest.mark.shared
def test_toml_config_and_flags(server, small, tmp_path):
    q = _qfile(tmp_path, small)
    out = tmp_path / "r" / "m" / "d.json"
    conf = tmp_path / "build.toml"
    conf.write_text(f'endpoint = "{server.url}"\nmodel = "fake"\nquestions = "{q}"\nout = "{out}"\nbranches = 2\n'
                    f'price_in = 0.5\nprice_out = 2.0\n[protocol]\nmax_tokens = {MAX_TOKENS}\ninterval = 500\n')
    r = CliRunner().invoke(cli, ["store", "build", "--config", str(conf), "--limit", "1"])
    assert r.exit_code == 0, r.output
    assert "[##############################] 2/2 branches" in r.output  # the progress bar (stderr)
    u = read_meta(out)[0]["usage"]
    cost = (u["prompt_tokens"] * 0.5 + u["completion_tokens"] * 2.0) / 1e6
    assert f"{u['requests']:,} requests (0 retried)" in r.output and f"${cost:,.4f}" in r.output
    built = json.loads(out.read_text())
    assert len(built) == 1 and built[0]["each_branch"] == small[0]["each_branch"][:2]
    conf.write_text('model = "x"\nbogus = 1\n')
    r = CliRunner().invoke(cli, ["store", "build", "--config", str(conf)])
    assert r.exit_code == 2 and "unknown build setting: bogus" in r.output


# ----------------------------------------------------------------- faults
@pytest.mark.shared
def test_retries_on_429_5xx_and_timeouts(server, small, tmp_path):
    faults = {0: "429", 1: "500", 2: "503", 5: "sleep:1.5", 9: "drop"}
    server.fault = faults.get
    cfg = _cfg(server, tmp_path, [{**q, "each_branch": q["each_branch"][:1]} for q in small[:1]])
    cfg.branches = 1
    cl = _client(server, timeout=0.5, retries=5)
    build(cfg, client=cl)
    assert json.loads(Path(cfg.out).read_text())[0]["each_branch"] == small[0]["each_branch"][:1]
    assert cl.usage.retries == 5


@pytest.mark.shared
def test_dropped_connection_mid_build_resumes_without_loss_or_duplicates(server, small, tmp_path):
    cfg = _cfg(server, tmp_path, small)
    cfg.concurrency = 1
    server.fault = lambda n: "drop" if n >= 60 else None  # the server goes away mid-build
    with pytest.raises(ServerError, match=r"question \d branch \d .*connection error"):
        build(cfg, client=_client(server, retries=1))
    assert not Path(cfg.out).exists()  # never a truncated store
    part = partial_path(cfg.out)
    first = [json.loads(x) for x in part.read_text().splitlines()[1:]]
    assert 0 < len(first) < 12
    with open(part, "a") as f:
        f.write('{"q": 1, "b": 5, "probes": ["to')  # a torn line, as a crash leaves it
    server.fault = lambda n: None
    served = server.requests
    rep = build(cfg, client=_client(server))
    assert rep["resumed"] == len(first) and rep["built"] == 12 - len(first)
    assert json.loads(Path(cfg.out).read_text()) == small
    # the resumed run asked only for the missing branches (branch b is sampled with seed b)
    done = {(r["q"], r["b"]) for r in first}
    asked = {(0 if small[0]["question"] in body["prompt"] else 1, body["seed"]) for _, _, body in server.log[served:]}
    assert asked and not asked & done and len(asked) == 12 - len(first)


@pytest.mark.shared
def test_resume_refuses_other_settings(server, small, tmp_path):
    cfg = _cfg(server, tmp_path, small)
    server.fault = lambda n: "drop" if n >= 10 else None
    with pytest.raises(ServerError):
        build(cfg, client=_client(server, retries=0))
    cfg.protocol.interval = 250
    with pytest.raises(BuildError, match="other settings"):
        build(cfg, client=_client(server))


@pytest.mark.shared
def test_malformed_response_is_a_clean_error_naming_the_request(server, small, tmp_path):
    server.fault = lambda n: "malformed" if n == 0 else None
    q = _qfile(tmp_path, small)
    r = CliRunner().invoke(cli, ["store", "build", "--endpoint", server.url, "--model", "fake", "--questions", str(q),
                                 "--out", str(tmp_path / "m" / "d.json"), "-n", "1", "--concurrency", "1", "-q"])
    assert r.exit_code == 2
    assert "error: question 0 branch 0 interval 1: malformed response" in r.output
    assert "Traceback" not in r.output


def test_http_errors_that_are_not_retried(tmp_path):
    srv = FakeServer(FakeModel([{"question": "q?", "gold_answer": "1", "probe_freq": 500,
                                 "each_branch": [[["1"], 10, "1"]]}])).start()
    try:
        cl = CompletionsClient(srv.url, "fake", retries=3, backoff=0.001)
        with pytest.raises(ServerError, match="my label: HTTP 400"):
            cl.complete("no question here", max_tokens=5, seed=0, label="my label")
        assert cl.usage.retries == 0
        c = cl.complete("q?", max_tokens=5, seed=0)
        assert c.text == "<think>...." and c.finish_reason == "length" and c.completion_tokens == 5
    finally:
        srv.stop()


# ------------------------------------------------------------------- runs
CHEAP = {"asc", "esc", "sc", "consol", "cmc"}  # few requests: also run one request at a time


@pytest.mark.slow  # every shipped program live and replayed (about 8 s); CI runs the slow set
@pytest.mark.shared
def test_live_runs_of_every_shipped_program_equal_replay(small):
    """Episode by episode: the live answer and charge equal the replay's for the same
    branch order (the fake server serves branch order[i] to the i-th branch opened)."""
    data = _slice(1, 128)
    store = Store("m", "d", "x", questions_from_json(data, "x"))
    proto = Protocol(max_tokens=MAX_TOKENS)
    with FakeServer(FakeModel(data)) as srv:
        cl = CompletionsClient(srv.url, "fake")
        for prog in sorted(PROGRAMS.glob("*.tts")):
            checked = api.load(prog)
            exe = api.compile(checked, api.default_beta(checked, None))
            for s, ahead in ([(0, 0), (1, 0), (2, 3)] if prog.stem in CHEAP else [(3, 4)]):
                srv.model.order = permutation(128, s)
                rep = run(exe, store, [s])
                live = run_episode(exe, cl, proto, data[0]["question"], lookahead=ahead)
                assert live.cost == rep.cost[0][0], (prog.stem, s)
                assert (live.answer == data[0]["gold_answer"]) == bool(rep.correct[0][0]), (prog.stem, s)
                assert live.usage["completion_tokens"] >= live.cost - 500 * live.branches


@pytest.mark.shared
def test_run_cli_one_question_and_a_question_file(small, tmp_path):
    q = _qfile(tmp_path, small)
    with FakeServer(FakeModel(small)) as srv:
        base = ["run", "--endpoint", srv.url, "--model", "fake", "-n", "6", "--max-tokens", str(MAX_TOKENS)]
        r = CliRunner().invoke(cli, [*base, str(PROGRAMS / "asc.tts"), "--question", small[0]["question"],
                                     "--gold", "204", "--trace", str(tmp_path / "t.jsonl")])
        assert r.exit_code == 0, r.output
        assert "answer   204   (correct; gold 204)" in r.output and "completion tokens" in r.output
        rec = json.loads((tmp_path / "t.jsonl").read_text())
        assert rec["schema"] == "tts-dsl/trace/1" and rec["answer"] == "204" and rec["correct"] is True
        from jsonschema import Draft202012Validator

        from tts_dsl import schemas

        Draft202012Validator(schemas.load("trace")).validate(rec)
        assert [e["kind"] for e in rec["events"] if e["kind"] in ("read", "open")][:2] == ["read", "read"]
        r = CliRunner().invoke(cli, [*base, str(PROGRAMS / "cmc.tts"), "--beta", "0.2", "--questions", str(q),
                                     "--out", str(tmp_path / "res.csv"), "--concurrency", "2", "-q"])
        assert r.exit_code == 0, r.output
        rows = (tmp_path / "res.csv").read_text().splitlines()
        assert rows[0].startswith("index,gold,answer,correct,cost") and len(rows) == 3
        assert r.output.startswith("accuracy ")


def test_run_needs_one_question_source():
    r = CliRunner().invoke(cli, ["run", str(PROGRAMS / "asc.tts"), "--endpoint", "http://127.0.0.1:9", "--model", "m"])
    assert r.exit_code == 2 and "exactly one of --question" in r.output


# ---------------------------------------------------------------- answers
def test_extraction():
    assert last_boxed(r"a \boxed{1} b \boxed{\frac{1}{2}} c") == r"\frac{1}{2}"
    assert last_boxed(r"unclosed \boxed{12") == "12"
    assert extract_answer(r"so $\boxed{ 42 }$.") == "42"
    assert extract_answer("The answer is 17.") == "17"
    assert extract_answer("no answer here") == JUNK
    assert extract_answer(r"\boxed{}") == JUNK
    assert extract_answer(r"\boxed{$7$}") == "7"


TRICKY = [  # (gold, answer, equivalent?)
    ("204", "204", True), ("204", "204.0", True), ("204", "0204", True), ("204", "205", False),
    ("1/2", r"\frac{1}{2}", True), ("1/2", "0.5", True), (r"\frac{\sqrt{3}}{2}", r"\frac{\sqrt3}{2}", True),
    ("10%", "0.1", True), ("x=3", "3", True), ("m + n", "m+n", True), (r"2\sqrt{2}", r"\sqrt{8}", True),
    ("33", "3 + 30", True), ("33", "33 + 1", False), ("1", JUNK, False), ("\\pi", "3.14", False),
    ("5", r"\text{5}", True), (r"\dfrac{1}{3}", r"\frac13", True),
]


@pytest.mark.parametrize("gold,ans,same", TRICKY)
def test_math_verify_decisions(gold, ans, same):
    require("math_verify", "live")
    assert equivalent(gold, ans) is same


@pytest.mark.shared
def test_gold_equivalents_are_written_as_gold(tmp_path):
    require("math_verify", "live")
    data = [{"question": "what is one half?", "gold_answer": "1/2", "probe_freq": 500,
             "each_branch": [[[r"\frac{1}{2}", "3"], 700, "0.5"], [["1/2"], 300, "2"]]}]
    with FakeServer(FakeModel(data)) as srv:
        cfg = _cfg(srv, tmp_path, data)
        build(cfg, client=_client(srv))
    built = json.loads(Path(cfg.out).read_text())[0]
    assert built["each_branch"] == [[["1/2", "3"], 700, "1/2"], [["1/2"], 300, "2"]]


# -------------------------------------------------------------- questions
def test_question_files(tmp_path):
    p = tmp_path / "q.jsonl"
    p.write_text(json.dumps({"problem": "P1", "solution": r"so \boxed{\frac{1}{2}}."}) + "\n\n"
                 + json.dumps({"Problem": "P2", "Answer": 204}) + "\n"
                 + json.dumps({"question": "P3", "gold_answer": " 7 "}) + "\n")
    items = load_questions(p)
    assert [(i.question, i.gold) for i in items] == [("P1", r"\frac{1}{2}"), ("P2", "204"), ("P3", "7")]
    assert len(load_questions(p, limit=2)) == 2
    p.write_text('{"question": "x"}\n')
    with pytest.raises(QuestionFileError, match=r"q.jsonl:1: no gold answer"):
        load_questions(p)
    p.write_text('{"question": "x", "answer": 1}\nnot json\n')
    with pytest.raises(QuestionFileError, match=r"q.jsonl:2: invalid JSON"):
        load_questions(p)


def test_stores_without_metadata_validate_as_before(tmp_path):
    from tts_dsl.replay.synthetic import synthetic_json
    from tts_dsl.replay.validate import validate_file

    f = tmp_path / "m" / "d.json"
    f.parent.mkdir()
    f.write_text(json.dumps(synthetic_json(n_questions=2, n_branches=4)))
    s = validate_file(f)
    assert s.ok and s.meta is None and s.warnings == []
    meta_path(f).write_text("{not json")
    s = validate_file(f)
    assert s.ok and "unreadable metadata block" in s.warnings[0]


@pytest.mark.shared
@pytest.mark.parametrize("name", ["parallel_probe", "sc"])
def test_lookahead_runs_one_steps_actions_concurrently_with_the_same_results(name):
    data = _slice(1, 128)
    store = Store("m", "d", "x", questions_from_json(data, "x"))
    checked = api.load(PROGRAMS / f"{name}.tts")
    exe = api.compile(checked, api.default_beta(checked, None))
    with FakeServer(FakeModel(data)) as srv:
        srv.model.order = permutation(128, 5)
        rep = run(exe, store, [5])
        live = run_episode(exe, CompletionsClient(srv.url, "fake"), Protocol(max_tokens=MAX_TOKENS),
                           data[0]["question"], lookahead=4)
        assert (live.cost, live.answer == data[0]["gold_answer"]) == (rep.cost[0][0], bool(rep.correct[0][0]))
        assert srv.max_inflight > 1
        assert live.speculative <= 4 + live.branches  # at most one interval per branch, and the fresh ones


@pytest.mark.slow
@pytest.mark.shared
def test_live_equals_replay_more_episodes():
    data = _slice(3, 128)
    store = Store("m", "d", "x", questions_from_json(data, "x"))
    with FakeServer(FakeModel(data)) as srv:
        cl = CompletionsClient(srv.url, "fake")
        for prog in sorted(PROGRAMS.glob("*.tts")):
            checked = api.load(prog)
            for beta in ([0.0, 1.0] if api.default_beta(checked, None) is not None else [None]):
                exe = api.compile(checked, api.default_beta(checked, beta))
                for s in range(3):
                    srv.model.order = permutation(128, s)
                    rep = run(exe, store, [s])
                    for qi in range(3):
                        live = run_episode(exe, cl, Protocol(max_tokens=42000), data[qi]["question"], lookahead=s)
                        assert live.cost == rep.cost[0][qi], (prog.stem, beta, s, qi)
                        assert (live.answer == data[qi]["gold_answer"]) == bool(rep.correct[0][qi])
