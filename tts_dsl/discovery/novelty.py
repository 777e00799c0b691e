"""The behavioural novelty check: is a candidate a *schedule variant* of a seed program?

A candidate is a schedule variant of a seed program when, on a screening subset of
episodes, the seed program run with some other knob values reproduces the candidate's
per-episode (answer, cost) -- i.e. the candidate is the seed under another schedule, not a
new mechanism. Definitions (``docs/discovery.md``, "Novelty"):

* **episodes**: every (store, question, ordering seed) of the screening subset: the search
  part's questions of every search store x the first ``novelty_seeds`` search seeds;
* a **point** is one beta of the run's grid (one point for a program that does not use beta);
* a point **matches** a seed program when some knob values of that seed program (every param
  overridden; values inside its declared ranges) give the same answer and the same cost as
  the candidate on all but at most ``POINT_TOLERANCE`` (1%) of the episodes;
* a candidate is a **variant** of a seed program when at least ``VARIANT_SHARE`` (80%) of
  its points match that one seed program (the knob values may differ from point to point:
  that is what a schedule is).

The knob search is cheap and bounded: it starts from the seed program's own values at the
point's beta and does coordinate descent over its params (every int of a range of at most
33 values, else the current value +-6 and a geometric grid of 16 values; floats: an 11-point
grid plus +-1/20, 1/40, 1/80 of the range around the current value), ranking knob values on
a prefix of the episodes (one block of questions per store, first seed) by (mismatched episodes, mean
|log cost ratio|); a knob setting within the tolerance on the prefix is run on every episode
(stopping at the first block past the tolerance). At most ``max_evals`` prefix evaluations
and 2 passes per (seed program, point); a seed program that has already failed more than
20% of the points is dropped. Evaluations are memoised per (seed program, knob values), so
the checks of many candidates share their work.

Episodes run on the Python engine through :func:`tts_dsl.evaluation.runner.run` (its tracer
gives each episode's answer)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

POINT_TOLERANCE = 0.01  # a point matches when at most this share of episodes differ
VARIANT_SHARE = 0.8  # a variant: at least this share of the points match one seed program
SCORE_SHARE = 0.5  # ... or the points one seed program reproduces carry at least this share of its score
BLOCK = 5  # questions per block (the prefix is block 0 of every store)
MAX_EVALS = 48  # prefix evaluations per (seed program, point)
PASSES = 2


class _Abort(Exception):
    pass


@dataclass
class ScreenSet:
    """The screening subset: ``stores`` as (label, Store, question indices or None), ``seeds``."""

    stores: list
    seeds: tuple
    chunks: list = field(default_factory=list)  # (store index, question indices, seed)

    def __post_init__(self):
        blocks = []
        for i, (_lb, st, qs) in enumerate(self.stores):
            q = list(range(len(st.questions))) if qs is None else [int(x) for x in qs]
            blocks.append([q[j:j + BLOCK] for j in range(0, len(q), BLOCK)])
        depth = max((len(b) for b in blocks), default=0)
        # the first seed on every block of every store first (block-major), then the other seeds
        first = [(i, blocks[i][j]) for j in range(depth) for i in range(len(blocks)) if j < len(blocks[i])]
        self.chunks = [(i, q, s) for s in self.seeds for i, q in first]

    @property
    def prefix_chunks(self) -> int:
        """The prefix knob values are ranked on: the first block of every store, first seed."""
        return min(len(self.stores), len(self.chunks))

    @property
    def prefix_episodes(self) -> int:
        return sum(len(q) for _, q, _s in self.chunks[:self.prefix_chunks])

    @property
    def episodes(self) -> int:
        return sum(len(q) for _, q, _s in self.chunks)


def _same(a, b) -> bool:
    if a[0] != b[0]:
        return False
    x, y = a[1], b[1]
    if x is None or y is None:
        return x is y
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def _logc(c) -> float:
    return math.log1p(max(0.0, float(c))) if c is not None else 0.0


def distance(a: list, b: list) -> tuple:
    """(mismatched episodes, mean |log cost ratio|) over the common length."""
    n = min(len(a), len(b))
    mis = sum(1 for i in range(n) if not _same(a[i], b[i]))
    cd = sum(abs(_logc(a[i][1]) - _logc(b[i][1])) for i in range(n)) / n if n else 0.0
    return mis, cd


class _Runs:
    """One program binding's outcomes, computed chunk by chunk on demand."""

    def __init__(self, make_exe):
        self.make_exe = make_exe
        self.exe = None
        self.chunks: list = []  # per chunk: [(answer, cost)]
        self.error = False

    def upto(self, screen: ScreenSet, n: int, limits, stop=None) -> list:
        """Outcomes of the first ``n`` chunks (fewer when ``stop(outcomes)`` says so after a chunk)."""
        from ..evaluation.runner import run

        while len(self.chunks) < n and not self.error:
            if self.exe is None:
                self.exe = self.make_exe()
            si, qs, seed = screen.chunks[len(self.chunks)]
            out: list = []

            def tracer(q, s, ev, ans, cost, why, out=out):
                out.append((ans if why != "error" else ("<error>",), cost))

            res = run(self.exe, screen.stores[si][1], (seed,), limits, questions=qs, keep_episodes=False,
                      tracer=tracer)
            if res.error is not None:
                self.error = True
                out += [(("<error>",), None)] * (len(qs) - len(out))
            self.chunks.append(out)
            if stop is not None and stop(self.flat(len(self.chunks))):
                break
        return self.flat(min(n, len(self.chunks)))

    def flat(self, n: int) -> list:
        return [x for c in self.chunks[:n] for x in c]


