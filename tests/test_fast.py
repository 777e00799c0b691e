"""The fast engine (numba) through the runner: the same EvalResult as the Python engine,
runtime errors reported the same way (the failing episode bails to the Python engine), the
engine named by ``check``, and the Python engine when numba is missing or turned off."""

from __future__ import annotations

import dataclasses
import os

import pytest

from conftest import PROGRAMS
from tts_dsl import api
from tts_dsl.engines import fast
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.limits import Limits
from tts_dsl.replay.synthetic import synthetic_store

needs_numba = pytest.mark.skipif(not os.environ.get("TTS_DSL_CI") and fast.available() is not None,
                                 reason="needs numba (pip install -e '.[fast]')")


def _both(exe, store, **kw):
    assert exe.fast is not None, exe.engine
    py = dataclasses.replace(exe, fast=None, engine="python")
    return run(exe, store, **kw), run(py, store, **kw)


def _same(a, b):
    keys = ("accuracy", "avg_cost", "episodes", "seeds", "ended", "acc_per_seed", "cost_per_seed", "correct", "cost")
    assert {k: getattr(a, k) for k in keys} == {k: getattr(b, k) for k in keys}
    assert (a.error is None) == (b.error is None)
    if a.error is not None:
        assert a.error.to_dict() == b.error.to_dict()


ENGINES = {"fast": "fast", "vm": fast.VM}  # TTS_DSL_ENGINE -> exe.engine: the specialised code, the VM
# the specialised code of a test's own program costs a compilation (3-5 s): in the slow set (CI
# runs it), the VM in the default suite
BOTH = [pytest.param("fast", marks=pytest.mark.slow), "vm"]


# each program's specialised code costs a compilation (3-10 s, 15-25 s for CMC and
# Parallel-Probe on a busy worker): only SC on it runs in the default suite, the others in the
# slow set (CI runs both; test_differential's shipped-program test compiles CMC and
# Parallel-Probe in the default suite already); every program on the VM in the default suite
RUNNER_CASES = [("sc", None, {"n": 16}), ("asc", None, {"max_samples": 32}), ("esc", None, {"max_samples": 32}),
                ("cmc", 0.5, {}), ("cmc", 1.0, {}), ("parallel_probe", None, {"num_chains": 24, "warm_up": 2, "T": 5})]


@needs_numba
@pytest.mark.parametrize("name,beta,params,engine", [
    pytest.param(*case, engine, marks=[pytest.mark.slow] if engine == "fast" and case[0] != "sc" else [])
    for case in RUNNER_CASES for engine in ENGINES])
def test_runner_results_equal_the_python_engine(name, beta, params, engine, monkeypatch):
    monkeypatch.setenv("TTS_DSL_ENGINE", engine)
    store = synthetic_store(4, n_questions=5, n_branches=40)
    exe = api.compile(api.load(PROGRAMS / f"{name}.tts"), beta, params)
    assert exe.engine == ENGINES[engine]
    _same(*_both(exe, store, seeds=range(7)))
    _same(*_both(exe, store, seeds=range(3), questions=[4, 1]))
    # tight caps end episodes inside loops and inside a query's step charge
    for caps in [(5, 9), (40, 60), (1000, 150), (60, 2_000_000)]:
        lim = Limits(max_actions=caps[0], max_steps=caps[1])
        a, b = _both(exe, store, seeds=range(3), limits=lim)
        _same(a, b)


LISTS = """controller l
var xs: list[int] = []
repeat 6 { open else break }
for i in range(12) {
  xs = xs + [i]
  let ys = [b for b in branches where not b.finished sorted by b.steps desc take i]
  for b in ys { advance b }
}
answer majority(completed)
"""


