"""The adversarial corpus (tests/adversarial/*.tts) and the resource limits.

Every corpus file starts with ``# expect: ...``:

* ``reject CODE``          the first diagnostic has this code (a prefix: ``P`` = any params error),
                           with a position inside the file, a caret line and JSON form;
* ``run [REASON]``         every episode ends (with REASON for at least one, e.g. step_cap);
                           the program is also run on poisoned stores (no hidden data leaks);
* ``runtime CODE [TEXT]``  the evaluation ends with a clean runtime diagnostic (TEXT in it).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tts_dsl.api import check, compile, read_source
from tts_dsl.cli import cli
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.builder import parse_program
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.lang.limits import Limits
from tts_dsl.replay.synthetic import synthetic_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from fuzz import run_checks, small_stores  # noqa: E402

CORPUS = sorted((Path(__file__).parent / "adversarial").glob("*.tts"))
STORE = synthetic_store(seed=1, n_questions=3, n_branches=16)


def _expect(src):
    m = re.search(r"^# expect: (\w+)(?: (\S+))?(?: (.+))?$", src, re.M)
    assert m, "every corpus file states its expectation"
    return m.group(1), m.group(2), m.group(3)


def _diag_ok(ex: DiagnosticsError, src: str, path):
    n_lines = src.count("\n") + 1
    for d in ex.diagnostics:
        assert 1 <= d.span.line <= n_lines and d.span.col >= 1, d
        text = d.render(src)
        assert text.startswith(f"{path}:{d.span.line}:{d.span.col}: error[{d.code}]")
        if d.stage in ("parse", "check"):
            assert "^" in text, text  # the caret line
        assert json.loads(ex.to_json())


def test_corpus_is_substantial():
    kinds = {p.name.split("_")[0] for p in CORPUS}
    assert len(CORPUS) >= 50 and {"inject", "loop", "alloc", "deep", "leak", "sched"} <= kinds


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus(path):
    src = read_source(path)
    kind, code, text = _expect(src)
    try:
        checked = check(src, str(path))
        exe = compile(checked, 0.5)
    except DiagnosticsError as ex:
        assert kind == "reject", f"expected {kind}, got {ex.render()}"
        assert ex.diagnostics[0].code.startswith(code), ex.render()
        _diag_ok(ex, src, path)
        assert "Traceback" not in ex.render()
        return
    assert kind != "reject", f"expected rejection {code}, but it was accepted"
    res = run(exe, STORE, range(2), Limits(max_seconds=30))
    if kind == "runtime":
        assert res.error is not None and res.error.code == code, res.error
        assert "internal error" not in res.error.message
        if text:
            assert text in res.error.message
        assert 1 <= res.error.span.line <= src.count("\n") + 1
        return
    assert res.ok, res.error and res.error.render(src)
    if code:
        assert res.ended.get(code, 0) > 0, res.ended
    # information safety: the same decisions on stores with hidden data poisoned
    traced = compile(checked, 0.5, traced=True)
    outcome, detail = run_checks(traced, small_stores(3), Limits(max_steps=200_000, max_actions=5_000))
    assert outcome == "ran", detail


def test_corpus_via_cli_never_shows_a_traceback():
    files = [p for p in CORPUS if not p.name.startswith("deep_")]  # deep_*: test_corpus, below
    r = CliRunner().invoke(cli, ["check", "--json", *map(str, files)])
    assert r.exit_code == 1
    reports = json.loads(r.output)
    assert len(reports) == len(files)
    for rep in reports:
        for d in rep["diagnostics"]:
            assert d["line"] >= 1 and d["col"] >= 1 and d["code"] and d["message"]
    assert "Traceback" not in r.output


def test_format_labels_are_literal():
    path = Path(__file__).parent / "adversarial" / "inject_format_label.tts"
    checked = check(read_source(path), str(path))
    exe = compile(checked, None, traced=True)
    q = STORE.questions[0]
    tr = []
    exe.episode(q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, q.n_branches,
                tuple(range(q.n_branches)), 100, 1000, tr)
    labels = [ev[1] for ev in tr if ev[0] == "trace"]
    assert labels == ["{0.__class__.__mro__}{b!r}%s%n%(x)s", "'; import os; os.system('id'); '"]


def test_internal_names_do_not_collide():
    """Variables named like the generated code's internals do not change the results."""
    path = Path(__file__).parent / "adversarial" / "inject_internal_names.tts"
    src = read_source(path)
    plain = "controller plain\nrepeat 4 {\n  read else break\n}\nanswer majority(completed)\n"
    a = run(compile(check(src, str(path))), STORE, range(3))
    b = run(compile(check(plain)), STORE, range(3))
    assert (a.accuracy, a.avg_cost, a.correct, a.cost) == (b.accuracy, b.avg_cost, b.correct, b.cost)


