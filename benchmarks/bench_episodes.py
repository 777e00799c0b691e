"""Single-process evaluation speed: one program at one beta on one store (30 questions x
100 ordering seeds), traces off and on; the specialised native code and the bytecode
interpreter (VM) side by side. Medians of 5 runs (after one warm-up run).

    python benchmarks/bench_episodes.py [--model Qwen3-8B] [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from _common import PROGRAMS, REPLAY, fmt, machine, timed

from tts_dsl import api
from tts_dsl.engines import fast as fast_engine
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.limits import Limits
from tts_dsl.replay.store import load_store

HELDOUT = Path(__file__).resolve().parent / "heldout_kind"
CASES = [
    # label, program, beta, params, target (s) traces off (issue 14), speed-up over the Python engine
    ("cmc beta=0.5", "cmc", 0.5, {}, 0.10, None),
    ("cmc beta=1.0", "cmc", 1.0, {}, 0.15, None),
    ("parallel_probe 64 chains", "parallel_probe", None, {"num_chains": 64}, 0.25, None),
    ("sc@64", "sc", None, {"n": 64}, 0.01, None),
    ("asc 64", "asc", None, {"max_samples": 64}, 0.01, None),
    ("esc 64", "esc", None, {"max_samples": 64}, 0.01, None),
] + [  # programs of the held-out kind: many branch vars, lists built every step (>= 5x faster)
    (f"{p.stem} beta=0.5", p, 0.5, {}, None, 5.0) for p in sorted(HELDOUT.glob("*.tts"))
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="Qwen3-8B")
    ap.add_argument("--dataset", default="aime24")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default=None, help="run the cases whose label contains this text")
    ap.add_argument("--no-traces", action="store_true", help="skip the traced runs (the Python engine's)")
    a = ap.parse_args(argv)
    store = load_store(REPLAY, a.model, a.dataset)
    print(f"# {a.model}/{a.dataset}: {len(store.questions)} questions x 100 seeds; {machine()}")
    for label, name, beta, params, target, speedup in CASES:
        if a.only and a.only not in label:
            continue
        prog = api.load(name if isinstance(name, Path) else PROGRAMS / f"{name}.tts")
        exe = api.compile(prog, beta, params)
        c0, t0 = time.process_time(), time.perf_counter()
        try:  # the specialised code compiles here (or loads numba's cache)
            f = fast_engine.prepare(exe.checked, exe.binding, Limits())
            f.warm_up()
            fast = dataclasses.replace(exe, fast=f, engine="fast")
        except fast_engine.Unsupported:
            fast = exe
        first = (time.perf_counter() - t0, time.process_time() - c0)
        try:
            vmx = dataclasses.replace(exe, fast=fast_engine.vm_episodes(exe.checked, exe.binding, Limits()),
                                      engine=fast_engine.VM)
        except fast_engine.Unsupported:
            vmx = None
        traced = api.compile(prog, beta, params, traced=True)
        if fast.fast is not None:
            py = dataclasses.replace(fast, fast=None, engine="python (benchmark)")
            cpu_py: list = []
            t_py, r_py = timed(lambda: run(py, store, range(100), keep_episodes=False), a.runs, cpu=cpu_py)
        n_events = [0]

        def count(q, s, events, ans, cost, why):
            n_events[0] += len(events)

        cpu: list = []
        t_off, r_off = timed(lambda: run(fast, store, range(100), keep_episodes=False), a.runs, cpu=cpu)
        if vmx is not None:
            cpu_vm: list = []
            t_vm, r_vm = timed(lambda: run(vmx, store, range(100), keep_episodes=False), a.runs, cpu=cpu_vm)
            assert (r_vm.accuracy, r_vm.avg_cost) == (r_off.accuracy, r_off.avg_cost)
        if a.no_traces:
            t_on, r_on = None, r_off
        else:
            t_on, r_on = timed(lambda: run(traced, store, range(100), keep_episodes=False, tracer=count), a.runs,
                               cpu=cpu)
        assert (r_off.accuracy, r_off.avg_cost) == (r_on.accuracy, r_on.avg_cost)
        # traces run on the Python engine: with the fast engine, compare with the Python engine's time
        base, cbase = (t_py, cpu_py[0]) if fast.fast is not None else (t_off, cpu[0])
        print(f"{label:<26} acc {r_off.accuracy:6.2f}  cost {r_off.avg_cost:12.3f}  engine: {fast.engine}")
        if fast.fast is not None:
            assert (r_py.accuracy, r_py.avg_cost) == (r_off.accuracy, r_off.avg_cost)
            print(f"  compile (numba, or its disk cache): wall {first[0]:.3f} s, cpu {first[1]:.3f} s")
            print(f"  python engine wall {fmt(t_py)}")
            print(f"              cpu  {fmt(cpu_py[0])}")
        print(f"  traces off  wall {fmt(t_off, target)}")
        print(f"              cpu  {fmt(cpu[0], target)}")
        if vmx is not None:
            print(f"  vm          wall {fmt(t_vm, target)}")
            print(f"              cpu  {fmt(cpu_vm[0], target)}")
            if fast.fast is not None:
                print(f"  vm / specialised (cpu medians): {cpu_vm[0][1] / cpu[0][1]:.2f}x; "
                      f"python engine / vm: {cpu_py[0][1] / cpu_vm[0][1]:.1f}x")
        if fast.fast is not None:
            x = cpu_py[0][1] / cpu[0][1]
            goal = f" (target >= {speedup:g}x: {'ok' if x >= speedup else 'MISSED'})" if speedup else ""
            print(f"  speed-up over the python engine (cpu medians): {x:.1f}x{goal}")
        if t_on is None:
            sys.stdout.flush()
            continue
        ratio, cratio = t_on[1] / base[1], cpu[1][1] / cbase[1]
        print(f"  traces on   wall {fmt(t_on)}")
        print(f"              cpu  {fmt(cpu[1])}")
        print(f"  traces on / {'python engine ' if fast.fast is not None else ''}off (medians): wall {ratio:.2f}x, cpu {cratio:.2f}x "
              f"(target <= 2x: {'ok' if max(ratio, cratio) <= 2 else 'MISSED'}); "
              f"{n_events[0] // (a.runs + 1):,} events per evaluation")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