def _knob_values(p, cur):
    """Values tried for one param around the current value ``cur``."""
    lo, hi = p.lo, p.hi
    is_int = str(p.ty) == "int"
    if is_int:
        if lo is not None and hi is not None and hi - lo <= 32:
            return [int(v) for v in range(int(lo), int(hi) + 1)]
        c = int(cur)
        vals = {c + d for d in range(-6, 7)}
        if lo is not None and hi is not None:
            a, b = max(1.0, float(lo)), float(hi)
            vals |= {int(round(a * (b / a) ** (i / 15))) for i in range(16)} | {int(lo)}
        else:
            vals |= {int(round(c * f)) for f in (0.25, 0.5, 0.75, 1.5, 2, 4)}
        return sorted(v for v in vals if (lo is None or v >= lo) and (hi is None or v <= hi))
    c = float(cur)
    if lo is not None and hi is not None:
        w = float(hi) - float(lo)
        vals = {float(lo) + w * i / 10 for i in range(11)}
        vals |= {c + s * w / d for d in (20, 40, 80) for s in (-1, 1)}
    else:
        vals = {c * f for f in (0.25, 0.5, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 2, 4)}
    return sorted(round(v, 6) for v in vals if (lo is None or v >= lo) and (hi is None or v <= hi))


@dataclass
class _Seed:
    id: str
    checked: object
    uses_beta: bool