# ------------------------------------------------------------------ limits
BODY = "controller lim\n{}\nanswer none\n"


@pytest.mark.parametrize("limits,src,code", [
    (Limits(max_source_chars=50), BODY.format("pass\n" * 20), "L001"),
    (Limits(max_nesting=3), BODY.format("let x = ((((1))))"), "L002"),
    (Limits(max_nesting=3), BODY.format("if true {\n if true {\n  if true {\n   if true {\n    pass\n}\n}\n}\n}"), "L002"),
    (Limits(max_expr_depth=5), BODY.format("let x = 1 + 2 + 3 + 4 + 5 + 6 + 7"), "L003"),
    (Limits(max_statements=5), BODY.format("pass\n" * 6), "L004"),
    (Limits(max_loop_bound=10), BODY.format("repeat 11 {\n  pass\n}"), "L005"),
    (Limits(max_loop_bound=10), BODY.format("for i in range(3, 20) {\n  pass\n}"), "L005"),
])
def test_each_static_limit_has_its_own_diagnostic(limits, src, code, monkeypatch):
    with pytest.raises(DiagnosticsError) as ei:
        checked = check(src, "lim.tts", limits)
        compile(checked, None, limits=limits)
    d = ei.value.diagnostics[0]
    assert d.code == code, ei.value.render()
    assert d.hint and "lim.tts:" in d.render(src) or d.file == "lim.tts"
    # and the default limits accept the same program (the limits are the checker's and the
    # compiler's: the fast engine is left out here, each of these programs would cost it a
    # numba compilation of its own)
    monkeypatch.setenv("TTS_DSL_ENGINE", "python")
    compile(check(src), None)


def test_default_source_limit():
    src = BODY.format("pass\n" * 30_000)
    with pytest.raises(DiagnosticsError) as ei:
        parse_program(src)
    assert ei.value.diagnostics[0].code == "L001" and "100,000" in ei.value.diagnostics[0].message


def test_runtime_limits_end_episodes_cleanly():
    acts = check(BODY.format("read as b else answer none\nrepeat 1000 {\n  advance b else {\n    pass\n  }\n}"))
    res = run(compile(acts, limits=Limits(max_actions=50)), STORE, range(2), Limits(max_actions=50))
    assert res.ok and res.ended == {"action_cap": 6}
    steps = check(BODY.format("repeat 1000 {\n  repeat 1000 {\n    pass\n  }\n}"))
    res = run(compile(steps, limits=Limits(max_steps=5000)), STORE, range(2), Limits(max_steps=5000))
    assert res.ok and res.ended == {"step_cap": 6}
    grow = check("controller lim\nvar xs: list[int] = [1]\nrepeat 30 {\n  xs = xs + xs\n}\nanswer none\n")
    res = run(compile(grow, limits=Limits(max_list_len=1000)), STORE, range(1), Limits(max_list_len=1000))
    assert not res.ok and "1,000" in res.error.message and "L008" in res.error.message


# The episode's memory budget (max_episode_cells, L013): where the state grows, in both engines.
CELLS = {  # name -> (program, budget that fails, the line it fails on; budget + 1 runs)
    "var_init": ("controller m\nvar xs: list[int] = [1, 2, 3]\nanswer none\n", 2, 2),
    "var_assign": ("controller m\nvar xs: list[int] = [1]\nrepeat 4 {\n  xs = xs + xs\n}\nanswer none\n", 15, 4),
    "open_init": ("controller m\nbranch var h: list[answer] = [new.latest, new.latest]\n"
                  "repeat 3 {\n  open else break\n}\nanswer none\n", 5, 4),
    "read_const_init": ("controller m\nvar w: list[int] = [1]\nbranch var h: list[int] = [1, 2, 3]\n"
                        "repeat 4 {\n  if read {\n    pass\n  } else {\n    break\n  }\n}\nanswer none\n", 12, 5),
    "two_vars": ("controller m\nvar xs: list[int] = [1]\nvar ys: list[int] = [1, 2]\nrepeat 3 {\n"
                 "  xs = xs + ys\n  ys = ys + [1]\n}\nanswer none\n", 14, 6),
    "bvar_assign": ("controller m\nbranch var h: list[answer] = []\nrepeat 3 {\n  open as b else break\n"
                    "  b.h = b.history + b.history + [b.latest]\n}\nanswer majority(completed)\n", 8, 5),
}


