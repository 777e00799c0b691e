"""The bytecode interpreter (engines/bytecode.py compiles, engines/vm.py runs): the engine
choice (specialised code once compiled, else the VM, else today's rules), the compiler's
output, and bails that keep it exact (a full arena). Per-episode exactness against the other
engines is in test_differential.py (random programs, every shipped program)."""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np
import pytest

from conftest import PROGRAMS
from tts_dsl import api
from tts_dsl.engines import bytecode, fast
from tts_dsl.engines.python import compile_program
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.limits import Limits
from tts_dsl.lang.schedule import bind
from tts_dsl.replay.synthetic import synthetic_store

needs_numba = pytest.mark.skipif(not os.environ.get("TTS_DSL_CI") and fast.available() is not None,
                                 reason="needs numba (pip install -e '.[fast]')")

VM_PROGRAMS = ("sc", "asc", "esc", "cmc", "parallel_probe", "first_finish", "short_m_at_k", "answer_convergence")


def _bytecode(src: str, beta=None, limits=None):
    checked = api.check(src, "p.tts")
    return bytecode.compile_bytecode(checked, bind(checked, beta), limits or Limits())


@pytest.mark.parametrize("name", VM_PROGRAMS)
def test_the_shipped_programs_compile_to_bytecode_in_milliseconds(name):
    src = (PROGRAMS / f"{name}.tts").read_text()
    checked = api.check(src, name)
    binding = bind(checked, 0.5 if checked.params and any(p.uses_beta for p in checked.params) else None)
    t = time.perf_counter()
    bc = bytecode.compile_bytecode(checked, binding, Limits())
    assert time.perf_counter() - t < 0.5  # milliseconds in practice; generous for a loaded machine
    assert bc.code.dtype == np.int64 and bc.code.shape[1] == 5
    assert bc.code[-1, 0] == bytecode.OP["END"]
    n = len(bc.code)
    for pc, ins in enumerate(bc.code.tolist()):  # every jump lands inside the program, never on a jump
        f = bytecode.TARGET.get(ins[0])
        if f is not None:
            assert 0 <= ins[f] < n and bc.code[ins[f], 0] != bytecode.OP["JMP"], (pc, bc.listing())
            assert not (ins[0] == bytecode.OP["JMP"] and ins[1] == pc + 1)


def test_params_and_constants_are_preloaded_registers():
    bc = _bytecode("controller p\nparams { n: int = 7\n t: float = 0.25 }\nrepeat n { read else break }\n"
                   "if beta_confidence(len(completed), 0) > t { answer majority(completed) }\nanswer none\n")
    assert 7 in bc.i0.tolist() and 0.25 in bc.f0.tolist()


@pytest.mark.parametrize("src,reason", [
    ("controller d\ndef f(x: int) -> int { return x + 1 }\nrepeat 3 { read }\n"
     "if f(len(completed)) > 2 { answer majority(completed) }\nanswer none\n", "user functions"),
    ("controller m\nvar c: map[answer, int]\nrepeat 3 { read }\nanswer majority(completed)\n", "map"),
    ("controller f\nrepeat 3 { read }\nlet x = 2.5 // 1.5\nanswer majority(completed)\n", "'//' on floats"),
])
def test_what_the_vm_does_not_take_is_named(src, reason):
    with pytest.raises(fast.Unsupported, match=reason):
        _bytecode(src)


