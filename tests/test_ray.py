"""The Ray executor against the local one, on a real Ray head started on 127.0.0.1.

Needs the extra: ``pip install -e ".[ray]"``. Without Ray these tests are skipped with a
reason locally, and fail under CI (CI must run them).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import MODELS, PROGRAMS, REFERENCE, ROOT, default_and_slow
from signals import gone, start_sweep, wait_for_line

try:
    import ray
except ImportError:  # pragma: no cover - depends on the environment
    ray = None
    if os.environ.get("CI"):
        raise RuntimeError('CI needs Ray for tests/test_ray.py: pip install -e ".[ray]"') from None
    pytest.skip('ray is not installed (pip install -e ".[ray]")', allow_module_level=True)

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts_dsl.evaluation.executors import ExecutorError, get_executor
from tts_dsl.evaluation.ray_executor import RayExecutor
from tts_dsl.evaluation.sweep import LocalExecutor, StoreRef, descendants, make_tasks
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.replay.synthetic import synthetic_json

# wall_s is a timing, the only column allowed to differ between executors
def exact(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def src(name):
    return (PROGRAMS / f"{name}.tts").read_text(), f"programs/{name}.tts"


SMALL = StoreRef(synthetic_seed=7, synthetic_questions=6, synthetic_branches=32)
OTHER = StoreRef(synthetic_seed=11, synthetic_questions=8, synthetic_branches=64)


@pytest.fixture(scope="module")
def cluster():
    """A real 2-CPU Ray head on 127.0.0.1, owned by this test process (shut down after)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        ray.shutdown()
    ctx = ray.init(address="local", num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
                   log_to_driver=False, logging_level="ERROR")
    try:
        yield ctx.address_info["gcs_address"]
    finally:
        ray.shutdown()


def sweep_tasks(seeds=range(20)):
    tasks = make_tasks([src("asc"), src("esc"), src("cmc")], [SMALL, OTHER], [0.0, 0.5, 1.0], seeds=seeds)
    # a user error (param out of its declared range) must come back as a row, same as locally
    tasks += make_tasks([src("cmc")], [SMALL], [0.5], params={"max_branch": 100}, seeds=seeds)
    tasks += make_tasks([src("sc")], [OTHER], [None], seeds=seeds)
    return tasks


@pytest.fixture(scope="module")
def local_rows():
    return LocalExecutor(jobs=1).map(sweep_tasks())


def test_get_executor_selects_ray(cluster):
    ex = get_executor("ray", 3, cluster)
    assert isinstance(ex, RayExecutor) and ex.name == "ray" and ex.jobs == 3 and ex.address == cluster


@pytest.mark.parametrize("address, message", [
    ("127.0.0.1:1", "no Ray head answers at 127.0.0.1:1"),
    ("nohost", "bad Ray address"),
    ("ray://127.0.0.1:x", "bad Ray address"),
])
def test_wrong_address_fails_fast_and_cleanly(address, message):
    t0 = time.perf_counter()
    with pytest.raises(ExecutorError, match=message):
        get_executor("ray", None, address)
    assert time.perf_counter() - t0 < 10


# the default in-flight window in the default suite; explicit windows in the slow set (CI runs both)
@pytest.mark.parametrize("jobs", [None, pytest.param(1, marks=pytest.mark.slow), pytest.param(2, marks=pytest.mark.slow)])
def test_sweep_matches_local_to_the_digit(cluster, local_rows, jobs):
    tasks = sweep_tasks()
    ticks = []
    ex = RayExecutor(jobs=jobs)
    rows = ex.map(tasks, ticks.append)
    assert exact(rows) == exact(local_rows)
    assert sum(ticks) == len(tasks)
    assert ex.retried == 0
    # in task order, whatever the completion order
    assert [(r["program"], r["model"], r["beta"]) for r in rows] == \
           [(r["program"], r["model"], r["beta"]) for r in local_rows]
    assert any(r["error"] for r in rows) and not all(r["error"] for r in rows)


def test_empty_map(cluster):
    assert RayExecutor().map([]) == []


