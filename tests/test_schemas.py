"""The published JSON Schemas (tts_dsl/schemas, copied to docs/schemas): they are valid
schemas, the copies are identical, and real outputs of check, eval, trace and discover
validate against them (and broken ones do not)."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from conftest import PROGRAMS, ROOT
from tts_dsl import api, schemas
from tts_dsl.cli import main
from tts_dsl.reporting.traces import ACTIONS, END_REASONS, validate_record

DOCS = ROOT / "docs" / "schemas"


def run_cli(capsys, *argv) -> tuple[int, str]:
    try:
        code = main(list(argv))
    except SystemExit as ex:  # commands exit 1 when a program is invalid or an evaluation failed
        code = ex.code
    return code, capsys.readouterr().out


def test_schemas_are_valid_versioned_and_published():
    files = sorted(p.name for p in schemas.HERE.glob("*.json"))
    assert files == sorted(f"{n}.v{schemas.VERSION}.json" for n in schemas.NAMES)
    for name in schemas.NAMES:
        s = schemas.load(name)
        Draft202012Validator.check_schema(s)
        assert s["$id"] == f"urn:tts-dsl:schema:{name}:{schemas.VERSION}"
        assert (DOCS / schemas.path(name).name).read_bytes() == schemas.path(name).read_bytes(), \
            f"docs/schemas/{schemas.path(name).name} differs from the package's copy: cp tts_dsl/schemas/*.json docs/schemas/"
    assert sorted(p.name for p in DOCS.glob("*.json")) == files


def test_trace_schema_vocabularies_match_the_code():
    t = schemas.load("trace")
    assert t["properties"]["ended"]["enum"] == list(END_REASONS)
    kinds = t["$defs"]["event"]["properties"]["kind"]["enum"]
    assert kinds[:len(ACTIONS)] == list(ACTIONS)
    assert t["$defs"]["event"]["allOf"][0]["if"]["properties"]["kind"]["enum"] == list(ACTIONS)


def test_check_json_validates(capsys, tmp_path):
    progs = sorted(str(p) for p in PROGRAMS.glob("*.tts"))
    code, out = run_cli(capsys, "check", "--json", *progs)
    assert code == 0
    reports = json.loads(out)
    assert len(reports) == len(progs) and schemas.problems("check", reports) == []
    bad = {
        "typo.tts": "controller x\nanswer majorty(completed)\n",
        "syntax.tts": "controller x\nanswer (\n",
        "refuted.tts": "controller x\nparams {\n  n: int increasing in [1, 10] = round(10 - 9*beta)\n}\n"
                       "answer majority(completed)\n",
    }
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
    files = [str(tmp_path / n) for n in bad] + [str(tmp_path / "missing.tts")]
    code, out = run_cli(capsys, "check", "--json", *files)
    assert code == 2  # a missing file is bad command-line input
    reports = json.loads(out)
    assert [r["ok"] for r in reports] == [False] * 4
    assert {d["code"] for r in reports for d in r["diagnostics"]} >= {"E309", "S001", "F001"}
    assert schemas.problems("check", reports) == []
    code, out = run_cli(capsys, "check", "--json", "--behavior", "--seeds", "2", "--beta", "0,1",
                        str(PROGRAMS / "cmc.tts"))
    [one] = json.loads(out)
    assert "behavior" in one and schemas.problems("check", one) == []
    # a broken report is caught
    broken = json.loads(json.dumps(reports[0]))
    broken["diagnostics"][0]["line"] = "two"
    del broken["diagnostics"][0]["code"]
    probs = schemas.problems("check", broken)
    assert any("missing 'code'" in p for p in probs) and any("'line' has type str" in p for p in probs), probs


def test_eval_json_rows_validate(capsys, tmp_path):
    crash = tmp_path / "crash.tts"
    crash.write_text("controller crash\nlet xs: list[int] = []\nanswer majority(completed) if xs[0] > 0 else none\n")
    code, out = run_cli(capsys, "eval", "--json", "--seeds", "2", "--beta", "0,1", "-j", "1",
                        str(PROGRAMS / "cmc.tts"), str(PROGRAMS / "sc.tts"), str(crash))
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(rows) == 4 and rows[-1]["error"]
    v = schemas.validator("eval-row")
    for r in rows:
        assert list(v.iter_errors(r)) == [], r
    assert schemas.problems("eval-row", {**rows[0], "accuracy": "high"}) != []
    assert schemas.problems("eval-row", {**rows[0], "surprise": 1}) != []


def test_trace_records_validate_and_the_validator_uses_the_schema():
    store = api.open_store(n_questions=3, n_branches=32)
    for name in ("cmc", "esc", "parallel_probe", "certaindex"):
        rec = api.trace(api.load(PROGRAMS / f"{name}.tts"), store, question=1, seed=0)
        assert schemas.problems("trace", rec) == [] and validate_record(rec) == []
    bad = json.loads(json.dumps(rec))
    bad["branches"][0]["mode"] = "teleport"
    bad["events"][1]["cost"] = -1
    probs = validate_record(bad)
    assert "branches[0]: unknown mode 'teleport'" in probs and any(p.startswith("events[1]:") for p in probs), probs


@pytest.mark.slow  # three discovery runs (about 8 s); CI runs the slow set
def test_discovery_records_validate(tmp_path):
    from tts_dsl.discovery import load_config, run_config

    cfg = load_config(ROOT / "examples" / "discover-synthetic.toml")
    cfg.plots = False  # the records are what is validated; the run's plots are tested in test_discovery.py
    final = run_config(cfg, out=str(tmp_path / "run"))
    recs = [json.loads(line) for line in (tmp_path / "run" / "candidates.jsonl").read_text().splitlines()]
    # a rejected record too: an agent whose first reply does not check, with no repair allowed
    import dataclasses
    import sys

    bad = load_config(ROOT / "examples" / "discover-synthetic.toml")
    bad.plots, bad.max_rounds, bad.max_repairs = False, 1, 0
    bad.proposer = dataclasses.replace(bad.proposer, kind="command", timeout_s=30,
                                       command=[sys.executable, str(ROOT / "tests" / "fixtures" / "discovery" / "agent.py")])
    bad.proposers = []
    run_config(bad, out=str(tmp_path / "bad"))
    recs += [json.loads(line) for line in (tmp_path / "bad" / "candidates.jsonl").read_text().splitlines()]
    statuses = {r["status"] for r in recs}
    assert "ok" in statuses and len(statuses) >= 2, statuses  # valid ones and at least one rejected kind
    for r in recs:
        assert schemas.problems("discovery-candidate", r) == [], r["id"]
    on_disk = json.loads((tmp_path / "run" / "final.json").read_text())
    assert on_disk["selected"] == final["selected"]
    assert schemas.problems("discovery-final", on_disk) == []
    ok = next(r for r in recs if r["status"] == "ok")
    assert schemas.problems("discovery-candidate", {k: v for k, v in ok.items() if k != "score"}) != []
    assert schemas.problems("discovery-candidate", {**ok, "status": "maybe"}) != []
