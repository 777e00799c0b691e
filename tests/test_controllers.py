"""The library of published controllers (issue 8): every program checks with its schedule
proved, spans its budget with beta, and follows its paper's rule.

Each rule is re-implemented here in plain Python, straight from the replay spec and the
store arrays (no tts-dsl code except the store, the branch order and ``stats.entropy``), and
compared episode by episode (answer and cost) with the compiled program. Trace-based tests
check the rule's stopping property directly on the actions a program took.
"""

from __future__ import annotations

import csv
import io
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tts_dsl import api, stats
from tts_dsl.evaluation.runner import run
from tts_dsl.lang.prover import prove
from tts_dsl.replay.store import Store, permutation, questions_from_json
from tts_dsl.replay.synthetic import synthetic_store

from conftest import MODELS, PROGRAMS, REPLAY

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "controllers.md"

LIBRARY = ["short_m_at_k", "first_finish", "consol", "answer_convergence", "certaindex"]
SEEDS = range(4)

_CHECKED: dict = {}


def program(name):
    if name not in _CHECKED:
        _CHECKED[name] = api.load(PROGRAMS / f"{name}.tts")
    return _CHECKED[name]


def episodes(name, store, beta=None, params=None, seeds=SEEDS, traced=False):
    """[(question, seed, events, answer, cost, reason)] for every episode."""
    exe = api.compile(program(name), beta, params, traced=True) if traced else \
        api.compile(program(name), beta, params)
    out = []
    if traced:
        res = run(exe, store, seeds, tracer=lambda q, s, ev, a, c, r: out.append((q, s, ev, a, c, r)))
    else:
        res = run(exe, store, seeds)
        for si, s in enumerate(seeds):
            for qi, q in enumerate(store.questions):
                out.append((q, s, None, None, res.cost[si][qi], None))
    assert res.error is None, res.error
    return out, exe.binding.values


# ----------------------------------------------------------- oracles (plain Python)

