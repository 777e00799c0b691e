"""The discovery loop's throughput (issue 12, section 4): proposals in flight against a slow
fake chat-completions server on loopback (overlap, completion order, resume after an
interruption), several proposers (weights, bandit), the cascade (screened programs,
behavioural duplicates D003)."""

from __future__ import annotations

import json

import pytest

from test_discovery import GOOD, ROOT, FakeChat, config_from_dict, fenced, make_cfg, records
from tts_dsl.discovery.loop import Discovery
from tts_dsl.discovery.records import Candidate

SC = (ROOT / "programs" / "sc.tts").read_text()


def variant(i: int) -> str:
    """Distinct valid programs (the agreement threshold and the schedule differ)."""
    return GOOD.replace(">= 3", f">= {2 + i % 4}").replace("2 + 10 * beta", f"2 + {10 + i} * beta")


def rounds_only(d: Discovery) -> Discovery:
    """The run without its final stage (selection, held-out judging, report): faster tests."""
    d.finish = lambda recs: {"stop_reason": d.stop_reason}
    return d


def openai(srv, **kw):
    return {"kind": "openai", "base_url": srv.url, "model": "m", "backoff_s": 0.0, "max_retries": 0,
            "timeout_s": 20, **kw}


# ----------------------------------------------------------------- parallel
def test_parallel_proposals_overlap_and_are_recorded_in_completion_order(tmp_path):
    pytest.importorskip("httpx")
    delays = [1.5, 0.3, 0.8]
    script = [("delay", d, fenced(variant(i))) for i, d in enumerate(delays)]
    with FakeChat(script) as srv:
        cfg = make_cfg(tmp_path, max_rounds=3, max_repairs=0, parallel=3, proposer=openai(srv))
        rounds_only(Discovery.start(cfg, tmp_path / "run")).run()
    recs = records(tmp_path / "run")
    assert [r["id"] for r in recs] == [0, 1, 2]
    assert sorted(r["proposal"] for r in recs) == [0, 1, 2]
    # all three calls were in flight at once: the last request came before the first reply
    starts = [q["t0"] for q in srv.requests]
    ends = [t for t, _ in srv.replies]
    assert max(starts) < min(ends)
    assert max(ends) - min(starts) < sum(delays)
    # records are in the order the replies arrived
    by_reply = [text for _, text in sorted(srv.replies)]
    assert [r["attempts"][0]["response"] for r in recs] == by_reply


def test_parallel_budget_on_calls_holds_with_calls_in_flight(tmp_path):
    pytest.importorskip("httpx")
    script = [("delay", 0.3, fenced(variant(i))) for i in range(10)]
    with FakeChat(script) as srv:
        cfg = make_cfg(tmp_path, max_rounds=10, max_repairs=0, parallel=3, max_llm_calls=4, proposer=openai(srv))
        final = rounds_only(Discovery.start(cfg, tmp_path / "run")).run()
    recs = records(tmp_path / "run")
    assert len(srv.requests) == 4 and sum(r["llm_calls"] for r in recs) == 4
    assert "max_llm_calls" in final["stop_reason"]


class Interrupting:
    """Wraps a proposer; Ctrl-C arrives with the reply of proposal ``at``."""

    is_llm = True
    kind = "openai"

    def __init__(self, inner, at):
        self.inner, self.at = inner, at

    def propose(self, messages, ctx):
        if ctx.round == self.at:
            raise KeyboardInterrupt
        return self.inner.propose(messages, ctx)

    def close(self):
        self.inner.close()


def test_resume_after_an_interruption_with_proposals_in_flight(tmp_path):
    pytest.importorskip("httpx")
    script = [("delay", 0.2 + 0.1 * (i % 3), fenced(variant(i))) for i in range(20)]
    with FakeChat(script) as srv:
        cfg = make_cfg(tmp_path, max_rounds=6, max_repairs=0, parallel=3, proposer=openai(srv))
        d = rounds_only(Discovery.start(cfg, tmp_path / "run"))
        d._proposer = Interrupting(d.proposer(), at=3)
        with pytest.raises(KeyboardInterrupt):
            d.run()
        before = records(tmp_path / "run")
        assert 0 < len(before) < 6
        rounds_only(Discovery.resume(tmp_path / "run")).run()
    after = records(tmp_path / "run")
    assert after[:len(before)] == before  # nothing rewritten
    assert [r["id"] for r in after] == list(range(6))  # dense, never duplicated
    props = [r["proposal"] for r in after]
    assert len(set(props)) == 6  # no proposal recorded twice
    # the resumed session starts after the last recorded proposal (those in flight were lost)
    assert min(props[len(before):]) == max(r["proposal"] for r in before) + 1
    sources = [r["source"] for r in after if r["status"] in ("ok", "screened")]
    assert len(sources) == len(set(sources))


