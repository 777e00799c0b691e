#!/usr/bin/env python
"""Fuzz the language: generate programs, push each through parse -> check -> bind ->
compile -> run on small random stores, and count what happens.

    python tools/fuzz.py --programs 10000 --jobs 2 --seed 1

Every generated input must end in exactly one of these outcomes:

* ``rejected``       diagnostics, every one with a file:line:col inside the source and a
                     renderable caret line and JSON form;
* ``ran``            an answer (or a clean cap) on every episode;
* ``runtime-error``  a clean runtime diagnostic (division by zero, index out of range, ...);
* ``time-limit``     the evaluation passed the wall-clock limit and stopped (L009).

and never in one of these (the script exits 1 if any is seen):

* ``traceback``      any other exception escaping a stage;
* ``bad-diagnostic`` a diagnostic without a usable position;
* ``internal``       a runtime error that is not one of the clean kinds;
* ``hang``           one program's stages took longer than ``--timeout`` seconds;
* ``leak``           the program behaved differently on a store whose gold answers and
                     unrevealed data (probes not yet revealed, finals and lengths of
                     unfinished branches, every unopened branch) were replaced by poison
                     values, or a poison value appeared in its trace or decisions;
* ``nondeterministic`` two runs of the same episode differ.

Programs come from ``tests/strategies.py`` (hypothesis): typed ASTs, hostile typed ASTs
(huge numbers, huge loop bounds), mutations of the shipped programs and random text.
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import random
import signal
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from tts_dsl.lang.builder import parse_program  # noqa: E402
from tts_dsl.lang.checker import check_program  # noqa: E402
from tts_dsl.engines.python import RuntimeProblem, compile_program  # noqa: E402
from tts_dsl.lang.diagnostics import DiagnosticsError  # noqa: E402
from tts_dsl.lang.limits import Limits  # noqa: E402
from tts_dsl.lang.schedule import bind  # noqa: E402
from tts_dsl.replay.store import Question, permutation  # noqa: E402
from tts_dsl.replay.synthetic import synthetic_store  # noqa: E402

BAD = ("traceback", "bad-diagnostic", "internal", "hang", "leak", "nondeterministic")
CLEAN_RUNTIME = (RuntimeProblem, ZeroDivisionError, IndexError, OverflowError)
FUZZ_LIMITS = Limits(max_actions=2_000, max_steps=20_000, max_list_len=10_000, max_seconds=5.0)
POISON_BASE = 7_340_000_000_000_000_000  # poison answer ids: POISON_BASE + 1 ... + 100_000


class Hang(Exception):
    pass


def _alarm(signum, frame):  # pragma: no cover - only on a hang
    raise Hang()


# ------------------------------------------------------------------ stores
def small_stores(seed: int = 0) -> list:
    """A few tiny synthetic stores: few branches (pools run dry), short and long branches."""
    rng = random.Random(seed)
    out = []
    for i in range(3):
        out.append(synthetic_store(seed=seed * 10 + i, n_questions=2, n_branches=rng.choice([1, 3, 5, 9, 16]),
                                   mean_tokens=rng.choice([400.0, 3000.0, 9000.0])))
    return out


def revealed(events):
    """From an episode's event trace: for each opened position, (explores, finished, read)."""
    seen: dict[int, list] = {}
    for ev in events:
        kind = ev[0]
        if kind in ("open", "read", "advance") and ev[1] is not None and ev[5] != "no-op" and ev[5] != "exhausted":
            i = ev[1]
            st = seen.setdefault(i, [0, False, False])
            if kind == "read":
                st[2] = True
                st[1] = True
            else:
                st[0] += 1
                st[1] = bool(ev[5])
    return seen


def poisoned_arrays(q: Question, order, seen, rng):
    """The question as the program could have seen it, with everything else poisoned."""
    counter = [POISON_BASE]

    def poison():
        counter[0] += 1
        return counter[0]

    P = [list(p) for p in q.probes]
    NP = list(q.nprobes)
    T = list(q.tokens)
    F = list(q.final)
    pos = {j: i for i, j in enumerate(order)}
    for j in range(q.n_branches):
        st = seen.get(pos[j])
        # hidden lengths change too (never to the same value), so reading them shows
        if st is None:  # never opened: nothing of it is visible
            P[j] = [poison() for _ in range(_other(rng, 1, 6, len(P[j])))]
            F[j] = poison()
            T[j] = T[j] + rng.randint(1, 50_000)
        elif st[2]:  # read whole: final and length visible, probes not
            P[j] = [poison() for _ in range(_other(rng, 1, 6, len(P[j])))]
        elif not st[1]:  # opened, advanced st[0] times, unfinished
            k = st[0]
            P[j] = P[j][:k] + [poison() for _ in range(_other(rng, 1, 4, len(P[j]) - k))]
            F[j] = poison()
            T[j] = T[j] + rng.randint(1, 50_000)
        NP[j] = len(P[j])
    return P, NP, T, F