def vote(answers):
    """(winner, top1, top2), ties to the first seen (spec section 4)."""
    counts: dict = {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    if not counts:
        return None, 0, 0
    first = {a: i for i, a in reversed(list(enumerate(answers)))}
    winner = max(counts, key=lambda a: (counts[a], -first[a]))
    others = [c for a, c in counts.items() if a != winner]
    return winner, counts[winner], max(others, default=0)


def full_cost(q, j):
    """What a branch explored to its end has been charged."""
    return max(q.tokens[j], q.nprobes[j] * q.probe_freq)


def answer_after(q, j, explores):
    """The answer revealed by a branch's ``explores``-th exploration (1-based)."""
    return q.probes[j][explores - 1] if explores <= q.nprobes[j] else q.final[j]


def cost_after(q, j, explores):
    return explores * q.probe_freq if explores <= q.nprobes[j] else full_cost(q, j)


def oracle_short_m_at_k(q, order, k, m):
    """Lockstep k branches; stop after the round in which the m-th branch finishes."""
    br = list(order[:k])
    done_round = {j: q.nprobes[j] + 1 for j in br}  # the exploration that reveals the final
    need = min(m, len(br))
    rnd = 1
    while sum(1 for j in br if done_round[j] <= rnd) < need:
        rnd += 1
    finished = [j for j in br if done_round[j] <= rnd]
    first = sorted(finished, key=lambda j: (done_round[j], full_cost(q, j), br.index(j)))[:m]
    cost = sum(cost_after(q, j, min(rnd, done_round[j])) for j in br)
    return vote([q.final[j] for j in first])[0], cost


def oracle_consol(q, order, max_samples, p1, type1, type2, stop_on_h0=False):
    pool, cost = [], 0
    upper = math.log((1 - type2) / type1)
    lower = math.log(type2 / (1 - type1))
    for j in order[:max_samples]:
        pool.append(q.final[j])
        cost += q.tokens[j]
        w, a, b = vote(pool)
        llr = a * math.log(p1 / 0.5) + b * math.log((1 - p1) / 0.5)
        if llr >= upper or (stop_on_h0 and llr <= lower):
            return w, cost
    return vote(pool)[0], cost


def oracle_answer_convergence(q, order, n, c):
    answers, cost = [], 0
    for j in order[:n]:
        seen = [q.probes[j][0]]
        e = 1
        while True:
            if len(seen) >= c and len(set(seen[-c:])) == 1:
                answers.append(seen[-1])  # converged before finishing
                cost += e * q.probe_freq
                break
            if e < q.nprobes[j]:
                seen.append(q.probes[j][e])
                e += 1
            else:
                answers.append(q.final[j])
                cost += full_cost(q, j)
                break
    return vote(answers)[0], cost


def oracle_certaindex(q, order, n, threshold, patience):
    br = list(order[:n])
    calm, e = 0, 1
    while True:
        cur = [answer_after(q, j, min(e, q.nprobes[j] + 1)) for j in br]
        h = stats.entropy(cur) / math.log(len(cur)) if len(cur) >= 2 else 0.0
        calm = calm + 1 if h < threshold else 0
        if calm >= patience or all(e > q.nprobes[j] for j in br):
            return vote(cur)[0], sum(cost_after(q, j, min(e, q.nprobes[j] + 1)) for j in br)
        e += 1


def oracle(name, q, order, v):
    if name == "short_m_at_k":
        return oracle_short_m_at_k(q, order, v["k"], v["m"])
    if name == "first_finish":
        return oracle_short_m_at_k(q, order, v["n"], 1)
    if name == "consol":
        return oracle_consol(q, order, v["max_samples"], v["p1"], v["type1"], v["type2"], v["stop_on_h0"])
    if name == "answer_convergence":
        return oracle_answer_convergence(q, order, v["n"], v["c"])
    return oracle_certaindex(q, order, v["n"], v["threshold"], v["patience"])


def assert_matches_oracle(name, store, beta=None, params=None, seeds=SEEDS):
    eps, values = episodes(name, store, beta, params, seeds, traced=True)
    assert eps
    for q, s, _ev, ans, cost, reason in eps:
        assert reason == "answer", (name, q.index, s, reason)
        want = oracle(name, q, permutation(q.n_branches, s), values)
        assert (ans, cost) == want, (name, values, q.index, s)


# ------------------------------------------------------------------------- checking

@pytest.mark.parametrize("name", LIBRARY)
def test_checks_with_schedule_proved(name):
    checked = program(name)
    results = prove(checked)
    assert results, "every library controller has knobs"
    for r in results:
        assert r.status == "proved", (name, r.name, r.status, r.counterexample)
        assert r.range_status == "proved", (name, r.name, r.range_error)
    assert checked.source.lstrip().startswith("#")
    assert re.search(r"arXiv \d{4}\.\d{5}", checked.source), "the header cites the paper"


@pytest.mark.parametrize("name", LIBRARY)
def test_beta_spans_budget_small_to_large(name):
    store = synthetic_store(seed=11, n_questions=4, n_branches=128)
    lo, mid, hi = (api.evaluate_one(program(name), store, b, seeds=3) for b in (0.0, 0.5, 1.0))
    assert lo.error is None and mid.error is None and hi.error is None
    assert lo.avg_cost < mid.avg_cost < hi.avg_cost, (lo.avg_cost, mid.avg_cost, hi.avg_cost)
    assert hi.avg_cost > 4 * lo.avg_cost  # a real span, not a nudge


# --------------------------------------------------------- the rules, against oracles

@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("name", LIBRARY)
def test_rule_matches_plain_python(name, beta, small_store):
    assert_matches_oracle(name, small_store, beta)


KNOBS = {
    "short_m_at_k": lambda d: {"k": d.draw(st.integers(1, 40)), "m": d.draw(st.integers(1, 6))},
    "first_finish": lambda d: {"n": d.draw(st.integers(1, 40))},
    "consol": lambda d: {"max_samples": d.draw(st.integers(1, 40)),
                         "p1": d.draw(st.sampled_from([0.55, 0.6, 0.7, 0.8, 0.95])),
                         "type1": d.draw(st.sampled_from([0.001, 0.01, 0.05, 0.2, 0.5])),
                         "type2": d.draw(st.sampled_from([0.01, 0.1, 0.2, 0.4])),
                         "stop_on_h0": d.draw(st.booleans())},
    "answer_convergence": lambda d: {"n": d.draw(st.integers(1, 40)), "c": d.draw(st.integers(1, 20))},
    "certaindex": lambda d: {"n": d.draw(st.integers(2, 40)),
                             "threshold": d.draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 0.9, 1.0])),
                             "patience": d.draw(st.integers(1, 10))},
}


