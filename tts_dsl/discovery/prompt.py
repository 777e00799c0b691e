"""Prompts, built from stored state only (the seed programs and the candidate records), within
a character budget.

Only *search-part* fields of an entry are read here: ``source``, ``curves``, ``score``,
``screen``, ``trace``, ``edit``, ``attempts`` (their validation diagnostics) and the bookkeeping
fields. The validation part (``validation_part``) and the held-out results never reach this
module's output (a test plants a marker there and looks for it in the prompt).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .records import Attempt, Candidate, SeedProgram, as_candidates, as_seeds

SYSTEM = ("You design test-time-scaling controllers in the .tts language. You reply either with one "
          "whole program in a fenced ```tts block, or with SEARCH/REPLACE edit blocks against a named "
          "parent program.")

TASK = """## Task

Write a new `.tts` controller that decides, for one question at a time, when to open reasoning
branches, advance them, prune them, stop and answer. It is replayed on pre-sampled branches
(answers revealed every `interval_tokens` tokens) and scored by accuracy (percent of questions
answered with the gold answer, averaged over ordering seeds) and cost (mean tokens per question).

- Maximise accuracy and minimise tokens over the beta grid {betas}. {score}
- `beta` in [0, 1] is the budget dial: knobs in `params` are functions of `beta`, and more beta
  should buy more accuracy for more tokens. Declare each knob's direction (`increasing`,
  `decreasing`, `constant`); directions and ranges are proved, and a violated claim is rejected.
- The program must generalise: the winner is judged on questions you never see. Do not tune
  constants to the figures below; prefer robust mechanisms (a new way to decide when to stop,
  which branch to advance or prune, how to aggregate) over schedule tweaks.
- Every proposal is checked in stages (parse, check, schedule proof, smoke run, a cheap screen,
  the full evaluation); a rejected one comes back to you with diagnostics (stage, code,
  line:col, message, hint).
"""

OLD_SCORE = ("Candidates are ranked by the area under their accuracy-cost frontier (mean over stores of "
             "the area of each store's best-accuracy-within-budget curve on a log-cost axis; higher is better).")

WHOLE = """Reply with one whole program in a single fenced block:

```tts
controller my_controller
...
```"""

DIFF = """Reply with SEARCH/REPLACE blocks that edit a parent program: first a line naming the parent,
then one or more blocks. Each SEARCH part must quote lines of that parent's source exactly (it
must occur once); it is replaced by the REPLACE part. Blocks apply in order.

PARENT: {parent}
<<<<<<< SEARCH
    (lines copied from the parent)
=======
    (the new lines)
>>>>>>> REPLACE"""


@dataclass
class PromptView:
    """What the loop adds to a prompt beyond the history: the score's definition, the facts of
    the search stores, the archive's cells, the named parent and inspirations from other cells."""

    score_definition: str | None = None
    store_facts: dict | None = None
    cells: str | None = None
    parent: Candidate | SeedProgram | None = None
    inspirations: list = field(default_factory=list)


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 40)].rstrip() + f"\n... ({len(text) - limit + 40} characters cut)"


def _score_value(s) -> float | None:
    if s is None:
        return None
    v = getattr(s, "hv", None)
    return float(v if v is not None else s.area)


def entry_name(e: Candidate | SeedProgram) -> str:
    """The id a reply uses to name a program as its parent."""
    return e.label if isinstance(e, Candidate) else e.id


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
            rows.append(f"{rs[0].get('beta')} | error: {next((r.get('error') for r in rs if r.get('error')), '-')}")
            continue
        ma = sum(r["accuracy"] for r in rs) / len(rs)
        mc = sum(r["avg_cost"] for r in rs) / len(rs)
        b = rs[0].get("beta")
        rows.append(f"{'-' if b is None else b} | {ma:.2f} | {mc:,.0f} | " + " | ".join(f"{r['accuracy']:.2f}" for r in rs))
    s = entry.score
    if s is not None:
        rows.append(f"score {_score_value(s):.3f}; best mean accuracy {s.best_accuracy}")
    return "\n".join(rows)


