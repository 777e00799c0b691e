"""One discovery candidate's full evaluation, as discovery runs it: one program on the four
AIME24 stores x 11 betas x 100 seeds (44 tasks) over 2 worker processes. Columns: in a
discovery run (the run's kept pool of workers, already up: they evaluated another program
before; the default engine choice, i.e. the bytecode interpreter of engines/vm.py, nothing
compiled for the program), the same with a new pool (the workers' start included), the
specialised native code with its compilation (a fresh cache: numba compiles the program's
structure in each worker) and with numba's disk cache warm (the same program again), and the
Python engine. Each measurement has its own fresh cache directory whose binary store cache
is filled beforehand, and the stores are loaded in this process first, as discovery's parent
does (their digests): a store's first parse is once per store, not per candidate. The
interpreter's own one-time compilation (cached like any numba cache, beside the package) is
measured once, separately, in a fresh ``NUMBA_CACHE_DIR`` (``--no-first-compile`` skips it).

    python benchmarks/bench_candidate.py [--program benchmarks/heldout_kind/streak_vote.tts] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PROGRAMS, REPLAY, ROOT, children_cpu, fmt, live_cpu, machine, stats3

from tts_dsl.evaluation.sweep import LocalExecutor, StoreRef, make_tasks

MODELS = ["Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B"]
BETAS = [i / 10 for i in range(11)]


def _tasks(source: str, file: str, seeds=range(100)):
    refs = [StoreRef(str(REPLAY), m, "aime24") for m in MODELS]
    for ref in refs:
        ref.load()  # as discovery's parent does (the stores' digests); the workers inherit them
    return make_tasks([(source, file)], refs, BETAS, None, seeds, keep_episodes=True)


def once(path: Path, jobs: int, cache: str, engine: str | None = None, pool=None) -> tuple[float, float, list]:
    """(wall, cpu of every process, rows) of one candidate's 44 tasks; ``pool``: a kept
    executor whose workers are up already (else a new pool, started and stopped here)."""
    os.environ["TTS_DSL_CACHE"] = cache  # the workers inherit it
    if engine is None:
        os.environ.pop("TTS_DSL_ENGINE", None)
    else:
        os.environ["TTS_DSL_ENGINE"] = engine
    try:
        tasks = _tasks(path.read_text(), str(path))
        c0 = time.process_time() + children_cpu() + (pool.cpu() if pool else 0.0)
        t = time.perf_counter()
        rows = (pool or LocalExecutor(jobs)).map(tasks)
        wall = time.perf_counter() - t
        return wall, time.process_time() + children_cpu() + (pool.cpu() if pool else 0.0) - c0, rows
    finally:
        os.environ.pop("TTS_DSL_ENGINE", None)


class KeptPool(LocalExecutor):
    """Discovery's kept pool, with the CPU time of its live workers (from /proc)."""

    def __init__(self, jobs: int):
        super().__init__(jobs, keep=True)

    def cpu(self) -> float:
        return live_cpu(list(getattr(self._pool, "_processes", None) or {}))


def in_a_run(path: Path, jobs: int, cache: str) -> tuple[float, float, list]:
    """The candidate in a discovery run: the kept workers evaluated another program first."""
    os.environ["TTS_DSL_CACHE"] = cache
    with KeptPool(jobs) as pool:
        other = path.read_text() + "\n# another candidate\n"
        # a few full-size tasks (small ones run on the Python engine and load nothing)
        pool.map(_tasks(other, "other.tts")[::5])
        return once(path, jobs, cache, None, pool)


def fresh_cache(d: str) -> str:
    """A cache directory with the binary store cache filled (nothing compiled in it)."""
    code = ("from tts_dsl.evaluation.sweep import StoreRef\n"
            f"for m in {MODELS!r}: StoreRef({str(REPLAY)!r}, m, 'aime24').load()\n")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, "TTS_DSL_CACHE": d, "PYTHONPATH": str(ROOT)},
                   check=True)
    return d


