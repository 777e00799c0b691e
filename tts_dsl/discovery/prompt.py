"""Prompts, built from stored state only (the seed programs and the candidate records,
which hold search-split results: the held-out split never reaches this module), within a
character budget."""

from __future__ import annotations

from .records import Attempt, Candidate, SeedProgram, as_candidates, as_seeds

SYSTEM = ("You design test-time-scaling controllers in the .tts language. You reply with exactly one "
          "whole program in a fenced ```tts block.")

TASK = """## Task

Write a new `.tts` controller that decides, for one question at a time, when to open reasoning
branches, advance them, prune them, stop and answer. It is replayed on pre-sampled branches
(answers revealed every `interval_tokens` tokens) and scored by accuracy (percent of questions
answered with the gold answer, averaged over ordering seeds) and cost (mean tokens per question).

- Maximise accuracy and minimise tokens: candidates are ranked by the area under their
  accuracy-cost frontier over the beta grid {betas} (mean over stores of the area of each
  store's best-accuracy-within-budget curve on a log-cost axis; higher is better).
- `beta` in [0, 1] is the budget dial: knobs in `params` are functions of `beta`, and more beta
  should buy more accuracy for more tokens. Declare each knob's direction (`increasing`,
  `decreasing`, `constant`); directions and ranges are proved, and a violated claim is rejected.
- The program must generalise: it is finally evaluated on a held-out split you never see. Do not
  tune constants to the figures below; prefer robust mechanisms.
- Every proposal is checked in stages (parse, check, schedule proof, smoke run, full sweep); a
  rejected one comes back to you with diagnostics (stage, code, line:col, message, hint).
"""

OUTPUT = """## Your reply

Reply with one whole program (not a diff) in a single fenced block:

```tts
controller my_controller
...
```
You may add a short explanation before the block."""


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 40)].rstrip() + f"\n... ({len(text) - limit + 40} characters cut)"


def curve_table(entry: Candidate | SeedProgram) -> str:
    """Per beta: mean accuracy and cost over the search stores, plus per-store accuracy."""
    curves = entry.curves.stores if entry.curves is not None else {}
    if not curves:
        return "(not evaluated)"
    labels = list(curves)
    n = len(next(iter(curves.values())))
    head = "beta | mean acc % | mean tokens | " + " | ".join(f"acc {lb}" for lb in labels)
    rows = [head]
    for i in range(n):
        rs = [curves[lb][i] for lb in labels]
        if any(r.get("error") or r.get("accuracy") is None for r in rs):
            rows.append(f"{rs[0].get('beta')} | error: {next(r.get('error') for r in rs if r.get('error'))}")
            continue
        ma = sum(r["accuracy"] for r in rs) / len(rs)
        mc = sum(r["avg_cost"] for r in rs) / len(rs)
        b = rs[0].get("beta")
        rows.append(f"{'-' if b is None else b} | {ma:.2f} | {mc:,.0f} | " + " | ".join(f"{r['accuracy']:.2f}" for r in rs))
    s = entry.score
    if s is not None:
        rows.append(f"frontier area {s.area:.3f}; best mean accuracy {s.best_accuracy}")
    return "\n".join(rows)


def _entry_block(title: str, e: Candidate | SeedProgram, pc: dict, with_trace: bool) -> str:
    out = [f"### {title}", "", "```tts", _trim(e.source.rstrip(), pc["program_chars"]), "```", "",
           curve_table(e)]
    trace = e.trace if isinstance(e, Candidate) else None  # seed programs have no trace sample
    if with_trace and trace:
        out += ["", "Trace excerpt (first search store, seed 0, first question):", "```",
                _trim(trace, pc["trace_chars"]), "```"]
    return "\n".join(out)