@needs_numba
@pytest.mark.parametrize("engine", BOTH)
def test_lists_beyond_their_limits_bail_to_the_python_engine(engine, monkeypatch):
    """A concatenation beyond max_list_len and a list var beyond the episode's memory budget
    bail: the Python engine then reports the error (L008) or runs the episode."""
    monkeypatch.setenv("TTS_DSL_ENGINE", engine)
    store = synthetic_store(2, n_questions=3, n_branches=10)
    exe = api.compile(api.check(LISTS, "l.tts"), limits=Limits(max_list_len=5))
    assert exe.engine == ENGINES[engine]
    a, b = _both(exe, store, seeds=range(2), limits=Limits(max_list_len=5))
    assert a.error is not None and "L008" in a.error.message
    _same(a, b)
    from tts_dsl.lang.schedule import bind
    checked = api.check(LISTS, "l.tts")
    f = (fast.prepare if engine == "fast" else fast.vm_episodes)(checked, bind(checked, None), Limits())
    pk = fast.packed(store, store.questions)
    assert (f.run_seed(pk, 0, 50_000, 2_000_000)[2] >= 0).all()  # within the budget: native
    f.lims[1] = 11  # xs reaches 12 elements: every episode bails
    assert (f.run_seed(pk, 0, 50_000, 2_000_000)[2] == -2).all()
    f.lims[1] = 12
    assert (f.run_seed(pk, 0, 50_000, 2_000_000)[2] >= 0).all()
    f.lims[2] = 20  # list work outside fuel-metered loops beyond the cap: bail (the alarm can stop Python)
    assert (f.run_seed(pk, 0, 50_000, 2_000_000)[2] == -2).all()


@needs_numba
@pytest.mark.parametrize("engine", BOTH)
def test_a_runtime_error_is_reported_as_by_the_python_engine(engine, monkeypatch):
    monkeypatch.setenv("TTS_DSL_ENGINE", engine)
    src = "controller z\nrepeat 3 { read }\nlet d = len(completed) // (opened - 3)\nanswer completed[d]\n"
    exe = api.compile(api.check(src, "z.tts"))
    assert exe.engine == ENGINES[engine]
    a, b = _both(exe, synthetic_store(1, n_questions=2, n_branches=6), seeds=range(2))
    assert a.error is not None and "division by zero" in a.error.message
    _same(a, b)


@needs_numba
def test_one_compilation_serves_every_beta():
    prog = api.load(PROGRAMS / "asc.tts")
    mods = {api.compile(prog, None, {"threshold": t, "max_samples": m}).fast.mod
            for t, m in [(0.9, 16), (0.95, 64), (0.5, 3)]}
    assert len(mods) == 1


def test_check_names_the_engine(monkeypatch):
    src = "controller m\nvar c: map[answer, int]\nrepeat 3 { read }\nc[completed[0]] += 1\nanswer argmax(c)\n"
    r = api.check_report(src, "m.tts")
    assert r["engine"] == "python (variables of type map[answer, int])" or r["engine"].startswith("python (numba")
    monkeypatch.setenv("TTS_DSL_ENGINE", "python")
    r = api.check_report((PROGRAMS / "sc.tts").read_text(), "sc.tts")
    assert r["engine"] == "python (TTS_DSL_ENGINE=python)"
    exe = api.compile(api.load(PROGRAMS / "sc.tts"))
    assert exe.fast is None and exe.engine == "python (TTS_DSL_ENGINE=python)"


@needs_numba
def test_check_reports_fast_for_the_baselines(monkeypatch):
    for name in ("sc", "asc", "esc", "cmc", "parallel_probe"):  # the VM takes them (specialised code once compiled)
        assert api.check_report((PROGRAMS / f"{name}.tts").read_text(), name)["engine"] == "fast (vm)"
    monkeypatch.setenv("TTS_DSL_ENGINE", "fast")
    assert api.check_report((PROGRAMS / "cmc.tts").read_text(), "cmc")["engine"] == "fast"


def test_traced_executables_stay_on_the_python_engine():
    exe = api.compile(api.load(PROGRAMS / "sc.tts"), traced=True)
    assert exe.fast is None