def vm_first_compile() -> tuple[float, float]:
    """(wall, cpu) of a fresh process compiling the interpreter into an empty numba cache."""
    code = ("import time; c = time.process_time(); from tts_dsl.engines import vm; "
            "from tts_dsl import api; from tts_dsl.lang.limits import Limits; "
            "exe = api.check('controller p\\nrepeat 2 { read }\\nanswer majority(completed)\\n', 'p.tts'); "
            "from tts_dsl.lang.schedule import bind; vm.prepare(exe, bind(exe, None), Limits()).warm_up(); "
            "print(time.process_time() - c)")
    with tempfile.TemporaryDirectory() as d:
        env = {**os.environ, "NUMBA_CACHE_DIR": d, "PYTHONPATH": str(ROOT)}
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        return time.perf_counter() - t, float(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", action="append", default=None,
                    help="program file (repeatable; default: cmc and the four held-out-kind programs)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-python", action="store_true", help="skip the Python engine's column")
    ap.add_argument("--no-first-compile", action="store_true", help="skip the interpreter's first compilation")
    a = ap.parse_args(argv)
    held = Path(__file__).resolve().parent / "heldout_kind"
    paths = [Path(p) for p in a.program] if a.program else [PROGRAMS / "cmc.tts", *sorted(held.glob("*.tts"))]
    print(f"# one candidate: 4 stores x {len(BETAS)} betas x 100 seeds, {a.jobs} workers; {machine()}")
    if not a.no_first_compile:
        w, c = vm_first_compile()
        print(f"the interpreter's first-ever compilation (one process, empty numba cache): wall {w:.2f} s, cpu {c:.2f} s")
    for path in paths:
        run, run_cpu, vm, vm_cpu, cold, cold_cpu, warm, warm_cpu, py, py_cpu = [], [], [], [], [], [], [], [], [], []
        for _ in range(a.runs):
            with tempfile.TemporaryDirectory() as d:
                t, c, inrun = in_a_run(path, a.jobs, fresh_cache(d))  # the kept pool: the VM
                run.append(t)
                run_cpu.append(c)
            with tempfile.TemporaryDirectory() as d:
                t, c, rows = once(path, a.jobs, fresh_cache(d))  # a new pool; the VM, nothing compiled for the program
                vm.append(t)
                vm_cpu.append(c)
                t, c, spec = once(path, a.jobs, d, "fast")  # the specialised code: compiles (each worker)
                cold.append(t)
                cold_cpu.append(c)
                t, c, again = once(path, a.jobs, d, "fast")  # numba's disk cache: loads
                warm.append(t)
                warm_cpu.append(c)
                key = [(r["accuracy"], r["avg_cost"]) for r in rows]
                assert key == [(r["accuracy"], r["avg_cost"]) for r in inrun]
                assert key == [(r["accuracy"], r["avg_cost"]) for r in spec] == [
                    (r["accuracy"], r["avg_cost"]) for r in again]
                if not a.no_python:
                    t, c, base = once(path, a.jobs, d, "python")
                    py.append(t)
                    py_cpu.append(c)
                    assert key == [(r["accuracy"], r["avg_cost"]) for r in base]
        errors = sum(r["error"] is not None for r in rows)
        print(f"{path.stem:<18} {len(rows)} tasks, {errors} errors; {machine()}")
        print(f"  in a discovery run (kept workers; the VM)   wall {fmt(stats3(run), 3.0)}")
        print(f"                     cpu  {fmt(stats3(run_cpu))} (all processes)")
        print(f"  vm, a new pool     wall {fmt(stats3(vm), 3.0)}")
        print(f"                     cpu  {fmt(stats3(vm_cpu))} (all processes)")
        print(f"  specialised, with compilation   wall {fmt(stats3(cold), 3.0)}")
        print(f"                     cpu  {fmt(stats3(cold_cpu))} (all processes)")
        print(f"  specialised, disk cache warm    wall {fmt(stats3(warm), 3.0)}")
        print(f"                     cpu  {fmt(stats3(warm_cpu))} (all processes)")
        if py:
            print(f"  python engine      wall {fmt(stats3(py))}")
            print(f"                     cpu  {fmt(stats3(py_cpu))} (all processes)")


if __name__ == "__main__":
    main()
