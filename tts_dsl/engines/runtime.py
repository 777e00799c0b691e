"""The runtime every engine imports: the built-in functions' tables, derived from the one
registry (:data:`tts_dsl.lang.builtins.FUNCTIONS`, where each built-in is declared with its
implementation), and the helpers the engines call (checked int products, bounded list
concatenation, the step counter's stop, the episode's memory budget, vote-count caching).
"""

from __future__ import annotations

import builtins as _py
import itertools

from ..lang.builtins import (BC_CACHE, FUNCTIONS, INT_LIMIT, RuntimeProblem, int_bounded, majority, runtime_errors,
                             vote_stats)
from ..lang.limits import Limits

__all__ = ["RuntimeProblem", "StepCap", "CellCap", "make_cell_cap", "INT_LIMIT", "runtime_errors", "imul", "make_cat",
           "guard", "votes_cached", "func_name", "functions", "namespace", "stops_at_step_cap", "majority", "vote_stats"]

# Python built-ins the generated code may call (the registry's own, plus the generator's)
SAFE_BUILTINS = {
    "len": len, "range": range, "sorted": sorted, "list": list, "abs": abs, "float": float,
    "any": any, "all": all, "sum": sum, "map": map,
}


class StepCap(Exception):
    """The step counter ran out inside an expression (a comprehension's charge): the episode
    ends with ``step_cap`` and the tokens ``spent`` so far."""

    def __init__(self, spent):
        super().__init__(spent)
        self.spent = spent


def stop(spent, events=None, line=None):
    """End the episode at the step cap from inside an expression (with the end event if traced)."""
    if events is not None:
        events(("end", "step_cap", None, spent, line))
    raise StepCap(spent)


def stops_at_step_cap(episode):
    """``episode`` that returns ``(None, spent, 2)`` when a :class:`StepCap` stops it."""
    def run(*a):
        try:
            return episode(*a)
        except StepCap as s:
            return (None, s.spent, 2)
    return run


def imul(a, b):
    """``a * b`` on ints, bounded by :data:`INT_LIMIT`."""
    return int_bounded(a * b, "*")


def make_put(limit):
    """``put(m, key, value)``: set a map key; a new key beyond ``limit`` keys is a runtime error."""
    def put(m, key, value):
        if key not in m and len(m) >= limit:
            raise RuntimeProblem(f"a map grew beyond {limit:,} keys (limit L008)")
        m[key] = value
    return put


def make_cat(limit):
    def cat(a, b):
        if len(a) + len(b) > limit:
            raise RuntimeProblem(f"a list grew beyond {limit:,} elements (limit L008)")
        return a + b
    return cat


class CellCap(RuntimeProblem):
    """The episode's state holds more list elements than ``max_episode_cells``: the sum of
    the lengths of every list ``var`` and of every list ``branch var`` of every branch
    opened so far, checked after each assignment (and after a branch's list vars get their
    initial values). ``span``: the statement, when the engine knows it (the compiled engine's
    is found through its line map)."""

    def __init__(self, cells: int, limit: int, span=None):
        super().__init__(f"the episode's list variables hold {cells:,} elements; "
                         f"the limit is {limit:,} (max_episode_cells)")
        self.cells, self.limit, self.span = cells, limit, span


def make_cell_cap(limit):
    """``over(cells)``: the generated code's stop when its running sum passed ``limit``."""
    def over(cells):
        raise CellCap(cells, limit)
    return over


def guard(f):
    """Value of a trace field, or the text of the error it raises (traced runs only)."""
    try:
        return f()
    except (RuntimeProblem, ArithmeticError, IndexError, ValueError) as ex:
        return f"<error: {ex}>"


def votes_cached(comp, cache):
    """``vote_stats(completed)`` memoised on ``len(completed)``: completed is append-only
    within an episode, so its length identifies its content."""
    n = len(comp)
    if cache[0] != n:
        cache[1] = vote_stats(comp)
        cache[0] = n
    return cache[1]


def _is_python_builtin(name: str, impl) -> bool:
    return SAFE_BUILTINS.get(name) is impl and getattr(_py, name, None) is impl


def func_name(name: str) -> str:
    """The name generated code calls built-in ``name`` by: Python's own where it is one,
    else ``_f_<name>`` (engine helpers are ``_r_*``, so the two never collide)."""
    return name if _is_python_builtin(name, FUNCTIONS[name].impl) else f"_f_{name}"


def functions() -> dict:
    """Built-in name -> implementation (the reference evaluator's table)."""
    return {name: b.impl for name, b in FUNCTIONS.items()}


def namespace(limits: Limits) -> dict:
    """The globals of generated code: a whitelist of Python built-ins, every registered
    built-in under :func:`func_name`, and the engine helpers (all ``_r_*``)."""
    ns = {"__builtins__": dict(SAFE_BUILTINS)}
    for name, b in FUNCTIONS.items():
        if not _is_python_builtin(name, b.impl):
            ns[f"_f_{name}"] = b.impl
    ns.update({
        "_r_cat": make_cat(limits.max_list_len), "_r_cells": make_cell_cap(limits.max_episode_cells),
        "_r_put": make_put(limits.max_list_len), "_r_imul": imul, "_r_guard": guard, "_r_vc": votes_cached,
        "_r_compress": itertools.compress, "_r_BC": BC_CACHE, "_r_StepCap": StepCap,
        "_r_hist": history, "_r_stop": stop,
    })
    return ns


def history(PROBES, FINAL, ORDER, K, FIN, i):  # noqa: N803 - the episode's array names
    """``branch.history`` of the branch at opening index ``i`` (revealed probes, then the
    final answer once finished)."""
    j = ORDER[i]
    h = PROBES[j][:K[i]]
    return h + [FINAL[j]] if FIN[i] else h

