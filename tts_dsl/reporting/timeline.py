"""A decoded episode trace as a readable terminal timeline."""

from __future__ import annotations

import json


def _short(v, width: int = 14) -> str:
    if v is None:
        s = "none"
    elif isinstance(v, str):
        s = v
    elif isinstance(v, float):
        s = f"{v:.4g}"
    else:
        s = json.dumps(v, separators=(",", ":"))
    return s if len(s) <= width else s[: width - 1] + "…"


def _tok(n: int) -> str:
    return f"{n:,}"


def render_timeline(rec: dict, decisions: bool = False, variables: bool = True, max_events: int | None = None,
                    value_width: int = 40) -> str:
    """One episode as text: a header, one line per action (step, line, action, branch,
    revealed answer, tokens charged, cumulative cost), the variables each step changed,
    program ``trace`` events, and how the episode ended. ``iter`` is the iteration of the
    enclosing top-level loop; a ``-- loop at line N --`` line marks where one starts.

    Revealed answers equal to the episode's final answer are marked ``*``."""
    out = []
    beta = "" if rec.get("beta") is None else f", beta {rec['beta']:g}"
    out.append(f"{rec['program']} on {rec['model']}/{rec['dataset']}: question {rec['question']}, "
               f"seed {rec['seed']}{beta}")
    if rec.get("params"):
        out.append("params: " + ", ".join(f"{k}={_short(v, 12)}" for k, v in rec["params"].items()))
    verdict = "correct" if rec["correct"] else "wrong"
    if rec["ended"] == "error":
        verdict = "runtime error"
    out.append(f"answer {_short(rec['answer'], 30)} ({verdict}; gold {_short(rec['gold'], 30)}) · "
               f"{_tok(rec['cost'])} tokens · {rec['actions']} actions · {rec['opened']} branches opened")
    out.append("")
    out.append(f"{'step':>5} {'iter':>4} {'line':>4}  {'action':<8} {'branch':>6}  {'answer':<15} {'tokens':>7} "
               f"{'cost':>10}")
    final = rec["answer"]
    shown = 0
    pending: list[str] = []
    loop_line = None
    n_actions = sum(1 for e in rec["events"] if e["kind"] in ("open", "read", "advance", "prune"))

    def flush():
        cur = ""
        for item in pending:
            if cur and len(cur) + 2 + len(item) > 100:
                out.append(" " * 12 + cur)
                cur = ""
            cur = f"{cur}  {item}" if cur else item
        if cur:
            out.append(" " * 12 + cur)
        pending.clear()

    for ev in rec["events"]:
        if max_events is not None and shown >= max_events:
            flush()
            out.append(f"… {n_actions - shown} more actions (raise --max-events)")
            break
        k = ev["kind"]
        line = "" if ev.get("line") is None else str(ev["line"])
        if k in ("open", "read", "advance", "prune"):
            flush()
            shown += 1
            st = "" if ev["step"] is None else str(ev["step"])
            it = "" if ev.get("iter") is None else str(ev["iter"])
            st = f"{st:>5} {it:>4}"
            b = "-" if ev["branch"] is None else f"b{ev['branch']}"
            if ev["status"] != "ok":
                out.append(f"{st} {line:>4}  {k:<8} {b:>6}  ({ev['status']})")
                continue
            if k == "prune":
                out.append(f"{st} {line:>4}  {k:<8} {b:>6}  {'':<15} {'':>7} {_tok(ev['cost']):>10}")
                continue
            a = _short(ev["answer"])
            mark = "*" if final is not None and ev["answer"] == final else " "
            tail = ""
            if ev.get("finished"):
                tail = "  finished" if k != "read" else "  (read whole)"
            if k in ("open", "advance"):
                tail = f"  interval {ev.get('interval')}" + tail
            out.append(f"{st} {line:>4}  {k:<8} {b:>6} {mark}{a:<15} {_tok(ev['charged']):>7} "
                       f"{_tok(ev['cost']):>10}{tail}")
        elif k == "iter":
            flush()
            if ev["n"] == 0 or ev["line"] != loop_line:
                out.append(f"  -- loop at line {ev['line']} (cost so far {_tok(ev['cost'])}) --")
                loop_line = ev["line"]
        elif k == "set" and variables:
            pending.append(f"{ev['name']} = {_short(ev['value'], value_width)}")
        elif k == "bset" and variables:
            pending.append(f"b{ev['branch']}.{ev['name']} = {_short(ev['value'], value_width)}")
        elif k == "trace":
            flush()
            fields = ", ".join(f"{fk}={_short(fv, value_width)}" for fk, fv in ev["fields"].items())
            out.append(f"{'':>10} {line:>4}  trace \"{ev['label']}\" {fields}")
        elif k == "if" and decisions:
            arm = ev["arm"]
            what = "no branch taken" if arm is None else ("else" if arm == "else" else f"arm {arm} taken")
            pending.append(f"[if line {ev['line']}: {what}]")
    flush()
    why = {"answer": "answer statement", "action_cap": "action cap reached", "step_cap": "step cap reached",
           "end": "fell off the end", "error": f"runtime error: {rec.get('error')}"}.get(rec["ended"], rec["ended"])
    where = f" at line {rec['end_line']}" if rec.get("end_line") else ""
    ex = "; the pool was exhausted" if rec.get("pool_exhausted") else ""
    if rec["ended"] == "error":
        out.append(f"end: {why}; {_tok(rec['cost'])} tokens spent before it")
    else:
        out.append(f"end: {why}{where}{ex}; answer {_short(rec['answer'], 30)} ({verdict}), "
                   f"{_tok(rec['cost'])} tokens")
    return "\n".join(out)