# ----------------------------------------------------------- several proposers
@pytest.mark.parametrize("choose", ["weights", "bandit"])
def test_several_proposers_in_one_run(tmp_path, choose):
    pytest.importorskip("httpx")
    with FakeChat([("reply", fenced(variant(i))) for i in range(10)]) as a, \
            FakeChat([("reply", fenced(variant(10 + i))) for i in range(10)]) as b:
        cfg = config_from_dict({
            "run": {"out": str(tmp_path / "run"), "max_rounds": 8, "max_repairs": 0, "parallel": 2, "jobs": 1,
                    "choose": choose,
                    "plots": False, "betas": [0.0, 1.0],
                    "seed_programs": [str(ROOT / "programs" / "sc.tts"), str(ROOT / "programs" / "cmc.tts")]},
            "search": {"synthetic": [{"seed": 11, "questions": 5, "branches": 24}], "seeds": 3},
            "smoke": {"questions": 3, "branches": 16, "seeds": 2},
            "proposers": [openai(a, name="a", weight=1.0), openai(b, name="b", weight=1.0),
                          {"kind": "evolve", "weight": 1.0}]}, str(tmp_path))
        final = Discovery.start(cfg, tmp_path / "run").run()
        recs = records(tmp_path / "run")
        assert {r["proposer"] for r in recs} <= {"a", "b", "evolve"} and len({r["proposer"] for r in recs}) >= 2
        kinds = {r["proposer"]: r["proposer_kind"] for r in recs}
        assert all(kinds[n] == ("evolve" if n == "evolve" else "openai") for n in kinds)
        assert len(a.requests) == sum(1 for r in recs if r["proposer"] == "a")
        assert len(b.requests) == sum(1 for r in recs if r["proposer"] == "b")
    stats = final["proposers"]
    assert set(stats) == {"a", "b", "evolve"}
    assert sum(s["proposals"] for s in stats.values()) == 8
    for name, s in stats.items():
        assert s["proposals"] == sum(1 for r in recs if r["proposer"] == name)
        if s["proposals"]:
            assert s["entry_rate"] == round(s["entered"] / s["proposals"], 4)
    assert json.loads((tmp_path / "run" / "final.json").read_text())["proposers"] == stats


def test_bandit_prefers_the_proposer_whose_candidates_enter_the_archive(tmp_path):
    cfg = config_from_dict({
        "run": {"choose": "bandit"}, "search": {"synthetic": [{"seed": 1}]},
        "proposers": [{"kind": "evolve", "name": "good"}, {"kind": "evolve", "name": "bad"}]}, str(tmp_path))
    d = Discovery(cfg, tmp_path / "x")

    def rec(i, name, entered):
        r = Candidate(i, "ok", None, name, [], "s", "h", None, "", "", [], 0, 0, 0, 0.0, [], [], [])
        r.cells = [[0, 0, 0]] if entered else []
        return r

    recs = [rec(i, "good", True) for i in range(8)] + [rec(8 + i, "bad", False) for i in range(8)]
    picks = [d.choose_proposer(p, recs) for p in range(200)]
    assert picks.count("good") > 170
    assert picks == [d.choose_proposer(p, recs) for p in range(200)]  # seeded
    # with no history, both are tried
    fresh = [d.choose_proposer(p, []) for p in range(100)]
    assert 20 < fresh.count("good") < 80


def test_weights_split_proposals(tmp_path):
    cfg = config_from_dict({
        "run": {"choose": "weights"}, "search": {"synthetic": [{"seed": 1}]},
        "proposers": [{"kind": "evolve", "name": "x", "weight": 3}, {"kind": "evolve", "name": "y", "weight": 1},
                      {"kind": "evolve", "name": "z", "weight": 0}]}, str(tmp_path))
    d = Discovery(cfg, tmp_path / "x")
    picks = [d.choose_proposer(p, []) for p in range(400)]
    assert 250 < picks.count("x") < 350 and "z" not in picks


