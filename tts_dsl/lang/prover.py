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
* each sub-expression also gets an *interval* with exact (rational) bounds that contain
  every value the program computes: the computed values at beta = 0 and 1 for monotone
  sub-expressions (compared exactly, ints as ints), interval arithmetic otherwise, widened
  to the next float outward wherever a float operation may round;
* a monotone expression whose two computed endpoint values are equal is constant.

A proof is about the computed (floating-point) values, not the real formula. It rests on
each operation it trusts being monotone *as implemented*: correctly rounded +, -, *, /,
exact ``round``/``floor``/``ceil``/``int``, nearest ``float``, ``sqrt``, ``//`` by an
integral constant within 2**53, ``sigmoid`` of a non-negative argument; ``exp`` and
``log`` (platform libm) are assumed monotone and checked on dense grids by
``tools/fuzz.py --schedules``. ``sigmoid`` below 0 is not monotone in floats and is never
trusted. Work is bounded per knob and per program (:class:`Budget`): out of budget, the
knob is ``unknown``. :func:`schedule_gate` is the policy for automatic gates: ``unknown``
fails unless allowed.

When the proof fails, a counterexample is searched on a dense grid (4,001 points), then
with hypothesis if it is installed, then by bisection near grid steps. A refutation always
comes with b1 < b2 and the two values that break the declaration; otherwise the result is
``unknown`` (a warning, an error under ``--strict``).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from dataclasses import dataclass, field

from . import ast as A
from . import builtins as B
from .builtins import FUNCTIONS
from .checker import CheckedProgram, ParamInfo
from .diagnostics import Diagnostic, Reporter
from .schedule import ScheduleError, apply, eval_expr, range_problem

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
    """What the prover knows of an expression over beta in [0, 1]: its direction, exact
    bounds (``Fraction`` or +-inf) that contain every value the program computes, and the
    computed values at beta = 0 and 1 (None if the evaluation fails there)."""

    direction: str
    lo: object
    hi: object
    v0: object = None
    v1: object = None


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


# ------------------------------------------------------------------ exact bounds
INF = math.inf
MAX_BITS = 4096  # a bound bigger than this is rounded outward to a float (chained products)
EXACT_FLOOR = 2 ** 53  # below this, float // by an integral constant is the exact floor


def _q(x):
    """An exact bound from a computed value (int, float or bool); +-inf stays a float."""
    if isinstance(x, float):
        if math.isnan(x):
            raise ValueError("nan")
        if math.isinf(x):
            return x
    return Fraction(x)


def _fl(x, up: bool):
    """The float nearest ``x`` (an exact bound), moved one step outward if it is not outward."""
    if isinstance(x, float):
        return x
    try:
        f = float(x)
    except OverflowError:
        return INF if x > 0 else -INF
    if up and Fraction(f) < x:
        f = math.nextafter(f, INF)
    elif not up and Fraction(f) > x:
        f = math.nextafter(f, -INF)
    return f


def _outward(lo, hi):
    """Bounds that also hold if the operation was computed in floating point (rounded to
    nearest: monotone, so the rounded value lies between the rounded bounds), and stay small."""
    if isinstance(lo, Fraction):
        lo = min(lo, _q(_fl(lo, False)) if math.isfinite(_fl(lo, False)) else lo)
        if lo.numerator.bit_length() + lo.denominator.bit_length() > MAX_BITS:
            lo = _q(_fl(lo, False))
    if isinstance(hi, Fraction):
        hi = max(hi, _q(_fl(hi, True)) if math.isfinite(_fl(hi, True)) else hi)
        if hi.numerator.bit_length() + hi.denominator.bit_length() > MAX_BITS:
            hi = _q(_fl(hi, True))
    return lo, hi


def _down(x):
    return math.nextafter(x, -INF) if math.isfinite(x) else x


def _up(x):
    return math.nextafter(x, INF) if math.isfinite(x) else x


def _mul(x, y):
    if x == 0 or y == 0:
        return Fraction(0)
    if isinstance(x, float) or isinstance(y, float):  # an infinity
        return INF if (x > 0) == (y > 0) else -INF
    return x * y


