"""Shared helpers for the benchmark scripts: timing with noise (min/median/max of N runs)
and peak memory of a process tree sampled from /proc."""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPLAY = Path(os.environ.get("TTS_REPLAY", ROOT.parent / "shared" / "replay"))
REFERENCE = Path(os.environ.get("TTS_REFERENCE", ROOT.parent / "shared" / "reference" / "aime24.csv"))
PROGRAMS = ROOT / "programs"


def timed(fn, runs: int = 5, warmup: int = 1, cpu: list | None = None):
    """Run ``fn`` ``warmup`` + ``runs`` times; return (min, median, max) wall seconds and the
    last result. If ``cpu`` is a list, the (min, median, max) CPU seconds of this process
    are appended to it (on a shared machine CPU time is far less noisy than wall time)."""
    out = None
    for _ in range(warmup):
        out = fn()
    ts, cs = [], []
    for _ in range(runs):
        c = time.process_time()
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
        cs.append(time.process_time() - c)
    if cpu is not None:
        cpu.append(stats3(cs))
    return stats3(ts), out


def stats3(xs):
    return (min(xs), statistics.median(xs), max(xs))


def fmt(ts, target=None) -> str:
    lo, med, hi = ts
    s = f"min {lo:7.3f}  median {med:7.3f}  max {hi:7.3f} s"
    if target is not None:
        s += f"   target <= {target:g} s: {'ok' if med <= target else 'MISSED'}"
    return s


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


class PeakMemory:
    """Samples the summed RSS of this process and all its descendants every ``every`` s."""

    def __init__(self, every: float = 0.02):
        self.every = every
        self.peak_kb = 0
        self._stop = threading.Event()

    def _tree(self):
        pids, stack = [], [os.getpid()]
        while stack:
            p = stack.pop()
            pids.append(p)
            stack += _children(p)
        return pids

    def _run(self):
        while not self._stop.is_set():
            total = sum(_rss_kb(p) for p in self._tree())
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.every)

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024


def children_cpu() -> float:
    """CPU seconds used by reaped child processes (pool workers, once the pool is shut down)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def live_cpu(pids) -> float:
    """CPU seconds used so far by live processes ``pids`` (from /proc; a gone one counts 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(f[11]) + int(f[12])) / tick  # utime, stime
    return total


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