def _failure_block(r: Candidate, pc: dict) -> str:
    last = r.attempts[-1] if r.attempts else Attempt(0)
    v = last.validation or {}
    out = [f"### Candidate {r.label}: rejected at stage `{v.get('stage') or r.status}`"]
    if r.source:
        out += ["", "```tts", _trim(r.source.rstrip(), pc["program_chars"] // 2), "```"]
    for d in (v.get("diagnostics") or [])[:4]:
        out.append(f"- {d.get('stage')} {d.get('code')} at {d.get('line')}:{d.get('col')}: {d.get('message')}"
                   + (f" (hint: {d['hint']})" if d.get("hint") else ""))
    if last.error:
        out.append(f"- proposer error: {last.error}")
    return "\n".join(out)


def build_prompt(cfg, langref: str, seeds: list, records: list) -> str:
    """``seeds``: the seed programs, ``records``: the candidate records, as dataclasses or as
    the dicts of ``state.json`` and ``candidates.jsonl``."""
    seeds, records = as_seeds(seeds), as_candidates(records)
    pc = cfg.prompt
    budget = int(pc["budget_chars"])
    betas = ", ".join(f"{b:g}" for b in cfg.betas)
    head = [TASK.format(betas=betas), langref]
    tail = [OUTPUT]
    used = sum(len(x) for x in head + tail) + 200
    sections: dict[str, list[str]] = {"seeds": [], "top": [], "recent": [], "failures": []}

    def add(section: str, text: str) -> None:
        nonlocal used
        if used + len(text) + 2 <= budget:
            sections[section].append(text)
            used += len(text) + 2

    ok = [r for r in records if r.ok and r.score is not None]
    top = sorted(ok, key=lambda r: (-r.score.area, r.id))[: int(pc["top_k"])]
    top_ids = {r.id for r in top}
    recent = [r for r in reversed(ok) if r.id not in top_ids][: int(pc["recent"])]
    fails = [r for r in reversed(records) if not r.ok][: int(pc["failures"])]
    # priority: the best candidates, then failures, then recent ones, then the seed programs
    for r in top:
        add("top", _entry_block(f"Candidate {r.label} (parents: {', '.join(map(str, r.parents)) or '-'})",
                                r, pc, True))
    for r in fails:
        add("failures", _failure_block(r, pc))
    for r in recent:
        add("recent", _entry_block(f"Candidate {r.label}", r, pc, False))
    if pc.get("seed_programs", True):
        for s in seeds:
            add("seeds", _entry_block(f"Seed program {s.id}", s, pc, not records))
    body = list(head)
    if sections["seeds"]:
        body += ["## Seed programs (search-split results)"] + sections["seeds"]
    if sections["top"]:
        body += ["## Best candidates so far (by frontier area)"] + sections["top"]
    if sections["recent"]:
        body += ["## Most recent candidates"] + sections["recent"]
    if sections["failures"]:
        body += ["## Recent failures"] + sections["failures"]
    if not records:
        body.append("No candidates yet: this is the first round.")
    return "\n\n".join(body + tail)


def repair_message(validation: dict, attempt: int, max_repairs: int, error: str | None = None) -> str:
    if error:
        return (f"The previous request failed ({error}). Reply with one whole program in a ```tts block "
                f"(repair {attempt} of {max_repairs}).")
    lines = [f"Your program was rejected at stage `{validation.get('stage')}` "
             f"(repair {attempt} of {max_repairs}). Diagnostics:", ""]
    for d in validation.get("diagnostics") or []:
        lines.append(f"- stage {d.get('stage')}, {d.get('severity', 'error')} {d.get('code')} at line "
                     f"{d.get('line')}, col {d.get('col')}: {d.get('message')}")
        if d.get("expected") or d.get("found"):
            lines.append(f"  expected {d.get('expected') or '-'}, found {d.get('found') or '-'}")
        if d.get("hint"):
            lines.append(f"  hint: {d['hint']}")
        if d.get("rendered"):
            lines += ["  ```", *("  " + x for x in d["rendered"].splitlines()), "  ```"]
    lines += ["", "Fix the problem and reply with the whole corrected program in one ```tts block."]
    return "\n".join(lines)