@pytest.mark.parametrize("name", LIBRARY)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), store_seed=st.integers(0, 10_000))
def test_rule_matches_plain_python_any_knobs(name, data, store_seed):
    """Any knob values (with k < m, tiny pools, extreme thresholds) on random stores."""
    knobs = KNOBS[name](data)
    nb = max(knobs.get("k", 0), knobs.get("n", 0), knobs.get("max_samples", 0))
    nb = data.draw(st.integers(max(1, nb - 3), nb + 3))  # sometimes fewer branches than asked
    store = synthetic_store(seed=store_seed, n_questions=2, n_branches=nb)
    assert_matches_oracle(name, store, None, knobs, seeds=range(2))


def test_first_finish_is_short_1_at_k(small_store):
    for n in (1, 5, 17):
        ffs, _ = episodes("first_finish", small_store, params={"n": n}, traced=True)
        sh, _ = episodes("short_m_at_k", small_store, params={"k": n, "m": 1}, traced=True)
        assert [(a, c) for *_, a, c, _r in ffs] == [(a, c) for *_, a, c, _r in sh]


def tiny_store(branches, gold="1"):
    """One question with hand-written branches ``(probes, tokens, final)``."""
    data = [{"question": "q", "gold_answer": gold, "probe_freq": 500,
             "each_branch": [[list(p), t, f] for p, t, f in branches]}]
    return Store("tiny", "tiny", "<tiny>", questions_from_json(data, "<tiny>"))


# A finishes in round 4 but writes a long tail after its last probe (as about a third of the
# real branches do); B and C both finish in round 6, B with fewer tokens than C.
TAIL = [(["1"] * 3, 5000, "1"), (["2"] * 5, 2600, "2"), (["3"] * 5, 2700, "3")]


def test_short_m_at_k_first_means_first_revealed_then_fewest_tokens():
    store = tiny_store(TAIL)
    q = store.questions[0]
    for s in range(6):  # every opening order of the three branches
        eps, _ = episodes("short_m_at_k", store, params={"k": 3, "m": 2}, seeds=[s], traced=True)
        (_q, _s, _ev, ans, cost, _r), = eps
        # the first two to finish are A (round 4) and B (round 6, shorter than C): a 1-1 tie
        # that goes to A, which finished first
        assert q.text(ans) == "1"
        assert cost == 5000 + 2600 + 2700
        eps, _ = episodes("short_m_at_k", store, params={"k": 3, "m": 1}, seeds=[s], traced=True)
        (_q, _s, _ev, ans, cost, _r), = eps
        assert q.text(ans) == "1" and cost == 5000 + 4 * 500 + 4 * 500
        eps, _ = episodes("first_finish", store, params={"n": 2}, seeds=[s], traced=True)
        (_q, _s, _ev, ans, cost, _r), = eps
        assert (ans, cost) == oracle_short_m_at_k(q, permutation(3, s), 2, 1)


def test_short_m_at_k_ties_within_a_round_go_to_fewer_tokens():
    store = tiny_store([(["7"] * 4, 2400, "7"), (["8"] * 4, 2100, "8"), (["9"] * 4, 2300, "9")])
    q = store.questions[0]
    for s in range(6):
        for name, params in (("short_m_at_k", {"k": 3, "m": 1}), ("first_finish", {"n": 3})):
            eps, _ = episodes(name, store, params=params, seeds=[s], traced=True)
            assert q.text(eps[0][3]) == "8", (name, s)
        eps, _ = episodes("short_m_at_k", store, params={"k": 3, "m": 2}, seeds=[s], traced=True)
        assert q.text(eps[0][3]) == "8"  # 8 and 9 tie 1-1; 8 is shorter


# ------------------------------------------------------- the rules, on the traces

def actions(ev):
    """The actions that did something (not those on an exhausted pool or a settled branch)."""
    return [e for e in ev if e[0] in ("open", "read", "advance", "prune") and e[5] not in ("exhausted", "no-op")]


@pytest.mark.parametrize("name,knob", [("short_m_at_k", "k"), ("first_finish", "n"),
                                       ("answer_convergence", "n"), ("certaindex", "n")])
@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_opens_k_branches_first_and_never_more(name, knob, beta, small_store):
    eps, v = episodes(name, small_store, beta, traced=True)
    for _q, _s, ev, *_ in eps:
        acts = actions(ev)
        opens = [e for e in acts if e[0] == "open"]
        assert len(opens) == min(v[knob], small_store.questions[0].n_branches)
        assert acts[:len(opens)] == opens  # all k opened up front, in parallel
        assert not any(e[0] == "read" for e in acts)
        assert ev[-1][0] == "end"


