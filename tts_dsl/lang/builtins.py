"""The registry of everything a program can name that it did not declare: built-in
functions, state queries and branch attributes. The checker, the engines, the schedule
evaluator, the prover, the docs and the discovery prompt all read this one table, so they
cannot drift apart.

Each built-in function is declared once, with its implementation beside its declaration
(as cel-go's standard library declarations carry their bindings): the engines
(:mod:`tts_dsl.engines.runtime`) derive their function tables from :data:`FUNCTIONS`,
:mod:`.schedule` evaluates the ``schedule_ok`` ones, and :mod:`.prover` reads ``prover``
(what it may assume about a function of beta). Adding a built-in is one :func:`register`
call (or one entry in the list below).

Implementations raise :class:`RuntimeProblem` for a program's clean runtime errors
(the :func:`runtime_errors` decorator maps the Python errors of a function's domain to it
once); the schedule evaluator turns them into its own errors.
"""

from __future__ import annotations

import functools
import math
from collections import _count_elements  # the C counting loop behind Counter
from dataclasses import dataclass
from typing import Callable

from .. import stats
from .types import ANSWER, ANY, BOOL, BRANCH, FLOAT, INT, VOTES, WVOTES, Ty, is_num, list_of


class RuntimeProblem(Exception):
    """A clean runtime error of a program (division by zero, empty mean, ...)."""