def test_stores_are_shipped_once_and_workers_never_read_files(cluster, tmp_path, monkeypatch):
    root = tmp_path / "replay"
    (root / "m").mkdir(parents=True)
    f = root / "m" / "d.json"
    f.write_text(json.dumps(synthetic_json(seed=5, n_questions=5, n_branches=32)))
    ref = StoreRef(str(root), "m", "d")
    tasks = make_tasks([src("asc"), src("esc")], [ref, SMALL], [0.0, 0.25, 0.5, 0.75, 1.0], seeds=range(10))
    want = LocalExecutor(jobs=1).map(tasks)

    puts = []
    real_put = ray.put
    monkeypatch.setattr(ray, "put", lambda obj, **kw: puts.append(obj) or real_put(obj, **kw))
    ex = RayExecutor()
    assert exact(ex.map(tasks[:1])) == exact(want[:1])
    f.unlink()  # from now on only the driver's copy (already in the object store) exists
    assert exact(ex.map(tasks)) == exact(want)
    assert exact(ex.map(tasks)) == exact(want)
    assert len(puts) == 2  # one put per distinct store over three runs of 20 tasks


TINY = make_tasks([src("asc"), src("esc")], [SMALL, OTHER], [0.0, 1.0], seeds=range(3))


@pytest.fixture(scope="module")
def tiny_local():
    return exact(LocalExecutor(jobs=1).map(TINY))


def _rows_follow_task_order_property(cluster, tiny_local, order, jobs):
    tasks = [TINY[i] for i in order]
    assert exact(RayExecutor(jobs=jobs).map(tasks)) == [tiny_local[i] for i in order]


# 3 orders in the default suite, 8 in the slow set (CI runs both)
test_rows_follow_task_order_property, test_rows_follow_task_order_property_more = default_and_slow(
    _rows_follow_task_order_property,
    given(order=st.permutations(list(range(len(TINY)))), jobs=st.sampled_from([None, 1, 2, 3])), 3, 8,
    suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_exception_inside_a_task_is_raised_not_retried(cluster):
    bad = make_tasks([("controller x {", "bad.tts")], [SMALL], [None], seeds=range(2))
    ex = RayExecutor()
    with pytest.raises(DiagnosticsError):
        LocalExecutor(jobs=1).map(bad)
    with pytest.raises(DiagnosticsError):
        ex.map(bad)
    assert ex.retried == 0


# one model in the default suite, the other three in the slow set (CI runs both)
@pytest.mark.shared
@pytest.mark.parametrize("model", MODELS[:1] + [pytest.param(m, marks=pytest.mark.slow) for m in MODELS[1:]])
def test_reference_rows_through_ray(cluster, replay_root, model):
    """CMC reference rows (AutoTTS, arXiv 2605.08083) on a real store, evaluated on Ray."""
    import csv

    want = {}
    with open(REFERENCE) as fh:
        for r in csv.DictReader(fh):
            if r["model"] == model and r["method"] == "cmc" and r["params"] in ("beta=0.0", "beta=1.0"):
                want[(r["model"], float(r["params"][5:]))] = (float(r["accuracy"]), float(r["avg_cost"]))
    tasks = make_tasks([src("cmc")], [StoreRef(str(replay_root), model, "aime24")], [0.0, 1.0])
    rows = RayExecutor().map(tasks)
    assert len(want) == len(rows) == 2
    for r in rows:
        acc, cost = want[(r["model"], r["beta"])]
        assert r["accuracy"] == acc and abs(r["avg_cost"] - cost) <= 1, r


# -- killing a worker --------------------------------------------------------------------

# slow: a worker dying mid-task is retried in the default suite too (the next test's task
# kills its own worker); CI runs this one as well
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray workers through /proc")
def test_worker_killed_mid_sweep_is_retried_complete_and_exact(cluster):
    # ~0.3-1 s per task, so a kill lands inside a task, not between two
    tasks = make_tasks([src("cmc")], [StoreRef()], [0.0, 0.2, 0.4, 0.6, 0.8, 1.0], seeds=range(25))
    want = LocalExecutor(jobs=2).map(tasks)
    killed: list[int] = []
    stop = threading.Event()

    def killer():
        me = os.getpid()
        while not stop.is_set() and not killed:
            for pid, cmd in descendants(me).items():
                if cmd.startswith("ray::_evaluate"):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.02)

    th = threading.Thread(target=killer, daemon=True)
    th.start()
    ticks = []
    ex = RayExecutor()
    try:
        rows = ex.map(tasks, ticks.append)
    finally:
        stop.set()
        th.join()
    assert killed, "no busy Ray worker was found to kill"
    assert ex.retried >= 1
    assert len(rows) == len(tasks) and all(r is not None for r in rows)
    assert sum(ticks) == len(tasks)  # every task counted once
    assert exact(rows) == exact(want)


