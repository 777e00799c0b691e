"""Prompts an LLM can use well (issue 12, section 5): SEARCH/REPLACE diff edits against a named
parent (applied end to end through a loopback chat server; a broken diff is diagnosed and
repaired), and what a prompt holds: the score's definition, the store facts, the archive's
cells, the parent and inspirations, the note of what was tried, and never the validation part."""

from __future__ import annotations

import json

import pytest

from test_discovery import GOOD, ROOT, FakeChat, make_cfg, records
from test_discovery_loop import rounds_only
from tts_dsl.discovery.loop import Discovery
from tts_dsl.discovery.validate import apply_diff, extract_source

SC = (ROOT / "programs" / "sc.tts").read_text()


def diff(parent, *blocks) -> str:
    out = [f"I will edit {parent}.", "", f"PARENT: {parent}"]
    for a, b in blocks:
        out += ["<<<<<<< SEARCH", a.rstrip("\n"), "=======", b.rstrip("\n"), ">>>>>>> REPLACE"]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------- applying
def test_apply_exact_and_whitespace_tolerant():
    src, d = apply_diff(SC, [("  n: int in [1, 128] = 64\n", "  n: int in [1, 128] = 32\n")], "sc")
    assert not d and "= 32" in src and src.replace("= 32", "= 64") == SC
    # indentation and trailing spaces in the SEARCH text do not matter; the REPLACE is re-indented
    src, d = apply_diff(SC, [("n: int in [1, 128] = 64   ", "n: int in [1, 128] = 16")], "sc")
    assert not d and "\n  n: int in [1, 128] = 16\n" in src
    # blocks apply in order, the second one seeing the first one's result
    src, d = apply_diff(SC, [("= 64", "= 48"), ("= 48", "= 40")], "sc")
    assert not d and "= 40" in src


def test_apply_failures_are_diagnosed():
    src, d = apply_diff(SC, [("repeat m { read else break }", "repeat n { read else break }")], "sc")
    assert src is None and d[0].code == "X002" and d[0].stage == "apply"
    assert "closest line of sc is line 9" in d[0].hint and "repeat n { read else break }" in d[0].hint
    two = SC + "# majority(completed)\n"
    src, d = apply_diff(two, [("majority(completed)", "majority(alive)")], "sc")
    assert src is None and d[0].code == "X003"
    src, edit, d = extract_source(diff("nope", ("= 64", "= 32")), {"sc": SC})
    assert src is None and d[0].code == "X004" and "sc" in d[0].hint
    # no PARENT line: the prompt's parent is the default
    text = "<<<<<<< SEARCH\n= 64\n=======\n= 32\n>>>>>>> REPLACE\n"
    src, edit, d = extract_source(text, {"sc": SC}, default_parent="sc")
    assert not d and edit["kind"] == "diff" and edit["parent"] == "sc" and edit["added"] == edit["removed"] == 1


# ------------------------------------------------------------ end to end
def test_diff_edit_end_to_end_with_a_repair(tmp_path):
    pytest.importorskip("httpx")
    bad = diff("sc", ("repeat m { read else break }", "repeat n { read else break }"))
    good = diff("sc", ("  n: int in [1, 128] = 64", "  n: int in [1, 128] = 8"),
                ("answer majority(completed)", "answer majority(completed)\n"))
    with FakeChat([("reply", bad), ("reply", good)]) as srv:
        cfg = make_cfg(tmp_path, max_rounds=1, max_repairs=2, proposer={
            "kind": "openai", "base_url": srv.url, "model": "m", "backoff_s": 0.0})
        rounds_only(Discovery.start(cfg, tmp_path / "run")).run()
        first = srv.requests[0]["body"]["messages"][1]["content"]
        repair = srv.requests[1]["body"]["messages"]
    assert "PARENT:" in first and "<<<<<<< SEARCH" in first and "## The parent to improve" in first
    assert [m["role"] for m in repair] == ["system", "user", "assistant", "user"]
    assert "X002" in repair[-1]["content"] and "closest line of sc" in repair[-1]["content"]
    assert "SEARCH/REPLACE blocks against sc again" in repair[-1]["content"]
    (rec,) = records(tmp_path / "run")
    assert [a["validation"]["stage"] for a in rec["attempts"]] == ["apply", None]
    assert rec["status"] in ("ok", "screened")
    assert rec["source"] == SC.replace("= 64", "= 8")
    assert rec["edit"] == {"kind": "diff", "parent": "sc", "blocks": 2, "applied": True, "added": 1, "removed": 1}