@needs_numba
def test_engine_choice(monkeypatch, tmp_path):
    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path))  # nothing compiled there yet
    monkeypatch.delenv("TTS_DSL_ENGINE", raising=False)
    # a structure no other test compiles
    src = (PROGRAMS / "asc.tts").read_text().replace("controller asc", "controller asc_vm") \
        .replace("answer majority(completed)", "if len(completed) == 9876 { answer none }\nanswer majority(completed)")
    checked = api.check(src, "asc_vm.tts")
    binding = bind(checked, None)

    def attach(episodes=None):
        return fast.attach(compile_program(checked, binding, Limits()), Limits(), episodes)

    assert api.check_report(src, "asc_vm.tts")["engine"] == fast.VM
    with monkeypatch.context() as m:  # a process that has not loaded the VM: a small evaluation stays on Python
        m.setattr(fast, "vm_loaded", lambda: False)
        assert "fewer than 1,000" in attach(10).engine
    assert attach(fast.MIN_EPISODES).engine == fast.VM  # while the specialised code is not compiled
    assert fast.vm_loaded()
    assert attach(10).engine == fast.VM  # small, the VM loaded already: nothing to compile nor load
    monkeypatch.setenv("TTS_DSL_ENGINE", "fast")
    assert attach(10).engine == "fast"  # forced: compiles the specialised code
    monkeypatch.delenv("TTS_DSL_ENGINE")
    assert attach(10).engine == "fast"  # compiled already: it is used
    monkeypatch.setenv("TTS_DSL_ENGINE", "vm")
    exe = attach(10)
    assert exe.engine == fast.VM and isinstance(exe.fast, fast.FastEpisodes)
    monkeypatch.setenv("TTS_DSL_ENGINE", "python")
    assert attach(10).engine == "python (TTS_DSL_ENGINE=python)"
    # a program the VM does not take keeps today's rules
    monkeypatch.delenv("TTS_DSL_ENGINE")
    other = api.check("controller f\nrepeat 3 { read }\nlet x = 2.5 // 1.5\nanswer majority(completed)\n", "f.tts")
    assert fast.engine_for(other) == "fast"
    exe = fast.attach(compile_program(other, bind(other, None), Limits()), Limits(), 10)
    assert exe.fast is None and "fewer than 1,000" in exe.engine


@needs_numba
def test_a_full_arena_bails_to_the_python_engine():
    """List values live in a per-episode arena; an episode that outgrows it runs on the
    Python engine (the results do not change)."""
    src = ("controller l\nvar xs: list[int] = []\nrepeat 8 { open else break }\n"
           "for i in range(30) {\n  xs = xs + [i]\n  for b in [c for c in branches where not c.finished] { advance b }\n}\n"
           "answer majority(completed)\n")
    checked = api.check(src, "l.tts")
    binding = bind(checked, None)
    store = synthetic_store(3, n_questions=3, n_branches=8)
    exe = compile_program(checked, binding, Limits())
    v = fast.vm_episodes(checked, binding, Limits())
    pk = fast.packed(store, store.questions)
    assert (v.run_seed(pk, 0, 50_000, 2_000_000)[2] >= 0).all()
    v.arena[pk.maxnb] = (np.empty(pk.maxnb + 40, np.int64), np.empty(4, np.float64))
    assert (v.run_seed(pk, 0, 50_000, 2_000_000)[2] == -2).all()
    small = run(dataclasses.replace(exe, fast=v, engine=fast.VM), store, range(3))
    py = run(exe, store, range(3))
    assert (small.accuracy, small.avg_cost, small.cost) == (py.accuracy, py.avg_cost, py.cost)


HELDOUT = PROGRAMS.parent / "benchmarks" / "heldout_kind"


@needs_numba
@pytest.mark.parametrize("path", sorted(HELDOUT.glob("*.tts")), ids=lambda p: p.stem)
def test_the_heldout_kind_agrees_on_the_vm(path):
    """The benchmarks' programs of the held-out kind (many branch vars, lists built every step)
    run on the VM, episode for episode as the reference and compiled engines."""
    from test_differential import _three_way

    store = synthetic_store(5, n_questions=3, n_branches=48)
    for beta in (0.0, 1.0):
        _, took, _ = _three_way(path.read_text(), store, beta, range(3), Limits(), specialised=False)
        assert took


@needs_numba
def test_the_interpreter_can_be_compiled_ahead_of_the_first_evaluation():
    """``python -m tts_dsl.engines`` compiles (or loads) the interpreter: afterwards it is
    loaded in the process and an evaluation needs no compilation."""
    import subprocess
    import sys

    from conftest import ROOT

    out = subprocess.run([sys.executable, "-m", "tts_dsl.engines"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("native interpreter ready in ") and out.stderr == ""
    from tts_dsl.engines import fast, vm

    assert vm.warm() < 60 and fast.vm_loaded()
