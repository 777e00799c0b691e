"""A short, readable trace sample of a program's first episode on a store (the search
split only), for the archive and for prompts."""

from __future__ import annotations


def _val(v, ty, q):
    if ty == "answer":
        return repr(q.text(v)) if v is not None else "none"
    if ty == "list[answer]" and isinstance(v, list):
        return "[" + ", ".join(repr(q.text(x)) if x is not None else "none" for x in v[:12]) + \
            (", ..." if len(v) > 12 else "") + "]"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and len(v) > 12:
        return repr(v[:12])[:-1] + ", ...]"
    return repr(v)


def render_events(events, q, max_events: int = 150) -> list[str]:
    out = []
    for ev in events[:max_events]:
        k = ev[0]
        if k in ("open", "read", "advance"):
            _, i, a, c, spent, fin, line = ev
            if fin in ("exhausted", "no-op"):
                out.append(f"L{line} {k}: {fin}")
            else:
                out.append(f"L{line} {k} b{i} -> {_val(a, 'answer', q)} (+{c} tokens, spent {spent})"
                           + (" finished" if fin is True else ""))
        elif k == "prune":
            _, i, _a, _c, spent, fin, line = ev
            out.append(f"L{line} prune b{i}" + (" (no-op)" if fin == "no-op" else ""))
        elif k == "set":
            _, name, v, spent, line, ty = ev
            out.append(f"L{line} {name} = {_val(v, ty, q)}")
        elif k == "bset":
            _, name, i, v, spent, line, ty = ev
            out.append(f"L{line} b{i}.{name} = {_val(v, ty, q)}")
        elif k == "iter":
            out.append(f"-- iteration {ev[1]} (spent {ev[2]})")
        elif k == "end":
            _, why, ans, spent, line = ev
            out.append(f"L{line} end ({why}): answer {_val(ans, 'answer', q)}, {spent} tokens")
        elif k == "trace":
            _, label, fields, spent, line, tys = ev
            vals = ", ".join(f"{n}={_val(v, t, q)}" for (n, v), t in zip(fields, tys))
            out.append(f"L{line} trace {label}: {vals}")
    if len(events) > max_events:
        out.append(f"... ({len(events) - max_events} more events)")
    return collapse(out)


def collapse(lines: list[str], keep: int = 2) -> list[str]:
    """Shorten runs of the same action on the same source line (64 opens in a row),
    ignoring the loop-iteration markers between them."""
    def key(ln):
        parts = ln.split(" ", 2)
        if ln.startswith("L") and len(parts) > 2 and parts[1] in ("open", "read", "advance", "prune"):
            return parts[0], parts[1]
        return None

    out: list[str] = []
    i = 0
    while i < len(lines):
        k = key(lines[i])
        if k is None:
            out.append(lines[i])
            i += 1
            continue
        run = [lines[i]]
        j = i + 1
        while j < len(lines) and (key(lines[j]) == k or lines[j].startswith("-- iteration")):
            if key(lines[j]) == k:
                run.append(lines[j])
            j += 1
        if len(run) > 2 * keep + 1:
            out += run[:keep] + [f"... {len(run) - 2 * keep} more '{k[0]} {k[1]}' ..."] + run[-keep:]
            i = j
        else:
            out.append(lines[i])
            i += 1
    return out


def trace_sample(checked, ref, beta, seed: int, questions=(0,), max_events: int = 150) -> str:
    from ..evaluation.runner import run
    from ..engines.python import compile_program
    from ..lang.limits import Limits
    from ..lang.schedule import bind

    store = ref.load()
    limits = Limits().with_(max_seconds=30.0)
    exe = compile_program(checked, bind(checked, beta), limits, traced=True)
    lines: list[str] = []

    def tracer(q, s, events, ans, cost, reason):
        ok = "correct" if (ans is not None and ans == q.gold) else "wrong"
        lines.append(f"# {store.label} question {q.index}, seed {s}, beta {beta}: answer "
                     f"{_val(ans, 'answer', q)} ({ok}), {cost if cost is not None else '?'} tokens, "
                     f"ended by {reason}")
        lines.extend(render_events(events or [], q, max_events))

    qs = [i for i in questions if i < len(store.questions)]
    res = run(exe, store, [seed], limits, questions=qs, keep_episodes=False, tracer=tracer)
    if res.error is not None:
        lines.append(f"runtime error: {res.error.message}")
    return "\n".join(lines) + "\n"