class NoveltyChecker:
    """Checks candidates against seed programs on one screening subset (memoised)."""

    def __init__(self, screen: ScreenSet, seeds: list, betas: list, limits=None, *, max_evals: int = MAX_EVALS,
                 tolerance: float = POINT_TOLERANCE, share: float = VARIANT_SHARE):
        from ..api import check
        from ..lang.limits import Limits

        self.screen, self.betas = screen, list(betas)
        self.limits = limits or Limits()
        self.max_evals, self.tolerance, self.share = max_evals, tolerance, share
        self.seeds = []
        for sid, source in seeds:
            c = check(source, f"{sid}.tts")
            self.seeds.append(_Seed(sid, c, c.uses_beta))
        self._memo: dict = {}
        self.evaluations = 0

    # ------------------------------------------------------------ runs
    def _runs(self, key, checked, beta, overrides) -> _Runs:
        if key not in self._memo:
            from ..engines.python import compile_program
            from ..lang.schedule import bind

            def make(checked=checked, beta=beta, overrides=overrides):
                return compile_program(checked, bind(checked, beta, overrides), self.limits)

            self._memo[key] = _Runs(make)
        return self._memo[key]

    def candidate_points(self, checked) -> list:
        """The candidate's outcomes per point: [(beta, outcomes on every episode)] (memoised by
        its source text)."""
        betas = self.betas if checked.uses_beta else [None]
        key = checked.source
        n = len(self.screen.chunks)
        return [(b, self._runs(("cand", key, b), checked, b, None).upto(self.screen, n, self.limits)) for b in betas]

    def _seed_runs(self, seed: _Seed, knobs: dict) -> _Runs | None:
        from ..lang.diagnostics import DiagnosticsError
        from ..lang.schedule import bind

        key = ("seed", seed.id, tuple(sorted(knobs.items())))
        if key not in self._memo:
            try:
                bind(seed.checked, 0.5, knobs)
            except DiagnosticsError:
                self._memo[key] = None
                return None
        r = self._runs(key, seed.checked, 0.5, knobs)
        return r

    def _score(self, seed, knobs, target) -> tuple | None:
        r = self._seed_runs(seed, knobs)
        if r is None:
            return None
        try:
            got = r.upto(self.screen, self.screen.prefix_chunks, self.limits)
        except Exception:  # noqa: BLE001 - a knob setting the program cannot compile with
            self._memo[("seed", seed.id, tuple(sorted(knobs.items())))] = None
            return None
        self.evaluations += 1
        return distance(got, target[:len(got)])

    def _full(self, seed, knobs, target) -> tuple:
        """(mismatches, episodes compared): stops at the first chunk past the tolerance."""
        allowed = math.floor(self.tolerance * len(target))
        r = self._seed_runs(seed, knobs)
        got = r.upto(self.screen, len(self.screen.chunks), self.limits,
                     stop=lambda o: distance(o, target[:len(o)])[0] > allowed)
        return distance(got, target[:len(got)])[0], len(got)

    def match_point(self, seed: _Seed, beta, target: list) -> dict:
        """The nearest knob values of ``seed`` to the candidate's ``target`` outcomes at one point."""
        from ..lang.schedule import bind

        allowed = math.floor(self.tolerance * len(target))
        start = dict(bind(seed.checked, beta if seed.uses_beta else None).values)
        best_k, best = start, self._score(seed, start, target)
        if best is None:
            return {"matched": False, "knobs": start, "mismatch": None, "prefix_mismatch": None}
        evals, tried = 1, {tuple(sorted(start.items()))}
        pre = max(1, self.screen.prefix_episodes)
        seen_full: list = []  # (mismatches, episodes compared) of settings that passed the prefix

        def settle(k, s):
            """A setting within the tolerance on the prefix is run on every episode: the
            match, or its score with the full run's mismatches added (so another setting
            that ties on the prefix can still win)."""
            if s[0] > allowed:
                return None, s
            mis, n = self._full(seed, k, target)
            if n == len(target) and mis <= allowed:
                return {"matched": True, "knobs": k, "mismatch": mis / len(target), "prefix_mismatch": s[0] / pre}, s
            seen_full.append((mis, n))
            return None, (s[0] + mis, s[1])

        got, best = settle(best_k, best)
        if got is not None:
            return got
        for _ in range(PASSES):
            improved = False
            for p in seed.checked.params:
                for v in _knob_values(p, best_k[p.name]):
                    if evals >= self.max_evals:
                        break
                    k = {**best_k, p.name: v}
                    t = tuple(sorted(k.items()))
                    if t in tried:
                        continue
                    tried.add(t)
                    s = self._score(seed, k, target)
                    evals += 1
                    if s is not None and s < best:
                        got, s = settle(k, s)
                        if got is not None:
                            return got
                        if s < best:
                            best_k, best, improved = k, s, True
            if not improved or evals >= self.max_evals:
                break
        raw = self._score(seed, best_k, target)  # memoised: the prefix alone, without full-run mismatches
        out = {"matched": False, "knobs": best_k, "prefix_mismatch": raw[0] / pre if raw else None, "mismatch": None}
        if seen_full:  # settings equal on the prefix but not on every episode
            out["full_runs"] = [list(x) for x in seen_full[:5]]
        return out

    # ------------------------------------------------------------ verdict
    def check(self, source: str, label: str = "candidate", prefer: list | None = None,
              weights: dict | None = None) -> dict:
        """The verdict for one program: ``novel``, and for the nearest seed program the points
        it matches with the knob values and mismatch share per point. ``weights``: each
        beta's share of the candidate's score (:func:`tts_dsl.discovery.scores.beta_weights`);
        with them a candidate is also a variant when the points one seed program reproduces
        carry at least ``SCORE_SHARE`` of its score, and the heaviest points are checked first."""
        from ..api import check

        t0 = time.perf_counter()
        ev0 = self.evaluations
        checked = check(source, f"{label}.tts")
        points = self.candidate_points(checked)
        n = len(points)
        need = math.ceil(self.share * n - 1e-9)
        wt = {_bkey(b): float(w) for b, w in (weights or {}).items()}
        weigh = (lambda b: wt.get(_bkey(b), 0.0)) if wt else None
        if weigh is not None:  # heaviest first (stable: grid order among equals)
            points = sorted(points, key=lambda p: -weigh(p[0]))
        order = sorted(self.seeds, key=lambda s: (0 if prefer and s.id in prefer else 1,
                                                  prefer.index(s.id) if prefer and s.id in prefer else 0))
        best = None
        for seed in order:
            rows, failed, w_hit, w_left = [], 0, 0.0, 1.0
            for b, target in points:
                by_count_out = failed > n - need
                by_score_out = weigh is None or w_hit + w_left < SCORE_SHARE - 1e-9
                if by_count_out and by_score_out:
                    break
                m = self.match_point(seed, b, target)
                m["beta"] = b
                rows.append(m)
                failed += 0 if m["matched"] else 1
                if weigh is not None:
                    m["score_share"] = round(weigh(b), 6)
                    w_left -= weigh(b)
                    w_hit += weigh(b) if m["matched"] else 0.0
            rows.sort(key=lambda r: (r["beta"] is None, r["beta"] if r["beta"] is not None else 0.0))
            matched = sum(1 for r in rows if r["matched"])
            pm = [r["prefix_mismatch"] for r in rows if r.get("prefix_mismatch") is not None]
            cand = {"seed": seed.id, "matched": matched, "points": n, "share": matched / n if n else 0.0,
                    "score_share": round(w_hit, 6) if weigh is not None else None,
                    "prefix_mismatch": sum(pm) / len(pm) if pm else 1.0, "per_point": rows}
            cand["variant"] = n > 0 and (matched >= need or (weigh is not None and w_hit >= SCORE_SHARE - 1e-9))
            if best is None or (not cand["variant"], -cand["matched"], cand["prefix_mismatch"]) < \
                    (not best["variant"], -best["matched"], best["prefix_mismatch"]):
                best = cand
            if cand["variant"]:
                break
        variant = best is not None and best["variant"]
        return {"novel": not variant, "variant_of": best["seed"] if variant else None,
                "nearest": best, "episodes": self.screen.episodes, "points": n,
                "tolerance": self.tolerance, "share_required": self.share,
                "score_share_required": SCORE_SHARE if weigh is not None else None,
                "evaluations": self.evaluations - ev0, "wall_s": round(time.perf_counter() - t0, 3)}


def _bkey(b):
    return None if b is None else round(float(b), 9)


def describe(v: dict | None) -> str:
    """One phrase: ``novel`` or ``variant of X (knobs ...)``."""
    if not v:
        return "novelty not checked"
    near = v.get("nearest") or {}
    carried = (f", carrying {near['score_share']:.0%} of its score" if near.get("score_share") is not None else "")
    if v.get("novel"):
        if near:
            return (f"novel (nearest seed program {near['seed']}: {near['matched']} of {near['points']} points "
                    f"reproduced by a knob setting{carried}; mean mismatch on the prefix {near['prefix_mismatch']:.0%})")
        return "novel"
    knobs = "; ".join(f"beta={_b(r['beta'])}: " + ", ".join(f"{k}={_v(x)}" for k, x in r["knobs"].items())
                      for r in near.get("per_point", []) if r.get("matched"))
    return (f"variant of {v['variant_of']} ({near['matched']} of {near['points']} points reproduced{carried}; "
            f"knobs {knobs})")


def _b(b) -> str:
    return "-" if b is None else f"{b:g}"


def _v(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)