def test_task_failing_every_attempt_gives_a_clear_error(cluster, monkeypatch):
    from tts_dsl.evaluation import ray_executor as rx

    class Dead:
        def remote(self, task, box):
            @ray.remote(max_retries=0)
            def die():
                os._exit(1)
            return die.remote()

    monkeypatch.setattr(rx, "_remote_evaluate", Dead())
    ex = RayExecutor(max_attempts=2)
    with pytest.raises(rx.RayExecutorError, match="failed 2 times"):
        ex.map(make_tasks([src("sc")], [SMALL], [None], seeds=range(2)))
    assert ex.retried == 1


# -- Ctrl-C and SIGTERM on `tts-dsl eval --executor ray` ----------------------------------
# Each starts its own private Ray (10-25 s), hence slow. The checks are those of
# tests/test_interrupts.py for the process pool, plus: no Ray process (gcs_server, raylet,
# agents, ray:: workers) started by the sweep outlives it.

def _ray_sweep(tmp_path, seeds):
    """A running ``eval --executor ray -j 2`` with its first row done; returns the process,
    the --out path and every process under it (Ray's head processes and workers: pid -> command)."""
    p, out = start_sweep(tmp_path, seeds=seeds, extra=["--executor", "ray"])
    try:
        wait_for_line(p, "evaluating: 1/21", timeout=240)
        procs = descendants(p.pid)
        assert any("raylet" in c for c in procs.values()) and any(c.startswith("ray::") for c in procs.values())
    except BaseException:
        _reap(p, descendants(p.pid))
        raise
    return p, out, procs


def _reap(p, procs) -> None:
    """After the checks (pass or fail): nothing of the sweep's is left running."""
    if p.poll() is None:
        p.kill()
    for pid, cmd in procs.items():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:  # still the same process, not a reused pid
                same = fh.read().replace(b"\0", b" ").decode(errors="replace").strip() == cmd
            if same:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    p.wait(timeout=30)


ray_signals = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray processes through /proc")


@pytest.mark.slow
@ray_signals
def test_ray_first_ctrl_c_keeps_finished_rows_marked_partial(tmp_path):
    import csv

    p, out, procs = _ray_sweep(tmp_path, seeds=40)
    try:
        os.killpg(p.pid, signal.SIGINT)  # a Ctrl-C typed in its terminal: the whole process group
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 130, stderr
        # -j 2: at most two in flight (one when the signal lands between a task's end and the next one's start)
        assert re.search(r"interrupted: cancelled the queued tasks, waiting for [12] running", stderr), stderr
        assert "; the rows are marked partial" in stderr and "(partial)" in stderr
        rows = list(csv.DictReader(out.read_text().splitlines()))
        assert 1 <= len(rows) < 21, stderr
        assert all(r["partial"] == "True" and r["error"] == "" for r in rows)
        assert [float(r["beta"]) for r in rows] == [round(0.05 * i, 2) for i in range(len(rows))]  # in order
        assert "certaindex" in stdout  # the finished rows are printed too
        assert gone(procs, timeout=30)  # Ray's own shutdown at exit took them
    finally:
        _reap(p, procs)


@pytest.mark.slow
@ray_signals
def test_ray_second_ctrl_c_exits_at_once_and_sigterm_exits_143(tmp_path):
    p, out, procs = _ray_sweep(tmp_path, seeds=200)  # tasks of seconds: still running at the second
    try:
        os.killpg(p.pid, signal.SIGINT)
        wait_for_line(p, "waiting for")
        t0 = time.monotonic()
        os.killpg(p.pid, signal.SIGINT)
        _, stderr = p.communicate(timeout=30)
        assert time.monotonic() - t0 < 5
        assert p.returncode == 130
        assert "interrupted again: quitting now" in stderr
        assert not out.exists()
        assert gone(procs, timeout=30)  # os._exit skips Ray's shutdown: the executor killed them
    finally:
        _reap(p, procs)

    p, out, procs = _ray_sweep(tmp_path, seeds=200)
    try:
        p.send_signal(signal.SIGTERM)
        _, stderr = p.communicate(timeout=60)
        assert p.returncode == 143, stderr
        assert "terminated" in stderr and "SIGTERM received" not in stderr  # ours, not Ray's crash handler
        assert not out.exists()
        assert gone(procs, timeout=30)
    finally:
        _reap(p, procs)