def explores(acts):
    """Per branch: (number of explorations, total tokens charged, finished?)."""
    per: dict = {}
    for e in acts:
        if e[0] in ("open", "advance"):
            n, c, f = per.get(e[1], (0, 0, False))
            per[e[1]] = (n + 1, c + e[3], f or e[5] is True)
    return per


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_short_m_at_k_stops_in_the_round_the_mth_branch_finishes(beta, small_store):
    eps, v = episodes("short_m_at_k", small_store, beta, traced=True)
    m = v["m"]
    for _q, _s, ev, ans, _c, _r in eps:
        acts = actions(ev)
        fin = [i for i, e in enumerate(acts) if e[5] is True]
        assert len(fin) >= m
        mth = fin[m - 1]
        # after the m-th finish only the rest of that round runs: advances of later-opened branches
        tail = acts[mth + 1:]
        assert all(e[0] == "advance" and e[1] > acts[mth][1] for e in tail)
        # lockstep: every unfinished branch was explored once per round, finished ones no more
        per = explores(acts)
        live = {n for n, _c, f in per.values() if not f}
        assert len(live) <= 1
        rounds = max(n for n, _c, _f in per.values())
        assert all(n == rounds for n, _c, f in per.values() if not f)
        # fewer than m had finished before the last round
        assert sum(1 for n, _c, f in per.values() if f and n < rounds) < m
        assert ans in {acts[i][2] for i in fin}


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_first_finish_answers_the_first_finisher(beta, small_store):
    eps, _v = episodes("first_finish", small_store, beta, traced=True)
    for _q, _s, ev, ans, cost, _r in eps:
        acts = actions(ev)
        per = explores(acts)
        rounds = max(n for n, _c, _f in per.values())
        done = {b: (c, b) for b, (n, c, f) in per.items() if f}
        assert done
        # it stopped in the first round in which any branch finished ...
        assert all(per[b][0] == rounds for b in done)
        # ... and answered the shortest of that round's finishers
        first = min(done, key=done.get)
        assert ans == [e[2] for e in acts if e[1] == first and e[5] is True][0]
        assert cost == sum(c for _n, c, _f in per.values())


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_consol_stops_exactly_when_the_test_first_accepts(beta, small_store):
    eps, v = episodes("consol", small_store, beta, traced=True)
    lp1, lp0 = math.log(v["p1"] / 0.5), math.log((1 - v["p1"]) / 0.5)
    bound = math.log((1 - v["type2"]) / v["type1"])
    stopped_early = 0
    for _q, _s, ev, ans, _c, _r in eps:
        acts = actions(ev)
        assert acts and all(e[0] == "read" for e in acts)  # whole branches, one at a time
        assert len(acts) <= v["max_samples"]
        pool, accepted = [], []
        for e in acts:
            pool.append(e[2])
            _w, a, b = vote(pool)
            accepted.append(a * lp1 + b * lp0 >= bound)
        assert not any(accepted[:-1])  # it never read past a decision
        # it stopped at a decision, or at the cap, or when the pool ran dry
        assert accepted[-1] or len(acts) == min(v["max_samples"], small_store.questions[0].n_branches)
        stopped_early += accepted[-1]
        assert ans == vote(pool)[0]
    assert stopped_early > 0  # the test does decide on this store


@pytest.mark.parametrize("beta", [0.0, 1.0])
def test_certaindex_stops_when_entropy_first_stays_low(beta, small_store):
    eps, v = episodes("certaindex", small_store, beta, traced=True)
    early = 0
    for _q, _s, ev, ans, _c, _r in eps:
        acts = actions(ev)
        # the current answers after each round; a round ends where the branch index stops rising
        cur, prev_b, rounds = {}, -1, []
        for e in acts:
            if e[1] <= prev_b:
                rounds.append(dict(cur))
            cur[e[1]] = e[2]
            prev_b = e[1]
        rounds.append(dict(cur))
        calm, stop_at = 0, None
        for i, r in enumerate(rounds):
            answers = [r[b] for b in sorted(r)]
            h = stats.entropy(answers) / math.log(len(answers))
            calm = calm + 1 if h < v["threshold"] else 0
            if calm >= v["patience"]:
                stop_at = i
                break
        if stop_at is not None:
            early += 1
            assert stop_at == len(rounds) - 1  # stopped at the first round the condition held
        else:  # otherwise it ran every branch to its end
            assert all(f for _n, _c, f in explores(acts).values())
        assert ans == vote([rounds[-1][b] for b in sorted(rounds[-1])])[0]
    assert early > 0