def _entry_block(title: str, e: Candidate | SeedProgram, pc: dict, with_trace: bool, chars: int | None = None) -> str:
    out = [f"### {title}", "", "```tts", _trim(e.source.rstrip(), chars or pc["program_chars"]), "```", "",
           curve_table(e)]
    trace = e.trace if isinstance(e, Candidate) else None  # seed programs have no trace sample
    if with_trace and trace:
        out += ["", "Trace excerpt (first search store, seed 0, one search question):", "```",
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


def store_facts_text(facts: dict | None) -> str:
    """The search stores as a proposer should know them: questions, branches per question,
    the probe interval, and the share of junk revealed answers."""
    if not facts:
        return ""
    lines = ["## The data (search part)", "",
             "store | questions | branches per question | probe interval (tokens) | junk answers (ERR, ?, empty) "
             "| other non-numeric answers"]
    for label, f in facts.items():
        ex = ", ".join(f"`{a}`" for a in f.get("text_examples") or [])
        lines.append(f"{label} | {f.get('questions')} | {f.get('branches')} | {f.get('interval_tokens')} | "
                     f"{100 * f.get('junk_share', 0):.1f}% | {100 * f.get('text_share', 0):.1f}%"
                     + (f" (e.g. {ex})" if ex else ""))
    lines += ["", "A revealed answer (`b.answer`, votes, agreement) can be junk: `ERR` (no parsable answer), `?`, "
              "an empty string, or a word such as `No`. Junk answers agree with each other, so a controller "
              "that counts votes or stops on agreement should not count them as evidence."]
    return "\n".join(lines)


def _score_text(r, by_name: dict) -> str:
    """A record's outcome in a few words, with its score change against its parent."""
    if r.status == "ok" and r.score is not None:
        v = _score_value(r.score)
        par = by_name.get(r.parents[0]) if r.parents else None
        pv = _score_value(par.score) if par is not None and par.score is not None else None
        return f"ok, score {v:.2f}" + (f" ({v - pv:+.2f} vs {r.parents[0]})" if pv is not None else "")
    if r.status == "screened":
        sv = _score_value_d((r.screen or {}).get("score"))
        par = by_name.get(r.parents[0]) if r.parents else None
        pv = _score_value_d((par.screen or {}).get("score")) if par is not None and par.screen else None
        s = "screened out (its cheap screen could not enter the archive"
        if sv is not None:
            s += f"; screen score {sv:.2f}" + (f" vs {pv:.2f} for {r.parents[0]}" if pv is not None else "")
        return s + ")"
    if r.status == "duplicate":
        return f"duplicate of {r.duplicate_of}"
    last = r.attempts[-1] if r.attempts else Attempt(0)
    v = last.validation or {}
    codes = ", ".join(sorted({d.get("code") for d in v.get("diagnostics") or [] if d.get("code")}))
    return f"{r.status} at {r.stage}" + (f" ({codes})" if codes else "")


def _score_value_d(d) -> float | None:
    if not d:
        return None
    v = d.get("hv")
    return float(v if v is not None else d.get("area", 0.0))


def note_lines(records: list, seeds: list, n: int) -> list[str]:
    """The note carried across rounds: per recent proposal, what it was (proposer, diff or
    whole program on which parent, lines changed, evolve operators) and what it did."""
    by_name = {s.id: s for s in seeds}
    by_name.update({f"seed:{s.id}": s for s in seeds})
    by_name.update({r.label: r for r in records})
    out = []
    for r in records[-n:] if n > 0 else []:
        what = []
        e = r.edit or {}
        if e.get("kind") == "diff":
            what.append(f"diff on {e.get('parent')}" + (f" ({e.get('blocks')} block(s), +{e.get('added', 0)}/-"
                                                       f"{e.get('removed', 0)} lines)" if e.get("applied") else
                                                       " (did not apply)"))
        elif e.get("kind") == "whole" and e.get("parent"):
            what.append(f"whole program (vs {e.get('parent')}: +{e.get('added', 0)}/-{e.get('removed', 0)} lines)")
        ops = next((a.meta.get("operators") for a in reversed(r.attempts) if a.meta and a.meta.get("operators")), None)
        if ops:
            what.append("operators " + ", ".join(map(str, ops)) + (f" on {', '.join(map(str, r.parents))}"
                                                                   if r.parents else ""))
        out.append(f"- {r.label} [{r.proposer}] {'; '.join(what) or 'program'}: {_score_text(r, by_name)}")
    return out


def build_prompt(cfg, langref: str, seeds: list, records: list, view: PromptView | None = None) -> str:
    """``seeds``: the seed programs, ``records``: the candidate records, as dataclasses or as
    the dicts of ``state.json`` and ``candidates.jsonl``; ``view``: the parent, inspirations,
    the archive's cells, the score's definition and the store facts (the loop's)."""
    seeds, records = as_seeds(seeds), as_candidates(records)
    view = view or PromptView()
    pc = cfg.prompt
    budget = int(pc["budget_chars"])
    betas = ", ".join(f"{b:g}" for b in cfg.betas)
    edits = pc.get("edits", "both")
    head = [TASK.format(betas=betas, score=view.score_definition or OLD_SCORE)]
    facts = store_facts_text(view.store_facts)
    if facts:
        head.append(facts)
    head.append(langref)
    parent_name = entry_name(view.parent) if view.parent is not None else "<id>"
    tail = [_output(edits, parent_name, view.parent is not None)]
    used = sum(len(x) for x in head + tail) + 200
    sections: dict[str, list[str]] = {k: [] for k in ("parent", "inspirations", "cells", "note", "top", "recent",
                                                      "failures", "seeds")}

    def add(section: str, text: str) -> None:
        nonlocal used
        if used + len(text) + 2 <= budget:
            sections[section].append(text)
            used += len(text) + 2

    shown = set()
    if view.parent is not None:
        add("parent", _entry_block(f"Parent {parent_name}", view.parent, pc, True))
        shown.add(parent_name)
    for e in view.inspirations:
        if entry_name(e) not in shown:
            add("inspirations", _entry_block(f"Inspiration {entry_name(e)}", e, pc, False, pc["program_chars"] // 2))
            shown.add(entry_name(e))
    if view.cells:
        add("cells", "## The archive's cells (the best program of each cost band and behaviour)\n\n" + view.cells)
    notes = note_lines(records, seeds, int(pc.get("note_lines", 12)))
    if notes:
        add("note", "## What was tried (most recent last)\n\n" + "\n".join(notes))
    ok = [r for r in records if r.ok and r.score is not None]
    top = [r for r in sorted(ok, key=lambda r: (-_score_value(r.score), r.id)) if r.label not in shown][: int(pc["top_k"])]
    top_ids = {r.id for r in top}
    recent = [r for r in reversed(ok) if r.id not in top_ids and r.label not in shown][: int(pc["recent"])]
    fails = [r for r in reversed(records) if not r.ok and r.status != "screened"][: int(pc["failures"])]
    for r in top:
        add("top", _entry_block(f"Candidate {r.label} (parents: {', '.join(map(str, r.parents)) or '-'})",
                                r, pc, True))
    for r in fails:
        add("failures", _failure_block(r, pc))
    for r in recent:
        add("recent", _entry_block(f"Candidate {r.label}", r, pc, False))
    if pc.get("seed_programs", True):
        for s in seeds:
            if s.id not in shown:
                add("seeds", _entry_block(f"Seed program {s.id}", s, pc, False))
    body = list(head)
    titles = [("parent", "## The parent to improve" + (f" ({parent_name})" if view.parent is not None else "")),
              ("inspirations", "## Inspirations (programs from other cells of the archive)"),
              ("cells", None), ("note", None),
              ("seeds", "## Seed programs (search-part results)"),
              ("top", "## Best candidates so far (by score)"),
              ("recent", "## Most recent candidates"), ("failures", "## Recent failures")]
    for key, title in titles:
        if sections[key]:
            body += ([title] if title else []) + sections[key]
    if not records:
        body.append("No candidates yet: this is the first round.")
    return "\n\n".join(body + tail)


def _output(edits: str, parent: str, has_parent: bool) -> str:
    whole, diff = WHOLE, DIFF.format(parent=parent)
    if edits == "whole":
        return "## Your reply\n\n" + whole + "\nYou may add a short explanation before the block."
    if edits == "diff":
        return "## Your reply\n\n" + diff + "\nYou may add a short explanation before the blocks."
    lead = (f"Prefer a focused edit of the parent {parent}. " if has_parent else "Edit a program shown above. ")
    return ("## Your reply\n\n" + lead + diff + "\n\nOr, for a new design, " + whole[0].lower() + whole[1:]
            + "\n\nYou may add a short explanation before the blocks or the program.")


def repair_message(validation: dict, attempt: int, max_repairs: int, error: str | None = None,
                   edits: str = "both", parent: str | None = None) -> str:
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
    edit = validation.get("edit") or {}
    if edit.get("kind") == "diff" and edits != "whole":
        target = edit.get("parent") or parent or "the parent"
        lines += ["", f"Fix the problem: reply with SEARCH/REPLACE blocks against {target} again (they apply to "
                  f"{target}'s source as shown in the prompt, not to your previous result), or with the whole "
                  "corrected program in one ```tts block."]
    else:
        lines += ["", "Fix the problem and reply with the whole corrected program in one ```tts block."]
    return "\n".join(lines)