# -- the CLI, as a separate driver -------------------------------------------------------

def _cli(*args, timeout=120):
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    p = subprocess.run([sys.executable, "-c", "import sys; from tts_dsl.cli import main; sys.exit(main())", *args], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=timeout)
    assert p.returncode == 0, p.stderr[-2000:]
    return exact([json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")])


CLI_ARGS = ["eval", "programs/asc.tts", "programs/esc.tts", "--beta", "0,0.5,1", "--seeds", "15", "--json"]


@pytest.fixture(scope="module")
def cli_local():
    return _cli(*CLI_ARGS, "--executor", "local", "-j", "1")


def test_cli_joins_a_running_cluster_by_address(cluster, cli_local):
    assert _cli(*CLI_ARGS, "--executor", "ray", "--address", cluster) == cli_local


def test_cli_private_one_worker_cluster(cli_local):
    # a second, private Ray (1 CPU) started by the CLI process itself
    assert _cli(*CLI_ARGS, "--executor", "ray", "-j", "1") == cli_local


# -- a short discovery through the executor interface -------------------------------------

def _strip(x, drop=("wall_s", "run_wall_s", "elapsed_s", "time", "started", "finished")):
    if isinstance(x, dict):
        return {k: _strip(v, drop) for k, v in x.items() if k not in drop}
    if isinstance(x, list):
        return [_strip(v, drop) for v in x]
    return x


def _discover(tmp_path, executor, address=None):
    from tts_dsl.discovery import config_from_dict, run_config

    evaluation = {"betas": [0.0, 0.5, 1.0], "jobs": 2, "executor": executor}  # as in a config file
    if address:
        evaluation["address"] = address
    cfg = config_from_dict({
        "run": {"out": str(tmp_path / executor), "max_rounds": 3, "max_repairs": 1, "plots": False, "seed": 3,
                "seed_programs": [str(PROGRAMS / "sc.tts"), str(PROGRAMS / "cmc.tts")]},
        "evaluation": evaluation,
        "search": {"synthetic": [{"seed": 11, "questions": 5, "branches": 24}], "seeds": 4},
        "heldout": {"synthetic": [{"seed": 99, "questions": 5, "branches": 24}], "seeds": 4},
        "smoke": {"questions": 3, "branches": 16, "seeds": 2},
        "proposer": {"kind": "evolve"},
    }, str(tmp_path))
    assert cfg.executor == executor
    final = run_config(cfg)
    recs = [json.loads(x) for x in (tmp_path / executor / "candidates.jsonl").read_text().splitlines()]
    return _strip(final), _strip(recs)


@pytest.mark.slow  # the Ray executor itself is in the default suite (the sweeps above), CI runs this too
def test_short_discovery_through_ray_matches_local(cluster, tmp_path, monkeypatch):
    pytest.importorskip("tts_dsl.discovery", reason="the discovery loop is not in this checkout")
    local_final, local_recs = _discover(tmp_path, "local")
    mapped = []
    real_map = RayExecutor.map
    monkeypatch.setattr(RayExecutor, "map", lambda self, tasks, progress=None:
                        mapped.append(len(tasks)) or real_map(self, tasks, progress))
    ray_final, ray_recs = _discover(tmp_path, "ray", cluster)
    assert sum(mapped) >= 10  # the candidates' beta curves went through Ray
    assert any(r.get("status") == "ok" for r in ray_recs)
    def diff(a, b, path=""):
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                yield from diff(a.get(k), b.get(k), f"{path}.{k}")
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                yield from diff(x, y, f"{path}[{i}]")
        elif a != b:
            yield path
    assert ray_recs == local_recs, sorted(set(diff(ray_recs, local_recs)))[:20]
    assert _strip(ray_final, ("wall_s", "out", "elapsed_s")) == _strip(local_final, ("wall_s", "out", "elapsed_s"))


@pytest.mark.slow  # docs/cluster.md's Python example on a cluster (about 4 s); CI runs the slow set
def test_cluster_doc_python_example_runs(cluster, monkeypatch, capsys):
    """docs/cluster.md's Python example runs as written (our own documentation, not a program)."""
    import re

    text = (ROOT / "docs" / "cluster.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    exec(compile(code, "docs/cluster.md", "exec"), ns)
    assert exact(ns["rows"]) == exact(LocalExecutor(jobs=1).map(ns["tasks"]))
    assert sum(ns["done"]) == 3 and len(capsys.readouterr().out.splitlines()) == 3
