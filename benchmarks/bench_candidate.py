"""One discovery candidate's full evaluation, as discovery runs it: one program on the four
AIME24 stores x 11 betas x 100 seeds (44 tasks) over 2 worker processes, the native
engine's compilation included (a fresh cache directory: numba compiles the program's
structure in each worker) and with numba's disk cache warm (the same program again).

    python benchmarks/bench_candidate.py [--program benchmarks/heldout_kind/streak_vote.tts] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import PROGRAMS, REPLAY, children_cpu, fmt, machine, stats3

from tts_dsl.evaluation.sweep import LocalExecutor, StoreRef, make_tasks

MODELS = ["Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B"]
BETAS = [i / 10 for i in range(11)]


def once(path: Path, jobs: int, cache: str) -> tuple[float, float, list]:
    os.environ["TTS_DSL_CACHE"] = cache  # the workers inherit it
    refs = [StoreRef(str(REPLAY), m, "aime24") for m in MODELS]
    tasks = make_tasks([(path.read_text(), str(path))], refs, BETAS, None, range(100), keep_episodes=True)
    c0 = time.process_time() + children_cpu()
    t = time.perf_counter()
    rows = LocalExecutor(jobs).map(tasks)
    return time.perf_counter() - t, time.process_time() + children_cpu() - c0, rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", action="append", default=None,
                    help="program file (repeatable; default: cmc and the four held-out-kind programs)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args(argv)
    held = Path(__file__).resolve().parent / "heldout_kind"
    paths = [Path(p) for p in a.program] if a.program else [PROGRAMS / "cmc.tts", *sorted(held.glob("*.tts"))]
    print(f"# one candidate: 4 stores x {len(BETAS)} betas x 100 seeds, {a.jobs} workers; {machine()}")
    for path in paths:
        cold, cold_cpu, warm, warm_cpu, py, py_cpu = [], [], [], [], [], []
        for _ in range(a.runs):
            with tempfile.TemporaryDirectory() as d:
                w, c, rows = once(path, a.jobs, d)  # compiles (each worker)
                cold.append(w)
                cold_cpu.append(c)
                w, c, again = once(path, a.jobs, d)  # numba's disk cache: loads
                warm.append(w)
                warm_cpu.append(c)
                assert [r["accuracy"] for r in rows] == [r["accuracy"] for r in again]
                os.environ["TTS_DSL_ENGINE"] = "python"  # the Python engine alone, for comparison
                try:
                    w, c, base = once(path, a.jobs, d)
                finally:
                    del os.environ["TTS_DSL_ENGINE"]
                py.append(w)
                py_cpu.append(c)
                assert [(r["accuracy"], r["avg_cost"]) for r in rows] == [(r["accuracy"], r["avg_cost"]) for r in base]
        errors = sum(r["error"] is not None for r in rows)
        print(f"{path.stem:<18} {len(rows)} tasks, {errors} errors; {machine()}")
        print(f"  with compilation   wall {fmt(stats3(cold), 3.0)}")
        print(f"                     cpu  {fmt(stats3(cold_cpu))} (all processes)")
        print(f"  disk cache warm    wall {fmt(stats3(warm), 3.0)}")
        print(f"                     cpu  {fmt(stats3(warm_cpu))} (all processes)")
        print(f"  python engine      wall {fmt(stats3(py))}")
        print(f"                     cpu  {fmt(stats3(py_cpu))} (all processes)")


if __name__ == "__main__":
    main()
