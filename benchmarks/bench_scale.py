"""Scale: a synthetic store of 500 questions x 512 branches x 64 probes (benchmarks/gen_store.py)
-- the first load (parse + validate + write the binary cache, in a child process), the cached
load, peak memory while evaluating, and evaluation time over a grid of questions x seeds,
with a least-squares line through the origin and a picture (``--plot PNG``).

    python benchmarks/bench_scale.py [--programs esc,cmc] [--plot benchmarks/scale.png]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PROGRAMS, ROOT, PeakMemory, machine
from gen_store import write_store

from tts_dsl import api
from tts_dsl.evaluation.runner import run
from tts_dsl.replay.store import load_file

CASES = {"esc": (None, {"max_samples": 64}), "sc": (None, {"n": 64}), "cmc": (0.5, {}),
         "parallel_probe": (None, {"num_chains": 64})}
GRID = [(50, 2), (100, 2), (100, 4), (250, 4), (500, 4), (500, 8), (500, 16)]
GRID_FAST = GRID + [(500, 32), (500, 64), (500, 100)]  # the native engine: up to 50,000 episodes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "tts-dsl-bench" / "scale-500x512x64.json")
    ap.add_argument("--programs", default="esc,cmc")
    ap.add_argument("--plot", type=Path, default=None)
    a = ap.parse_args(argv)
    print(f"# scale benchmark; {machine()}")
    if not a.store.is_file():
        t = time.perf_counter()
        write_store(a.store)
        print(f"generated {a.store} in {time.perf_counter() - t:.1f} s")
    print(f"store: {a.store.stat().st_size / 1e6:.1f} MB")
    # the first load in a child: parse + validate + write the binary cache (if not there yet)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"from tts_dsl.replay.store import load_file; load_file({str(a.store)!r})"],
                   check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    print(f"first load (child process; parses unless already cached): {time.perf_counter() - t:.2f} s wall")
    with PeakMemory() as mem:
        t, c = time.perf_counter(), time.process_time()
        store = load_file(a.store)
        print(f"cached load: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s cpu"
              f" (target <= 2 s); {len(store.questions)} questions")
        from tts_dsl.engines.fast import packed

        t, c = time.perf_counter(), time.process_time()
        packed(store, store.questions)  # the fast engine's flat arrays, once per store
        print(f"fast engine arrays: {time.perf_counter() - t:.2f} s wall, {time.process_time() - c:.2f} s cpu")
        points, engines = {}, {}
        for name in a.programs.split(","):
            beta, params = CASES[name]
            exe = api.compile(api.load(PROGRAMS / f"{name}.tts"), beta, params)
            run(exe, store, range(1), questions=range(20), keep_episodes=False)  # warm-up
            print(f"{name}: engine {exe.engine}")
            engines[name] = exe.engine.split(" (")[0]
            points[name] = []
            for nq, ns in (GRID_FAST if exe.fast is not None else GRID):
                t, c = time.perf_counter(), time.process_time()
                res = run(exe, store, range(ns), questions=range(nq), keep_episodes=False)
                wall, cpu = time.perf_counter() - t, time.process_time() - c
                points[name].append((nq * ns, wall, cpu))
                print(f"{name:<15} {nq:4d} questions x {ns:3d} seeds = {nq * ns:6d} episodes: "
                      f"wall {wall:6.2f} s  cpu {cpu:6.2f} s  ({1e3 * cpu / (nq * ns):.3f} ms cpu/episode)  "
                      f"acc {res.accuracy}")
                sys.stdout.flush()
    print(f"peak memory (load + every evaluation): {mem.peak_mb:.0f} MB (target <= 1024 MB); {machine()}")
    for name, pts in points.items():
        slope = sum(x * c for x, _, c in pts) / sum(x * x for x, _, _ in pts)
        big = [(x, c) for x, _, c in pts if c >= 0.05] or [(x, c) for x, _, c in pts]
        worst = max(abs(c - slope * x) / (slope * x) for x, c in big)
        print(f"{name}: cpu = {1e3 * slope:.4f} ms x episodes; largest deviation from the line "
              f"{100 * worst:.0f}% (points of >= 0.05 s cpu)")
    if a.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, pts in points.items():
            xs = [x for x, _, _ in pts]
            slope = sum(x * c for x, _, c in pts) / sum(x * x for x in xs)
            line = ax.plot(xs, [c for _, _, c in pts], "o", label=f"{name} ({engines[name]})")[0]
            ax.plot([min(xs), max(xs)], [slope * min(xs), slope * max(xs)], "-", lw=0.8, color=line.get_color(),
                    label=f"{1e3 * slope:.4f} ms x episodes")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("questions x seeds (episodes), 512 branches x 64 probes")
        ax.set_ylabel("evaluation CPU time (s)")
        ax.set_title("Evaluation time is linear in questions x seeds (log-log)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(a.plot, dpi=100)
        print(f"wrote {a.plot}")


if __name__ == "__main__":
    main()