def _other(rng, lo, hi, avoid):
    v = rng.randint(lo, hi - 1)
    return v + 1 if v >= avoid else v  # uniform on [lo, hi] without ``avoid``


def _has_poison(x) -> bool:
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, int) and not isinstance(v, bool) and POISON_BASE < v <= POISON_BASE + 100_000:
            return True
    return False


def _episode(exe, arrays, pf, nb, order, limits, junk=frozenset()):
    P, NP, T, F = arrays
    tr = []
    try:
        ans, cost, why = exe.episode(P, NP, T, F, pf, nb, order, limits.max_actions, limits.max_steps, tr, junk)
        return ("ok", ans, cost, why), tr
    except CLEAN_RUNTIME as ex:
        return ("error", type(ex).__name__, str(ex)), tr


# ------------------------------------------------------------------ one program
def run_checks(exe, stores, limits: Limits = FUZZ_LIMITS, seeds=(0, 1), leak_check: bool = True,
               rng=None) -> tuple[str, str]:
    """Run an executable on every question of ``stores`` under ``seeds``: each episode twice
    (determinism) and once more on the poisoned question (information safety)."""
    rng = rng or random.Random(0)
    outcome, detail = "ran", ""
    t_run = time.perf_counter()
    for store in stores:
        for q in store.questions:
            arrays = (q.probes, q.nprobes, q.tokens, q.final)
            for s in seeds:
                if limits.max_seconds is not None and time.perf_counter() - t_run > limits.max_seconds:
                    return "time-limit", "L009"  # what the runner reports: a clean, bounded end
                order = permutation(q.n_branches, s)
                r1, tr1 = _episode(exe, arrays, q.probe_freq, q.n_branches, order, limits, q.junk)
                r2, tr2 = _episode(exe, arrays, q.probe_freq, q.n_branches, order, limits, q.junk)
                if repr((r1, tr1)) != repr((r2, tr2)):
                    return "nondeterministic", f"question {q.index} seed {s}"
                if leak_check:
                    pa = poisoned_arrays(q, order, revealed(tr1), rng)
                    r3, tr3 = _episode(exe, pa, q.probe_freq, q.n_branches, order, limits, q.junk)
                    if _has_poison((r3, tr3)):
                        return "leak", f"question {q.index} seed {s}: a poison value reached the trace or answer"
                    if repr((r1, tr1)) != repr((r3, tr3)):
                        return "leak", f"question {q.index} seed {s}: behaviour changed with hidden data poisoned"
                if r1[0] == "error":  # a clean runtime error ends the evaluation, as in the runner
                    return "runtime-error", r1[1]
    return outcome, detail


def _positions_ok(ex: DiagnosticsError, source: str) -> str | None:
    n_lines = max(1, source.count("\n") + 1)
    if not ex.diagnostics:
        return "no diagnostics"
    for d in ex.diagnostics:
        sp = d.span
        if not (1 <= sp.line <= n_lines + 1 and sp.col >= 1):
            return f"{d.code} at {sp.line}:{sp.col} outside the source ({n_lines} lines)"
        d.render(source)
        d.to_dict()
        if not d.message:
            return f"{d.code} without a message"
    ex.render()
    json.loads(ex.to_json())
    return None