@pytest.mark.parametrize("name", sorted(CELLS))
def test_memory_budget_is_the_same_diagnostic_in_both_engines(name):
    from tts_dsl.engines.reference import interpret_program
    from tts_dsl.lang.schedule import bind

    src, budget, line = CELLS[name]
    checked = check(src, "m.tts")
    over = Limits(max_episode_cells=budget)
    errors = [run(exe, STORE, range(2), over).error for exe in (
        compile(checked, None, limits=over), compile(checked, None, traced=True, limits=over),
        interpret_program(checked, bind(checked, None), over))]
    assert errors[0] == errors[1] == errors[2], errors
    d = errors[0]
    assert d.code == "L013" and d.span.line == line and f"the limit is {budget:,}" in d.message, d.render(src)
    assert f"hold {budget + 1:,} elements" in d.message or name in ("var_assign", "bvar_assign")
    assert d.hint and "max_episode_cells" in d.hint
    under = Limits(max_episode_cells=budget + 1)  # just under the budget: the program runs
    assert run(compile(checked, None, limits=under), STORE, range(2), under).ok
    assert run(interpret_program(checked, bind(checked, None), under), STORE, range(2), under).ok


def test_memory_budget_counts_what_is_held_now():
    """A list replaced by a shorter one frees its elements (a sliding window never fills the budget);
    programs that keep no lists maintain no count at all (nothing on their hot path)."""
    window = check("controller m\nvar xs: list[int] = []\nrepeat 1000 {\n  xs = xs + [1, 2]\n"
                   "  xs = xs[-3:]\n}\nanswer none\n")
    lim = Limits(max_episode_cells=5)
    assert run(compile(window, None, limits=lim), STORE, range(2), lim).ok
    root = Path(__file__).resolve().parent.parent / "programs"
    for name in ("sc", "asc", "esc", "parallel_probe", "certaindex", "junk_aware_weighted"):
        assert "_cells" not in compile(check(read_source(root / f"{name}.tts")), None).source, name
    assert "_cells" in compile(check(read_source(root / "cmc.tts")), 0.5).source  # var hist: list[float]


def test_memory_bomb_ends_quickly_with_small_memory():
    """Issue 15: four branch lists of 100,000 floats on every branch. On 128 branches this held
    about 400 MB per episode (436 MB peak, 6 episodes in 6-8 s); the budget stops the first
    episode at its third branch."""
    import subprocess

    code = ("import resource, sys, time\n"
            "from tts_dsl.api import check, compile, read_source\n"
            "from tts_dsl.evaluation.runner import run\n"
            "from tts_dsl.replay.synthetic import synthetic_store\n"
            "store = synthetic_store(seed=1, n_questions=3, n_branches=128)\n"
            "exe = compile(check(read_source(sys.argv[1]), sys.argv[1]), None)\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "t0 = time.perf_counter()\n"
            "res = run(exe, store, range(2))\n"
            "print(res.error.code, round(time.perf_counter() - t0, 3),\n"
            "      (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n")
    path = Path(__file__).parent / "adversarial" / "alloc_branch_lists.tts"
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    code_, seconds, grew_mb = r.stdout.split()
    assert code_ == "L013" and float(seconds) < 2.0 and int(grew_mb) < 60, r.stdout


