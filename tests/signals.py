"""Helpers for the tests that send real signals to a real sweep (``tts-dsl eval`` in a
subprocess on the embedded synthetic store): tests/test_interrupts.py (the local process
pool) and tests/test_ray.py (the Ray executor). ``from signals import start_sweep, ...``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _default_sigint():  # pragma: no cover - runs in the child before exec
    """A test run in the background of a shell inherits an ignored SIGINT; a user's sweep
    in a terminal has the default one."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sweep(tmp_path, jobs=2, seeds=40, extra=()):
    """certaindex over 21 betas (40 seeds: about 20 s of work on 2 cores, so it is always
    running when the signal arrives), in its own session (``os.killpg(p.pid, ...)`` is a
    Ctrl-C typed in its terminal). Returns the process and the ``--out`` path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TTS_DSL_PROGRESS_EVERY": "0", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    out = tmp_path / "rows.csv"
    p = subprocess.Popen([sys.executable, "-m", "tts_dsl", "eval", str(ROOT / "programs" / "certaindex.tts"),
                          "--beta", "0:1:0.05", "--seeds", str(seeds), "-j", str(jobs), "--out", str(out),
                          "--no-cache", *extra],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True, preexec_fn=_default_sigint)
    return p, out


def wait_for_line(p, needle: str, timeout=120.0) -> list[str]:
    """Read stderr lines until one contains ``needle``."""
    seen = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        line = p.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"no {needle!r} on stderr: {seen}")


def children(pid: int) -> list[int]:
    """Live child processes of ``pid`` (from /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(d.name))
    return out


def gone(pids, timeout=10.0) -> bool:
    """Whether every process in ``pids`` has exited (zombies count as gone) within ``timeout``."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        alive = []
        for pid in pids:
            try:
                st = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if st.rsplit(")", 1)[1].split()[0] != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.2)
    return False


def stop(p) -> None:
    """Kill ``p`` if it still runs, reap it and close its pipes (the end of every signal test)."""
    p.kill()
    p.wait(timeout=30)
    for f in (p.stdout, p.stderr):
        if f is not None:
            f.close()