def examine(source: str, stores, limits: Limits = FUZZ_LIMITS, seeds=(0, 1), beta: float = 0.5,
            timeout: float = 20.0, leak_check: bool = True) -> tuple[str, str]:
    """Push one program text through every stage; returns (outcome, detail)."""
    use_alarm = timeout and hasattr(signal, "SIGALRM") and _main_thread()
    if use_alarm:
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    stage = "parse"
    try:
        try:
            prog = parse_program(source, "<fuzz>", limits)
            stage = "check"
            checked = check_program(prog, limits)
            stage = "bind"
            binding = bind(checked, beta, {})
            stage = "compile"
            exe = compile_program(checked, binding, limits, traced=True)
        except DiagnosticsError as ex:
            bad = _positions_ok(ex, source)
            if bad:
                return "bad-diagnostic", f"{stage}: {bad}"
            return "rejected", f"{stage}:{ex.diagnostics[0].code}"
        stage = "run"
        return run_checks(exe, stores, limits, seeds, leak_check, random.Random(len(source)))
    except Hang:
        return "hang", stage
    except RecursionError:
        return "traceback", f"{stage}: RecursionError"
    except Exception as ex:  # noqa: BLE001 - this is what we are hunting
        if stage == "run":
            return "internal", f"{type(ex).__name__}: {ex}"[:300]
        return "traceback", f"{stage}: {type(ex).__name__}: {ex}"[:300] + "\n" + traceback.format_exc(limit=-3)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


# ------------------------------------------------------------------ prover fuzz
def random_schedule(rng: random.Random, depth: int = 3) -> str:
    """A random knob expression over beta, biased to what broke the prover before: big ints
    next to small steps (10**17 + 8 == 10**17 in floats), int() of floats, round with
    ndigits, sigmoid/exp/log with tiny slopes, min/max/clip, //, % and abs."""

    def const():
        k = rng.random()
        if k < 0.35:
            return str(rng.randint(-9, 64))
        if k < 0.5:
            return str(rng.choice([10 ** 15, 10 ** 16, 10 ** 17, 2 ** 53, 2 ** 53 + 1, 10 ** 18]))
        if k < 0.6:
            return rng.choice(["1e16", "1e-12", "0.0000000000022", "1e300", "0.1", "0.7"])
        return repr(round(rng.uniform(-3, 3), rng.randint(0, 6)))

    def leaf():
        return "beta" if rng.random() < 0.55 else const()

    def expr(d):
        if d == 0:
            return leaf()
        k = rng.random()
        a = expr(d - 1)
        if k < 0.35:
            return f"({a} {rng.choice(['+', '-', '*', '/', '+', '-', '*', '//', '%'])} {expr(d - 1)})"
        if k < 0.45:
            return f"{rng.choice(['min', 'max'])}({a}, {expr(d - 1)})"
        if k < 0.7:
            return f"{rng.choice(['round', 'floor', 'ceil', 'int', 'float', 'sigmoid', 'abs', 'sqrt', 'exp', 'log'])}({a})"
        if k < 0.78:
            return f"round({a}, {rng.randint(-3, 5)})"
        if k < 0.83:
            return f"clip({a}, {const()}, {const()})"
        if k < 0.88:
            return f"-{a}"
        if k < 0.94:
            return f"({a} * {const()} + {const()})"
        return a

    return expr(rng.randint(1, depth))


def dense_betas(rng: random.Random, grid: int = 10_000, near: int = 40, width: int = 25) -> list[float]:
    """A grid of grid + 1 points, plus ``width`` consecutive floats on each side of ``near``
    random points and of a few grid points (where rounding steps hide)."""
    pts = {k / grid for k in range(grid + 1)}
    centres = [rng.random() for _ in range(near)] + [rng.randrange(grid + 1) / grid for _ in range(near)]
    for c in centres:
        lo = hi = c
        for _ in range(width):
            lo, hi = math.nextafter(lo, 0.0), math.nextafter(hi, 1.0)
            pts.update((lo, hi))
    return sorted(p for p in pts if 0.0 <= p <= 1.0)


def check_proof(expr: str, direction: str, ty: str, betas) -> str | None:
    """None if the prover's claim about ``k = expr`` holds at every beta in ``betas``; else why.
    A claim is a proved direction, and the bounds [min, max] of every knob (proved or not)."""
    from tts_dsl.lang.prover import prove
    from tts_dsl.lang.schedule import ScheduleError, eval_expr

    src = f"controller t\nparams {{\n  k: {ty} {direction} in [-1e308, 1e308] = {expr}\n}}\nanswer none\n"
    try:
        checked = check_program(parse_program(src, "<fuzz>"))
    except DiagnosticsError:
        return None
    if not checked.params or not checked.params[0].uses_beta:
        return None
    r = prove(checked, search=False)[0]
    p = checked.params[0]
    prev = None
    for b in betas:
        try:
            v = eval_expr(p.expr, {"beta": b})
        except ScheduleError:
            continue
        v = float(v) if ty == "float" else v
        if r.lo is not None and v < r.lo or r.hi is not None and v > r.hi:
            return f"value {v!r} at beta={b!r} outside the bounds [{r.lo!r}, {r.hi!r}]"
        if r.status == "proved" and prev is not None:
            b0, v0 = prev
            wrong = {"increasing": v < v0, "decreasing": v > v0, "constant": v != v0}[direction]
            if wrong:
                return f"proved {direction}, but k({b0!r}) = {v0!r} and k({b!r}) = {v!r}"
        prev = (b, v)
    return None


