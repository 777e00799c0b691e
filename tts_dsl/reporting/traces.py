"""Episode traces: decode the interpreter's raw trace events into JSON records, write and
read them as JSONL, and validate them against the documented schema (``docs/traces.md``).

The compiled program, when compiled with ``traced=True``, appends tuples to a list (see
``tts_dsl.engines.python``); answers in them are per-question integer ids. Decoding turns ids
back into answer text (using the static type of each value), numbers the actions, keeps
only the variable assignments that changed a value, and adds a per-branch summary that
the timeline and the width-depth picture are drawn from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable

from ..replay.store import Question, permutation

SCHEMA = "tts-dsl/trace/1"
ACTIONS = ("open", "read", "advance", "prune")
END_REASONS = ("answer", "action_cap", "step_cap", "end", "error")


# ------------------------------------------------------------------ values
def _split_type(ty: str | None):
    if ty and ty.startswith("list[") and ty.endswith("]"):
        return "list", ty[5:-1]
    return ty, None


def _num(x):
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return x


def decode_value(v, ty: str | None, answers: list):
    """A runtime value -> JSON value: answer ids become answer text (``None`` stays null),
    votes records become objects, non-finite floats become the strings inf/-inf/nan."""
    head, arg = _split_type(ty)
    if head == "list":
        if not isinstance(v, (list, tuple)):
            return _num(v)
        return [decode_value(x, arg, answers) for x in v]
    if head == "answer":
        return None if v is None else (answers[v] if isinstance(v, int) and 0 <= v < len(answers) else str(v))
    if head in ("votes", "weighted_votes") and isinstance(v, tuple) and len(v) == 3:
        w, t1, t2 = v
        return {"winner": decode_value(w, "answer", answers), "top1": _num(t1), "top2": _num(t2)}
    if isinstance(v, tuple):
        return [_num(x) for x in v]
    if isinstance(v, bool) or v is None or isinstance(v, (int, str)):
        return v
    if isinstance(v, float):
        return _num(v)
    return str(v)


# ----------------------------------------------------------------- decoding
@dataclass
class EpisodeMeta:
    program: str
    file: str | None
    model: str
    dataset: str
    beta: float | None
    params: dict


def decode_episode(events: list, question: Question, seed: int, answer, cost, reason: str,
                   meta: EpisodeMeta, changes_only: bool = True, decisions: bool = True,
                   error: str | None = None) -> dict:
    """Raw events of one episode -> one JSON-able trace record (see ``docs/traces.md``)."""
    ans_text = question.answers
    order = permutation(question.n_branches, seed)
    pf = question.probe_freq
    records = []
    branches: dict[int, dict] = {}
    last_vals: dict = {}
    step = 0
    it = None
    exhausted = False
    end_line = None

    def branch(i):
        b = branches.get(i)
        if b is None:
            src = order[i]
            b = branches[i] = {
                "index": i, "source": src, "tokens": question.tokens[src], "n_probes": question.nprobes[src],
                "mode": None, "revealed": [], "final_revealed": False, "finished": False, "pruned": False,
                "pruned_after": None, "charged": 0, "opened_at": None,
            }
        return b

    for ev in events:
        kind = ev[0]
        if kind in ACTIONS:
            k, bi, aid, charged, spent, flag = ev[:6]
            line = ev[6] if len(ev) > 6 else None
            status = "ok"
            if flag in ("exhausted", "no-op"):
                status = flag
            else:
                step += 1
            rec = {"kind": k, "step": step if status == "ok" else None, "iter": it, "line": line,
                   "branch": bi, "answer": decode_value(aid, "answer", ans_text), "charged": charged,
                   "cost": spent, "status": status}
            if status == "exhausted":
                exhausted = True
            if bi is not None and status == "ok":
                b = branch(bi)
                if k in ("open", "read"):
                    b["opened_at"] = step
                    b["mode"] = "probe" if k == "open" else "read"
                if k in ("open", "advance"):
                    fin = bool(flag)
                    b["revealed"].append(rec["answer"])
                    b["finished"] = fin
                    b["final_revealed"] = fin
                    rec["interval"] = len(b["revealed"])
                    rec["finished"] = fin
                elif k == "read":
                    b["finished"] = True
                    b["final_revealed"] = True
                    b["revealed"] = [rec["answer"]]
                    rec["finished"] = True
                else:  # prune
                    b["pruned"] = True
                    b["pruned_after"] = len(b["revealed"])
                    rec["answer"] = None
                b["charged"] += charged
            records.append(rec)
        elif kind == "set":
            _, name, val, spent = ev[:4]
            line = ev[4] if len(ev) > 4 else None
            ty = ev[5] if len(ev) > 5 else None
            dv = decode_value(val, ty, ans_text)
            if changes_only and name in last_vals and last_vals[name] == dv:
                continue
            last_vals[name] = dv
            records.append({"kind": "set", "name": name, "value": dv, "type": ty, "iter": it, "line": line,
                            "cost": spent})
        elif kind == "bset":
            _, name, bi, val, spent = ev[:5]
            line = ev[5] if len(ev) > 5 else None
            ty = ev[6] if len(ev) > 6 else None
            dv = decode_value(val, ty, ans_text)
            key = (name, bi)
            if changes_only and key in last_vals and last_vals[key] == dv:
                continue
            last_vals[key] = dv
            records.append({"kind": "bset", "name": name, "branch": bi, "value": dv, "type": ty, "iter": it,
                            "line": line, "cost": spent})
        elif kind == "trace":
            _, label, fields, spent = ev[:4]
            line = ev[4] if len(ev) > 4 else None
            tys = ev[5] if len(ev) > 5 else [None] * len(fields)
            records.append({"kind": "trace", "label": label, "iter": it, "line": line, "cost": spent,
                            "fields": {k: decode_value(v, t, ans_text) for (k, v), t in zip(fields, tys)}})
        elif kind == "if":
            _, arm, spent, line = ev
            if decisions:
                records.append({"kind": "if", "arm": arm, "iter": it, "line": line, "cost": spent})
        elif kind == "iter":
            _, n, spent, line = ev
            it = n
            records.append({"kind": "iter", "n": n, "line": line, "cost": spent})
        elif kind == "end":
            end_line = ev[4] if len(ev) > 4 else None
    for i, rec in enumerate(records):
        rec["i"] = i
    final_text = decode_value(answer, "answer", ans_text)
    gold = ans_text[question.gold] if 0 <= question.gold < len(ans_text) else None
    return {
        "schema": SCHEMA,
        "program": meta.program, "file": meta.file, "model": meta.model, "dataset": meta.dataset,
        "beta": meta.beta, "params": {k: _num(v) for k, v in meta.params.items()},
        "question": question.index, "seed": seed, "probe_freq": pf,
        "answer": final_text, "gold": gold, "correct": final_text is not None and final_text == gold,
        "cost": cost, "ended": reason, "end_line": end_line, "error": error, "pool_exhausted": exhausted,
        "actions": step, "opened": len(branches),
        "branches": [branches[i] for i in sorted(branches)],
        "events": records,
    }


# -------------------------------------------------------------- selections
def parse_selection(spec: str | None, n: int, what: str) -> list[int] | None:
    """``None``/``all`` -> all; ``3``; ``0,2,5``; ``0-9`` (inclusive ranges); mixes of them.
    Raises ``ValueError`` naming ``what`` for bad specs or indices outside ``0..n-1``."""
    if spec is None or spec.strip().lower() == "all":
        return list(range(n))
    out: list[int] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                a, b = part.split("-", 1)
                lo, hi = int(a), int(b)
                if hi < lo:
                    raise ValueError
                vals = range(lo, hi + 1)
            else:
                vals = [int(part)]
        except ValueError:
            raise ValueError(f"bad {what} selection {part!r}: use 3, 0,2,5 or 0-9") from None
        for v in vals:
            if not 0 <= v < n:
                raise ValueError(f"{what} {v} is out of range: there are {n} ({what}s 0..{n - 1})")
            if v not in out:
                out.append(v)
    if not out:
        raise ValueError(f"empty {what} selection {spec!r}")
    return out


# ------------------------------------------------------------------ running
def trace_episodes(exe_traced, store, questions: Iterable[int], seeds: Iterable[int], limits=None,
                   file: str | None = None, changes_only: bool = True, decisions: bool = True) -> list[dict]:
    """Run the selected episodes of a traced executable and return their trace records,
    in (seed, question) order.

    On a runtime error of the program, raises :class:`TraceError` carrying the diagnostic
    and the records so far, the last one being the failing episode up to the error
    (``ended: "error"``, ``error``: the message)."""
    from ..evaluation.runner import run

    if not exe_traced.traced:
        raise ValueError("trace_episodes needs an executable compiled with traced=True")
    meta = EpisodeMeta(exe_traced.name, file, store.model, store.dataset, exe_traced.binding.beta,
                       dict(exe_traced.binding.values))
    out: list[dict] = []
    questions, seeds = list(questions), list(seeds)

    def tracer(q, s, events, ans, cost, reason):
        if reason == "error":  # the runner reports the failing episode: its cost so far
            cost = max((ev[4] for ev in events if ev[0] in ACTIONS), default=0)
        out.append(decode_episode(events, q, s, ans, cost, reason, meta, changes_only, decisions))

    res = run(exe_traced, store, seeds, limits, questions=questions, keep_episodes=False, tracer=tracer)
    if res.error is not None:
        if out and out[-1]["ended"] == "error":
            out[-1]["error"] = res.error.message
        raise TraceError(res.error, out)
    return out


class TraceError(Exception):
    """A runtime error while tracing: ``diagnostic`` and the ``records`` written so far."""

    def __init__(self, diagnostic, records=None):
        self.diagnostic = diagnostic
        self.records = records or []
        super().__init__(diagnostic.message)


def write_jsonl(records: Iterable[dict], fh) -> int:
    n = 0
    for r in records:
        fh.write(json.dumps(r, separators=(",", ":"), allow_nan=False))
        fh.write("\n")
        n += 1
    return n


def read_jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# --------------------------------------------------------------- validation
def validate_record(rec: dict) -> list[str]:
    """Problems with one trace record (empty list: valid): its structure against the published
    JSON Schema ``tts_dsl/schemas/trace.v1.json`` (needs ``jsonschema``), then the invariants a
    schema cannot state: ``i`` counts events, costs never decrease, action costs add up to the
    episode cost, steps count the actions, ``correct`` is ``answer == gold``."""
    from ..schemas import problems as schema_problems

    problems = schema_problems("trace", rec)
    if problems:
        return problems
    last_cost = 0
    total = 0
    steps = 0
    for j, ev in enumerate(rec["events"]):
        if ev["i"] != j:
            problems.append(f"events[{j}]: 'i' is {ev['i']!r}")
        c = ev["cost"]
        if c < last_cost:
            problems.append(f"events[{j}]: cost decreased ({last_cost} -> {c})")
        last_cost = c
        if ev["kind"] in ACTIONS and ev["status"] == "ok":
            steps += 1
            if ev["step"] != steps:
                problems.append(f"events[{j}]: step {ev['step']!r}, expected {steps}")
            total += ev["charged"]
            if c != total:
                problems.append(f"events[{j}]: cost {c} is not the sum of charges ({total})")
    if not problems:
        if total != rec["cost"]:
            problems.append(f"record: cost {rec['cost']} differs from the sum of charges {total}")
        if steps != rec["actions"]:
            problems.append(f"record: actions {rec['actions']} but {steps} action events")
        if rec["correct"] != (rec["answer"] is not None and rec["answer"] == rec["gold"]):
            problems.append("record: 'correct' disagrees with answer and gold")
    return problems


# ------------------------------------------------------ traces for eval tasks
def trace_tasks(tasks, fh, questions_spec: str | None = None, seeds_spec: str | None = "0",
                n_seeds: int | None = None) -> int:
    """Write JSONL trace records for the selected episodes of every evaluation task (a
    :class:`tts_dsl.evaluation.sweep.Task`), in task order, then (seed, question) order.

    Runs in this process, separately from the (possibly parallel) evaluation: tracing never
    changes an evaluation's numbers. Tasks whose params fail to bind are skipped (the
    evaluation reports them). Returns the number of records written."""
    from ..evaluation.sweep import _checked
    from ..engines.python import compile_program
    from ..lang.diagnostics import DiagnosticsError
    from ..lang.schedule import bind

    n = 0
    for t in tasks:
        store = t.store.load()
        qs = parse_selection(questions_spec, len(store.questions), "question")
        ss = parse_selection(seeds_spec, n_seeds if n_seeds is not None else len(t.seeds), "seed")
        checked = _checked(t.source, t.file, t.limits)
        try:
            exe = compile_program(checked, bind(checked, t.beta, dict(t.params)), t.limits, traced=True)
            recs = trace_episodes(exe, store, qs, ss, t.limits, file=t.file)
        except DiagnosticsError:
            continue
        except TraceError as ex:  # keep the episodes up to and including the failing one
            recs = ex.records
        n += write_jsonl(recs, fh)
    return n
