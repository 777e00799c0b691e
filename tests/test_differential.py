"""Differential testing of the execution paths: the compiled episode function (traces off
and traces on) against the tree-walking reference evaluator (:mod:`tts_dsl.engines.reference`),
on random well-typed programs and random stores. Every episode must give the same answer,
the same cost and the same end reason; a runtime error must be the same error.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import PROGRAMS, REPLAY, default_and_slow
from tts_dsl.lang.builder import parse_program
from tts_dsl.lang.checker import check_program
from tts_dsl.engines.python import compile_program
from tts_dsl.lang.diagnostics import DiagnosticsError
from tts_dsl.engines.reference import interpret_program
from tts_dsl.lang.limits import Limits
from tts_dsl.lang.schedule import bind
from tts_dsl.replay.store import permutation
from tts_dsl.replay.synthetic import synthetic_store

# ------------------------------------------------------------------ random programs
INT, FLOAT, BOOL, ANS, BR, LA, LI, LB, LF, VOTES = "int", "float", "bool", "answer", "branch", \
    "list[answer]", "list[int]", "list[branch]", "list[float]", "votes"


class _Gen:
    """Draws a random, mostly well-typed program as text. Scopes are tracked so names are
    declared before use and never shadowed; loops are small so episodes stay fast."""

    def __init__(self, draw):
        self.draw = draw
        self.n = 0
        self.scopes = [{"acc": INT, "fx": FLOAT, "last": ANS, "seen": LA, "p_int": INT, "p_float": FLOAT,
                        "p_flag": BOOL}]
        self.mutable = {"acc", "fx", "last", "seen"}
        self.loops = 0
        self.budget = 40  # statements left
        self.hidden: set = set()
        self.hs = False  # the program declares a list branch var 'hs' (programs() draws it)

    def fresh(self, stem):
        self.n += 1
        return f"{stem}{self.n}"

    def names(self, ty):
        out = []
        for s in self.scopes:
            out += [k for k, v in s.items() if v == ty and k not in self.hidden]
        return out

    def pick(self, xs):
        return self.draw(st.sampled_from(xs))

    def coin(self, p=0.5):
        return self.draw(st.floats(0, 1)) < p

    # expressions --------------------------------------------------------
    def e(self, ty, d=0):
        leaf = d >= 3 or self.coin(0.35)
        m = getattr(self, "e_" + ty.replace("[", "_").replace("]", ""))
        return m(d + 1, leaf)

    def e_int(self, d, leaf):
        atoms = [str(self.draw(st.integers(0, 6))), "len(completed)", "opened", "remaining",
                 "spent // 500", "len(branches)"] + self.names(INT)
        if leaf:
            return self.pick(atoms)
        bs = self.names(BR)
        opts = ["bin", "minmax", "round", "len", "count", "votes", "sum", "attr" if bs else "bin", "ifexp", "neg",
                "fi", "fl"]
        k = self.pick(opts)
        if k == "fl" and self.coin(0.3):  # maps
            return self.pick([f"cm[{self.e(ANS, d)}]", "len(cm)", "len(wm)"])
        if k == "fi":  # user functions (declared in the head)
            return f"fi({self.e(INT, d)}, {self.e(INT, d)})"
        if k == "fl":
            return f"fl({self.e(LA, d)})"
        if k == "bin":
            op = self.pick(["+", "-", "*", "//", "%"])
            rhs = self.e(INT, d) if op in "+-*" else str(self.draw(st.integers(1, 4)))
            return f"({self.e(INT, d)} {op} {rhs})"
        if k == "minmax":
            return f"{self.pick(['min', 'max'])}({self.e(INT, d)}, {self.e(INT, d)})"
        if k == "round":
            return f"round({self.e(FLOAT, d)})"
        if k == "len":
            return f"len({self.e(self.pick([LA, LI, LB]), d)})"
        if k == "count":
            return f"count({self.e(LA, d)}, {self.e(ANS, d)})"
        if k == "votes":
            return f"votes({self.e(LA, d)}).{self.pick(['top1', 'top2'])}"
        if k == "sum":
            return f"sum({self.e(LI, d)})"
        if k == "attr":
            b = self.pick(bs)
            return f"{b}.{self.pick(['steps', 'cost', 'index', 'off'])}"
        if k == "ifexp":
            return f"({self.e(INT, d)} if {self.e(BOOL, d)} else {self.e(INT, d)})"
        return f"(-{self.e(INT, d)})"

    def e_float(self, d, leaf):
        atoms = ["0.5", "0.0", "1.25", "fx", "p_float"]
        if leaf:
            return self.pick(atoms)
        k = self.pick(["bc", "bin", "div", "entropy", "mean", "conv", "fn", "map"])
        if k == "map":
            return f"wm[{self.e(ANS, d)}]"
        if k == "bc":
            v = self.e(LA, d)
            if self.coin(0.3):  # real-valued counts: a weighted vote
                u = self.fresh("w")
                w = f"weighted_votes({v}, [{self.with_var(u, ANS, lambda: self.e(FLOAT, d))} for {u} in {v}])"
                return f"beta_confidence({w}.top1, {w}.top2)"
            return f"beta_confidence(votes({v}).top1, votes({v}).top2)"
        if k == "bin":
            return f"({self.e(FLOAT, d)} {self.pick(['+', '-', '*'])} {self.e(self.pick([INT, FLOAT]), d)})"
        if k == "div":
            return f"({self.e(self.pick([INT, FLOAT]), d)} / {self.e(self.pick([INT, FLOAT]), d)})"
        if k == "entropy":
            return f"entropy({self.e(LA, d)})"
        if k == "mean":
            return f"mean({self.e(LI, d)})"
        if k == "conv":
            return f"float({self.e(INT, d)})"
        return f"{self.pick(['sigmoid', 'abs', 'exp'])}({self.e(FLOAT, d)})"

    def e_bool(self, d, leaf):
        bs = self.names(BR)
        atoms = ["exhausted", "p_flag", "true", "false"] + [f"{b}.{a}" for b in bs for a in ("finished", "pruned")]
        if leaf:
            return self.pick(atoms)
        k = self.pick(["cmp", "cmp", "ans", "not", "andor", "in", "anyall", "valid"])
        if k == "valid":
            return f"valid({self.e(ANS, d)})"
        if k == "cmp":
            t = self.pick([INT, FLOAT])
            return f"({self.e(t, d)} {self.pick(['<', '<=', '>', '>=', '==', '!='])} {self.e(INT, d)})"
        if k == "ans":
            return f"({self.e(ANS, d)} {self.pick(['==', '!='])} {self.e(ANS, d)})"
        if k == "not":
            return f"(not {self.e(BOOL, d)})"
        if k == "andor":
            return f"({self.e(BOOL, d)} {self.pick(['and', 'or'])} {self.e(BOOL, d)})"
        if k == "in":
            return f"({self.e(ANS, d)} {self.pick(['in', 'not in'])} {self.e(LA, d)})"
        v = self.fresh("q")
        return f"{self.pick(['any', 'all'])}([{self.with_var(v, BR, lambda: self.e(BOOL, d))} for {v} in branches])"

    def e_answer(self, d, leaf):
        bs = self.names(BR)
        atoms = ["none", "last"] + self.names(ANS) + [f"{b}.latest" for b in bs]
        if leaf:
            return self.pick(atoms)
        k = self.pick(["maj", "winner", "index", "argmax"] + (["fa"] if bs else []))
        if k == "argmax":
            return f"argmax({self.pick(['wm', 'cm'])})"
        if k == "fa":
            return f"fa({self.e(LA, d)}, {self.pick(bs)})"
        if k == "maj":
            return f"majority({self.e(LA, d)})"
        if k == "winner":
            return f"votes({self.e(LA, d)}).winner"
        return f"{self.e(LA, d)}[{self.draw(st.integers(-2, 2))}]"  # may be out of range: a runtime error

    def e_list_answer(self, d, leaf):
        bs = self.names(BR)
        atoms = ["completed", "seen", "keys(wm)"] + self.names(LA) + [f"{b}.history" for b in bs] \
            + [f"{b}.hs" for b in bs if self.hs]
        if leaf:
            return self.pick(atoms)
        k = self.pick(["comp", "slice", "cat", "distinct", "lit", "real"])
        if k == "real":
            return f"real({self.e(LA, d)})"
        if k == "comp":
            v = self.fresh("q")
            return "[" + self.with_var(v, BR, lambda: f"{v}.latest for {v} in branches{self.tail(v, d)}") + "]"
        if k == "slice":
            lo = self.pick(["", "1", "-3"])
            hi = self.pick(["", "-1", "4"])
            return f"{self.e(LA, d)}[{lo}:{hi}]"
        if k == "cat":
            return f"({self.e(LA, d)} + {self.e(LA, d)})"
        if k == "distinct":
            return f"distinct({self.e(LA, d)})"
        return f"[{self.e(ANS, d)}]"

    def e_list_int(self, d, leaf):
        if leaf:
            return self.pick(["[1, 2, 3]", "[]", f"range({self.draw(st.integers(0, 5))})"] + self.names(LI))
        v = self.fresh("q")
        return "[" + self.with_var(v, BR, lambda: f"{v}.{self.pick(['steps', 'cost', 'off'])} for {v} in branches"
                                   f"{self.tail(v, d)}") + "]"

    def e_list_branch(self, d, leaf):
        if leaf:
            return self.pick(["branches"] + self.names(LB))
        v = self.fresh("q")
        return "[" + self.with_var(v, BR, lambda: f"{v} for {v} in branches{self.tail(v, d)}") + "]"

    def tail(self, v, d):
        """A random query tail; ``v`` is in scope."""
        out = ""
        if self.coin(0.5):
            out += f" where {self.e(BOOL, d)}"
        elif self.coin(0.6):  # status filters (compiled to masks)
            status = self.pick([f"{v}.finished", f"not {v}.finished", f"{v}.pruned", f"not {v}.pruned",
                                f"not {v}.finished and not {v}.pruned", f"not {v}.pruned and not {v}.finished",
                                f"{v}.finished and not {v}.pruned"])
            extra = self.pick(["", "", "left", "right"])
            if extra == "left":
                status = f"{self.e(BOOL, d)} and {status}"
            elif extra == "right":
                status = f"{status} and {self.e(BOOL, d)}"
            out += f" where {status}"
        if self.coin(0.4):
            out += f" sorted by {v}.{self.pick(['steps', 'cost', 'off', 'index'])}{self.pick(['', ' asc', ' desc'])}"
            if self.coin(0.4):  # a second key breaks ties (stable on the rest)
                out += f", {self.pick([f'{v}.finished', f'{v}.steps % 2', f'{v}.latest == last'])}{self.pick(['', ' desc'])}"
        if self.coin(0.3):  # the loop variable is not bound while 'take' is evaluated
            self.hidden.add(v)
            try:
                out += f" take {self.e(INT, d)}"
            finally:
                self.hidden.discard(v)
        return out

    def with_var(self, name, ty, fn):
        self.scopes.append({name: ty})
        try:
            return fn()
        finally:
            self.scopes.pop()

    # statements ---------------------------------------------------------
    def block(self, ind, n_max=3):
        n = self.draw(st.integers(1, n_max))
        lines = []
        self.scopes.append({})
        try:
            for _ in range(n):
                if self.budget <= 0:
                    break
                lines += self.stmt(ind)
            if self.loops and self.coin(0.15):
                lines.append(ind + self.pick(["break", "continue"]))
            elif self.coin(0.1):
                lines.append(ind + f"answer {self.e(ANS)}")
        finally:
            self.scopes.pop()
        return lines or [ind + "pass"]

    def stmt(self, ind):
        self.budget -= 1
        k = self.pick(["open", "open", "read", "advance", "prune", "let", "assign", "if", "for", "for",
                       "repeat", "trace", "bset", "map"])
        bs = self.names(BR)
        if k == "map":  # answer-keyed maps: set or add a key
            if self.coin(0.5):
                return [f"{ind}wm[{self.e(ANS)}] {self.pick(['+=', '='])} {self.e(FLOAT)}"]
            return [f"{ind}cm[{self.e(ANS)}] {self.pick(['+=', '='])} {self.e(INT)}"]
        if k in ("open", "advance") and len(ind) < 8 and self.coin(0.25):  # an action as a condition
            if k == "open" or not bs:
                b = self.fresh("cb")
                head = f"{ind}if {self.pick(['open', 'read'])} as {b} {{"
                then = self.with_var(b, BR, lambda: self.block(ind + "  ", 2))
            else:
                head = f"{ind}if {self.pick(['advance', 'prune'])} {self.pick(bs)} {{"
                then = self.block(ind + "  ", 2)
            out = [head, *then]
            jumps = then[-1].strip().split(" ")[0] in ("answer", "break", "continue")
            if not jumps and self.coin(0.5):  # (both arms jumping would make what follows unreachable)
                out += [f"{ind}}} else {{", *self.block(ind + "  ", 2)]
            return out + [ind + "}"]
        if k == "open":
            if self.coin(0.3):
                b = self.fresh("nb")
                jump = self.pick(["break", "continue"]) if self.loops else f"answer {self.e(ANS)}"
                line = f"{ind}open as {b} else {jump}"
                self.scopes[-1][b] = BR
                return [line]
            return [ind + "open" + (" else break" if self.loops and self.coin(0.5) else "")]
        if k == "read":
            return [ind + "read" + (" else break" if self.loops and self.coin(0.5) else "")]
        if k in ("advance", "prune", "bset") and not bs:
            return [ind + "open"]
        if k == "advance":
            b = self.pick(bs)
            if self.coin(0.3):
                return [f"{ind}advance {b} else {{", *self.block(ind + "  ", 2), ind + "}"]
            return [f"{ind}advance {b}"]
        if k == "prune":
            return [f"{ind}prune {self.pick(bs)}"]
        if k == "bset":
            if self.hs and self.coin(0.5):
                return [f"{ind}{self.pick(bs)}.hs = {self.e(LA)}"]
            return [f"{ind}{self.pick(bs)}.off = {self.e(INT)}"]
        if k == "let" and self.coin(0.2):  # partition: one pass, two lists
            yes, no, v = self.fresh("py"), self.fresh("pn"), self.fresh("pb")
            src = self.pick(["branches", "completed", "range"])
            if src == "range":
                src, el = f"range({self.draw(st.integers(0, 6))})", INT
            else:
                el = BR if src == "branches" else ANS
            cond = self.with_var(v, el, lambda: self.e(BOOL))
            line = f"{ind}let {yes}, {no} = partition {v} in {src} by {cond}"
            lt = {BR: LB, ANS: LA, INT: LI}[el]
            self.scopes[-1][yes] = lt
            self.scopes[-1][no] = lt
            return [line]
        if k == "let":
            ty = self.pick([INT, FLOAT, BOOL, ANS, LA, LI])
            name = self.fresh("v")
            line = f"{ind}let {name} = {self.e(ty)}"
            self.scopes[-1][name] = ty
            return [line]
        if k == "assign":
            name = self.pick(sorted(self.mutable))
            ty = self.scopes[0][name]
            return [f"{ind}{name} = {self.e(ty)}"]
        if k == "if":
            out = [f"{ind}if {self.e(BOOL)} {{", *self.block(ind + "  ")]
            for _ in range(self.draw(st.integers(0, 1))):
                out += [f"{ind}}} elif {self.e(BOOL)} {{", *self.block(ind + "  ")]
            if self.coin(0.5):
                out += [f"{ind}}} else {{", *self.block(ind + "  ")]
            return out + [ind + "}"]
        if k == "trace":
            # trace fields are evaluated only with traces on: keep them free of runtime errors
            return [f'{ind}trace "t{self.n}" {{a: {self.pick(["acc", "spent", "len(completed)"])}, '
                    f'b: {self.pick(["completed", "seen", "[b.latest for b in branches]"])}}}']
        self.loops += 1
        try:
            if k == "repeat":
                count = self.pick(["2", "3", "p_int", "1", "len(completed) max 3", "(acc % 4) max p_int",
                                   "(opened - 2) max 2"])
                v = self.fresh("i")
                head = f"{ind}repeat {count} as {v} {{" if self.coin(0.5) else f"{ind}repeat {count} {{"
                if " as " in head:
                    body = self.with_var(v, INT, lambda: self.block(ind + "  "))
                else:
                    body = self.block(ind + "  ")
                return [head, *body, ind + "}"]
            v = self.fresh("b")
            src = self.pick(["branches", "branches", "completed", "range"])
            if src == "completed":
                head = f"{ind}for {v} in completed {{"
                body = self.with_var(v, ANS, lambda: self.block(ind + "  "))
            elif src == "range":
                head = f"{ind}for {v} in range({self.draw(st.integers(0, 12))}) {{"
                body = self.with_var(v, INT, lambda: self.block(ind + "  "))
            else:
                self.scopes.append({v: BR})
                try:
                    head = f"{ind}for {v} in branches{self.tail(v, 0)} {{"
                    body = self.block(ind + "  ")
                finally:
                    self.scopes.pop()
            return [head, *body, ind + "}"]
        finally:
            self.loops -= 1


@st.composite
def programs(draw):
    g = _Gen(draw)
    g.hs = draw(st.booleans())  # a list branch var
    a, b = draw(st.integers(0, 4)), draw(st.integers(0, 8))
    head = [
        "controller fuzz",
        # pure user functions: an expression body, a block body, one that charges steps
        "def fi(x: int, y: int) -> int = " + draw(st.sampled_from(["x * 2 - y", "max(x, y) // 2", "x % 3 + y"])),
        "def fa(xs: list[answer], b: branch) -> answer {",
        "  let v = votes(xs)",
        f"  if v.top1 > {draw(st.integers(0, 3))} {{",
        "    return v.winner",
        "  } elif b.finished {",
        "    return b.latest",
        "  }",
        f"  return xs[{draw(st.integers(-1, 1))}] if len(xs) > 0 else none",
        "}",
        "def fl(xs: list[answer]) -> int = len([a for a in xs where valid(a)]) + fi(len(xs), 1)",
        "def fs(x: float) -> float = x * 2 + 0.5",
        "params {",
        f"  p_int: int increasing in [0, 20] = round({a} + {b} * beta)",
        "  p_float: float increasing = round(0.25 + 0.5 * beta, 4)",
        "  p_twice: float increasing = fs(p_float)",  # a function in a param value: inlined for the prover
        f"  p_flag: bool = {draw(st.sampled_from(['true', 'false']))}",
        "}",
        # an initial value may read the branch being opened ('new')
        "branch var off: int = " + draw(st.sampled_from(["0", "0", "new.steps", "new.index * 2 - new.steps + p_int",
                                                          "1 if valid(new.latest) and not new.finished else 0"])),
        # a list per branch (or none): counted by the episode's memory budget (max_episode_cells),
        # which the compiled engine keeps as a running sum with one, as a sum of lengths without
        "branch var hs: " + ("list[answer] = " + draw(st.sampled_from(["[]", "[new.latest]", "[new.latest, new.latest]"]))
                             if g.hs else "int = 0"),
        "var acc: int = 0",
        "var fx: float = 0.0",
        "var last: answer = none",
        "var seen: list[answer] = []",
        "var wm: map[answer, float]",
        "var cm: map[answer, int]",
    ]
    body = []
    while g.budget > 0 and len(body) < 60:
        body += g.stmt("")
        if draw(st.integers(0, 3)) == 0:
            break
    tail = draw(st.sampled_from(["answer majority(completed)", "answer last",
                                 "answer majority([b.latest for b in branches where not b.pruned])"]))
    return "\n".join(head + body + [tail]) + "\n"


# ------------------------------------------------------------------ running the paths
def _junk(q):
    """The question's junk answers; synthetic stores have none, so every third answer id is
    taken as junk there (valid and real then see both kinds)."""
    return q.junk or frozenset(range(0, len(q.answers), 3))


def _episodes(exe, store, seeds, limits):
    out = []
    for s in seeds:
        for q in store.questions:
            order = permutation(q.n_branches, s)
            tr = [] if exe.traced else None
            try:
                r = exe.episode(q.probes, q.nprobes, q.tokens, q.final, q.probe_freq, q.n_branches, order,
                                limits.max_actions, limits.max_steps, tr, _junk(q))
            except Exception as ex:  # noqa: BLE001 - runtime errors must agree too
                r = ("error", type(ex).__name__, str(ex))
            out.append(r)
    return out


def _compare(source, store, beta, seeds, limits):
    try:
        checked = check_program(parse_program(source, "<fuzz>", limits), limits)
        binding = bind(checked, beta)
        fast = compile_program(checked, binding, limits)
        traced = compile_program(checked, binding, limits, traced=True)
        ref = interpret_program(checked, binding, limits)
    except DiagnosticsError:
        return None
    a = _episodes(fast, store, seeds, limits)
    assert _episodes(traced, store, seeds, limits) == a, "traced and untraced compiled episodes differ"
    assert _episodes(ref, store, seeds, limits) == a, "the compiled program and the reference evaluator differ"
    return a


def _random_programs_agree(src, store_seed, nb, beta, caps, cells):
    limits = Limits(max_actions=caps[0], max_steps=caps[1], max_episode_cells=cells)
    store = synthetic_store(store_seed, n_questions=2, n_branches=nb)
    out = _compare(src, store, beta, range(3), limits)
    assume(out is not None)


# 100 random programs in the default suite, 400 in the slow set (CI runs both);
# TTS_FUZZ_EXAMPLES sets both counts for a longer run
test_random_programs_agree, test_random_programs_agree_more = default_and_slow(
    _random_programs_agree,
    given(src=programs(), store_seed=st.integers(0, 10_000), nb=st.integers(2, 24),
          beta=st.sampled_from([0.0, 0.3, 1.0]), caps=st.sampled_from([(50_000, 2_000_000), (7, 40), (60, 400)]),
          cells=st.sampled_from([1_000_000, 40, 6])),
    int(os.environ.get("TTS_FUZZ_EXAMPLES", "100")), int(os.environ.get("TTS_FUZZ_EXAMPLES", "400")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def test_random_programs_reach_the_memory_budget_alike():
    """With a tiny budget, some random programs end with the memory budget's error (L013),
    and the compiled, traced and reference engines agree on which, where and with what count."""
    seen = []

    @settings(max_examples=80, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(src=programs(), store_seed=st.integers(0, 10_000))
    def sample(src, store_seed):
        out = _compare(src, synthetic_store(store_seed, n_questions=2, n_branches=12), 0.3, range(2),
                       Limits(max_episode_cells=1))
        seen.extend(r[1] for r in out or [] if r[0] == "error")

    sample()
    assert "CellCap" in seen, seen


@pytest.mark.slow  # a test of the random-program generator (150 programs, about 5 s); CI runs the slow set
def test_generator_mostly_yields_valid_programs():
    """The strategy must produce checkable programs, or the property above tests little."""
    ok = total = 0

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(programs())
    def sample(src):
        nonlocal ok, total
        total += 1
        try:
            check_program(parse_program(src, "<fuzz>"))
            ok += 1
        except DiagnosticsError:
            pass

    sample()
    assert total >= 100
    assert ok / total > 0.75, f"only {ok}/{total} generated programs check"


@pytest.mark.parametrize("name,params,betas", [
    ("sc", {"n": 16}, [None]), ("asc", {"max_samples": 32}, [None]), ("esc", {"max_samples": 32}, [None]),
    ("parallel_probe", {"num_chains": 16}, [None]), ("cmc", {}, [0.0, 0.5, 1.0]),
])
def test_reference_controllers_agree_on_synthetic_stores(name, params, betas):
    src = (PROGRAMS / f"{name}.tts").read_text()
    limits = Limits()
    checked = check_program(parse_program(src, name, limits), limits)
    for seed in (1, 2):
        store = synthetic_store(seed, n_questions=4, n_branches=64)
        for beta in betas:
            binding = bind(checked, beta, params)
            a = _episodes(compile_program(checked, binding, limits), store, range(4), limits)
            b = _episodes(interpret_program(checked, binding, limits), store, range(4), limits)
            assert a == b


@pytest.mark.shared
def test_cmc_agrees_on_a_real_store():
    from tts_dsl.replay.store import load_store

    store = load_store(REPLAY, "Qwen3-8B", "aime24")
    src = (PROGRAMS / "cmc.tts").read_text()
    limits = Limits()
    checked = check_program(parse_program(src, "cmc", limits), limits)
    binding = bind(checked, 0.5)
    a = _episodes(compile_program(checked, binding, limits), store, range(2), limits)
    b = _episodes(interpret_program(checked, binding, limits), store, range(2), limits)
    assert a == b
    assert {r[2] for r in a} == {0}  # every episode answered


def test_differential_detects_a_wrong_compiler(monkeypatch):
    """The comparison can fail: a compiler that charges one token too many is caught."""
    from tts_dsl.engines import python as compiler

    orig = compiler._Gen.explore

    def bad_explore(self, d, *args):
        orig(self, d, *args)
        self.emit(d, "_spent += 1")

    monkeypatch.setattr(compiler._Gen, "explore", bad_explore)
    src = (PROGRAMS / "parallel_probe.tts").read_text()
    store = synthetic_store(3, n_questions=2, n_branches=16)
    with pytest.raises(AssertionError):
        _compare(src, store, None, range(2), Limits())


@given(st.lists(st.one_of(st.none(), st.integers(0, 6)), max_size=40))
def test_compiled_vote_counting_matches_the_spec_functions(xs):
    from tts_dsl import stats
    from tts_dsl.engines import runtime

    assert runtime.majority(xs) == stats.majority(xs)
    assert runtime.vote_stats(xs) == stats.vote_stats(xs)
    cache = [-1, None]
    assert runtime.votes_cached(xs, cache) == stats.vote_stats(xs) == runtime.votes_cached(xs, cache)


# ------------------------------------------------------------------ the fast engine (numba)
class _FastGen(_Gen):
    """Random programs inside the fast engine's subset, so the native code runs, not only its
    fallback: scalars, list vars (answers, floats; counted by the memory budget), query lists
    and filtered, sorted, taken ``for`` loops, short-circuit all/any, list built-ins."""

    def __init__(self, draw):
        super().__init__(draw)
        self.scopes[0]["hist"] = LF
        self.mutable.add("hist")

    def e_int(self, d, leaf):
        if leaf:
            return self.pick([str(self.draw(st.integers(0, 6))), "len(completed)", "opened", "remaining",
                              "spent // 500", "len(branches)", "p_int", str(2 ** 40)] + self.names(INT))
        bs = self.names(BR)
        k = self.pick(["bin", "bin", "minmax", "len", "votes", "ifexp", "neg", "count", "sum", "round", "listmm"]
                      + (["attr"] if bs else []))
        if k == "bin":
            op = self.pick(["+", "-", "*", "//", "%"])
            return f"({self.e(INT, d)} {op} {self.e(INT, d)})"  # division by zero is possible: a bail
        if k == "minmax":
            return f"{self.pick(['min', 'max'])}({self.e(INT, d)}, {self.e(INT, d)})"
        if k == "len":
            return f"len({self.e(self.pick([LA, LI, LB, LF]), d)})"
        if k == "votes":
            return f"votes({self.e(LA, d)}).{self.pick(['top1', 'top2'])}"
        if k == "count":
            return f"count({self.e(LA, d)}, {self.e(ANS, d)})"
        if k == "sum":
            return f"sum({self.e(LI, d)})"
        if k == "round":
            return f"{self.pick(['round', 'floor', 'ceil', 'int'])}({self.e(FLOAT, d)})"
        if k == "listmm":  # min/max of a list: an empty one is a runtime error (a bail)
            return f"{self.pick(['min', 'max'])}({self.e(LI, d)})"
        if k == "attr":
            return f"{self.pick(bs)}.{self.pick(['steps', 'cost', 'index', 'off'])}"
        if k == "ifexp":
            return f"({self.e(INT, d)} if {self.e(BOOL, d)} else {self.e(INT, d)})"
        return f"(-{self.e(INT, d)})"

    def e_float(self, d, leaf):
        if leaf:
            return self.pick(["0.5", "0.0", "1.25", "fx", "p_float"])
        k = self.pick(["bc", "bin", "div", "abs", "hist", "mean", "conv"])
        if k == "bc":
            return f"beta_confidence({self.e(INT, d)}, {self.e(INT, d)})"
        if k == "bin":
            return f"({self.e(FLOAT, d)} {self.pick(['+', '-', '*'])} {self.e(self.pick([INT, FLOAT]), d)})"
        if k == "div":
            return f"({self.e(self.pick([INT, FLOAT]), d)} / {self.e(self.pick([INT, FLOAT]), d)})"
        if k == "hist":  # an index out of range is a runtime error (a bail)
            return f"{self.e(LF, d)}[{self.draw(st.integers(-2, 1))}]"
        if k == "mean":
            return f"mean({self.e(self.pick([LI, LF]), d)})"
        if k == "conv":
            return f"float({self.e(INT, d)})"
        return f"abs({self.e(FLOAT, d)})"

    def e_bool(self, d, leaf):
        bs = self.names(BR)
        if leaf:
            return self.pick(["exhausted", "p_flag", "true", "false"]
                             + [f"{b}.{a}" for b in bs for a in ("finished", "pruned")])
        k = self.pick(["cmp", "cmp", "ans", "not", "andor", "andor", "in", "anyall"])
        if k == "cmp":
            t = self.pick([INT, FLOAT])
            return f"({self.e(t, d)} {self.pick(['<', '<=', '>', '>=', '==', '!='])} {self.e(INT, d)})"
        if k == "ans":
            return f"({self.e(ANS, d)} {self.pick(['==', '!='])} {self.e(ANS, d)})"
        if k == "not":
            return f"(not {self.e(BOOL, d)})"
        if k == "in":
            return f"({self.e(ANS, d)} {self.pick(['in', 'not in'])} {self.e(LA, d)})"
        if k == "anyall":
            v = self.fresh("q")
            return (f"{self.pick(['any', 'all'])}([{self.with_var(v, BR, lambda: self.e(BOOL, d))} "
                    f"for {v} in branches{self.with_var(v, BR, lambda: self.tail(v, d))}])")
        return f"({self.e(BOOL, d)} {self.pick(['and', 'or'])} {self.e(BOOL, d)})"

    def e_answer(self, d, leaf):
        bs = self.names(BR)
        if leaf:
            return self.pick(["none", "last"] + self.names(ANS) + [f"{b}.latest" for b in bs])
        k = self.pick(["maj", "winner", "index"])
        if k == "maj":
            return f"majority({self.e(LA, d)})"
        if k == "winner":
            return f"votes({self.e(LA, d)}).winner"
        return f"{self.e(LA, d)}[{self.draw(st.integers(-2, 2))}]"  # may be out of range: a bail

    def e_list_answer(self, d, leaf):
        if leaf:
            return self.pick(["completed", "seen"] + self.names(LA))
        k = self.pick(["comp", "comp", "slice", "cat", "lit"])
        if k == "comp":
            v = self.fresh("q")
            return "[" + self.with_var(v, BR, lambda: f"{v}.latest for {v} in branches{self.tail(v, d)}") + "]"
        if k == "slice":
            lo = self.pick(["", "1", "-3", "len(completed) // 2"])
            hi = self.pick(["", "-1", "4"])
            return f"{self.e(LA, d)}[{lo}:{hi}]"
        if k == "cat":
            return f"({self.e(LA, d)} + {self.e(LA, d)})"
        return f"[{self.e(ANS, d)}]"

    def e_list_float(self, d, leaf):
        if leaf:
            return self.pick(["hist", "[0.5, 1.0]"] + self.names(LF))
        k = self.pick(["cat", "slice", "comp"])
        if k == "cat":
            return f"({self.e(LF, d)} + [{self.e(FLOAT, d)}])"
        if k == "slice":
            return f"{self.e(LF, d)}[{self.pick(['1', '', '-2'])}:{self.pick(['', '-1', '3'])}]"
        v = self.fresh("q")
        return "[" + self.with_var(v, BR, lambda: f"{v}.cost * 0.5 for {v} in branches{self.tail(v, d)}") + "]"

    def tail(self, v, d):
        """A query tail of the subset: one sort key at most."""
        out = ""
        if self.coin(0.5):
            out += f" where {self.e(BOOL, d)}"
        elif self.coin(0.6):
            out += " where " + self.pick([f"not {v}.finished", f"not {v}.pruned",
                                          f"not {v}.finished and not {v}.pruned", f"{v}.finished"])
        if self.coin(0.4):
            out += f" sorted by {self.pick([f'{v}.steps', f'{v}.cost', f'{v}.off', f'{v}.index', f'{v}.finished', f'{v}.cost * 0.5'])}"
            out += self.pick(["", " asc", " desc"])
        if self.coin(0.3):
            self.hidden.add(v)
            try:
                out += f" take {self.e(INT, d)}"
            finally:
                self.hidden.discard(v)
        return out

    def stmt(self, ind):
        k = self.draw(st.integers(0, 11))
        if k == 0 and self.loops < 3:  # for over a range
            self.budget -= 1
            self.loops += 1
            try:
                v = self.fresh("r")
                head = f"{ind}for {v} in range({self.draw(st.integers(0, 12))}) {{"
                return [head, *self.with_var(v, INT, lambda: self.block(ind + "  ")), ind + "}"]
            finally:
                self.loops -= 1
        if k == 1:  # a momentum window, as CMC's
            self.budget -= 1
            return [f"{ind}hist = hist + [{self.e(FLOAT)}]", f"{ind}if len(hist) > {self.draw(st.integers(1, 4))} {{",
                    f"{ind}  hist = hist[1:]", f"{ind}}}"]
        if k == 2:
            self.budget -= 1
            name = self.fresh("v")
            ty = self.pick([LA, LI, LB, LF])
            line = f"{ind}let {name} = {self.e(ty)}"
            self.scopes[-1][name] = ty
            return [line]
        lines = super().stmt(ind)
        if any(w in " " + line for line in lines for w in (" partition ", " max ", "valid(", "real(", "wm[", "cm[",
                                                            "history", "fi(", "fa(", "fl(", "distinct(", "keys(",
                                                            "argmax(", "entropy(", "weighted_votes")):
            return [ind + "read"]  # outside the subset (maps, functions, second-edition built-ins)
        return lines


@st.composite
def fast_programs(draw):
    g = _FastGen(draw)
    a, b = draw(st.integers(0, 4)), draw(st.integers(0, 8))
    head = [
        "controller fuzz", "params {",
        f"  p_int: int increasing in [0, 20] = round({a} + {b} * beta)",
        "  p_float: float increasing = round(0.25 + 0.5 * beta, 4)",
        f"  p_flag: bool = {draw(st.sampled_from(['true', 'false']))}", "}",
        "branch var off: int = " + draw(st.sampled_from(["0", "new.steps", "new.index * 2 - new.steps + p_int"])),
        "var acc: int = 0", "var fx: float = 0.0", "var last: answer = none", "var seen: list[answer] = []",
        "var hist: list[float] = []",
    ]
    body = []
    while g.budget > 0 and len(body) < 60:
        body += g.stmt("")
        if draw(st.integers(0, 3)) == 0:
            break
    tail = draw(st.sampled_from(["answer majority(completed)", "answer last", "answer votes(completed[1:]).winner",
                                 "answer majority([b.latest for b in branches where not b.pruned])"]))
    return "\n".join(head + body + [tail]) + "\n"


def _fast_episodes(checked, binding, store, seeds, limits, python_exe, prepare=None):
    """Per-episode results of the fast engine (specialised code; ``prepare``: another native
    engine's, the VM's) in the compiled engine's form, the bailed episodes run by
    ``python_exe`` as the runner does; None if the engine does not take it."""
    from tts_dsl.engines import fast

    try:
        f = (prepare or fast.prepare)(checked, binding, limits)
    except fast.Unsupported:
        return None
    pk = fast.packed(store, store.questions)
    out, bailed = [], 0
    for s in seeds:
        ans, cost, why = (a.tolist() for a in f.run_seed(pk, s, limits.max_actions, limits.max_steps))
        for i, q in enumerate(store.questions):
            if why[i] >= 0:
                out.append((None if ans[i] < 0 else ans[i], cost[i], why[i]))
            else:
                bailed += 1
                out += _episodes_of(python_exe, store, [s], limits, [q])
    return out, bailed


def _episodes_of(exe, store, seeds, limits, questions):
    sub = type(store)(store.model, store.dataset, store.path, questions, store.digest)
    return _episodes(exe, sub, seeds, limits)


def _fast_reason():
    from tts_dsl.engines import fast

    return fast.available()


needs_numba = pytest.mark.skipif(not os.environ.get("TTS_DSL_CI") and _fast_reason() is not None,
                                 reason="needs numba (pip install -e '.[fast]')")


def _vm_prepare():
    from tts_dsl.engines import vm

    return vm.prepare


def _three_way(source, store, beta, seeds, limits, params=None, specialised=True):
    """Reference, compiled Python, fast engine (``specialised``: also its generated code) and
    the VM on every episode: (results, fast engine took it, episodes the fast engine bailed
    on). The VM must take every program of the baselines' subset it is given here (or say
    why): it is compared whenever it takes one."""
    checked = check_program(parse_program(source, "<fuzz>", limits), limits)
    binding = bind(checked, beta, params)
    py = compile_program(checked, binding, limits)
    a = _episodes(py, store, seeds, limits)
    assert _episodes(interpret_program(checked, binding, limits), store, seeds, limits) == a
    v = _fast_episodes(checked, binding, store, seeds, limits, py, _vm_prepare())
    if v is not None:
        assert v[0] == a, "the VM and the compiled program differ"
    if not specialised:
        return a, v is not None, 0 if v is None else v[1]
    f = _fast_episodes(checked, binding, store, seeds, limits, py)
    if f is None:
        return a, False, 0
    assert f[0] == a, "the fast engine and the compiled program differ"
    return a, True, f[1]


# random programs of the native subset on small stores, for both native engines' properties
FAST_SUBSET_CASES = given(src=fast_programs(), store_seed=st.integers(0, 10_000), nb=st.integers(2, 24),
                          beta=st.sampled_from([0.0, 0.3, 1.0]),
                          caps=st.sampled_from([(50_000, 2_000_000), (7, 40), (60, 400)]))


def _fast_engine_agrees_on_random_programs(src, store_seed, nb, beta, caps):
    _native_engines_agree(src, store_seed, nb, beta, caps, specialised=True)


def _native_engines_agree(src, store_seed, nb, beta, caps, specialised):
    limits = Limits(max_actions=caps[0], max_steps=caps[1])
    store = synthetic_store(store_seed, n_questions=2, n_branches=nb)
    try:
        _, took, _ = _three_way(src, store, beta, range(3), limits, specialised=specialised)
    except DiagnosticsError:
        assume(False)
    # The generator aims at the fast engine's subset, but the shared statement generator also
    # emits constructs outside it (list-valued lets, second-edition statements); those run on
    # the fallback and are compared there. Hypothesis reports a run that filters too much.
    assume(took)


# each new program costs a numba compilation of its specialised code: 1 in the default suite
# (the VM's own differential below runs 40), 8 in the slow set (CI runs both);
# TTS_FUZZ_FAST_EXAMPLES sets both counts
test_fast_engine_agrees_on_random_programs, test_fast_engine_agrees_on_random_programs_more = (
    needs_numba(t) for t in default_and_slow(
        _fast_engine_agrees_on_random_programs,
        FAST_SUBSET_CASES,
        int(os.environ.get("TTS_FUZZ_FAST_EXAMPLES", "1")), int(os.environ.get("TTS_FUZZ_FAST_EXAMPLES", "8")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]))


# three in the default suite (each compiles its specialised code), every one in the slow set
SHIPPED_DEFAULT = {"sc", "cmc", "parallel_probe"}


@needs_numba
@pytest.mark.parametrize("path", [p if p.stem in SHIPPED_DEFAULT else pytest.param(p, marks=pytest.mark.slow)
                                  for p in sorted(PROGRAMS.glob("*.tts"))], ids=lambda p: p.stem)
def test_every_shipped_program_agrees_on_all_three_engines(path):
    store = synthetic_store(5, n_questions=3, n_branches=48)
    src = path.read_text()
    ran = 0
    for beta in (None, 0.0, 1.0):
        try:
            _, took, _ = _three_way(src, store, beta, range(3), Limits())
        except DiagnosticsError:  # a program of beta needs one (and one without takes none)
            continue
        ran += 1
        if path.stem in ("sc", "asc", "esc", "cmc", "parallel_probe"):
            assert took
    assert ran


@needs_numba
def test_fast_engine_bails_exactly_on_runtime_errors():
    """Division by zero and an out-of-range index happen only in some episodes: those bail
    to the Python engine (which reports the error), the others run natively."""
    src = "\n".join(["controller z", "repeat 3 { read }", "let d = len(completed) // (opened - 3)",
                     "answer completed[d]"]) + "\n"
    store = synthetic_store(2, n_questions=2, n_branches=3)
    out, took, bailed = _three_way(src, store, None, range(2), Limits())
    assert took and bailed == 4 and all(r[0] == "error" for r in out)


@pytest.mark.slow  # a test of the test (a numba compilation of a broken engine, about 3 s); CI runs the slow set
@needs_numba
def test_the_fast_differential_detects_a_wrong_fast_compiler(monkeypatch):
    from tts_dsl.engines import fast

    orig = fast._Gen.explore

    def bad_explore(self, d, iv):
        orig(self, d, iv)
        self.emit(d, "_spent += 1")

    monkeypatch.setattr(fast._Gen, "explore", bad_explore)
    src = "controller w\nrepeat 4 { open else break }\nanswer majority(completed)\n"
    with pytest.raises(AssertionError, match="the fast engine and the compiled program differ"):
        _three_way(src, synthetic_store(3, n_questions=2, n_branches=8), None, range(2), Limits())


def _vm_agrees_on_random_programs(src, store_seed, nb, beta, caps):
    _native_engines_agree(src, store_seed, nb, beta, caps, specialised=False)


# the VM compiles nothing per program: many more examples than the specialised code's
test_vm_agrees_on_random_programs, test_vm_agrees_on_random_programs_more = (
    needs_numba(t) for t in default_and_slow(
        _vm_agrees_on_random_programs,
        FAST_SUBSET_CASES,
        int(os.environ.get("TTS_FUZZ_VM_EXAMPLES", "40")), int(os.environ.get("TTS_FUZZ_VM_EXAMPLES", "300")),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]))


@needs_numba
def test_vm_bails_exactly_on_runtime_errors():
    src = "\n".join(["controller z", "repeat 3 { read }", "let d = len(completed) // (opened - 3)",
                     "answer completed[d]"]) + "\n"
    store = synthetic_store(2, n_questions=2, n_branches=3)
    out, took, bailed = _three_way(src, store, None, range(2), Limits(), specialised=False)
    assert took and bailed == 4 and all(r[0] == "error" for r in out)


@needs_numba
def test_the_differential_detects_a_wrong_vm_op(monkeypatch):
    from tts_dsl.engines import bytecode

    monkeypatch.setitem(bytecode.OP, "ADDI", bytecode.OP["SUBI"])  # every int '+' runs as '-'
    src = ("controller w\nrepeat 4 { open else break }\nlet k = opened + 1\n"
           "if k > 4 { for b in branches { advance b } }\nanswer none\n")
    with pytest.raises(AssertionError, match="the VM and the compiled program differ"):
        _three_way(src, synthetic_store(3, n_questions=2, n_branches=8), None, range(2), Limits(), specialised=False)


def test_attributes_read_only_inside_a_query_source_are_maintained():
    """``A.walk`` skips a query's ``source``: the analysis still sees ``b.latest`` read only
    there (partition / for over a comprehension), so the compiled engine keeps ``latest``."""
    src = ("controller q\nrepeat 3 { open }\n"
           "let y, n = partition a in [c.latest for c in branches sorted by c.index desc] by a != none\n"
           "for a in [c.latest for c in branches where not c.finished] { pass }\nanswer y[0] if len(y) > 0 else none\n")
    out = _compare(src, synthetic_store(2, n_questions=2, n_branches=6), None, range(2), Limits())
    assert out is not None and all(r[0] != "error" for r in out)