def _prover_worker(args):
    seed, n = args
    rng = random.Random(seed)
    counts, bad = collections.Counter(), []
    for _ in range(n):
        expr = random_schedule(rng)
        direction = rng.choice(["increasing", "decreasing", "constant"])
        ty = rng.choice(["float", "int"])
        if ty == "int" and not re_int(expr):
            expr = f"round({expr})"
        why = check_proof(expr, direction, ty, dense_betas(rng, grid=2_000, near=8, width=10))
        counts["unsound" if why else "ok"] += 1
        if why:
            bad.append({"expr": expr, "direction": direction, "ty": ty, "why": why})
        if counts.total() % 5000 == 0:
            print(f"worker {seed}: {counts.total()} schedules, {counts['unsound']} unsound", file=sys.stderr, flush=True)
    return counts, bad


def re_int(expr: str) -> bool:
    return expr.startswith(("round(", "floor(", "ceil(", "int(")) and "," not in expr


def _proved_worker(args):
    """Each proved schedule again, on the full dense grid (10,001 points and float neighbours)."""
    seed, items = args
    rng = random.Random(seed)
    out = []
    for expr, direction, ty in items:
        why = check_proof(expr, direction, ty, dense_betas(rng))
        if why:
            out.append({"expr": expr, "direction": direction, "ty": ty, "why": why})
    return out


def prover_fuzz(n: int, jobs: int = 1, seed: int = 0) -> dict:
    """n random schedules: every proof and every bound checked on a dense grid."""
    per = [n // jobs + (1 if i < n % jobs else 0) for i in range(jobs)]
    work = [(seed * 1000 + i, k) for i, k in enumerate(per) if k]
    t0 = time.perf_counter()
    if jobs > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_prover_worker, work)
    else:
        results = [_prover_worker(w) for w in work]
    counts, bad = collections.Counter(), []
    for c, b in results:
        counts.update(c)
        bad.extend(b)
    return {"schedules": counts.total(), "unsound": counts.get("unsound", 0), "seconds": round(time.perf_counter() - t0, 1),
            "bad": bad[:20]}


# ------------------------------------------------------------------ attack classes
def _bomb_expr(rng: random.Random) -> str:
    """A constant expression that is expensive or fails: huge ndigits, division by zero,
    overflowing products, infinite or undefined floats."""
    big = rng.choice([10 ** 15, 10 ** 18, 2 ** 62, 999999999999999])
    return rng.choice([
        f"round({rng.randint(1, 99)}, -{big})", f"round(1.5, {big})", f"{rng.randint(1, 9)} // 0",
        f"{rng.randint(1, 9)} % 0", f"{big} * {big}", f"exp({rng.randint(710, 100000)})",
        f"sqrt(-{rng.randint(1, 9)})", f"log(0)", f"round(exp(1000))", f"1 / (1 - 1)",
        f"int(1e300) * 10", f"round(1e308 * 10)",
    ])


def bomb_source(rng: random.Random) -> tuple[str, str]:
    """(class, program): constant-expression bombs in loop bounds, params and lets, and
    nesting that would grow generated code (nested .history, conditionals)."""
    k = rng.random()
    if k < 0.3:
        return "bomb-bound", f"controller b\nrepeat round({_bomb_expr(rng)}) {{ open else break }}\nanswer none\n"
    if k < 0.5:
        return "bomb-range", f"controller b\nfor i in range(round({_bomb_expr(rng)})) {{ open else break }}\nanswer none\n"
    if k < 0.75:
        return "bomb-param", (f"controller b\nparams {{\n  k: float = {_bomb_expr(rng)}\n}}\n"
                              "repeat 2 { open else break }\nanswer majority(completed)\n")
    n = rng.randint(1, 14)
    e = "branches[0]"
    for _ in range(n):
        e = f"branches[len({e}.history) % opened]"
    return "code-size", f"controller d\nopen\nopen\nlet h = {e}.history\nanswer h[0] if len(h) > 0 else none\n"