def _add(x, y):
    if isinstance(x, float) and isinstance(y, float) and x != y:
        return None  # inf - inf: no bound
    if isinstance(x, float):
        return x
    if isinstance(y, float):
        return y
    return x + y


def _inv(x):
    return Fraction(0) if isinstance(x, float) else 1 / x


class BudgetExhausted(Exception):
    pass


class Budget:
    """Work the prover may spend, counted in expression nodes evaluated (deterministic, unlike
    time): per knob and per program. Out of budget, a knob is ``unknown``."""

    def __init__(self, per_knob: int, per_program: int):
        self.per_knob, self.left_program = per_knob, per_program
        self.left_knob = per_knob

    def start_knob(self):
        self.left_knob = self.per_knob

    def spend(self, n: int):
        self.left_knob -= n
        self.left_program -= n
        if self.left_knob < 0 or self.left_program < 0:
            raise BudgetExhausted


KNOB_BUDGET = 2_000_000     # nodes evaluated for one knob
PROGRAM_BUDGET = 5_000_000  # nodes evaluated for the whole params block
HYPOTHESIS_COST = 2_500     # what one hypothesis example costs (its engine's overhead, in nodes)


def _size(e) -> int:
    n, stack = 0, [e]
    while stack:
        x = stack.pop()
        n += 1
        if isinstance(x, A.Unary):
            stack.append(x.operand)
        elif isinstance(x, A.BinOp):
            stack += [x.left, x.right]
        elif isinstance(x, A.Call):
            stack += list(x.args)
    return n


class _Schedule:
    """Knob values at a beta, memoised per knob (chained knobs cost linear, not quadratic),
    every evaluation charged to the budget."""

    MEMO = 20_000

    def __init__(self, checked: CheckedProgram, budget: Budget):
        self.params = checked.params
        self.sizes = [_size(p.expr) for p in self.params]
        self.memo: list[dict] = [{} for _ in self.params]
        self.budget = budget

    def env(self, i: int, beta: float) -> dict:
        env = {"beta": beta}
        for j in range(i):
            env[self.params[j].name] = self.value(j, beta)
        return env

    def value(self, i: int, beta: float):
        memo = self.memo[i]
        if beta in memo:
            r = memo[beta]
        else:
            self.budget.spend(self.sizes[i])
            try:
                p = self.params[i]
                v = eval_expr(p.expr, self.env(i, beta))
                r = float(v) if str(p.ty) == "float" else v
            except ScheduleError as ex:
                r = ex
            if len(memo) < self.MEMO:
                memo[beta] = r
        if isinstance(r, ScheduleError):
            raise r
        return r


def _safe(f, *a):
    try:
        r = f(*a)
    except (OverflowError, ValueError, ZeroDivisionError, TypeError, B.RuntimeProblem):
        return math.nan
    return r


def _rounded_bound(name: str, x, nd, up: bool):
    """round/floor/ceil/int/float of an exact bound: these are non-decreasing functions of the
    exact value, so their value at a bound bounds their value at the computed argument."""
    if isinstance(x, float):  # an infinity
        return x
    if name == "floor":
        return Fraction(math.floor(x))
    if name == "ceil":
        return Fraction(math.ceil(x))
    if name == "int":
        return Fraction(int(x))
    if name == "float":
        return _q(_fl(x, up))
    if nd is None:
        return Fraction(round(x))
    if nd > 400:  # no rounding at all: the float nearest x
        return _q(_fl(x, up))
    if nd < -400:
        return Fraction(0)
    return _q(_fl(round(x, nd), up))