def runtime_errors(message: str | None = None, catch=(ValueError, OverflowError)):
    """Decorator: the Python errors ``catch`` of a function's domain become one
    :class:`RuntimeProblem`, with ``message`` (formatted with the arguments) or the
    error's own text."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*a):
            try:
                return fn(*a)
            except catch as ex:
                raise RuntimeProblem(message.format(*a) if message else str(ex)) from None
        return wrapper
    return deco


INT_LIMIT = 1 << 62  # the one bound on int values that grow by products (program and schedule)


def int_bounded(r: int, op: str) -> int:
    """``r`` if it is within :data:`INT_LIMIT`, else the integer-overflow error of ``op``."""
    if -INT_LIMIT <= r <= INT_LIMIT:
        return r
    raise RuntimeProblem(f"integer overflow in '{op}' (beyond 2**62)")


# What the schedule prover may assume about a function of beta (Builtin.prover):
MONOTONE = "monotone"            # non-decreasing in every argument; its values at the interval ends bound it
MONOTONE_ROUNDING = "rounding"   # non-decreasing in its first argument (the others constant); exact
#                                  (or nearest-float): its values at the bounds bound it
MONOTONE_LIBM = "libm"           # non-decreasing; bounded by its values at the ends, one ulp outward
V_SHAPED = "v_shaped"            # non-increasing below 0, non-decreasing above, f(0) = 0


@dataclass(frozen=True)
class Builtin:
    name: str
    signature: str
    doc: str
    arity: tuple[int, int]
    typer: Callable[[list[Ty]], "Ty | str"]
    schedule_ok: bool = False  # usable in the params block (functions of beta)
    impl: Callable | None = None  # what every engine (and the schedule) calls
    total: bool = False  # never raises: evaluation order around it is unobservable
    prover: str | None = None  # MONOTONE, MONOTONE_ROUNDING, MONOTONE_LIBM, V_SHAPED or None (unknown)
    reads_junk: bool = False  # impl takes the question's junk answer ids (a frozenset) as a last argument


# ------------------------------------------------------------------ implementations
@runtime_errors("mean of an empty list", ZeroDivisionError)
def _mean(xs):
    return sum(xs) / len(xs)


@runtime_errors("min of an empty list", ValueError)
def _min(*a):
    return min(*a)


@runtime_errors("max of an empty list", ValueError)
def _max(*a):
    return max(*a)


def _sqrt(x):
    if x < 0:
        raise RuntimeProblem(f"sqrt of a negative number ({x!r})")
    return math.sqrt(x)


def _log(x):
    if x <= 0:
        raise RuntimeProblem(f"log of a non-positive number ({x!r})")
    return math.log(x)


def _exp(x):
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@runtime_errors("round of a non-finite number ({0!r})")
def _round(x, nd=None):
    if nd is None:
        return round(x)
    if isinstance(x, int) and nd < -(x.bit_length() // 3 + 2):
        # |x| < 10**(-nd - 1): the result is 0; Python would build 10**-nd first (a hang for
        # round(5, -10**15)). Floats already short-cut huge ndigits.
        return 0.0
    return float(round(x, nd))


@runtime_errors("floor of a non-finite number ({0!r})")
def _floor(x):
    return math.floor(x)


@runtime_errors("ceil of a non-finite number ({0!r})")
def _ceil(x):
    return math.ceil(x)


@runtime_errors("int of a non-finite number ({0!r})")
def _int(x):
    return int(x)


def _clip(x, lo, hi):
    return min(max(x, lo), hi)


def _count(xs, x):
    return xs.count(x)


def _range(*a):
    return list(range(*a))


def _junk_set(junk, name):
    if junk is None:
        raise RuntimeProblem(f"{name}: the store's junk answers were not given to the episode")
    return junk


def _valid(a, junk):
    """A real answer: revealed (not none) and not one of the store's junk answers. All a
    program learns is whether an answer it already holds is junk."""
    return a is not None and a not in _junk_set(junk, "valid")


def _real(xs, junk):
    junk = _junk_set(junk, "real")
    return [a for a in xs if a is not None and a not in junk]


def majority(xs):
    """:func:`stats.majority` with the counting done in C: ``_count_elements`` inserts
    answers in first-seen order and ``max`` keeps the first of equal counts."""
    if not xs:
        return None
    m: dict = {}
    _count_elements(m, xs)
    return max(m, key=m.__getitem__)


def vote_stats(xs):
    """:func:`stats.vote_stats`, counted in C (same tie rule as :func:`majority`)."""
    if not xs:
        return (None, 0, 0)
    m: dict = {}
    _count_elements(m, xs)
    best = max(m, key=m.__getitem__)
    top1 = m.pop(best)
    return (best, top1, max(m.values()) if m else 0)


_wvotes = runtime_errors()(stats.weighted_vote_stats)
_beta_confidence_exact = runtime_errors(catch=ValueError)(stats.beta_confidence)
BC_CACHE = stats._BC_CACHE


def beta_confidence(t1, t2):
    """:func:`stats.beta_confidence`, its process-wide cache read first."""
    r = BC_CACHE.get((t1, t2))
    if r is None:
        r = _beta_confidence_exact(t1, t2)
    return r


# ------------------------------------------------------------------ typers
def _num_result(ts):
    return FLOAT if FLOAT in ts else INT


def _need_num(ts, fname):
    for i, t in enumerate(ts):
        if not is_num(t):
            return f"{fname}: argument {i + 1} must be a number, found {t}"
    return None


def _t_len(ts):
    return INT if ts[0].is_list or ts[0].is_map else f"len: expects a list or a map, found {ts[0]}"


def _t_keys(ts):
    return list_of(ANSWER) if ts[0].is_map else f"keys: expects a map, found {ts[0]}"


def _t_argmax(ts):
    return ANSWER if ts[0].is_map else f"argmax: expects a map, found {ts[0]}"


def _argmax(m):
    """The key with the largest value, the first inserted on ties; none for an empty map."""
    return max(m, key=m.__getitem__) if m else None


def _t_count(ts):
    if not ts[0].is_list:
        return f"count: first argument must be a list, found {ts[0]}"
    el = ts[0].arg
    if el != ANY and not (el == ts[1] or (is_num(el) and is_num(ts[1]))):
        return f"count: cannot count {ts[1]} values in a {ts[0]}"
    return INT


def _t_sum(ts):
    t = ts[0]
    if not t.is_list or not (is_num(t.arg) or t.arg == ANY or t.arg == BOOL):
        return f"sum: expects a list of numbers, found {t}"
    return FLOAT if t.arg == FLOAT else INT


def _t_mean(ts):
    t = ts[0]
    if not t.is_list or not (is_num(t.arg) or t.arg == ANY or t.arg == BOOL):
        return f"mean: expects a list of numbers, found {t}"
    return FLOAT


def _t_minmax(name):
    def f(ts):
        if len(ts) == 1:
            t = ts[0]
            if not t.is_list or not (is_num(t.arg) or t.arg == ANY):
                return f"{name}: expects a list of numbers or two or more numbers, found {t}"
            return FLOAT if t.arg == FLOAT else INT
        err = _need_num(ts, name)
        return err or _num_result(ts)
    return f


def _t_abs(ts):
    return _need_num(ts, "abs") or ts[0]


def _t_round(ts):
    err = _need_num(ts, "round")
    if err:
        return err
    if len(ts) == 2:
        if ts[1] != INT:
            return "round: ndigits must be an int"
        return FLOAT
    return INT


def _t_to_int(name):
    def f(ts):
        return _need_num(ts, name) or INT
    return f


def _t_float_fn(name):
    def f(ts):
        return _need_num(ts, name) or FLOAT
    return f


def _t_clip(ts):
    return _need_num(ts, "clip") or _num_result(ts)


def _t_majority(ts):
    t = ts[0]
    if not (t.is_list and t.arg in (ANSWER, ANY)):
        return f"majority: expects a list of answers, found {t}"
    return ANSWER


def _t_votes(ts):
    t = ts[0]
    if not (t.is_list and t.arg in (ANSWER, ANY)):
        return f"votes: expects a list of answers, found {t}"
    return VOTES


def _t_wvotes(ts):
    if not (ts[0].is_list and ts[0].arg in (ANSWER, ANY)):
        return f"weighted_votes: first argument must be a list of answers, found {ts[0]}"
    if not (ts[1].is_list and (is_num(ts[1].arg) or ts[1].arg == ANY)):
        return f"weighted_votes: second argument must be a list of numbers, found {ts[1]}"
    return WVOTES


def _t_betaconf(ts):
    for i, t in enumerate(ts):
        if not is_num(t):
            return f"beta_confidence: argument {i + 1} must be a number (a vote count or weight), found {t}"
    return FLOAT


def _t_valid(ts):
    return BOOL if ts[0] == ANSWER else f"valid: expects an answer, found {ts[0]}"


def _t_real(ts):
    t = ts[0]
    if not (t.is_list and t.arg in (ANSWER, ANY)):
        return f"real: expects a list of answers, found {t}"
    return list_of(ANSWER)


def _t_distinct(ts):
    return ts[0] if ts[0].is_list else f"distinct: expects a list, found {ts[0]}"


def _t_entropy(ts):
    t = ts[0]
    if not (t.is_list and t.arg in (ANSWER, ANY)):
        return f"entropy: expects a list of answers, found {t}"
    return FLOAT


def _t_anyall(name):
    def f(ts):
        t = ts[0]
        if not (t.is_list and t.arg in (BOOL, ANY)):
            return f"{name}: expects a list of booleans, found {t}"
        return BOOL
    return f


def _t_range(ts):
    if any(t != INT for t in ts):
        return "range: bounds must be ints"
    return list_of(INT)


FUNCTIONS: dict[str, Builtin] = {b.name: b for b in [
    Builtin("len", "len(xs: list | map) -> int", "Number of elements (of keys, for a map).", (1, 1), _t_len, impl=len, total=True),
    Builtin("count", "count(xs: list, x) -> int", "How many elements of xs equal x.", (2, 2), _t_count,
            impl=_count, total=True),
    Builtin("sum", "sum(xs: list[int|float|bool]) -> int|float", "Sum (0 for an empty list).", (1, 1), _t_sum,
            impl=sum),
    Builtin("mean", "mean(xs: list[int|float]) -> float", "Arithmetic mean; an empty list is a runtime error.",
            (1, 1), _t_mean, impl=_mean),
    Builtin("min", "min(xs: list) | min(a, b, ...) -> number", "Smallest value (first on ties).", (1, 16),
            _t_minmax("min"), True, impl=_min, prover=MONOTONE),
    Builtin("max", "max(xs: list) | max(a, b, ...) -> number", "Largest value (first on ties).", (1, 16),
            _t_minmax("max"), True, impl=_max, prover=MONOTONE),
    Builtin("abs", "abs(x) -> number", "Absolute value.", (1, 1), _t_abs, True, impl=abs, total=True,
            prover=V_SHAPED),
    Builtin("round", "round(x) -> int | round(x, ndigits) -> float",
            "Python's round: ties to even, round(6.5) == 6.", (1, 2), _t_round, True, impl=_round,
            prover=MONOTONE_ROUNDING),
    Builtin("floor", "floor(x) -> int", "Largest int <= x.", (1, 1), _t_to_int("floor"), True, impl=_floor,
            prover=MONOTONE_ROUNDING),
    Builtin("ceil", "ceil(x) -> int", "Smallest int >= x.", (1, 1), _t_to_int("ceil"), True, impl=_ceil,
            prover=MONOTONE_ROUNDING),
    Builtin("int", "int(x) -> int", "Truncation toward zero.", (1, 1), _t_to_int("int"), True, impl=_int,
            prover=MONOTONE_ROUNDING),
    Builtin("float", "float(x) -> float", "Conversion to float.", (1, 1), _t_float_fn("float"), True, impl=float,
            prover=MONOTONE_ROUNDING),
    Builtin("sqrt", "sqrt(x) -> float", "Square root; x < 0 is an error.", (1, 1), _t_float_fn("sqrt"), True,
            impl=_sqrt, prover=MONOTONE_LIBM),
    Builtin("exp", "exp(x) -> float", "e to the x.", (1, 1), _t_float_fn("exp"), True, impl=_exp,
            prover=MONOTONE_LIBM),
    Builtin("log", "log(x) -> float", "Natural logarithm; x <= 0 is an error.", (1, 1), _t_float_fn("log"), True,
            impl=_log, prover=MONOTONE_LIBM),
    Builtin("sigmoid", "sigmoid(x) -> float", "1 / (1 + exp(-x)).", (1, 1), _t_float_fn("sigmoid"), True,
            impl=_sigmoid, prover=MONOTONE_LIBM),
    Builtin("clip", "clip(x, lo, hi) -> number", "min(max(x, lo), hi).", (3, 3), _t_clip, True, impl=_clip,
            prover=MONOTONE),
    Builtin("majority", "majority(xs: list[answer]) -> answer",
            "Most frequent answer, ties to the first seen; none for an empty list.", (1, 1), _t_majority,
            impl=majority, total=True),
    Builtin("votes", "votes(xs: list[answer]) -> votes",
            "Vote statistics: .winner (as majority), .top1 (its count), .top2 (the next highest count, 0 if none).",
            (1, 1), _t_votes, impl=vote_stats, total=True),
    Builtin("weighted_votes", "weighted_votes(xs: list[answer], ws: list[number]) -> weighted_votes",
            "Like votes with summed weights: .winner, .top1, .top2 are weight sums (floats).", (2, 2), _t_wvotes,
            impl=_wvotes),
    Builtin("beta_confidence", "beta_confidence(top1: number, top2: number) -> float",
            "P(X > 0.5) for X ~ Beta(top1 + 1, top2 + 1), exact for whole counts, the regularised incomplete "
            "Beta function for real ones (weighted votes); 0 if top1 <= 0.", (2, 2), _t_betaconf,
            impl=beta_confidence),
    Builtin("valid", "valid(a: answer) -> bool",
            "True if a is a real answer: not none and not one of the store's junk answers (extractor "
            "failures such as \"ERR\"; see docs/safety.md, Stores).", (1, 1), _t_valid, impl=_valid, total=True,
            reads_junk=True),
    Builtin("real", "real(xs: list[answer]) -> list[answer]",
            "The real answers of xs, in order (junk answers and none left out): votes(real(xs)) skips junk.",
            (1, 1), _t_real, impl=_real, total=True, reads_junk=True),
    Builtin("keys", "keys(m: map[answer, V]) -> list[answer]", "The keys of a map, in first-insertion order.",
            (1, 1), _t_keys, impl=list, total=True),
    Builtin("argmax", "argmax(m: map[answer, V]) -> answer",
            "The key with the largest value (the first inserted on ties); none for an empty map.", (1, 1),
            _t_argmax, impl=_argmax, total=True),
    Builtin("distinct", "distinct(xs: list) -> list", "Distinct values in first-seen order.", (1, 1), _t_distinct,
            impl=stats.distinct, total=True),
    Builtin("entropy", "entropy(xs: list[answer]) -> float",
            "Shannon entropy (natural log) of the answer frequencies; 0 for an empty list.", (1, 1), _t_entropy,
            impl=stats.entropy, total=True),
    Builtin("any", "any(xs: list[bool]) -> bool", "True if some element is true.", (1, 1), _t_anyall("any"),
            impl=any, total=True),
    Builtin("all", "all(xs: list[bool]) -> bool", "True if every element is true (true for empty).",
            (1, 1), _t_anyall("all"), impl=all, total=True),
    Builtin("range", "range(n) | range(a, b) -> list[int]",
            "The ints a..b-1. Bounds must be constant (literals and params).", (1, 2), _t_range, impl=_range),
]}


def register(b: Builtin) -> Builtin:
    """Add a built-in function to the registry: the checker, both engines, the schedule
    (if ``schedule_ok``) and the prover (if ``prover`` is set) take it from here."""
    if not b.name.isidentifier() or not b.name.islower() or b.name.startswith("_"):
        raise ValueError(f"a built-in name is a lower-case identifier, got {b.name!r}")
    if b.name in FUNCTIONS:
        raise ValueError(f"built-in {b.name!r} is already registered")
    if b.impl is None:
        raise ValueError(f"built-in {b.name!r} has no implementation")
    FUNCTIONS[b.name] = b
    return b


def unregister(name: str) -> None:
    """Remove a built-in added by :func:`register` (tests clean up with it)."""
    del FUNCTIONS[name]


@dataclass(frozen=True)
class StateName:
    name: str
    ty: Ty
    doc: str


STATE: dict[str, StateName] = {s.name: s for s in [
    StateName("branches", list_of(BRANCH), "Every branch opened so far, in opening order (pruned ones included)."),
    StateName("completed", list_of(ANSWER),
              "Final answers of finished branches, in the order they finished."),
    StateName("opened", INT, "Number of branches opened so far (open and read)."),
    StateName("remaining", INT, "Number of fresh branches left in the pool."),
    StateName("exhausted", BOOL, "True when no fresh branch is left (remaining == 0)."),
    StateName("spent", INT, "Tokens charged so far in this episode."),
    StateName("interval_tokens", INT, "Tokens per interval (the store's probe_freq, 500 in AutoTTS stores)."),
]}


@dataclass(frozen=True)
class BranchAttr:
    name: str
    ty: Ty
    doc: str


BRANCH_ATTRS: dict[str, BranchAttr] = {a.name: a for a in [
    BranchAttr("index", INT, "Opening index: 0 for the first branch opened."),
    BranchAttr("steps", INT, "Intervals advanced: 1 after open, +1 per advance; 0 for a branch read whole."),
    BranchAttr("latest", ANSWER, "The latest revealed answer (the final answer once finished)."),
    BranchAttr("history", list_of(ANSWER), "Every answer revealed so far, oldest first."),
    BranchAttr("finished", BOOL, "True once the branch has revealed its final answer."),
    BranchAttr("pruned", BOOL, "True once the program pruned it."),
    BranchAttr("cost", INT, "Tokens charged to this branch so far."),
]}

# Names that would leak hidden data; the checker explains why they do not exist.
HIDDEN_NAMES = {
    "gold": "the gold answer is never visible to a controller",
    "gold_answer": "the gold answer is never visible to a controller",
    "question": "the question text is never visible to a controller",
    "final_answers_trace": "store internals are never visible to a controller",
    "each_branch": "unopened branches are never visible; use 'open' or 'read'",
    "order": "the branch order is hidden; 'open' takes the next branch",
}
HIDDEN_ATTRS = {
    "final": "a branch's final answer is visible only as 'latest' once it is finished",
    "final_answer": "a branch's final answer is visible only as 'latest' once it is finished",
    "answer": "the revealed answer is 'latest'",
    "tokens": "a branch's total length is hidden; 'cost' is what it has been charged so far",
    "length": "a branch's total length is hidden; 'cost' is what it has been charged so far",
    "probes": "unrevealed probes are hidden; 'history' holds the revealed ones",
    "gold": "the gold answer is never visible to a controller",
}

ACTION_DOCS = {
    "open": "open [as b] [else ...]: open the next fresh branch and advance it one interval. "
            "Else-clause runs when the pool is exhausted.",
    "read": "read [as a] [else ...]: read the next fresh branch whole (charged its full length); "
            "its final answer joins completed. Else-clause runs when the pool is exhausted.",
    "advance": "advance b [else ...]: reveal b's next interval (or its final answer). On a finished or "
               "pruned branch nothing happens and the else-clause runs.",
    "prune": "prune b [else ...]: stop b for good (it stays in branches with pruned = true). On an "
             "already pruned branch nothing happens and the else-clause runs.",
    "answer": "answer x: end the episode with answer x (an answer or none).",
}