def test_no_library_program_hits_a_cap_on_the_synthetic_store():
    store = synthetic_store(seed=3, n_questions=8, n_branches=128)
    for name in LIBRARY:
        res = api.evaluate_one(program(name), store, 1.0, seeds=2)
        assert res.error is None
        assert res.ended == {"answer": res.episodes}, (name, res.ended)


# --------------------------------------------------- the documented table reproduces

def doc_rows():
    """The CSV block embedded in docs/controllers.md."""
    text = DOC.read_text()
    m = re.search(r"```csv\n(.*?)```", text, re.S)
    assert m, "docs/controllers.md embeds the table as a csv block"
    return list(csv.DictReader(io.StringIO(m.group(1))))


def test_doc_table_names_its_command_and_covers_the_library():
    text = DOC.read_text()
    cmd = re.search(r"```\n(tts-dsl compare .*?)```", text, re.S)
    assert cmd, "the doc names the command that produced its table"
    for name in LIBRARY + ["sc", "asc", "esc", "parallel_probe", "cmc"]:
        assert f"programs/{name}.tts" in cmd.group(1)
    assert "--beta 0,0.5,1" in cmd.group(1) and "--store ../shared/replay" in cmd.group(1)
    assert "--model" not in cmd.group(1)  # every model
    rows = doc_rows()
    have = {(r["program"], r["model"], float(r["beta"]) if r["beta"] else None) for r in rows}
    for model in MODELS:
        for name in LIBRARY + ["cmc"]:
            for beta in (0.0, 0.5, 1.0):
                assert (name, model, beta) in have, (name, model, beta)
        for name in ("sc", "asc", "esc", "parallel_probe"):
            assert (name, model, None) in have


def test_doc_listings_are_the_programs():
    """The doc shows each library program verbatim."""
    blocks = re.findall(r"```tts\n(.*?)```", DOC.read_text(), re.S)
    for name in LIBRARY:
        assert (PROGRAMS / f"{name}.tts").read_text() in blocks, name


def test_doc_baseline_rows_are_the_reference_figures():
    """The baselines in the doc table are the AutoTTS reference figures."""
    from conftest import REFERENCE

    if not REFERENCE.is_file():
        pytest.skip(f"needs {REFERENCE}")
    ref = {}
    for r in csv.DictReader(REFERENCE.read_text().splitlines()):
        ref[(r["model"], r["method"], r["params"])] = (float(r["accuracy"]), float(r["avg_cost"]))
    keys = {"sc": "n=64", "asc": "max_samples=64;threshold=0.95", "esc": "max_samples=64;window_size=8",
            "parallel_probe": "num_chains=64;T=40;prune_patience=7;warm_up=15"}
    n = 0
    for r in doc_rows():
        if r["program"] in keys or r["program"] == "cmc":
            params = keys.get(r["program"]) or f"beta={float(r['beta']):.1f}"
            acc, cost = ref[(r["model"], r["program"], params)]
            assert float(r["accuracy"]) == acc
            assert abs(float(r["avg_cost"]) - cost) < 0.01
            n += 1
    assert n == 4 * 7


@pytest.mark.shared
@pytest.mark.parametrize("name", LIBRARY)
def test_doc_table_reproduces(name):
    """The cheapest documented row of every controller, re-evaluated on the real store."""
    rows = [r for r in doc_rows() if r["program"] == name and float(r["beta"]) == 0.0
            and r["model"] == "Qwen3-8B"]
    assert len(rows) == 1
    r = rows[0]
    store = api.open_store(REPLAY, r["model"], "aime24")
    res = api.evaluate_one(program(name), store, 0.0)
    assert res.error is None
    assert res.accuracy == float(r["accuracy"])
    assert abs(res.avg_cost - float(r["avg_cost"])) < 0.01


@pytest.mark.slow
@pytest.mark.shared
def test_doc_table_reproduces_every_library_row():
    """Every library row of the documented table (60 evaluations, about a minute)."""
    stores = {m: api.open_store(REPLAY, m, "aime24") for m in MODELS}
    n = 0
    for r in doc_rows():
        if r["program"] not in LIBRARY:
            continue
        res = api.evaluate_one(program(r["program"]), stores[r["model"]], float(r["beta"]))
        assert res.error is None
        assert (res.accuracy, round(res.avg_cost, 3)) == (float(r["accuracy"]), float(r["avg_cost"])), r
        n += 1
    assert n == len(LIBRARY) * len(MODELS) * 3