def memory_bomb(rng: random.Random, n_branches: int) -> tuple[str, int]:
    """(program, elements its state would hold on a store of ``n_branches`` branches): a list
    var doubled up to 65,536 floats, copied into up to four list branch vars of every
    branch opened (issue 15's bomb and smaller ones); over ``max_episode_cells`` it must end
    with L013, under it run."""
    k, opens = rng.randint(1, 4), rng.choice([1, 8, 32, 128, 128])
    doublings = rng.choice([rng.randint(0, 16), rng.randint(12, 16)])  # half of them near the list-length limit
    lines = ["controller mb", "var big: list[float] = [0.5]", *(f"branch var l{i}: list[float] = []" for i in range(k)),
             f"repeat {doublings} {{", "  big = big + big", "}", f"repeat {opens} {{", "  open as b else break",
             *(f"  b.l{i} = big + []" for i in range(k)), "}", "answer majority(completed)"]
    return "\n".join(lines) + "\n", 2 ** doublings * (1 + k * min(opens, n_branches))


def overflow_store(rng: random.Random) -> list:
    """A store JSON with out-of-range numbers or counts: huge or float token counts, many
    branches or probes (beyond small limits), wrong types."""
    tokens = rng.choice([1e308, 10 ** rng.randint(12, 3999), -1, 1.5, "9", True, 10 ** 6, float("inf")])
    n_br = rng.choice([1, 2, 40])
    n_pr = rng.choice([1, 3, 40])
    br = [[[str(rng.randint(0, 3))] * n_pr, tokens if i == 0 else 1000, str(rng.randint(0, 3))] for i in range(n_br)]
    return [{"gold_answer": "1", "probe_freq": 500, "each_branch": br}] * rng.choice([1, 2, 40])


def class_fuzz(n: int, seed: int = 0, time_cap: float = 10.0) -> dict:
    """n attacks from the classes above; each must end cleanly (diagnostics, a clean
    runtime error, a store error, or a run) within ``time_cap`` seconds, and generated code
    must stay linear in the program's size."""
    from tts_dsl import api
    from tts_dsl.evaluation.runner import run
    from tts_dsl.replay.store import Store, StoreError, StoreLimits, questions_from_json
    from tts_dsl.replay.synthetic import synthetic_store

    rng = random.Random(seed)
    wide = synthetic_store(seed, n_questions=1, n_branches=128)
    counts, bad = collections.Counter(), []
    small = StoreLimits(max_questions=20, max_branches=32, max_probes=32)
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            if rng.random() < 0.3:
                cls = "store-overflow"
                try:
                    qs = questions_from_json(overflow_store(rng), "<fuzz>", limits=small)
                except StoreError:
                    outcome = "rejected"
                else:
                    exe = api.compile(api.check("controller s\nrepeat 4 { read else break }\nanswer majority(completed)\n"))
                    res = run(exe, Store("m", "d", "<fuzz>", qs, "0"), range(2), Limits(max_seconds=time_cap))
                    outcome = "ran" if res.error is None else "runtime-error"
            elif rng.random() < 0.2:
                cls = "memory-bomb"
                src, held = memory_bomb(rng, wide.questions[0].n_branches)
                res = run(api.compile(api.check(src)), wide, range(1), Limits(max_seconds=time_cap))
                over = held > Limits().max_episode_cells
                code = res.error.code if res.error is not None else None
                outcome = "runtime-error" if code == "L013" and over else "ran" if code is None and not over \
                    else f"expected {'L013' if over else 'a run'} for {held:,} elements, got {code}"
            else:
                cls, src = bomb_source(rng)
                rep = api.check_report(src)
                if not rep["ok"]:
                    outcome = "rejected"
                else:
                    try:
                        exe = api.compile(rep["_checked"], 0.5)
                        outcome = "ran"
                        if cls == "code-size" and len(exe.source) > 120 * len(src):
                            outcome = "code-growth"
                    except DiagnosticsError:
                        outcome = "rejected"
        except Exception as ex:  # noqa: BLE001 - any other exception is a finding
            outcome = f"traceback {type(ex).__name__}: {ex}"[:200]
        dt = time.perf_counter() - t0
        if dt > time_cap:
            outcome = f"slow {dt:.1f} s"
        ok = outcome in ("rejected", "ran", "runtime-error")
        counts[f"{cls} {outcome if ok else 'BAD'}"] += 1
        if not ok:
            bad.append({"class": cls, "outcome": outcome})
    return {"attacks": n, "bad": len(bad), "counts": dict(sorted(counts.items())), "examples": bad[:10]}


