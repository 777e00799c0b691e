"""The params block as a beta schedule: evaluating knobs at a beta, applying overrides,
checking declared and natural ranges. (The monotonicity prover lives in ``prover``.)"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import ast as A
from .builtins import FUNCTIONS, RuntimeProblem, int_bounded
from .checker import CheckedProgram, ParamInfo
from .diagnostics import NOWHERE, DiagnosticsError, Reporter
from .types import BOOL, FLOAT, INT


class ScheduleError(Exception):
    def __init__(self, msg, node):
        super().__init__(msg)
        self.node = node


def eval_expr(e: A.Expr, env: dict):
    """Evaluate a schedule (param-value) expression. ``env`` maps names to numbers."""
    if isinstance(e, A.Num):
        return e.value
    if isinstance(e, A.Bool):
        return e.value
    if isinstance(e, A.Name):
        return env[e.id]
    if isinstance(e, A.Unary):
        return apply(e, [eval_expr(e.operand, env)])
    if isinstance(e, A.BinOp):
        return apply(e, [eval_expr(e.left, env), eval_expr(e.right, env)])
    if isinstance(e, A.Call):
        return apply(e, [eval_expr(a, env) for a in e.args])
    raise ScheduleError(f"unsupported expression in a param value: {type(e).__name__}", e)


def apply(e: A.Expr, args: list):
    """The value of the operator node ``e`` (Unary, BinOp or Call) given its operands' values:
    one step of :func:`eval_expr` (the prover evaluates bottom-up with it)."""
    if isinstance(e, A.Unary):
        v = args[0]
        return -v if e.op == "-" else v
    if isinstance(e, A.BinOp):
        a, b = args
        try:
            if e.op == "+":
                r = a + b
            elif e.op == "-":
                r = a - b
            elif e.op == "*":
                r = a * b
            elif e.op == "/":
                r = a / b
            elif e.op == "//":
                r = a // b
            else:
                r = a % b
            if isinstance(r, int):
                int_bounded(r, e.op)
        except ZeroDivisionError:
            raise ScheduleError("division by zero", e) from None
        except OverflowError:
            raise ScheduleError("overflow", e) from None
        except RuntimeProblem as ex:
            raise ScheduleError(str(ex), e) from None
        if isinstance(r, float) and not math.isfinite(r):
            raise ScheduleError(f"the value is {r}", e)
        return r
    if isinstance(e, A.Call):
        b = FUNCTIONS.get(e.func)
        if b is None or not b.schedule_ok:
            raise ScheduleError(f"'{e.func}' cannot appear in a param value", e)
        try:
            r = b.impl(*args)
        except (RuntimeProblem, ValueError, OverflowError, ZeroDivisionError) as ex:
            raise ScheduleError(f"{e.func}: {ex}", e) from None
        if isinstance(r, float) and not math.isfinite(r):
            raise ScheduleError(f"{e.func} gives {r}", e)
        return r
    raise ScheduleError(f"unsupported expression in a param value: {type(e).__name__}", e)


@dataclass(frozen=True)
class Binding:
    """Concrete param values for one beta (and overrides)."""

    beta: float | None
    values: dict
    overridden: tuple = ()

    def key(self) -> tuple:
        return tuple(sorted(self.values.items()))


def parse_override(text: str) -> tuple[str, object]:
    """``name=value`` from the command line."""
    if "=" not in text:
        raise ValueError(f"--set expects NAME=VALUE, got {text!r}")
    name, raw = text.split("=", 1)
    name, raw = name.strip(), raw.strip()
    low = raw.lower()
    if low in ("true", "false"):
        return name, low == "true"
    try:
        return name, int(raw)
    except ValueError:
        pass
    try:
        v = float(raw)
    except ValueError:
        raise ValueError(f"--set {name}: {raw!r} is not a number or true/false") from None
    if not math.isfinite(v):
        raise ValueError(f"--set {name}: {raw!r} is not finite")
    return name, v


def _coerce(p: ParamInfo, v):
    if p.ty == BOOL:
        if not isinstance(v, bool):
            raise TypeError(f"param '{p.name}' is a bool, got {v!r}")
        return v
    if isinstance(v, bool):
        raise TypeError(f"param '{p.name}' is {p.ty}, got {v!r}")
    if isinstance(v, float) and not math.isfinite(v):
        raise TypeError(f"param '{p.name}' must be a finite number, got {v!r}")
    if isinstance(v, int) and abs(v) > 2 ** 62:
        raise TypeError(f"param '{p.name}' is beyond 2**62, got {str(v)[:30]}")
    if p.ty == INT:
        if isinstance(v, float):
            if v != int(v):
                raise TypeError(f"param '{p.name}' is an int, got {v!r}")
            v = int(v)
        if not isinstance(v, int):
            raise TypeError(f"param '{p.name}' is an int, got {v!r}")
        return v
    if p.ty == FLOAT:
        if not isinstance(v, (int, float)):
            raise TypeError(f"param '{p.name}' is a float, got {v!r}")
        return float(v)
    return v


def range_problem(p: ParamInfo, v) -> str | None:
    """Why ``v`` is outside the param's declared or natural range, or None."""
    if p.ty == BOOL:
        return None
    if p.lo is not None and not (p.lo <= v <= p.hi):
        return f"outside its declared range [{p.lo}, {p.hi}]"
    if p.lo is None and p.ty == INT and v < 0:
        return "negative, but an int param is a count (declare a range with 'in [lo, hi]' to allow it)"
    return None


def bind(checked: CheckedProgram, beta: float | None = None, overrides: dict | None = None) -> Binding:
    """Evaluate every param at ``beta`` (clipped to [0, 1]) with ``overrides`` applied.

    Raises :class:`DiagnosticsError` (stage ``params``) for unknown names, wrong types,
    values out of range or expressions that fail at this beta.
    """
    overrides = dict(overrides or {})
    report = Reporter(checked.file, "params")
    diags = report.diagnostics
    names = {p.name for p in checked.params}
    for k in overrides:
        if k not in names:
            report.unknown_param(checked.program.name_span, k, names)
    b = None if beta is None else min(1.0, max(0.0, float(beta)))
    if beta is not None and (beta != beta):
        report.beta_not_a_number(NOWHERE)
    env: dict = {"beta": b if b is not None else 0.5}
    values = {}
    for p in checked.params:
        if p.name in overrides:
            try:
                v = _coerce(p, overrides[p.name])
            except TypeError as ex:
                report.bad_param_value(p.decl.name_span, str(ex), str(p.ty), repr(overrides[p.name]))
                continue
        else:
            try:
                v = eval_expr(p.expr, env)
            except ScheduleError as ex:
                report.param_failed(ex.node.span, p.name, ex, env["beta"] if p.uses_beta else None)
                continue
            except KeyError:
                continue
            if p.ty == FLOAT:
                v = float(v)
        prob = range_problem(p, v)
        if prob:
            report.param_out_of_range(p.decl.name_span, p.name, v, prob,
                                      env["beta"] if p.uses_beta and p.name not in overrides else None)
        env[p.name] = v
        values[p.name] = v
    if diags:
        raise DiagnosticsError(diags, checked.source)
    depends = any(p.uses_beta and p.name not in overrides for p in checked.params)
    return Binding(b if depends else None, values, tuple(sorted(overrides)))