class _Analyzer:
    """Direction and interval of schedule expressions, over beta in [0, 1]. Computed values at
    beta = 0 and 1 are evaluated bottom-up (once per node) with :func:`schedule.apply`."""

    def __init__(self, env0: dict, env1: dict, budget: Budget):
        self.env0, self.env1 = env0, env1
        self.known: dict[str, Info] = {}
        self.budget = budget

    def info(self, e) -> Info:
        self.budget.spend(1)
        kids = self._children(e)
        infos = [self.info(k) for k in kids]
        d, lo, hi = self._dir(e, infos)
        v0, v1 = self._ends(e, infos)
        if d in (INC, DEC, CONST) and v0 is not None and v1 is not None:
            # a monotone expression takes its extremes at the ends: exact bounds
            a, b = v0, v1
            if a == b:
                d = CONST
            if d == INC and a > b or d == DEC and a < b or d == CONST and a != b:  # pragma: no cover
                d = UNKNOWN  # defensive: the rules contradict the computed values
            else:
                return Info(d, min(_q(a), _q(b)), max(_q(a), _q(b)), v0, v1)
        return Info(d, lo, hi, v0, v1)

    @staticmethod
    def _children(e):
        if isinstance(e, A.Unary):
            return [e.operand]
        if isinstance(e, A.BinOp):
            return [e.left, e.right]
        if isinstance(e, A.Call):
            return list(e.args)
        return []

    def _ends(self, e, infos):
        if isinstance(e, (A.Num, A.Bool)):
            return e.value, e.value
        if isinstance(e, A.Name):
            return self.env0.get(e.id), self.env1.get(e.id)
        out = []
        for k, env in ((0, "v0"), (1, "v1")):
            args = [getattr(x, env) for x in infos]
            if any(a is None for a in args) or not isinstance(e, (A.Unary, A.BinOp, A.Call)):
                out.append(None)
                continue
            try:
                out.append(apply(e, args))
            except (ScheduleError, TypeError):
                out.append(None)
        return tuple(out)

    def _dir(self, e, infos):
        if isinstance(e, (A.Num, A.Bool)):
            v = _q(e.value)
            return CONST, v, v
        if isinstance(e, A.Name):
            if e.id == "beta":
                return INC, Fraction(0), Fraction(1)
            k = self.known.get(e.id)
            if k is None:
                return UNKNOWN, -INF, INF
            return k.direction, k.lo, k.hi
        if isinstance(e, A.Unary):
            x = infos[0]
            if e.op == "-":
                return flip(x.direction), -x.hi, -x.lo
            return x.direction, x.lo, x.hi
        if isinstance(e, A.BinOp):
            return self._binop(e, *infos)
        if isinstance(e, A.Call):
            return self._call(e, infos)
        return UNKNOWN, -INF, INF

    def _binop(self, e, a: Info, b: Info):
        op = e.op
        if op in ("+", "-"):
            if op == "-":
                b = Info(flip(b.direction), -b.hi, -b.lo)
            lo, hi = _add(a.lo, b.lo), _add(a.hi, b.hi)
            lo, hi = _outward(-INF if lo is None else lo, INF if hi is None else hi)
            return combine(a.direction, b.direction), lo, hi
        if op == "*":
            return self._product(a, b)
        if op == "/":
            if b.lo > 0 or b.hi < 0:
                if b.direction == CONST:
                    # division by a constant: scaling by its sign (correctly rounded: monotone)
                    d = a.direction if b.lo > 0 else flip(a.direction)
                    c = _inv(b.lo)
                    cands = [_mul(x, c) for x in (a.lo, a.hi)]
                    return (d, *_outward(min(cands), max(cands)))
                inv = Info(flip(b.direction) if b.direction != UNKNOWN else UNKNOWN, _inv(b.hi), _inv(b.lo))
                return self._product(a, inv)
            return UNKNOWN, -INF, INF
        if op == "//":
            if b.direction == CONST and isinstance(b.lo, Fraction) and b.lo > 0 and b.lo == b.hi:
                c = b.lo
                lo = -INF if isinstance(a.lo, float) else Fraction(math.floor(a.lo / c))
                hi = INF if isinstance(a.hi, float) else Fraction(math.floor(a.hi / c))
                # ints: exact floor. floats: CPython's floor division is the exact floor when
                # the divisor is integral and |x| <= 2**53 (x - fmod(x, c) is then exact)
                small = c.denominator == 1 and c <= EXACT_FLOOR and -EXACT_FLOOR <= a.lo and a.hi <= EXACT_FLOOR
                if small:
                    return a.direction, lo, hi
                return UNKNOWN, (lo - 1 - abs(lo) / 2 ** 40 if not isinstance(lo, float) else lo), \
                    (hi + 1 + abs(hi) / 2 ** 40 if not isinstance(hi, float) else hi)
            return UNKNOWN, -INF, INF
        if op == "%":
            if a.direction == CONST and b.direction == CONST:
                return CONST, -INF, INF
            if b.direction == CONST and b.lo > 0:
                return UNKNOWN, Fraction(0), b.hi
            return UNKNOWN, -INF, INF
        return UNKNOWN, -INF, INF

    def _product(self, a: Info, b: Info):
        cands = [_mul(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
        lo, hi = _outward(min(cands), max(cands))
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

    def _call(self, e, args: list[Info]):
        """What the registry declares about the function (``Builtin.prover``)."""
        b = FUNCTIONS.get(e.func)
        shape = b.prover if b is not None else None
        if shape == B.MONOTONE:  # non-decreasing in every argument: its values at the ends bound it
            d = CONST
            for x in args:
                d = combine(d, x.direction)
            lo, hi = _safe(b.impl, *[x.lo for x in args]), _safe(b.impl, *[x.hi for x in args])
            if isinstance(lo, float) and math.isnan(lo) or isinstance(hi, float) and math.isnan(hi):
                return UNKNOWN, -INF, INF
            return d, lo, hi
        if shape == B.MONOTONE_ROUNDING:
            x = args[0]
            nd = None
            if len(args) > 1:
                c = args[1]
                if c.direction != CONST or c.lo != c.hi or isinstance(c.lo, float) or c.lo.denominator != 1:
                    return UNKNOWN, -INF, INF
                nd = int(c.lo)
            return x.direction, _rounded_bound(e.func, x.lo, nd, False), _rounded_bound(e.func, x.hi, nd, True)
        if shape == B.MONOTONE_LIBM:
            x = args[0]
            lo = _safe(b.impl, _fl(x.lo, False))
            hi = _safe(b.impl, _fl(x.hi, True))
            lo = -INF if math.isnan(lo) else _q(_down(lo))
            hi = INF if math.isnan(hi) else _q(_up(hi))
            d = x.direction
            if e.func == "sigmoid":
                lo, hi = max(lo, Fraction(0)), min(hi, Fraction(1))
                # below 0 sigmoid is z / (1 + z) with z = exp(x): two roundings that are not
                # monotone together (it steps down at 78 of 10,001 points near -1)
                if x.lo < 0 and d != CONST:
                    d = UNKNOWN
            return d, lo, hi
        if shape == B.V_SHAPED:
            x = args[0]
            if x.lo >= 0:
                return x.direction, abs(x.lo), abs(x.hi)
            if x.hi <= 0:
                return flip(x.direction), abs(x.hi), abs(x.lo)
            return UNKNOWN, Fraction(0), max(abs(x.lo), abs(x.hi))
        return UNKNOWN, -INF, INF


def _search(sched: _Schedule, i: int, want: str, seed: int = 0):
    """Look for b1 < b2 violating ``want`` (inc|dec|const). Returns a counterexample or None."""

    def bad(v1, v2):
        if want == INC:
            return v2 < v1
        if want == DEC:
            return v2 > v1
        return v1 != v2

    def val(b):
        try:
            return sched.value(i, b)
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
        sched.budget.spend(HYPOTHESIS_COST)
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
    except BudgetExhausted:
        raise
    except Exception:  # pragma: no cover - a search failure is "unknown", never a crash
        return None
    b1, b2 = sorted(pair)
    return {"b1": b1, "v1": val(b1), "b2": b2, "v2": val(b2)}


def _range_check(sched: _Schedule, i: int, info: Info, r: KnobResult):
    """Declared or natural range for every beta in [0, 1].

    A knob with a derived direction takes its extremes at beta = 0 and 1 (and, all its
    sub-expressions being monotone too, evaluates everywhere in between if it evaluates
    at both ends), so two evaluations prove or refute the range. Otherwise the interval
    bound can prove it, and a grid search looks for a breaking beta."""
    p = sched.params[i]
    if p.ty.name == "bool":
        return

    def violation(b):
        try:
            v = sched.value(i, b)
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
    lo = p.lo if p.lo is not None else (0 if p.ty.name == "int" else -INF)
    hi = p.hi if p.hi is not None else INF
    proved = lo <= info.lo and info.hi <= hi
    try:
        for k in range(GRID + 1):
            e = violation(k / GRID)
            if e:
                r.range_status, r.range_error = "refuted", e
                return
    except BudgetExhausted:
        pass
    r.range_status = "proved" if proved else "unknown"


def _float_param(p, info: Info) -> Info:
    """A float param holds float(value): rounding widens its bounds."""
    if str(p.ty) != "float":
        return info
    lo, hi = _outward(info.lo, info.hi)
    return Info(info.direction, lo, hi, info.v0, info.v1)


def prove(checked: CheckedProgram, knob_budget: int | None = None,
          program_budget: int | None = None, search: bool = True) -> list[KnobResult]:
    """Prove, refute or give up on every knob's declared direction and range.

    A proof holds for the values the program computes (exact bounds, float rounding taken
    into account). The work is bounded per knob and per program (nodes evaluated); a knob
    whose budget runs out is ``unknown``. ``search=False`` skips the counterexample search and
    the range check (what is not proved is ``unknown``): the prover fuzz uses it."""
    budget = Budget(KNOB_BUDGET if knob_budget is None else knob_budget,
                    PROGRAM_BUDGET if program_budget is None else program_budget)
    sched = _Schedule(checked, budget)
    out: list[KnobResult] = []
    an = _Analyzer({}, {}, budget)
    for i, p in enumerate(checked.params):
        budget.start_knob()
        declared = p.direction or "constant"
        want = DECLARED[declared]
        try:
            try:
                an.env0, an.env1 = sched.env(i, 0.0), sched.env(i, 1.0)
            except ScheduleError:
                an.env0, an.env1 = {}, {}
            info = an.info(p.expr)
        except BudgetExhausted:
            info = Info(UNKNOWN, -INF, INF)
        except (ArithmeticError, ValueError, TypeError):  # pragma: no cover - a rule without a case: unknown
            info = Info(UNKNOWN, -INF, INF)
        d = info.direction
        proved = d == CONST or d == want
        r = KnobResult(p.name, p.direction, "proved" if proved else "unknown", d,
                       _fl(info.lo, False) if not isinstance(info.lo, float) else None,
                       _fl(info.hi, True) if not isinstance(info.hi, float) else None, param=p)
        if not p.uses_beta:
            r.direction = CONST
            r.status = "proved"
        try:
            if not search:
                pass
            elif r.status != "proved":
                ce = _search(sched, i, want)
                if ce is not None:
                    r.status = "refuted"
                    r.counterexample = ce
                else:
                    r.note = "no counterexample found (grid of 4,001 points, 2,000 random pairs, hypothesis)"
            if search:
                _range_check(sched, i, info, r)
        except BudgetExhausted:
            if r.status != "proved":
                r.status, r.note = "unknown", "the prover's budget ran out before a proof or a counterexample"
            if r.range_status == "proved" and info.direction not in (INC, DEC, CONST):
                r.range_status = "unknown"
        an.known[p.name] = _float_param(p, info)
        out.append(r)
    return out


# The policy for knobs the prover could not decide: ``check`` reports them as warnings
# (errors with --strict); a gate that admits programs without a human (discovery's schedule
# stage) must reject them unless configured otherwise.
UNKNOWN_FAILS_GATE = True


def schedule_gate(checked: CheckedProgram, allow_unknown: bool = not UNKNOWN_FAILS_GATE,
                  results: list[KnobResult] | None = None) -> list[Diagnostic]:
    """The schedule diagnostics for an automatic gate: refuted directions and ranges are errors,
    and so is every ``unknown`` unless ``allow_unknown``. A program passes iff no error."""
    return schedule_diagnostics(checked, strict=not allow_unknown, results=results)


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
