"""Evaluation protocol (spec section 3): for each ordering seed, every question in file
order, one episode; accuracy = round(100 * mean_s(acc_s), 2), avg_cost = mean_s(cost_s)."""

from __future__ import annotations

import signal
import threading
import time
import traceback
from dataclasses import dataclass, field

from ..engines.executable import REASONS, Executable
from ..engines.runtime import CellCap, RuntimeProblem
from ..lang.diagnostics import NOWHERE, Diagnostic, Reporter
from ..lang.limits import Limits
from ..replay.store import Store, permutation


@dataclass
class EvalResult:
    program: str
    model: str
    dataset: str
    beta: float | None
    params: dict
    accuracy: float | None = None  # percent, rounded to 2 decimals
    avg_cost: float | None = None  # tokens per question
    episodes: int = 0
    wall_s: float = 0.0
    seeds: int = 0
    ended: dict = field(default_factory=dict)  # reason -> count
    acc_per_seed: list = field(default_factory=list)
    cost_per_seed: list = field(default_factory=list)
    correct: list = field(default_factory=list)  # [seed][question] 0/1
    cost: list = field(default_factory=list)  # [seed][question] tokens
    error: Diagnostic | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def row(self) -> dict:
        d = {
            "program": self.program, "model": self.model, "dataset": self.dataset,
            "beta": self.beta, "accuracy": self.accuracy, "avg_cost": self.avg_cost,
            "episodes": self.episodes, "seeds": self.seeds, "wall_s": round(self.wall_s, 3),
            "action_cap": self.ended.get("action_cap", 0), "step_cap": self.ended.get("step_cap", 0),
            "error": self.error.message if self.error else None,
        }
        for k, v in self.params.items():
            d[f"param.{k}"] = v
        return d


def _runtime_diag(exe: Executable, ex: BaseException, q: int, seed: int) -> Diagnostic:
    span = None
    tb = ex.__traceback__
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == f"<tts:{exe.name}>":
            span = exe.line_map.get(lineno, span)
    if isinstance(ex, CellCap):  # the reference engine names the statement itself
        return Reporter(exe.checked.file, "runtime").episode_cells(span or ex.span or NOWHERE, ex.cells, ex.limit,
                                                                   q, seed)
    if isinstance(ex, RuntimeProblem):
        msg = str(ex)
    elif isinstance(ex, ZeroDivisionError):
        msg = "division by zero"
    elif isinstance(ex, IndexError):
        msg = "list index out of range"
    elif isinstance(ex, OverflowError):
        msg = "number too large"
    elif isinstance(ex, RecursionError):
        msg = "expression too deep to evaluate"
    elif isinstance(ex, MemoryError):
        msg = "out of memory"
    else:
        msg = f"internal error ({type(ex).__name__}: {ex})"
    return Reporter(exe.checked.file, "runtime").runtime_error(span or NOWHERE, msg, q, seed,
                                                               index_error=isinstance(ex, IndexError))


def run(exe: Executable, store: Store, seeds=range(100), limits: Limits | None = None,
        questions=None, keep_episodes: bool = True, tracer=None) -> EvalResult:
    """Run the protocol. ``tracer(question, seed, events, answer, cost, reason)`` is called
    after each episode when the executable was compiled with traces on (``events`` is None
    otherwise); after a runtime error it is called once more for the failing episode, with
    the events up to the error, answer and cost None and reason ``"error"``.

    The wall-clock cap (``limits.max_seconds``) ends the evaluation with an ``L009`` error
    result: checked between episodes, and, in the main thread, also by an alarm that
    interrupts a long episode wherever it is."""
    limits = limits or Limits()
    seeds = list(seeds)
    res = EvalResult(exe.name, store.model, store.dataset, exe.binding.beta, dict(exe.binding.values))
    qs = store.questions if questions is None else [store.questions[i] for i in questions]
    ep = exe.episode
    cap, fuel = limits.max_actions, limits.max_steps
    t0 = time.perf_counter()
    deadline = None if limits.max_seconds is None else t0 + limits.max_seconds
    ended = {0: 0, 1: 0, 2: 0, 3: 0}
    nq = len(qs)
    unpacked = [(q, q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, q.n_branches, q.gold, q.junk) for q in qs]
    traced = exe.traced
    native = exe.fast if (exe.fast is not None and not traced and tracer is None) else None
    if native is not None:
        from ..engines.fast import packed

        pk = packed(store, qs)
    try:
        with _Alarm(limits.max_seconds):
            for s in seeds:
                correct_row = []
                cost_row = []
                if native is not None:  # every question of the seed in one native call
                    if deadline is not None and time.perf_counter() > deadline:
                        raise _Timeout()
                    n_ans, n_cost, n_why = (a.tolist() for a in native.run_seed(pk, s, cap, fuel))
                for qi, (q, P, NP, T, F, PF, NB, gold, J) in enumerate(unpacked):
                    if native is not None and n_why[qi] >= 0:  # else: the Python engine runs the episode
                        why = n_why[qi]
                        ended[why] += 1
                        correct_row.append(1 if n_ans[qi] == gold else 0)
                        cost_row.append(n_cost[qi])
                        continue
                    if deadline is not None and time.perf_counter() > deadline:
                        raise _Timeout()
                    order = permutation(NB, s)
                    tr = [] if traced else None
                    try:
                        ans, cost, why = ep(P, NP, T, F, PF, NB, order, cap, fuel, tr, J)
                    except Exception as ex:  # a runtime error of the program: one clean diagnostic
                        res.error = _runtime_diag(exe, ex, q.index, s)
                        res.wall_s = time.perf_counter() - t0
                        if tracer is not None:  # the failing episode's events up to the error
                            tracer(q, s, tr, None, None, "error")
                        return res
                    ended[why] += 1
                    correct_row.append(1 if (ans is not None and ans == gold) else 0)
                    cost_row.append(cost)
                    if tracer is not None:
                        tracer(q, s, tr, ans, cost, REASONS[why])
                res.acc_per_seed.append(sum(correct_row) / nq)
                res.cost_per_seed.append(sum(cost_row) / nq)
                if keep_episodes:
                    res.correct.append(correct_row)
                    res.cost.append(cost_row)
    except _Timeout:
        res.error = Reporter(exe.checked.file, "runtime").time_limit(NOWHERE, limits.max_seconds,
                                                                     len(res.acc_per_seed), len(seeds))
    res.wall_s = time.perf_counter() - t0
    res.seeds = len(res.acc_per_seed)
    res.episodes = res.seeds * nq
    res.ended = {REASONS[k]: v for k, v in ended.items() if v}
    if res.seeds and res.error is None:
        res.accuracy = round(100 * (sum(res.acc_per_seed) / len(res.acc_per_seed)), 2)
        res.avg_cost = sum(res.cost_per_seed) / len(res.cost_per_seed)
    return res


class _Timeout(BaseException):
    """The wall-clock cap fired. A BaseException, so nothing on the way catches it."""


def _on_alarm(signum, frame):
    raise _Timeout()


class _Alarm:
    """SIGALRM after ``seconds``, for the duration of one evaluation, in the main thread only
    (signals cannot be delivered elsewhere); the previous handler is restored after."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.old = None
        self.armed = False

    def __enter__(self):
        if (self.seconds is not None and hasattr(signal, "setitimer")
                and threading.current_thread() is threading.main_thread()
                and signal.getitimer(signal.ITIMER_REAL)[0] == 0):
            self.old = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, float(self.seconds)))
            self.armed = True
        return self

    def __exit__(self, *exc):
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old if self.old is not None else signal.SIG_DFL)
        return False