# ------------------------------------------------------------------- cascade
def test_screened_out_programs_skip_the_full_evaluation(tmp_path):
    cfg = make_cfg(tmp_path, max_rounds=2)
    d = Discovery.start(cfg, tmp_path / "run")
    d.setup()
    full = []
    orig = d.evaluator.evaluate_parts

    def parts(*a, **kw):
        full.append(a[2])
        return orig(*a, **kw)

    d.evaluator.evaluate_parts = parts
    d.admits = lambda rd, screen: False
    d.setup = lambda: None
    rounds_only(d).run()
    recs = records(tmp_path / "run")
    assert full == []  # no full evaluation during the rounds
    scr = [r for r in recs if r["status"] == "screened"]
    assert scr, [r["status"] for r in recs]
    for r in scr:
        assert r["screen"]["admitted"] is False and r["screen"]["fingerprint"]
        assert r["screen"]["betas"] == [0.25, 0.75] and set(r["screen"]["curves"]) == set(r["stores"])
        assert "curves" not in r and "program_file" not in r and "could not enter" in r["full_skipped"]
    assert not list((tmp_path / "run" / "programs").glob("*.tts"))


def test_behavioural_duplicate_on_the_screen_is_rejected_and_repaired(tmp_path):
    pytest.importorskip("httpx")
    # sc with a statement that changes nothing: new text, new behaviour key, the same behaviour
    same = SC.replace("controller sc", "controller sc_again").replace(
        "answer majority(completed)", "let spare = 1\nanswer majority(completed)")
    with FakeChat([("reply", fenced(same)), ("reply", fenced(GOOD))]) as srv:
        cfg = make_cfg(tmp_path, max_rounds=1, max_repairs=1, proposer=openai(srv))
        rounds_only(Discovery.start(cfg, tmp_path / "run")).run()
        (rec,) = records(tmp_path / "run")
        v0 = rec["attempts"][0]["validation"]
        assert v0["stage"] == "dedupe" and v0["diagnostics"][0]["code"] == "D003"
        assert v0["duplicate_of"] == "seed program sc"
        assert "D003" in srv.requests[1]["body"]["messages"][-1]["content"]
    assert rec["status"] in ("ok", "screened") and "fixture_good" in rec["source"]
    assert rec["screen"]["admitted"] in (True, False) and rec["cells"] is not None


def test_wall_budget_holds_with_slow_calls_in_flight(tmp_path):
    pytest.importorskip("httpx")
    import time

    with FakeChat([("delay", 4.0, fenced(variant(i))) for i in range(6)]) as srv:
        cfg = make_cfg(tmp_path, max_rounds=6, max_repairs=0, parallel=3, proposer=openai(srv))
        d = Discovery.start(cfg, tmp_path / "run")
        d.setup()
        d.cfg.max_wall_s = d.state.setup_wall_s + 1.0
        d.setup = lambda: None
        t0 = time.perf_counter()
        final = rounds_only(d).run()
        rounds_s = time.perf_counter() - t0
    assert "max_wall_s" in final["stop_reason"]
    assert rounds_s < 3.0  # did not wait for the 4-second replies in flight
    assert len(srv.requests) == 3  # three in flight, abandoned before any reply: nothing recorded
    assert not (tmp_path / "run" / "candidates.jsonl").exists()


def test_evolve_with_parallel_runs_inline(tmp_path):
    cfg = make_cfg(tmp_path, max_rounds=4, parallel=3)
    d = rounds_only(Discovery.start(cfg, tmp_path / "run"))
    d.run()
    recs = records(tmp_path / "run")
    # inline proposals are in flight together too: a repaired one may finish after the next one
    assert [r["id"] for r in recs] == [0, 1, 2, 3] and sorted(r["proposal"] for r in recs) == [0, 1, 2, 3]
    assert all(r["proposer"] == "evolve" and r["proposer_kind"] == "evolve" for r in recs)
    assert any(r["status"] in ("ok", "screened") for r in recs)