@needs_numba
def test_a_small_evaluation_of_a_program_not_compiled_yet_stays_on_the_python_engine(monkeypatch, tmp_path):
    from tts_dsl.engines.python import compile_program
    from tts_dsl.lang.schedule import bind

    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path))  # an empty disk cache: nothing compiled there
    # a structure no other test compiles (the constant is part of the generated source)
    src = (PROGRAMS / "sc.tts").read_text().replace("controller sc", "controller sc_small") + "\n# small\n"
    checked = api.check(src.replace("answer majority", "if len(completed) == 12345 { answer none }\nanswer majority"))
    binding = bind(checked, None)

    def attach(episodes):
        return fast.attach(compile_program(checked, binding, Limits()), Limits(), episodes)

    assert attach(fast.MIN_EPISODES).engine == fast.VM  # the VM takes it: nothing to compile

    def no_vm(*a):
        raise fast.Unsupported("not in the VM's subset (test)")

    monkeypatch.setattr(fast, "vm_episodes", no_vm)  # a program only the specialised code takes
    small = attach(fast.MIN_EPISODES - 1)
    assert small.fast is None and "fewer than 1,000" in small.engine
    assert attach(fast.MIN_EPISODES).engine == "fast"  # large enough: compiled now
    assert attach(10).engine == "fast"  # compiled already: small evaluations use it too
    monkeypatch.setenv("TTS_DSL_ENGINE", "fast")
    other = checked.source.replace("12345", "54321")
    exe = fast.attach(compile_program(api.check(other), bind(api.check(other), None), Limits()), Limits(), 5)
    assert exe.engine == "fast"  # forced
    store = synthetic_store(4, n_questions=3, n_branches=24)
    _same(*_both(exe, store, seeds=range(3)))


def test_a_store_back_from_rays_object_store_is_packed_writable_once():
    """Ray hands a shipped store's arrays back read-only; numba would compile every native
    function again for read-only arrays (30 s for the VM), so packing copies them once."""
    import pickle

    import numpy as np

    store = synthetic_store(6, n_questions=3, n_branches=12)
    whole = fast.packed(store, store.questions)
    shipped = pickle.loads(pickle.dumps(store))  # the packed arrays travel with the store
    arrays = {k: v for k, v in vars(shipped.__dict__["_fast_packed"]).items() if isinstance(v, np.ndarray)}
    assert len(arrays) >= 8
    for v in arrays.values():
        v.flags.writeable = False
    again = fast.packed(shipped, shipped.questions)
    for k, v in vars(again).items():
        if isinstance(v, np.ndarray):
            assert v.flags.writeable, k
            assert np.array_equal(v, getattr(whole, k)), k
    assert fast.packed(shipped, shipped.questions) is again  # once per store


def test_check_compile_makes_later_evaluations_run_on_the_specialised_code(tmp_path, monkeypatch, capsys):
    """``tts-dsl check --compile``: the program's specialised code lands in numba's disk cache,
    and a new process evaluating the program picks it (engine ``fast``) without compiling."""
    import json
    import subprocess
    import sys

    from tts_dsl.cli import main

    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path))
    prog = tmp_path / "tiny.tts"
    prog.write_text("controller tiny\nparams { k: int increasing in [1, 8] = 1 + round(7 * beta) }\n"
                    "repeat k { open else break }\nanswer majority(completed)\n")
    assert main(["check", str(prog), "--compile", "--json"]) == 0
    (rep,) = json.loads(capsys.readouterr().out)
    assert rep["compiled"]["ok"] and rep["engine"] == "fast"
    assert list((tmp_path / "fast" / "__pycache__").glob("*.nbi"))
    code = ("from tts_dsl import api; from tts_dsl.engines import fast; from tts_dsl.engines.python import "
            "compile_program; from tts_dsl.lang.schedule import bind; import sys, time\n"
            "c = api.check(open(sys.argv[1]).read(), sys.argv[1])\n"
            "exe = fast.attach(compile_program(c, bind(c, 0.3)), None, 10)\n"  # even a small evaluation
            "print(exe.engine)\n")
    out = subprocess.run([sys.executable, "-c", code, str(prog)], capture_output=True, text=True, check=True,
                         env={**os.environ, "TTS_DSL_CACHE": str(tmp_path)})
    assert out.stdout.strip() == "fast"
    # a program the specialised code cannot take: said, and nothing fails
    other = tmp_path / "ent.tts"
    other.write_text("controller ent\nrepeat 4 { open else break }\n"
                     "answer majority(completed) if entropy(completed) < 1.0 else none\n")
    assert main(["check", str(other), "--compile"]) == 0
    assert "compiled: not compiled (the call entropy(...) here)" in capsys.readouterr().out
