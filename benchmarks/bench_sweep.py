"""The full reproduction of the reference figures (every row of aime24.csv, four models)
as one parallel sweep, with its wall time and the peak memory of the whole process tree
(this process and its workers, summed RSS sampled every 20 ms). Every row is checked
against the reference (accuracy to 2 decimals, avg_cost within 1 token).

    python benchmarks/bench_sweep.py [--jobs 2] [--runs 5]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time

from _common import PROGRAMS, REFERENCE, REPLAY, PeakMemory, children_cpu, fmt, machine

from tts_dsl.evaluation.sweep import LocalExecutor, StoreRef, Task


def reference_tasks():
    rows = list(csv.DictReader(open(REFERENCE, newline="")))
    tasks = []
    for r in rows:
        beta, params = None, {}
        for kv in r["params"].split(";"):
            k, v = kv.split("=", 1)
            if k == "beta":
                beta = float(v)
            else:
                params[k] = int(v) if v.lstrip("-").isdigit() else float(v)
        path = PROGRAMS / f"{r['method']}.tts"
        tasks.append(Task(path.read_text(), str(path), StoreRef(str(REPLAY), r["model"], r["dataset"]), beta,
                          tuple(sorted(params.items()))))
    return rows, tasks


def mismatches(rows, out) -> list[str]:
    bad = []
    for r, o in zip(rows, out):
        want_acc, want_cost = float(r["accuracy"]), float(r["avg_cost"])
        ok = o["error"] is None and o["accuracy"] == want_acc and abs(o["avg_cost"] - want_cost) < 1.0
        if not ok:
            bad.append(f"{r['model']} {r['method']} {r['params']}: got {o['accuracy']} {o['avg_cost']} "
                       f"want {want_acc} {want_cost} {o['error'] or ''}")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args(argv)
    rows, tasks = reference_tasks()
    print(f"# {len(tasks)} reference rows, {a.jobs} worker processes; {machine()}")
    walls, peaks, cpus = [], [], []
    for i in range(a.runs):
        with PeakMemory() as mem:
            c0 = time.process_time() + children_cpu()
            t = time.perf_counter()
            out = LocalExecutor(a.jobs).map(tasks)
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() + children_cpu() - c0)
        peaks.append(mem.peak_mb)
        bad = mismatches(rows, out)
        print(f"run {i + 1}: wall {walls[-1]:.2f} s, cpu (all processes) {cpus[-1]:.1f} s = "
              f"{cpus[-1] / a.jobs:.1f} s per worker, peak memory {peaks[-1]:.0f} MB, "
              f"{len(rows) - len(bad)}/{len(rows)} rows reproduced", flush=True)
        for b in bad:
            print("  MISMATCH", b)
    ts = (min(walls), statistics.median(walls), max(walls))
    print(f"full reproduction wall: {fmt(ts, 60.0)}")
    per = [c / a.jobs for c in cpus]
    print(f"cpu per worker (the wall time on {a.jobs} idle cores): {fmt((min(per), statistics.median(per), max(per)), 60.0)}")
    print(f"peak memory: min {min(peaks):.0f} MB  median {statistics.median(peaks):.0f} MB  max {max(peaks):.0f} MB"
          f"   target <= 500 MB: {'ok' if max(peaks) <= 500 else 'MISSED'}")


if __name__ == "__main__":
    main()
