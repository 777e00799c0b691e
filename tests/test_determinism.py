"""Sweeps are deterministic: the same rows (to the last bit) whatever the number of worker
processes, whatever the task order, and however many times a worker is reused."""

from __future__ import annotations

import pytest

from conftest import PROGRAMS, REPLAY
from tts_dsl.evaluation.sweep import LocalExecutor, StoreRef, Task, make_tasks, run_task

VOLATILE = {"wall_s"}


def _strip(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in VOLATILE}


def _program(name):
    p = PROGRAMS / f"{name}.tts"
    return p.read_text(), str(p)


def _tasks(keep=True):
    stores = [StoreRef(None, synthetic_seed=s, synthetic_questions=5, synthetic_branches=48) for s in (1, 2)]
    seeds = range(6)
    tasks = make_tasks([_program("cmc")], stores, [0.0, 0.4, 1.0], seeds=seeds, keep_episodes=keep)
    tasks += make_tasks([_program("parallel_probe")], stores, [None], {"num_chains": 12}, seeds=seeds,
                        keep_episodes=keep)
    tasks += make_tasks([_program("asc")], stores, [None], {"max_samples": 16}, seeds=seeds, keep_episodes=keep)
    return tasks


@pytest.fixture(scope="module")
def serial_rows():
    return LocalExecutor(jobs=1).map(_tasks())


def test_rows_come_back_in_task_order(serial_rows):
    tasks = _tasks()
    assert [r["model"] for r in serial_rows] == ["synthetic"] * len(tasks)
    assert [r["beta"] for r in serial_rows] == [t.beta for t in tasks]
    assert [r["program"] for r in serial_rows] == ["cmc"] * 6 + ["parallel_probe"] * 2 + ["asc"] * 2
    assert all(r["error"] is None for r in serial_rows)


@pytest.mark.parametrize("jobs", [2, 3])
def test_same_rows_with_any_number_of_workers(serial_rows, jobs):
    seen = []
    rows = LocalExecutor(jobs=jobs).map(_tasks(), progress=seen.append)
    assert sum(seen) == len(rows)
    assert [_strip(r) for r in rows] == [_strip(r) for r in serial_rows]


def test_task_order_does_not_change_any_row(serial_rows):
    tasks = _tasks()
    perm = list(reversed(range(len(tasks))))
    rows = LocalExecutor(jobs=2).map([tasks[i] for i in perm])
    back = [None] * len(tasks)
    for i, r in zip(perm, rows):
        back[i] = r
    assert [_strip(r) for r in back] == [_strip(r) for r in serial_rows]


def test_a_reused_worker_gives_the_same_row_again(serial_rows):
    t = _tasks()[1]
    assert _strip(run_task(t)) == _strip(serial_rows[1])
    assert _strip(run_task(t)) == _strip(serial_rows[1])


def test_rows_differ_when_the_work_differs(serial_rows):
    """The comparison above is not vacuous: different betas give different episodes."""
    assert serial_rows[0]["_cost"] != serial_rows[2]["_cost"]
    assert len({r["avg_cost"] for r in serial_rows}) > 5


def test_runtime_errors_come_back_as_rows_in_parallel():
    bad = "controller bad\nlet xs: list[int] = []\nanswer none if xs[0] == 1 else none\n"
    good_src, good_file = _program("sc")
    st = StoreRef(None, synthetic_seed=3, synthetic_questions=3, synthetic_branches=16)
    tasks = [Task(bad, "bad.tts", st, seeds=(0, 1)), Task(good_src, good_file, st, params=(("n", 4),), seeds=(0, 1))]
    rows = LocalExecutor(jobs=2).map(tasks)
    assert "list index out of range" in rows[0]["error"]
    assert rows[1]["error"] is None and rows[1]["accuracy"] is not None


@pytest.mark.shared
def test_real_store_same_rows_with_one_or_two_workers():
    src, file = _program("cmc")
    refs = [StoreRef(str(REPLAY), m, "aime24") for m in ("Qwen3-0.6B", "Qwen3-8B")]
    tasks = make_tasks([(src, file)], refs, [0.2, 0.7], seeds=range(5), keep_episodes=True)
    one = LocalExecutor(jobs=1).map(tasks)
    two = LocalExecutor(jobs=2).map(tasks)
    assert [_strip(r) for r in one] == [_strip(r) for r in two]


def _workers() -> set[int]:
    import os

    from tts_dsl.evaluation.sweep import descendants

    return set(descendants(os.getpid()))


def test_a_kept_pool_serves_every_map_with_the_same_workers_and_close_stops_them(serial_rows):
    before = _workers()
    with LocalExecutor(jobs=2, keep=True) as ex:
        first = ex.map(_tasks())
        pids = _workers() - before
        assert len(pids) == 2  # the pool stays up between maps
        second = ex.map(_tasks()[:4])
        assert _workers() - before == pids  # the same two workers served the second map
    assert [_strip(r) for r in first] == [_strip(r) for r in serial_rows]
    assert [_strip(r) for r in second] == [_strip(r) for r in serial_rows[:4]]
    assert not (_workers() - before) & pids  # close() stopped them


def test_a_pool_without_keep_is_gone_after_its_map():
    before = _workers()
    LocalExecutor(jobs=2).map(_tasks()[:4])
    assert not _workers() - before


def test_a_kept_pool_that_broke_is_replaced_by_a_fresh_one(serial_rows):
    import os
    import signal
    from concurrent.futures.process import BrokenProcessPool

    before = _workers()
    with LocalExecutor(jobs=2, keep=True) as ex:
        ex.map(_tasks()[:2])
        dead = _workers() - before
        for pid in dead:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            ex.map(_tasks()[:4])
        rows = ex.map(_tasks()[:4])  # a new pool, new workers
        assert not (_workers() - before) & dead
    assert [_strip(r) for r in rows] == [_strip(r) for r in serial_rows[:4]]


def test_tasks_are_submitted_largest_beta_first_and_rows_return_in_task_order(serial_rows):
    from tts_dsl.evaluation.sweep import _largest_first

    tasks = _tasks()
    order = _largest_first(tasks)
    assert sorted(order) == list(range(len(tasks)))
    betas = [tasks[i].beta or 0.0 for i in order]
    assert betas == sorted(betas, reverse=True) and betas[0] == 1.0
    same = [i for i in order if (tasks[i].beta or 0.0) == 0.0]
    assert same == sorted(same)  # ties keep task order


def test_a_worker_loads_numba_without_scipys_linear_algebra_and_still_evaluates():
    """Pool workers skip numba's probe of SciPy's BLAS (0.2 s per worker start): numba loads,
    the interpreter runs, the rows are the usual ones, and scipy.linalg never loads."""
    import json
    import os
    import subprocess
    import sys

    code = ("import os, sys, json\n"
            "from tts_dsl.evaluation.sweep import _worker_init, run_task\n"
            "_worker_init(os.getppid())\n"
            "from test_determinism import _tasks\n"
            "rows = [run_task(t) for t in _tasks(keep=False)[:3]]\n"
            "print(json.dumps({'numba': 'numba' in sys.modules, 'linalg': sys.modules.get('scipy.linalg') is None,"
            " 'engine_rows': [(r['accuracy'], r['avg_cost']) for r in rows]}))\n")
    env = {**os.environ, "TTS_DSL_ENGINE": "vm", "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["numba"] and got["linalg"]
    want = [run_task(t) for t in _tasks(keep=False)[:3]]
    assert [tuple(x) for x in got["engine_rows"]] == [(r["accuracy"], r["avg_cost"]) for r in want]
