"""Ctrl-C and SIGTERM on a real sweep (a subprocess on the embedded synthetic store): the
first Ctrl-C keeps the finished rows (marked partial) and exits 130, a second exits at once,
and no worker process outlives the parent."""

from __future__ import annotations

import csv
import signal
import sys
import time
from pathlib import Path

import pytest

from signals import children, gone, start_sweep, stop, wait_for_line

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


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
        stop(p)
    assert p.returncode == 130, stderr
    assert "waiting for" in stderr and "interrupted: " in stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
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
        stop(p)
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
        stop(p)
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
        stop(p)
    assert gone(workers, timeout=15)
