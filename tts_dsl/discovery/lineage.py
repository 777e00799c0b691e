"""A candidate's ancestry: the chain of parents back to a seed program, with the operators
that made each generation and the diff of each generation to its parent (and of the
candidate to its root seed). Built from the records alone (``parents`` and the evolve
proposer's ``meta``), for the report and for reading a run by hand."""

from __future__ import annotations

import difflib
import re


def _meta(rec) -> dict:
    atts = rec.get("attempts") or []
    return (atts[-1].get("meta") or {}) if atts else {}


def _strip_name(src: str) -> str:
    """The source without its controller name (generations are renamed)."""
    return re.sub(r"^(\s*controller\s+)\S+", r"\1_", src or "", count=1, flags=re.M)


def ancestry(label: str, records: list[dict], seeds: dict) -> list[dict]:
    """The chain [root seed, ..., label]: each item {id, source, operators, notes, donor}.
    ``records`` are candidate dicts (``candidates.jsonl``), ``seeds`` maps a seed id to its
    source. A parent that is not found ends the chain."""
    by_label = {f"c{r['id']:04d}": r for r in records}
    chain, seen = [], set()
    cur = label
    while cur is not None and cur not in seen:
        seen.add(cur)
        if cur in seeds:
            chain.append({"id": cur, "source": seeds[cur], "operators": [], "notes": [], "donor": None})
            break
        rec = by_label.get(cur)
        if rec is None:
            break
        m = _meta(rec)
        notes = [n for s in m.get("steps", []) if not s.get("reverted") for n in s.get("notes", [])]
        parents = rec.get("parents") or []
        chain.append({"id": cur, "source": rec.get("source") or "", "operators": m.get("operators", []),
                      "notes": notes, "donor": parents[1] if len(parents) > 1 else None})
        cur = parents[0] if parents else None
    return list(reversed(chain))


def diff(a: str, b: str, name_a: str, name_b: str) -> str:
    return "".join(difflib.unified_diff(_strip_name(a).splitlines(True), _strip_name(b).splitlines(True),
                                        name_a, name_b, n=1))


def render_ancestry(label: str, records: list[dict], seeds: dict) -> str:
    """Markdown: the winner's generations with operators and diffs, then its diff to the
    root seed program."""
    chain = ancestry(label, records, seeds)
    if len(chain) < 2:
        return f"`{label}`: no recorded ancestry.\n"
    out = [f"Ancestry of `{label}`: " + " -> ".join(f"`{c['id']}`" for c in chain), ""]
    for prev, cur in zip(chain, chain[1:]):
        ops = ", ".join(cur["operators"]) or "-"
        donor = f", donor `{cur['donor']}`" if cur["donor"] else ""
        out.append(f"* `{prev['id']}` -> `{cur['id']}`: {ops}{donor}"
                   + (f" ({'; '.join(cur['notes'])})" if cur["notes"] else ""))
    out += ["", f"Diff of `{label}` to its root seed program `{chain[0]['id']}`:", "", "```diff",
            diff(chain[0]["source"], chain[-1]["source"], chain[0]["id"], label).rstrip("\n"), "```", ""]
    return "\n".join(out)


__all__ = ["ancestry", "diff", "render_ancestry"]
