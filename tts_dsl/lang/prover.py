"""The schedule prover: each knob of the params block is a function of beta in [0, 1] with
a declared direction. This module proves the declaration, refutes it with a concrete
counterexample, or says it could not decide; and it checks every knob's range for all beta.

Proof is by rules over the expression, never by sampling:

* each sub-expression gets a *direction* over beta in [0, 1] -- ``const``, ``inc``
  (non-decreasing), ``dec`` (non-increasing) or ``unknown`` -- by monotone composition:
  sums, differences, scaling by a constant of known sign, products and quotients with
  interval bounds on the signs, ``min``/``max``/``clip`` of like-directed arguments, and
  monotone functions (``round`` with or without ndigits, ``floor``, ``ceil``, ``int``,
  ``float``, ``sqrt``, ``exp``, ``log``, ``sigmoid``; ``abs`` on a known sign);
* each sub-expression also gets an *interval* that contains all its values: exact
  endpoints for monotone sub-expressions (a monotone function takes its extremes at
  beta = 0 and beta = 1), interval arithmetic otherwise;
* a monotone expression whose two endpoint values are equal is constant.

Soundness rests on IEEE-754 arithmetic being monotone: correctly rounded +, -, *, / by a
positive constant, Python's ``round`` (exact decimal rounding, then nearest float), floor
and ceil all preserve non-strict monotonicity. ``exp``, ``log`` and ``sqrt`` come from the
platform's libm (monotone on every platform we know; ``sqrt`` is correctly rounded).

When the proof fails, a counterexample is searched on a dense grid (4,001 points), then
with hypothesis if it is installed, then by bisection near grid steps. A refutation always
comes with b1 < b2 and the two values that break the declaration; otherwise the result is
``unknown`` (a warning, an error under ``--strict``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from . import ast as A
from . import builtins as B
from .builtins import FUNCTIONS
from .checker import CheckedProgram, ParamInfo
from .diagnostics import Diagnostic, Reporter
from .schedule import ScheduleError, eval_expr, range_problem

CONST, INC, DEC, UNKNOWN = "const", "inc", "dec", "unknown"
DECLARED = {"increasing": INC, "decreasing": DEC, "constant": CONST}
GRID = 4000


def flip(d: str) -> str:
    return {INC: DEC, DEC: INC}.get(d, d)


def combine(a: str, b: str) -> str:
    """Direction of f + g from the directions of f and g."""
    if a == CONST:
        return b
    if b == CONST:
        return a
    if a == b and a in (INC, DEC):
        return a
    return UNKNOWN


@dataclass
class Info:
    direction: str
    lo: float
    hi: float


@dataclass
class KnobResult:
    name: str
    declared: str | None  # increasing | decreasing | constant | None
    status: str  # proved | refuted | unknown
    direction: str  # what the rules derived: const | inc | dec | unknown
    lo: float | None = None  # value range over beta in [0, 1] (bounds)
    hi: float | None = None
    counterexample: dict | None = None  # {b1, v1, b2, v2}
    range_error: dict | None = None  # {beta, value, message}
    range_status: str = "proved"  # proved | refuted | unknown
    note: str = ""
    param: ParamInfo | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {
            "name": self.name, "declared": self.declared or "constant", "status": self.status,
            "derived": self.direction, "min": self.lo, "max": self.hi,
            "counterexample": self.counterexample, "range_status": self.range_status,
            "range_error": self.range_error, "note": self.note or None,
        }


def _down(x):
    return math.nextafter(x, -math.inf) if math.isfinite(x) else x


def _up(x):
    return math.nextafter(x, math.inf) if math.isfinite(x) else x


def _safe(f, *a):
    try:
        r = f(*a)
    except (OverflowError, ValueError, ZeroDivisionError, B.RuntimeProblem):
        return math.nan
    return r


class _Analyzer:
    """Direction and interval of schedule expressions, over beta in [0, 1]."""

    def __init__(self, env_at):
        # env_at(beta) -> env dict with beta and earlier params evaluated at that beta
        self.env_at = env_at
        self.known: dict[str, Info] = {}

    def endpoints(self, e):
        try:
            a = eval_expr(e, self.env_at(0.0))
            b = eval_expr(e, self.env_at(1.0))
        except (ScheduleError, KeyError, TypeError):
            return None
        return float(a), float(b)

    def info(self, e) -> Info:
        d, lo, hi = self._dir(e)
        if d in (INC, DEC, CONST):
            ends = self.endpoints(e)
            if ends is not None and all(math.isfinite(x) for x in ends):
                a, b = ends
                if a == b and d != CONST:
                    d = CONST
                if d == INC and a > b or d == DEC and a < b:  # pragma: no cover - defensive
                    d = UNKNOWN
                else:
                    return Info(d, min(a, b), max(a, b))
        return Info(d, lo, hi)

    def _dir(self, e):
        if isinstance(e, A.Num):
            return CONST, float(e.value), float(e.value)
        if isinstance(e, A.Bool):
            return CONST, float(e.value), float(e.value)
        if isinstance(e, A.Name):
            if e.id == "beta":
                return INC, 0.0, 1.0
            k = self.known.get(e.id)
            if k is None:
                return UNKNOWN, -math.inf, math.inf
            return k.direction, k.lo, k.hi
        if isinstance(e, A.Unary):
            x = self.info(e.operand)
            if e.op == "-":
                return flip(x.direction), -x.hi, -x.lo
            return x.direction, x.lo, x.hi
        if isinstance(e, A.BinOp):
            return self._binop(e)
        if isinstance(e, A.Call):
            return self._call(e)
        return UNKNOWN, -math.inf, math.inf

    def _binop(self, e):
        a = self.info(e.left)
        b = self.info(e.right)
        op = e.op
        if op == "+":
            return combine(a.direction, b.direction), _down(a.lo + b.lo), _up(a.hi + b.hi)
        if op == "-":
            return combine(a.direction, flip(b.direction)), _down(a.lo - b.hi), _up(a.hi - b.lo)
        if op == "*":
            return self._product(a, b)
        if op == "/":
            if b.lo > 0 or b.hi < 0:
                inv = Info(flip(b.direction) if b.direction != UNKNOWN else UNKNOWN,
                           _down(1 / b.hi) if b.hi != 0 else -math.inf,
                           _up(1 / b.lo) if b.lo != 0 else math.inf)
                if b.direction == CONST:
                    # division by a constant: scaling by its sign
                    d = a.direction if b.lo > 0 else flip(a.direction)
                    cands = [_safe(lambda x, y: x / y, x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
                    cands = [c for c in cands if not math.isnan(c)]
                    if cands:
                        return d, _down(min(cands)), _up(max(cands))
                    return d, -math.inf, math.inf
                return self._product(a, inv)
            return UNKNOWN, -math.inf, math.inf
        if op == "//":
            if b.direction == CONST and b.lo > 0:
                d = a.direction
                return d, math.floor(a.lo / b.lo) - 1 if math.isfinite(a.lo) else -math.inf, \
                    math.floor(a.hi / b.lo) + 1 if math.isfinite(a.hi) else math.inf
            return UNKNOWN, -math.inf, math.inf
        if op == "%":
            if a.direction == CONST and b.direction == CONST:
                return CONST, -math.inf, math.inf
            if b.direction == CONST and b.lo > 0:
                return UNKNOWN, 0.0, b.hi
            return UNKNOWN, -math.inf, math.inf
        return UNKNOWN, -math.inf, math.inf

    def _product(self, a: Info, b: Info):
        cands = [_safe(lambda x, y: x * y, x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        cands = [c for c in cands if not math.isnan(c)]
        lo, hi = (_down(min(cands)), _up(max(cands))) if cands else (-math.inf, math.inf)
        da, db = a.direction, b.direction
        if da == CONST and db == CONST:
            return CONST, lo, hi
        if da == CONST or db == CONST:
            c, x = (a, b) if da == CONST else (b, a)
            if c.lo >= 0:
                return x.direction, lo, hi
            if c.hi <= 0:
                return flip(x.direction), lo, hi
            return UNKNOWN, lo, hi
        # both vary: reduce to non-negative factors
        sa = 1 if a.lo >= 0 else (-1 if a.hi <= 0 else 0)
        sb = 1 if b.lo >= 0 else (-1 if b.hi <= 0 else 0)
        if sa == 0 or sb == 0 or UNKNOWN in (da, db):
            return UNKNOWN, lo, hi
        ua = da if sa > 0 else flip(da)  # direction of |a|
        ub = db if sb > 0 else flip(db)
        d = ua if ua == ub else UNKNOWN  # product of non-negative like-directed factors
        if sa * sb < 0:
            d = flip(d)
        return d, lo, hi

    def _call(self, e):
        """What the registry declares about the function (``Builtin.prover``)."""
        b = FUNCTIONS.get(e.func)
        shape = b.prover if b is not None else None
        args = [self.info(x) for x in e.args]
        if shape == B.MONOTONE:  # non-decreasing in every argument: its values at the ends bound it
            d = CONST
            for x in args:
                d = combine(d, x.direction)
            return d, b.impl(*[x.lo for x in args]), b.impl(*[x.hi for x in args])
        if shape == B.MONOTONE_ROUNDING:
            x = args[0]
            if any(a.direction != CONST for a in args[1:]):
                return UNKNOWN, -math.inf, math.inf
            lo = math.floor(x.lo) if math.isfinite(x.lo) else x.lo
            hi = math.ceil(x.hi) if math.isfinite(x.hi) else x.hi
            return x.direction, lo, hi
        if shape == B.MONOTONE_LIBM:
            x = args[0]
            lo = _safe(b.impl, x.lo)
            hi = _safe(b.impl, x.hi)
            lo = -math.inf if math.isnan(lo) else _down(lo)
            hi = math.inf if math.isnan(hi) else _up(hi)
            return x.direction, lo, hi
        if shape == B.V_SHAPED:
            x = args[0]
            if x.lo >= 0:
                return x.direction, b.impl(x.lo), b.impl(x.hi)
            if x.hi <= 0:
                return flip(x.direction), b.impl(x.hi), b.impl(x.lo)
            return UNKNOWN, b.impl(0.0), max(b.impl(x.lo), b.impl(x.hi))
        return UNKNOWN, -math.inf, math.inf


def _evaluator(checked: CheckedProgram, upto: int):
    """env_at(beta): beta plus the params before index ``upto`` evaluated at beta."""
    params = checked.params[:upto]

    def env_at(beta):
        env = {"beta": beta}
        for p in params:
            v = eval_expr(p.expr, env)
            env[p.name] = float(v) if str(p.ty) == "float" else v
        return env

    return env_at


def _value(checked, i, beta):
    p = checked.params[i]
    env = _evaluator(checked, i)(beta)
    v = eval_expr(p.expr, env)
    return float(v) if str(p.ty) == "float" else v


def _search(checked, i, want: str, seed: int = 0):
    """Look for b1 < b2 violating ``want`` (inc|dec|const). Returns a counterexample or None."""

    def bad(v1, v2):
        if want == INC:
            return v2 < v1
        if want == DEC:
            return v2 > v1
        return v1 != v2

    def val(b):
        try:
            return _value(checked, i, b)
        except (ScheduleError, KeyError, TypeError):
            return None

    grid = [k / GRID for k in range(GRID + 1)]
    vals = [val(b) for b in grid]
    prev_b, prev_v = None, None
    for b, v in zip(grid, vals):
        if v is None:
            continue
        if prev_v is not None and bad(prev_v, v):
            return {"b1": prev_b, "v1": prev_v, "b2": b, "v2": v}
        prev_b, prev_v = b, v
    # non-adjacent violations (e.g. dips between grid points): random pairs, then hypothesis
    rng = random.Random(seed)
    for _ in range(2000):
        b1, b2 = sorted((rng.random(), rng.random()))
        if b1 == b2:
            continue
        v1, v2 = val(b1), val(b2)
        if v1 is not None and v2 is not None and bad(v1, v2):
            return {"b1": b1, "v1": v1, "b2": b2, "v2": v2}
    try:
        from hypothesis import HealthCheck, Verbosity, find, settings
        from hypothesis import strategies as st
        from hypothesis.errors import NoSuchExample
    except ImportError:  # pragma: no cover - hypothesis is a test dependency
        return None

    def violates(pair):
        b1, b2 = sorted(pair)
        if b1 == b2:
            return False
        v1, v2 = val(b1), val(b2)
        return v1 is not None and v2 is not None and bad(v1, v2)

    unit = st.floats(0.0, 1.0, allow_nan=False)
    try:
        pair = find(st.tuples(unit, unit), violates,
                    settings=settings(max_examples=600, database=None, deadline=None, verbosity=Verbosity.quiet,
                                      suppress_health_check=list(HealthCheck), derandomize=True))
    except NoSuchExample:
        return None
    except Exception:  # pragma: no cover - a search failure is "unknown", never a crash
        return None
    b1, b2 = sorted(pair)
    return {"b1": b1, "v1": val(b1), "b2": b2, "v2": val(b2)}


def _range_check(checked, i, info: Info, r: KnobResult):
    """Declared or natural range for every beta in [0, 1].

    A knob with a derived direction takes its extremes at beta = 0 and 1 (and, all its
    sub-expressions being monotone too, evaluates everywhere in between if it evaluates
    at both ends), so two evaluations prove or refute the range. Otherwise the interval
    bound can prove it, and a grid search looks for a breaking beta."""
    p = checked.params[i]
    if p.ty.name == "bool":
        return

    def violation(b):
        try:
            v = _value(checked, i, b)
        except ScheduleError as ex:
            return {"beta": b, "value": None, "message": str(ex)}
        prob = range_problem(p, v)
        return {"beta": b, "value": v, "message": prob} if prob else None

    if info.direction in (INC, DEC, CONST):
        for b in (0.0, 1.0):
            e = violation(b)
            if e:
                r.range_status, r.range_error = "refuted", e
                return
        r.range_status = "proved"
        return
    for k in range(GRID + 1):
        e = violation(k / GRID)
        if e:
            r.range_status, r.range_error = "refuted", e
            return
    lo = p.lo if p.lo is not None else (0 if p.ty.name == "int" else -math.inf)
    hi = p.hi if p.hi is not None else math.inf
    bounded = math.isfinite(info.lo) and math.isfinite(info.hi)
    r.range_status = "proved" if bounded and lo <= info.lo and info.hi <= hi else "unknown"


def prove(checked: CheckedProgram) -> list[KnobResult]:
    """Prove, refute or give up on every knob's declared direction and range."""
    out: list[KnobResult] = []
    an = None
    for i, p in enumerate(checked.params):
        an = _Analyzer(_evaluator(checked, i)) if an is None else an
        an.env_at = _evaluator(checked, i)
        info = an.info(p.expr)
        declared = p.direction or "constant"
        want = DECLARED[declared]
        d = info.direction
        proved = d == CONST or d == want
        r = KnobResult(p.name, p.direction, "proved" if proved else "unknown", d,
                       info.lo if math.isfinite(info.lo) else None,
                       info.hi if math.isfinite(info.hi) else None, param=p)
        if not p.uses_beta:
            r.direction = CONST
            r.status = "proved"
        if r.status != "proved":
            ce = _search(checked, i, want)
            if ce is not None:
                r.status = "refuted"
                r.counterexample = ce
            else:
                r.note = "no counterexample found (grid of 4,001 points, 2,000 random pairs, hypothesis)"
        _range_check(checked, i, info, r)
        an.known[p.name] = info
        out.append(r)
    return out


def schedule_diagnostics(checked: CheckedProgram, strict: bool = False,
                         results: list[KnobResult] | None = None) -> list[Diagnostic]:
    """Errors for refuted directions and ranges; warnings (errors if strict) for unknowns."""
    results = prove(checked) if results is None else results
    report = Reporter(checked.file, "schedule")
    for r in results:
        p = r.param
        span = p.decl.name_span
        if r.status == "refuted":
            ce = r.counterexample
            report.direction_refuted(span, r.name, r.declared or "constant", ce["b1"], ce["v1"], ce["b2"], ce["v2"],
                                     derived=r.direction)
        elif r.status == "unknown":
            report.direction_unknown(span, r.name, r.declared, r.note, strict)
        if r.range_status == "refuted":
            e = r.range_error
            report.range_refuted(span, r.name, e["value"], e["beta"], e["message"])
        elif r.range_status == "unknown":
            report.range_unknown(span, r.name, strict)
    return report.diagnostics
