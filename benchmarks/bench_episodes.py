"""Single-process evaluation speed: one program at one beta on one store (30 questions x
100 ordering seeds), traces off and on. Medians of 5 runs (after one warm-up run).

    python benchmarks/bench_episodes.py [--model Qwen3-8B] [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

from _common import PROGRAMS, REPLAY, fmt, machine, timed

from tts_dsl import api
from tts_dsl.evaluation.runner import run
from tts_dsl.replay.store import load_store

CASES = [
    # label, program, beta, params, target (s) traces off (issue 14)
    ("cmc beta=0.5", "cmc", 0.5, {}, 0.10),
    ("cmc beta=1.0", "cmc", 1.0, {}, 0.15),
    ("parallel_probe 64 chains", "parallel_probe", None, {"num_chains": 64}, 0.25),
    ("sc@64", "sc", None, {"n": 64}, 0.01),
    ("asc 64", "asc", None, {"max_samples": 64}, 0.01),
    ("esc 64", "esc", None, {"max_samples": 64}, 0.01),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="Qwen3-8B")
    ap.add_argument("--dataset", default="aime24")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", default=None, help="run the cases whose label contains this text")
    a = ap.parse_args(argv)
    store = load_store(REPLAY, a.model, a.dataset)
    print(f"# {a.model}/{a.dataset}: {len(store.questions)} questions x 100 seeds; {machine()}")
    for label, name, beta, params, target in CASES:
        if a.only and a.only not in label:
            continue
        prog = api.load(PROGRAMS / f"{name}.tts")
        fast = api.compile(prog, beta, params)
        traced = api.compile(prog, beta, params, traced=True)
        if fast.fast is not None:  # the native engine: its first run compiles (or loads numba's cache)
            c0, t0 = time.process_time(), time.perf_counter()
            run(fast, store, range(100), keep_episodes=False)
            first = (time.perf_counter() - t0, time.process_time() - c0)
            py = dataclasses.replace(fast, fast=None, engine="python (benchmark)")
            cpu_py: list = []
            t_py, r_py = timed(lambda: run(py, store, range(100), keep_episodes=False), a.runs, cpu=cpu_py)
        n_events = [0]

        def count(q, s, events, ans, cost, why):
            n_events[0] += len(events)

        cpu: list = []
        t_off, r_off = timed(lambda: run(fast, store, range(100), keep_episodes=False), a.runs, cpu=cpu)
        t_on, r_on = timed(lambda: run(traced, store, range(100), keep_episodes=False, tracer=count), a.runs,
                           cpu=cpu)
        assert (r_off.accuracy, r_off.avg_cost) == (r_on.accuracy, r_on.avg_cost)
        # traces run on the Python engine: with the fast engine, compare with the Python engine's time
        base, cbase = (t_py, cpu_py[0]) if fast.fast is not None else (t_off, cpu[0])
        ratio, cratio = t_on[1] / base[1], cpu[1][1] / cbase[1]
        print(f"{label:<26} acc {r_off.accuracy:6.2f}  cost {r_off.avg_cost:12.3f}  engine: {fast.engine}")
        if fast.fast is not None:
            assert (r_py.accuracy, r_py.avg_cost) == (r_off.accuracy, r_off.avg_cost)
            print(f"  first run (compile or load the cache): wall {first[0]:.3f} s, cpu {first[1]:.3f} s")
            print(f"  python engine wall {fmt(t_py)}")
            print(f"              cpu  {fmt(cpu_py[0])}")
        print(f"  traces off  wall {fmt(t_off, target)}")
        print(f"              cpu  {fmt(cpu[0], target)}")
        print(f"  traces on   wall {fmt(t_on)}")
        print(f"              cpu  {fmt(cpu[1])}")
        print(f"  traces on / {'python engine ' if fast.fast is not None else ''}off (medians): wall {ratio:.2f}x, cpu {cratio:.2f}x "
              f"(target <= 2x: {'ok' if max(ratio, cratio) <= 2 else 'MISSED'}); "
              f"{n_events[0] // (a.runs + 1):,} events per evaluation")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
