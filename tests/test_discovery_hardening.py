"""Discovery hardening (issues 15 and 16): the schedule gate fails on "unknown", the config is
validated against a schema up front, records are bounded, the proposer is checked before any
evaluation, and every phase reports progress off a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tts_dsl.discovery import config_from_dict
from tts_dsl.discovery.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures" / "discovery"
GOOD = (FIX / "good.tts").read_text()


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


def fenced(src: str) -> str:
    return f"Sure.\n\n```tts\n{src}```\n"


# ------------------------------------------------------- 1. unknown fails the schedule stage
UNSETTLED = "n: int increasing in [1, 64] = max(2, round(2 + 10 * log(beta + 0.5) - beta * beta))"


def test_unknown_schedule_is_rejected_by_default_and_allowed_by_flag(tmp_path):
    from tts_dsl.discovery.validate import validate

    src = GOOD.replace("n: int increasing in [1, 64] = max(2, round(2 + 10 * beta))", UNSETTLED)
    assert src != GOOD
    v = validate(fenced(src), "cand.tts", {}, make_cfg(tmp_path))
    assert not v.ok and v.stage == "schedule", (v.stage, v.diagnostics)
    assert any("could not prove" in d["message"] for d in v.diagnostics)
    assert make_cfg(tmp_path).allow_unknown_schedules is False
    v = validate(fenced(src), "cand.tts", {}, make_cfg(tmp_path, allow_unknown_schedules=True))
    assert v.ok, (v.stage, v.diagnostics)
    assert any("could not prove" in d["message"] for d in v.warnings)
    # a proved knob passes either way
    assert validate(fenced(GOOD), "cand.tts", {}, make_cfg(tmp_path)).ok
