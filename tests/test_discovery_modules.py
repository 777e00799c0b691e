"""Discovery's modules one job at a time: the provenance-keyed evaluation cache (time-outs
never cached, the wall-clock cap part of the key), records that round-trip through their
JSON, and a proposer registry that does not import the kinds."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tts_dsl.discovery.config import config_from_dict
from tts_dsl.evaluation.cache import EvalCache, cache_key, provenance, timed_out
from tts_dsl.evaluation.sweep import LocalExecutor, StoreRef
from tts_dsl.lang.limits import Limits

ROOT = Path(__file__).resolve().parent.parent
SC = (ROOT / "programs" / "sc.tts").read_text()
STORE = StoreRef(None, synthetic_seed=4, synthetic_questions=3, synthetic_branches=16)


def _cfg(**run):
    return config_from_dict({"run": {"jobs": 1, "betas": [0.0, 1.0], **run},
                             "search": {"synthetic": [{"seed": 4, "questions": 3, "branches": 16}], "seeds": 2}})


class CountingExecutor(LocalExecutor):
    def __init__(self):
        super().__init__(1)
        self.calls = 0

    def map(self, tasks, progress=None):
        self.calls += 1
        return super().map(tasks, progress)


def _evaluator(tmp_path, **run):
    from tts_dsl.discovery.evaluator import Evaluator

    ex = CountingExecutor()
    return Evaluator(_cfg(**run), tmp_path / "cache.jsonl", ex), ex


# ------------------------------------------------------------------- cache
def test_cache_key_covers_every_limit_and_the_seeds():
    base = provenance("p", "s", [0.0, 1.0], range(3), Limits().with_(max_seconds=300.0))
    assert cache_key(base) == cache_key(provenance("p", "s", [0.0, 1.0], (0, 1, 2), Limits().with_(max_seconds=300.0)))
    for other in (provenance("p", "s", [0.0, 1.0], range(3), Limits().with_(max_seconds=30.0)),
                  provenance("p", "s", [0.0, 1.0], range(3), Limits().with_(max_seconds=300.0, max_steps=10)),
                  provenance("p", "s", [0.0, 1.0], (0, 2, 3), Limits().with_(max_seconds=300.0)),
                  provenance("p", "s2", [0.0, 1.0], range(3), Limits().with_(max_seconds=300.0)),
                  provenance("q", "s", [0.0, 1.0], range(3), Limits().with_(max_seconds=300.0))):
        assert cache_key(other) != cache_key(base)


def test_cache_key_changes_with_the_code_that_computes_results(monkeypatch):
    from tts_dsl.evaluation import cache

    base = cache_key(provenance("p", "s", [0.5], range(3), Limits()))
    monkeypatch.setattr(cache, "code_digest", lambda: "0" * 16)
    assert cache_key(provenance("p", "s", [0.5], range(3), Limits())) != base


def test_cache_persists_and_refuses_time_outs(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"key": "old", "rows": []}\n')  # an entry of the old format: skipped
    c = EvalCache(p)
    assert c.get("old") is None
    prov = provenance("p", "s", [None], (0,), Limits())
    ok = [{"beta": None, "accuracy": 50.0, "avg_cost": 10.0, "error": None}]
    late = [{"beta": None, "accuracy": None, "avg_cost": None, "error": "x.tts:1:1: error[L009]: evaluation exceeded"}]
    assert timed_out(late[0]) and not timed_out(ok[0])
    assert c.put("k1", prov, ok) and not c.put("k2", prov, late)
    broken = [{"beta": None, "accuracy": None, "avg_cost": None,
               "error": "x.tts:1:1: error[R001]: runtime error on question 0, seed 0: internal error (NameError: x)"}]
    assert not c.put("k3", prov, broken) and c.get("k3") is None
    with open(p, "a") as f:
        f.write('{"key": "torn", "prov')
    again = EvalCache(p)
    assert again.get("k1") == ok and again.get("k2") is None and again.get("torn") is None


def test_evaluator_never_reuses_a_time_out(tmp_path):
    ev, ex = _evaluator(tmp_path, max_seconds=1e-9)  # every evaluation hits the wall-clock cap
    for _ in range(2):
        cv = ev.evaluate(SC, "sc.tts", "h", False, [STORE], (0, 1))
        assert "[L009]" in cv.errors()[0]
    assert ex.calls == 2
    assert not (tmp_path / "cache.jsonl").exists()


def test_evaluator_caches_by_provenance_across_instances(tmp_path):
    ev, ex = _evaluator(tmp_path, max_seconds=300.0)
    first = ev.evaluate(SC, "sc.tts", "h", False, [STORE], (0, 1))
    assert not first.errors()
    assert ev.evaluate(SC, "sc.tts", "h", False, [STORE], (0, 1)) == first and ex.calls == 1
    ev2, ex2 = _evaluator(tmp_path, max_seconds=300.0)  # a resumed run reads the file
    assert ev2.evaluate(SC, "sc.tts", "h", False, [STORE], (0, 1)) == first and ex2.calls == 0
    ev3, ex3 = _evaluator(tmp_path, max_seconds=200.0)  # another wall-clock cap: another key
    assert ev3.evaluate(SC, "sc.tts", "h", False, [STORE], (0, 1)) == first and ex3.calls == 1


# ----------------------------------------------------------------- records
def test_records_round_trip_through_their_json(tmp_path):
    from tts_dsl.discovery.loop import Discovery
    from tts_dsl.discovery.records import Candidate, RunState

    cfg = config_from_dict({
        "run": {"max_rounds": 2, "seed_programs": [str(ROOT / "programs" / "sc.tts"), str(ROOT / "programs" / "cmc.tts")],
                "betas": [0.0, 1.0], "jobs": 1, "plots": False},
        "search": {"synthetic": [{"seed": 11, "questions": 4, "branches": 16}], "seeds": 2},
        "smoke": {"questions": 3, "branches": 16, "seeds": 1},
        "proposer": {"kind": "evolve"}}, str(tmp_path))
    Discovery.start(cfg, tmp_path / "run").run()
    lines = (tmp_path / "run" / "candidates.jsonl").read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        d = json.loads(line)
        rec = Candidate.from_dict(d)
        assert rec.to_dict() == d
        assert json.dumps(rec.to_dict(), sort_keys=True) == line
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert RunState.from_dict(state).to_dict() == state


# --------------------------------------------------------------- proposers
def test_proposer_registry_loads_kinds_lazily_and_kinds_import_only_the_base():
    code = ("import sys, tts_dsl.discovery.proposers as P; "
            "print(sorted(m for m in sys.modules if m.startswith('tts_dsl.discovery.proposers.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tts_dsl.discovery.proposers.base']"
    from tts_dsl.discovery.proposers import KINDS, proposer_class

    pkg = ROOT / "tts_dsl" / "discovery" / "proposers"
    for kind in KINDS:
        assert proposer_class(kind).kind == kind
        tree = ast.parse((pkg / f"{kind}.py").read_text())
        inside = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
        assert inside <= {"base"}, (kind, inside)  # never the registry, never another kind
