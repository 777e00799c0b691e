"""The offline evolve proposer's structural search: the fragment library, structural
operators, crossover with name fix-up, diagnostic-guided repair, and the lineage each
proposal records."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tts_dsl.api import check
from tts_dsl.discovery.fragments import FragmentLibrary, Src, stmt_fragment
from tts_dsl.discovery.mutations import Structural, place, positions, scope_at
from tts_dsl.discovery.repair import MUTATE, REVERT, diagnostics_from_message, repair
from tts_dsl.lang import ast as A
from tts_dsl.lang.diagnostics import DiagnosticsError

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ["sc", "asc", "esc", "parallel_probe", "short_m_at_k", "first_finish", "consol", "answer_convergence",
         "certaindex"]


def prog(name):
    return (ROOT / "programs" / f"{name}.tts").read_text()


@pytest.fixture(scope="module")
def lib():
    lib = FragmentLibrary()
    for n in SEEDS:
        lib.add_program(n, check(prog(n)))
    return lib


def asc_gate():
    c = check(prog("asc"))
    outer = [n for n in A.walk(c.program.body) if isinstance(n, A.If)][0]
    return stmt_fragment(c, outer, "asc")


# ------------------------------------------------------------------ fragments
def test_fragment_library_indexes_kinds_types_and_free_names(lib):
    s = lib.summary()
    assert s["programs"] == len(SEEDS)
    assert s["statements"]["If"] >= 8 and s["statements"]["For"] >= 5
    assert {"bool", "int", "answer", "list[answer]", "votes"} <= set(s["expressions"])
    f = asc_gate()
    assert f.gate and f.node == "If" and not f.needs_loop
    assert f.free == {"threshold": "float"}  # v is declared inside the fragment, completed is state
    assert f.decls["threshold"] == ("param", "threshold: float in [0, 1] = 0.95")
    # expressions are typed, and filtered by the names in scope
    ff = check(prog("first_finish"))
    scope = scope_at(ff, Src(ff.source), ff.program.body[-1].span)[0]
    bools = lib.expressions("bool", scope)
    assert bools and all(set(f.free) <= set(scope) for f in bools)


def test_positions_know_scope_and_loops():
    pp = check(prog("parallel_probe"))
    ps = positions(pp, Src(pp.source))
    inner = [p for p in ps if p.in_loop and "winner" in p.scope]
    assert inner and all(p.scope["winner"] == "answer" and p.scope["step"] == "int" for p in inner)
    top = [p for p in ps if p.depth == 0]
    assert top and not any(p.in_loop for p in top) and "winner" not in top[0].scope


# ------------------------------------------------------------------ crossover
def test_transplant_asc_gate_into_parallel_probe_imports_the_param():
    pp = check(prog("parallel_probe"))
    src = Src(pp.source)
    pos = [p for p in positions(pp, src) if p.in_loop and p.depth == 1 and not p.after_jump][0]
    new, notes = place(pp.source, pp, asc_gate(), pos, random.Random(0))
    c = check(new)  # checks: the name fix-up worked
    assert "threshold" in {p.name for p in c.params}
    assert "beta_confidence(v.top1, v.top2) > threshold" in new
    assert "import param threshold" in notes


def test_transplant_maps_a_missing_name_to_a_same_typed_one():
    # PP's stop gate uses its var `stable`, its param `T` and the loop-local `winner`
    pp = check(prog("parallel_probe"))
    gate = [st for st in A.walk(pp.program.body) if isinstance(st, A.If) and "stable" in Src(pp.source).get(st.span)][0]
    f = stmt_fragment(pp, gate, "parallel_probe")
    assert f.free["winner"] == "answer" and f.decls["stable"][0] == "var"
    ff = check(prog("first_finish"))
    pos = [p for p in positions(ff, Src(ff.source)) if p.in_loop and not p.after_jump][0]
    for seed in range(20):
        got = place(ff.source, ff, f, pos, random.Random(seed))
        if got is None:
            continue
        c = check(got[0])
        assert c is not None
        assert any(n.startswith("winner->") or n == "import let winner" for n in got[1])


def test_structural_operators_make_checked_new_programs(lib):
    pool = {n: check(prog(n)) for n in SEEDS}
    made = {}
    for op in Structural.NAMES:
        for seed in range(40):
            if made.get(op, 0) >= 2:
                break
            rng = random.Random(seed)
            name = rng.choice(SEEDS)
            donor = pool[rng.choice(SEEDS)]
            s = Structural(rng, lib)
            new = getattr(s, op)(prog(name), pool[name], donor)
            if new is None or new == prog(name):
                continue
            try:
                check(new)
            except DiagnosticsError:
                continue  # the proposer repairs or reverts these
            made[op] = made.get(op, 0) + 1
    assert set(made) == set(Structural.NAMES), made


def test_gate_insert_adds_a_stopping_gate_inside_a_loop(lib):
    c = check(prog("short_m_at_k"))
    for seed in range(10):
        new = Structural(random.Random(seed), lib).gate_insert(c.source, c, None)
        if new is None:
            continue
        nc = check(new)
        gates = [n for n in A.walk(nc.program.body) if isinstance(n, A.If)
                 and any(isinstance(m, A.AnswerStmt) for m in A.walk(n))]
        assert len(gates) == 1 + len([n for n in A.walk(c.program.body) if isinstance(n, A.If)
                                      and any(isinstance(m, A.AnswerStmt) for m in A.walk(n))])
        return
    pytest.fail("no gate inserted")


def test_agg_change_turns_majority_into_weighted_votes(lib):
    c = check(prog("sc"))
    for seed in range(10):
        new = Structural(random.Random(seed), lib).agg_change(c.source, c, None)
        if new:
            assert "weighted_votes(" in new and ".winner" in new
            check(new)
            return
    pytest.fail("no aggregator change")


# ------------------------------------------------------------------ repair
def _diag(text):
    with pytest.raises(DiagnosticsError) as ei:
        check(text)
    return ei.value.errors[0]


def test_repair_unknown_name_imports_the_donor_declaration_or_maps_it():
    asc = check(prog("asc"))
    broken = prog("sc").replace("answer majority(completed)",
                                "if beta_confidence(2, 1) > threshold { answer majority(completed) }\n"
                                "answer majority(completed)")
    d = _diag(broken)
    assert d.code == "E301"
    fixed = set()
    for seed in range(10):
        new, note = repair(broken, d, random.Random(seed), None, asc)
        check(new)
        fixed.add(note.split(" ")[1])
    assert "import" in fixed  # the donor's param
    # no donor: the nearest name in scope
    typo = prog("sc").replace("repeat n {", "repeat nn {")
    new, note = repair(typo, _diag(typo), random.Random(0))
    assert "nn -> n" in note and check(new)


def test_repair_by_code():
    rng = random.Random(0)
    no_answer = "controller x\nrepeat 4 { read else break }\n"
    new, note = repair(no_answer, _diag(no_answer), rng)
    assert note.startswith("E401") and check(new)
    mismatch = "controller x\nparams {\n  n: int in [1, 128] = 4\n}\nlet f: int = 0.5 * n\nrepeat n { read else break }\nanswer majority(completed)\n"
    d = _diag(mismatch)
    new, note = repair(mismatch, d, rng)
    assert d.code == "E201" and "round(0.5 * n)" in new and check(new)
    unreachable = "controller x\nrepeat 4 { read else break }\nanswer majority(completed)\nanswer none\n"
    new, note = repair(unreachable, _diag(unreachable), rng)
    assert note.startswith("E402") and check(new)
    assert repair("controller x\nanswer none\n", {"code": "S101", "message": "never"}, rng)[0] == REVERT
    assert repair("controller x\nanswer none\n", {"code": "D002", "message": "same"}, rng)[0] == MUTATE


def test_repair_schedule_direction_and_range():
    from tts_dsl.discovery.validate import schedule_diagnostics

    rng = random.Random(0)
    wrong = prog("first_finish").replace("n: int increasing", "n: int decreasing")
    d = [x for x in schedule_diagnostics(check(wrong), []) if x.severity == "error"][0]
    assert d.code == "S001"
    new, note = repair(wrong, d, rng)
    assert "n: int increasing" in new and not schedule_diagnostics(check(new), [])
    out = prog("first_finish").replace("round(2 + 62 * beta)", "round(2 + 262 * beta)")
    d = [x for x in schedule_diagnostics(check(out), []) if x.severity == "error"][0]
    assert d.code == "S002"
    new, note = repair(out, d, rng)
    assert "clip(round(2 + 262 * beta), 1, 128)" in new
    assert not [x for x in schedule_diagnostics(check(new), []) if x.severity == "error"]


def test_diagnostics_are_read_back_from_the_repair_message():
    from tts_dsl.discovery.prompt import repair_message

    v = {"stage": "check", "diagnostics": [{"stage": "check", "severity": "error", "code": "E201", "line": 4,
                                            "col": 7, "message": "bad", "expected": "float", "found": "int"}]}
    ds = diagnostics_from_message(repair_message(v, 1, 2))
    assert ds == [{"stage": "check", "severity": "error", "code": "E201", "line": 4, "col": 7, "message": "bad",
                   "expected": "float", "found": "int"}]


# ------------------------------------------------------------------ the proposer
def _pool():
    from tts_dsl.discovery.validate import program_hash

    pool = [{"id": n, "source": prog(n), "area": 1.0} for n in SEEDS]
    return pool, {program_hash(check(p["source"]).program): p["id"] for p in pool}


def test_proposals_record_operators_parents_and_steps():
    from tts_dsl.discovery.config import ProposerConfig
    from tts_dsl.discovery.proposers import Context
    from tts_dsl.discovery.proposers.evolve import STRUCTURAL, EvolveProposer
    from tts_dsl.discovery.validate import extract_program

    pool, known = _pool()
    ev = EvolveProposer(ProposerConfig(kind="evolve"))
    structural = 0
    for r in range(14):
        rep = ev.propose([], Context(r, 0, 0, pool, known))
        src, _ = extract_program(rep.text)
        check(src)
        m = rep.meta
        assert m["operators"] and m["parents"] == rep.parents and rep.parents[0] in {p["id"] for p in pool}
        assert [s["op"] for s in m["steps"] if not s.get("reverted") and not s.get("marker")] == m["operators"]
        structural += m["structural"]
        if any(o == "transplant" for o in m["operators"]):
            assert len(rep.parents) == 2
        if r < 3:
            again = EvolveProposer(ProposerConfig(kind="evolve")).propose([], Context(r, 0, 0, pool, known))
            assert again.text == rep.text  # seeded by (run seed, round, attempt)
    assert structural >= 4
    assert len(ev.library.programs) == len(SEEDS)


def test_operator_weights_from_the_config():
    from tts_dsl.discovery.config import ProposerConfig
    from tts_dsl.discovery.proposers import Context, ProposerError
    from tts_dsl.discovery.proposers.evolve import EvolveProposer

    pool, known = _pool()
    ev = EvolveProposer(ProposerConfig(kind="evolve", operators={k: 0 for k in
                                       ("number", "compare", "subexpr", "param_cross", "betaify")}))
    for r in range(5):
        rep = ev.propose([], Context(r, 0, 0, pool, known))
        assert rep.meta["structural"] and not rep.meta["schedule_only"]
    with pytest.raises(ProposerError):
        EvolveProposer(ProposerConfig(kind="evolve", operators={"nope": 1}))


def test_a_smoke_rejection_reverts_the_last_operator():
    from tts_dsl.discovery.config import ProposerConfig
    from tts_dsl.discovery.prompt import repair_message
    from tts_dsl.discovery.proposers import Context
    from tts_dsl.discovery.proposers.evolve import EvolveProposer
    from tts_dsl.discovery.validate import extract_program

    pool, known = _pool()
    ev = EvolveProposer(ProposerConfig(kind="evolve"))
    for r in range(40):
        first = ev.propose([], Context(r, 0, 0, pool, known))
        if len(first.meta["operators"]) >= 2:
            break
    else:
        pytest.fail("no two-operator proposal")
    v = {"stage": "smoke", "diagnostics": [{"stage": "smoke", "severity": "error", "code": "S101", "line": 1,
                                            "col": 1, "message": "never answers correctly"}]}
    msgs = [{"role": "user", "content": "p"}, {"role": "assistant", "content": first.text},
            {"role": "user", "content": repair_message(v, 1, 2)}]
    second = ev.propose(msgs, Context(r, 1, 0, pool, known))
    assert second.meta["repair_of"] == "S101"
    assert any(s["op"] == "revert" for s in second.meta["steps"])
    src, _ = extract_program(second.text)
    assert src != extract_program(first.text)[0]
    check(src)


def test_the_library_depends_only_on_the_set_of_programs():
    a, b = FragmentLibrary(), FragmentLibrary()
    for n in SEEDS:
        a.add_program(n, check(prog(n)))
    for n in reversed(SEEDS):
        b.add_program(n, check(prog(n)))
    key = lambda fs: [(f.text, f.origin, f.free) for f in fs]  # noqa: E731
    assert key(a.statements()) == key(b.statements())
    assert key(a.expressions("bool")) == key(b.expressions("bool"))


def test_ancestry_shows_each_generation_and_the_diff_to_the_root():
    from tts_dsl.discovery.lineage import ancestry, render_ancestry

    asc = prog("asc")
    g1 = asc.replace("controller asc", "controller asc_e0").replace("answer majority(completed)",
                                                                     "answer votes(completed).winner")
    g2 = g1.replace("> threshold", ">= threshold")
    steps = lambda op, note: [{"meta": {"operators": [op], "steps": [{"op": op, "notes": [note]}]}}]  # noqa: E731
    recs = [{"id": 0, "source": g1, "parents": ["asc", "sc"], "attempts": steps("agg_change", "majority -> votes")},
            {"id": 1, "source": "x", "parents": ["sc"], "attempts": []},
            {"id": 2, "source": g2, "parents": ["c0000"], "attempts": steps("compare", "> -> >=")}]
    chain = ancestry("c0002", recs, {"asc": asc, "sc": prog("sc")})
    assert [c["id"] for c in chain] == ["asc", "c0000", "c0002"]
    assert chain[1]["donor"] == "sc" and chain[2]["operators"] == ["compare"]
    md = render_ancestry("c0002", recs, {"asc": asc, "sc": prog("sc")})
    assert "`asc` -> `c0000`: agg_change, donor `sc` (majority -> votes)" in md
    assert "-answer majority(completed)\n+answer votes(completed).winner" in md
    assert "controller" not in md.split("```diff")[1]  # renamed generations do not show as changes


def test_tidy_removes_what_nothing_reads_and_keeps_the_rest():
    from tts_dsl.discovery.mutations import tidy

    for n in SEEDS:  # the seed programs declare nothing unused
        assert tidy(prog(n), check(prog(n)), check)[2] == []
    pp = prog("parallel_probe")
    ff = prog("first_finish").replace("  n: int increasing", "  T: int in [1, 100] = 40\n  n: int increasing")
    ff = ff.replace("repeat n { open", "branch var off_track: int = 0\nrepeat n { open")
    ff = ff.replace("  let done =", "  let active = [b for b in branches where not b.pruned]\n  let done =")
    text, c, notes = tidy(ff, check(ff), check)
    assert sorted(notes) == ["branch var off_track", "let active", "param T"]
    assert text == prog("first_finish").replace("\nbranch var off_track: int = 0", "")
    assert "T:" in pp  # untouched input
