"""Ctrl-C and SIGTERM on a real sweep (a subprocess on the embedded synthetic store): the
first Ctrl-C keeps the finished rows (marked partial) and exits 130, a second exits at once,
and no worker process outlives the parent."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _default_sigint():  # pragma: no cover - runs in the child before exec
    """A test run in the background of a shell inherits an ignored SIGINT; a user's sweep
    in a terminal has the default one."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sweep(tmp_path, jobs=2):
    """certaindex over 21 betas x 40 seeds: about 20 s of work on 2 cores, so it is
    always running when the signal arrives."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TTS_DSL_PROGRESS_EVERY": "0"}
    out = tmp_path / "rows.csv"
    p = subprocess.Popen([sys.executable, "-m", "tts_dsl", "eval", str(ROOT / "programs" / "certaindex.tts"),
                          "--beta", "0:1:0.05", "--seeds", "40", "-j", str(jobs), "--out", str(out), "--no-cache"],
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


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_first_ctrl_c_keeps_finished_rows_marked_partial(tmp_path):
    p, out = start_sweep(tmp_path)
    try:
        wait_for_line(p, "evaluating: 1/21")
        workers = children(p.pid)
        assert workers, "the sweep runs in worker processes"
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=120)
    finally:
        p.kill()
    assert p.returncode == 130, stderr
    assert "waiting for" in stderr and "interrupted: " in stderr
    rows = list(csv.DictReader(out.open()))
    assert 1 <= len(rows) < 21, stderr
    assert all(r["partial"] == "True" for r in rows)
    assert all(r["error"] == "" for r in rows)
    assert "certaindex" in stdout  # the finished rows are printed too
    assert gone(workers)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_second_ctrl_c_exits_at_once_and_sigterm_kills_workers(tmp_path):
    p, out = start_sweep(tmp_path)
    try:
        wait_for_line(p, "evaluating: 1/21")
        workers = children(p.pid)
        p.send_signal(signal.SIGINT)
        wait_for_line(p, "waiting for")
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        p.wait(timeout=30)
        assert time.monotonic() - t0 < 5
    finally:
        p.kill()
    assert p.returncode == 130
    assert not out.exists()
    assert gone(workers)

    p, out = start_sweep(tmp_path)
    try:
        wait_for_line(p, "evaluating: 21 tasks")
        time.sleep(1.0)
        workers = children(p.pid)
        assert workers
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 143
    assert gone(workers)


def test_workers_die_with_a_killed_parent(tmp_path):
    """SIGKILL cannot be caught: the workers notice their parent is gone and exit."""
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc")
    p, out = start_sweep(tmp_path)
    try:
        wait_for_line(p, "evaluating: 21 tasks")
        time.sleep(1.0)
        workers = children(p.pid)
        assert workers
        p.kill()
        p.wait(timeout=30)
    finally:
        p.kill()
    assert gone(workers, timeout=15)
