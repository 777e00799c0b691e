"""Fuzzing properties (a short run; ``tools/fuzz.py`` is the long one):

* every generated input is accepted or rejected with positioned diagnostics, never a
  traceback, by the API and by ``tts-dsl check``;
* every accepted program runs to an answer or a clean runtime error within its limits on
  small random stores, deterministically;
* accepted programs never see the gold answer or anything unrevealed: they behave
  identically on stores whose hidden data is poisoned (and the detector does catch
  programs that peek).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import hostile_sources, mutated_sources, valid_programs, valid_sources
from tts_dsl.api import check, compile
from tts_dsl.cli import cli
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.formatter import format_program
from tts_dsl.lang.limits import Limits
from tts_dsl.replay.store import Question, Store
from tts_dsl.replay.synthetic import synthetic_store

from conftest import PROGRAMS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from fuzz import BAD, FUZZ_LIMITS, examine, run_checks, small_stores  # noqa: E402

STORES = small_stores(11)


def fuzz_settings(n):
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@fuzz_settings(120)
@given(st.one_of(valid_sources(), valid_sources(hostile=True), mutated_sources(), hostile_sources))
def test_every_input_ends_cleanly(src):
    outcome, detail = examine(src, STORES, timeout=30)
    assert outcome not in BAD, f"{outcome}: {detail}\n{src}"


@fuzz_settings(60)
@given(valid_programs())
def test_typed_programs_are_accepted_and_run(prog):
    src = format_program(prog)
    outcome, detail = examine(src, STORES, timeout=30)
    assert outcome in ("ran", "runtime-error"), f"{outcome}: {detail}\n{src}"


@fuzz_settings(25)
@given(hostile_sources)
def test_check_cli_never_shows_a_traceback(tmp_path_factory, src):
    p = tmp_path_factory.mktemp("fz") / "p.tts"
    p.write_text(src, encoding="utf-8", errors="surrogatepass")
    r = CliRunner().invoke(cli, ["check", "--json", str(p)])
    assert r.exit_code in (0, 1), r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    [rep] = json.loads(r.output)
    for d in rep["diagnostics"]:
        assert d["line"] >= 1 and d["col"] >= 1 and d["file"] == str(p)


# --------------------------------------------------------------- information safety
SHIPPED = sorted(PROGRAMS.glob("*.tts"))
BIG = [synthetic_store(seed=2, n_questions=2, n_branches=128)]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_programs_see_nothing_hidden(path):
    checked = check(path.read_text(encoding="utf-8"), str(path))
    for beta in ((0.0, 1.0) if checked.uses_beta else (None,)):
        exe = compile(checked, beta, traced=True)
        outcome, detail = run_checks(exe, STORES + BIG, Limits(), seeds=(0, 3))
        assert outcome == "ran", detail


def _poison_gold(store: Store) -> Store:
    qs = [Question(q.index, q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, len(q.answers),
                   q.answers + ["POISON"]) for q in store.questions]
    return Store(store.model, store.dataset, store.path + "#poisoned", qs)


@pytest.mark.parametrize("name", ["sc", "cmc", "parallel_probe"])
def test_gold_answer_changes_nothing_but_accuracy(name):
    checked = check((PROGRAMS / f"{name}.tts").read_text(encoding="utf-8"))
    exe = compile(checked, 0.5, traced=True)
    store = synthetic_store(seed=4, n_questions=3, n_branches=64)
    seen = {}

    def tracer(tag):
        def f(q, seed, events, answer, cost, reason):
            seen.setdefault(tag, []).append((q.index, seed, repr(events), answer, cost, reason))
        return f

    a = run(exe, store, range(3), tracer=tracer("real"))
    b = run(exe, _poison_gold(store), range(3), tracer=tracer("poisoned"))
    assert seen["real"] == seen["poisoned"]
    assert a.cost == b.cost and b.accuracy == 0.0
    gold = {q.index: q.gold for q in _poison_gold(store).questions}
    assert all(ans != gold[qi] for qi, _, _, ans, _, _ in seen["poisoned"])


# ------------------------------------------------------- the detectors can fail
class _Fake:
    """An 'executable' that cheats, to show the leak detector catches cheating."""

    def __init__(self, cheat):
        self.cheat = cheat
        self.calls = 0

    def episode(self, P, NP, T, F, PF, NB, ORDER, CAP, FUEL, TR, JUNK=None):
        self.calls += 1
        j = ORDER[0]
        TR.append(("open", 0, P[j][0], PF, PF, False, 1))
        if self.cheat == "unopened-final":
            return F[ORDER[-1]], PF, 0
        if self.cheat == "length":
            return (P[j][0] if NP[j] > 3 else None), PF, 0
        if self.cheat == "tokens":
            return (P[j][0] if T[j] % 2 else None), PF, 0
        if self.cheat == "peek-probe":
            TR.append(("trace", "peek", [("next", P[j][1] if NP[j] > 1 else F[j])], PF, 2, ["answer"]))
            return P[j][0], PF, 0
        if self.cheat == "random":
            return P[j][0], PF + self.calls, 0
        return P[j][0], PF, 0


@pytest.mark.parametrize("cheat,expected", [
    ("unopened-final", "leak"), ("length", "leak"), ("tokens", "leak"), ("peek-probe", "leak"),
    ("random", "nondeterministic"), ("honest", "ran"),
])
def test_leak_detector_catches_cheating(cheat, expected):
    store = synthetic_store(seed=5, n_questions=3, n_branches=16)
    outcome, _ = run_checks(_Fake(cheat), [store], FUZZ_LIMITS, seeds=(0, 1, 2))
    assert outcome == expected


def test_examine_reports_bad_outcomes(monkeypatch):
    import fuzz

    def boom(*a, **k):
        raise KeyError("internal")

    monkeypatch.setattr(fuzz, "check_program", boom)
    outcome, detail = examine("controller x\nanswer none\n", STORES)
    assert outcome == "traceback" and "KeyError" in detail