def test_cli_memory_budget(tmp_path):
    p = tmp_path / "m.tts"
    p.write_text(CELLS["bvar_assign"][0], encoding="utf-8")
    r = CliRunner().invoke(cli, ["eval", str(p), "--seeds", "1", "--no-cache", "--limit", "max_episode_cells=8"])
    assert r.exit_code == 1 and "error[L013]" in r.output and "the limit is 8" in r.output, r.output
    r = CliRunner().invoke(cli, ["eval", str(p), "--seeds", "1", "--no-cache", "--limit", "max_episode_cells=9"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["check", "--limit", "max_episode_cells=0", str(p)])
    assert r.exit_code == 2 and "must be positive" in r.output


def test_wall_clock_limit_ends_the_evaluation_with_an_error():
    slow = check(BODY.format("repeat 1000 {\n  repeat 1000 {\n    pass\n  }\n}"))
    lim = Limits(max_seconds=0.0)
    res = run(compile(slow, limits=lim), STORE, range(50), lim)
    assert not res.ok and res.error.code == "L009" and res.seeds < 50


def test_no_process_wide_setting_changes():
    before = (sys.getrecursionlimit(), sys.get_int_max_str_digits(), sys.getswitchinterval())
    for path in CORPUS:
        if path.stem not in ("deep_parens", "deep_sum", "deep_blocks", "many_statements", "inject_dunder_name"):
            continue
        try:
            check(read_source(path), str(path))
        except DiagnosticsError:
            pass
    assert (sys.getrecursionlimit(), sys.get_int_max_str_digits(), sys.getswitchinterval()) == before


def test_deep_inputs_fail_cleanly_in_a_fresh_thread():
    """Parsing and checking do not depend on a raised recursion limit: inputs just past
    and far past the nesting limits get their limit diagnostic in a fresh thread."""
    import threading

    inputs = [BODY.format("let x = " + "(" * 65 + "1" + ")" * 65),
              BODY.format("let x = " + "- " * 101 + "1"),
              BODY.format("let x = " + "1 + " * 101 + "1"),
              BODY.format("let x = " + "(" * 10_000 + "1" + ")" * 10_000),
              BODY.format("let x = " + "not " * 5_000 + "true"),
              BODY.format("let x = " + "1 if true else " * 2_000 + "0")]
    errors = []

    def work():
        for src in inputs:
            try:
                check(src)
                errors.append(f"accepted: {src[:60]}")
            except DiagnosticsError as ex:
                if ex.diagnostics[0].code not in ("L002", "L003"):
                    errors.append(ex.render()[:200])
            except BaseException as ex:  # noqa: BLE001
                errors.append(repr(ex)[:200])

    t = threading.Thread(target=work)
    t.start()
    t.join(120)
    assert not t.is_alive() and not errors


def test_check_reports_literal_loop_bounds_without_compiling():
    for body in ("repeat 100001 {\n  pass\n}", "for i in range(2, 100003) {\n  pass\n}"):
        with pytest.raises(DiagnosticsError) as ei:
            check(BODY.format(body))
        assert ei.value.diagnostics[0].code == "L005"
    check(BODY.format("repeat 100000 {\n  pass\n}"))


def test_cli_limit_option(tmp_path):
    p = tmp_path / "p.tts"
    p.write_text(BODY.format("let x = (((1)))"), encoding="utf-8")
    r = CliRunner().invoke(cli, ["check", "--json", "--limit", "max_nesting=2", str(p)])
    assert r.exit_code == 1 and json.loads(r.output)[0]["diagnostics"][0]["code"] == "L002"
    r = CliRunner().invoke(cli, ["check", "--limit", "max_nesting=3", str(p)])
    assert r.exit_code == 0, r.output
    for bad in ("nope=1", "max_nesting=x", "max_nesting=0", "max_nesting"):
        r = CliRunner().invoke(cli, ["check", "--limit", bad, str(p)])
        assert r.exit_code == 2 and "--limit" in r.output and "Traceback" not in r.output


# Programs whose single steps are long (work inside one loop step is not metered by fuel):
# the wall-clock alarm and the bound on beta_confidence's counts end them quickly.
KNOWN_SLOW = {
    "work_per_step": "controller slow\nvar xs: list[int] = [1]\nrepeat 16 {\n  xs = xs + xs\n}\n"
                     "repeat 100000 {\n  repeat 20 {\n    let m = sum(xs)\n  }\n}\nanswer none\n",
    "beta_confidence": "controller slow\nlet c = beta_confidence(1000000, 3)\nanswer none\n",
}


@pytest.mark.parametrize("name", sorted(KNOWN_SLOW))
def test_wall_clock_bounds_long_steps(tmp_path, name):
    """Formerly known gaps, now closed: an alarm interrupts a long episode at the
    wall-clock cap (L009), and beta_confidence refuses counts it cannot sum fast (R001)."""
    import subprocess

    p = tmp_path / f"{name}.tts"
    p.write_text(KNOWN_SLOW[name], encoding="utf-8")
    cmd = [sys.executable, "-c", "import sys; from tts_dsl.cli import main; sys.exit(main())",
           "eval", str(p), "--seeds", "1", "--max-seconds", "2", "-q"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        pytest.fail("still running 18 s after the 2 s wall-clock limit")
    assert "L009" in r.stderr + r.stdout or "runtime error" in r.stderr + r.stdout
