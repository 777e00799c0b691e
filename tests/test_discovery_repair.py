"""The evolve proposer's repair after a loop rejection (S101 never answers correctly, D003 a
behavioural duplicate) is checked on the smoke store before it goes back: it passes the smoke
stage, and it behaves there unlike the rejected program and its parent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tts_dsl.api import check
from tts_dsl.discovery.config import SMOKE_DEFAULTS, ProposerConfig
from tts_dsl.discovery.proposers import Context
from tts_dsl.discovery.proposers.evolve import EvolveProposer
from tts_dsl.discovery.validate import extract_program, program_hash, smoke

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ["sc", "asc", "esc", "first_finish", "short_m_at_k"]


def _pool():
    pool = [{"id": n, "source": (ROOT / "programs" / f"{n}.tts").read_text(), "area": 1.0} for n in SEEDS]
    return pool, {program_hash(check(p["source"]).program): p["id"] for p in pool}


def _behaviour(src: str):
    out: list = []
    errs = [d for d in smoke(check(src), dict(SMOKE_DEFAULTS), out) if d.severity == "error"]
    return errs, tuple(out)


@pytest.mark.parametrize("code,stage", [("S101", "smoke"), ("D003", "dedupe")])
def test_a_repair_after_a_loop_rejection_passes_the_smoke_precheck(code, stage):
    pool, known = _pool()
    ev = EvolveProposer(ProposerConfig(kind="evolve", tries=12))
    smoke_cfg = dict(SMOKE_DEFAULTS)
    checked_repairs = 0
    for r in range(6):
        first = ev.propose([], Context(r, 0, 0, pool, known, smoke_cfg))
        prev, _ = extract_program(first.text)
        v = {"stage": stage, "duplicate_of": "seed program sc",
             "diagnostics": [{"stage": stage, "severity": "error", "code": code, "line": 1, "col": 1,
                              "message": "rejected"}]}
        second = ev.propose([], Context(r, 1, 0, pool, known, smoke_cfg, last={"source": prev, "validation": v}))
        if second.meta.get("repair_of") != code:
            continue  # nothing to repair (the proposer proposed afresh)
        checked_repairs += 1
        assert second.meta["prechecked"] is True
        src, _ = extract_program(second.text)
        errs, beh = _behaviour(src)
        assert errs == []  # it passes the smoke stage (S101, caps, runtime errors)
        assert beh != _behaviour(prev)[1]  # it does not behave like the rejected program
        parent = next(p["source"] for p in pool if p["id"] == first.meta["parents"][0])
        assert beh != _behaviour(parent)[1]  # nor like its parent
    assert checked_repairs >= 2


def test_without_a_smoke_config_repairs_are_not_prechecked():
    pool, known = _pool()
    ev = EvolveProposer(ProposerConfig(kind="evolve", tries=12))
    for r in range(6):
        first = ev.propose([], Context(r, 0, 0, pool, known))
        prev, _ = extract_program(first.text)
        v = {"stage": "dedupe", "diagnostics": [{"stage": "dedupe", "severity": "error", "code": "D003",
                                                 "line": 1, "col": 1, "message": "rejected"}]}
        second = ev.propose([], Context(r, 1, 0, pool, known, last={"source": prev, "validation": v}))
        if second.meta.get("repair_of") == "D003":
            assert second.meta["prechecked"] is False
            return
    pytest.fail("no D003 repair in 6 rounds")