# ------------------------------------------------------------------ driver
def _worker(args):
    seed, n, timeout, out_dir, gaps = args
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from strategies import hostile_sources, mutated_sources, valid_sources

    mix = st.one_of(valid_sources(), valid_sources(hostile=True, gaps=gaps), mutated_sources(), hostile_sources)
    stores = small_stores(seed)
    counts = collections.Counter()
    details = collections.Counter()
    bad = []
    slowest = [0.0, ""]

    @hseed(seed)
    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=["generate"])
    @given(mix)
    def run(src):
        if counts.total() >= n:
            return
        t0 = time.perf_counter()
        outcome, detail = examine(src, stores, timeout=timeout)
        dt = time.perf_counter() - t0
        if dt > slowest[0]:
            slowest[:] = [dt, outcome]
        counts[outcome] += 1
        if outcome in ("rejected", "runtime-error"):
            details[f"{outcome} {detail}"] += 1
        if outcome in BAD:
            bad.append({"outcome": outcome, "detail": detail, "source": src})
            if out_dir:
                p = Path(out_dir) / f"{outcome}-{seed}-{len(bad)}.tts"
                p.write_text(src, encoding="utf-8", errors="replace")

    run()
    return counts, details, bad, slowest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--programs", type=int, default=1000, help="how many programs (default 1000)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds per program before it counts as a hang")
    ap.add_argument("--save", metavar="DIR", help="write every bad input to DIR")
    ap.add_argument("--json", action="store_true", help="print the counts as JSON")
    ap.add_argument("--known-gaps", action="store_true",
                    help="also generate inputs with huge vote counts and long steps (docs/safety.md, \"Long steps\")")
    ap.add_argument("--schedules", type=int, default=0,
                    help="instead of programs: fuzz the schedule prover with this many random knobs, each proof "
                         "and bound checked on a dense grid with float neighbours")
    ap.add_argument("--classes", type=int, default=0,
                    help="instead of programs: this many attacks from the classes constant-expression bombs, "
                         "code-size growth, memory bombs (lists per branch) and store overflow")
    a = ap.parse_args(argv)
    if a.classes:
        res = class_fuzz(a.classes, a.seed)
        print(json.dumps(res, indent=2))
        return 1 if res["bad"] else 0
    if a.schedules:
        res = prover_fuzz(a.schedules, a.jobs, a.seed)
        print(json.dumps(res, indent=2) if a.json else
              f"{res['schedules']} schedules in {res['seconds']:.0f} s: {res['unsound']} unsound proofs or bounds")
        for b in res["bad"][:10]:
            print(f"  {b}", file=sys.stderr)
        return 1 if res["unsound"] else 0
    if a.save:
        os.makedirs(a.save, exist_ok=True)
    per = [a.programs // a.jobs + (1 if i < a.programs % a.jobs else 0) for i in range(a.jobs)]
    jobs = [(a.seed * 1000 + i, n, a.timeout, a.save, a.known_gaps) for i, n in enumerate(per) if n]
    t0 = time.perf_counter()
    if a.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(a.jobs) as pool:
            results = pool.map(_worker, jobs)
    else:
        results = [_worker(j) for j in jobs]
    counts, details, bad = collections.Counter(), collections.Counter(), []
    slowest = 0.0
    for c, d, b, s in results:
        counts.update(c)
        details.update(d)
        bad.extend(b)
        slowest = max(slowest, s[0])
    wall = time.perf_counter() - t0
    total = counts.total()
    summary = {
        "programs": total, "seconds": round(wall, 1), "slowest_program_s": round(slowest, 2),
        "outcomes": {k: counts.get(k, 0) for k in ("rejected", "ran", "runtime-error", "time-limit") + BAD},
        "top_reasons": dict(details.most_common(15)),
        "command": "python tools/fuzz.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if a.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{total} programs in {wall:.0f} s (slowest {slowest:.2f} s)")
        for k, v in summary["outcomes"].items():
            print(f"  {k:17} {v:6}")
        print("most frequent reasons:")
        for k, v in details.most_common(15):
            print(f"  {v:6}  {k}")
    for b in bad[:10]:
        print(f"\n--- {b['outcome']}: {b['detail']}\n{b['source'][:2000]}", file=sys.stderr)
    return 1 if any(counts.get(k) for k in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