def test_a_diff_that_applies_but_does_not_check_goes_back_with_check_diagnostics(tmp_path):
    pytest.importorskip("httpx")
    broken = diff("sc", ("answer majority(completed)", "answer majority(completd)"))
    with FakeChat([("reply", broken), ("reply", f"```tts\n{GOOD}```\n")]) as srv:
        cfg = make_cfg(tmp_path, max_rounds=1, max_repairs=1, proposer={
            "kind": "openai", "base_url": srv.url, "model": "m", "backoff_s": 0.0})
        rounds_only(Discovery.start(cfg, tmp_path / "run")).run()
        msg = srv.requests[1]["body"]["messages"][-1]["content"]
    (rec,) = records(tmp_path / "run")
    assert rec["attempts"][0]["validation"]["stage"] == "check"
    assert rec["attempts"][0]["validation"]["edit"]["applied"] is True
    assert "completd" in msg and "stage check" in msg
    assert rec["edit"]["kind"] == "whole" and "fixture_good" in rec["source"]


# -------------------------------------------------------------- contents
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("prompt")
    cfg = make_cfg(tmp, max_rounds=4)
    rounds_only(Discovery.start(cfg, tmp / "run")).run()
    return tmp / "run"


def test_prompt_states_score_store_facts_cells_parent_and_note(run_dir):
    from tts_dsl.discovery import scores

    d = Discovery.resume(run_dir)
    d.setup()
    recs = d.archive.records()
    rd = d.open_round(len(recs), recs)
    text = rd.prompt
    assert scores.score_definition(d.cfg.score["extend"] == "flat") in text
    facts = d.state.store_facts
    (label,) = facts
    n_search = len(d.split.questions("search")[label])
    assert facts[label]["questions"] == n_search and facts[label]["branches"] == 24
    assert f"{label} | {n_search} | 24 | " in text and "junk answers (ERR, ?, empty)" in text
    assert "`ERR`" in text and "`?`" in text
    assert "## The archive's cells" in text
    assert rd.parent is not None and f"## The parent to improve ({_name(rd.parent)})" in text
    assert f"PARENT: {_name(rd.parent)}" in text
    for e in rd.inspirations:
        assert f"### Inspiration {_name(e)}" in text
    assert "## What was tried" in text
    for r in recs:
        assert f"- {r.label} [evolve]" in text


def _name(pool_entry) -> str:
    return pool_entry["id"]


def test_note_says_what_was_tried_and_the_score_change():
    from tts_dsl.discovery.prompt import note_lines
    from tts_dsl.discovery.records import Attempt, Candidate, SeedProgram
    from tts_dsl.discovery.curves import Curves
    from tts_dsl.discovery.scores import Score

    def sc(v):
        return Score.from_dict({"hv": v, "per_store": {}})

    seed = SeedProgram("sc", "sc.tts", SC, "h", False, Curves({}), sc(40.0))
    ok = Candidate(0, "ok", None, "gpt", ["sc"], "x", "h1", None, "", "", [Attempt(0)], 1, 0, 0, 0.0, [], [], [],
                   score=sc(41.5))
    ok.edit = {"kind": "diff", "parent": "sc", "blocks": 2, "applied": True, "added": 3, "removed": 1}
    bad = Candidate(1, "invalid", "check", "evolve", ["c0000"], "y", None, None, "", "",
                    [Attempt(0, meta={"operators": ["insert", "swap"]},
                             validation={"stage": "check", "diagnostics": [{"code": "E104"}]})], 0, 0, 0, 0.0, [], [], [])
    lines = note_lines([ok, bad], [seed], 12)
    assert lines[0] == "- c0000 [gpt] diff on sc (2 block(s), +3/-1 lines): ok, score 41.50 (+1.50 vs sc)"
    assert lines[1] == "- c0001 [evolve] operators insert, swap on c0000: invalid at check (E104)"


def test_validation_results_never_reach_a_prompt(run_dir):
    """Plant a marker in every validation-part field the records and the state hold (and in an
    unknown extra key); no prompt may contain it."""
    from tts_dsl.discovery.langref import language_reference
    from tts_dsl.discovery.prompt import build_prompt

    recs = records(run_dir)
    assert any("validation_part" in r for r in recs)
    state = json.loads((run_dir / "state.json").read_text())
    assert all("validation_part" in s for s in state["seeds"])
    marker = "VALIDATION-MARKER-7319"

    def plant(vp):
        for rows in vp["curves"].values():
            for row in rows:
                row["error"] = marker
        vp["score"]["best_accuracy"] = marker

    for r in recs:
        if "validation_part" in r:
            plant(r["validation_part"])
            r["validation_extra"] = marker
    for s in state["seeds"]:
        plant(s["validation_part"])
    d = Discovery.resume(run_dir)
    d.setup()
    from tts_dsl.discovery.records import as_candidates, as_seeds

    seeds, cands = as_seeds(state["seeds"]), as_candidates(recs)
    d.state.seeds = seeds
    parent = d.pool(cands)[0]
    view = d.prompt_view(parent, d.pool(cands)[1:3], cands)
    text = build_prompt(d.cfg, language_reference(), seeds, cands, view)
    assert marker not in text
    assert "Candidate c0" in text or "Parent" in text  # the records were shown
    # and the validation questions' per-part figures are not there either
    for r in cands:
        if r.validation_part:
            assert json.dumps(r.validation_part) not in text
