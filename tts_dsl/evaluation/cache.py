"""An evaluation cache keyed by provenance: the result rows of one program on one store
over a beta grid, filed under a hash of everything that determines them (tool version,
program hash, store content hash, betas, seeds, the questions run, limits). Kept in memory and, optionally,
in a JSON-lines file that several runs (``discover``, later ``eval`` and ``compare``) share.

A row that ended on the wall-clock cap (``L009``) is never cached: it depends on the
machine's load, not on the program, so the next request evaluates again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from ..files import append_line
from ..lang.limits import Limits

TIMEOUT_CODE = "L009"


def tool_version() -> str:
    from .. import __version__  # the package's version string (a constant, no layer above)

    return __version__


def provenance(program: str, store: str, betas, seeds, limits: Limits, questions=None,
               per_question: bool = False) -> dict:
    """What determines an evaluation: ``program`` is a hash of the program's behaviour
    (discovery uses the canonical AST hash), ``store`` the store's content digest;
    ``questions`` the store's question indices run (None: all); ``per_question``: the rows
    carry per-question arrays (``q_correct``, ``q_cost``), so an entry written without them
    is never served for a request that needs them."""
    d = {"tool": tool_version(), "program": program, "store": store, "betas": list(betas),
         "seeds": list(seeds), "limits": dataclasses.asdict(limits)}
    if questions is not None:
        d["questions"] = [int(q) for q in questions]
    if per_question:
        d["per_question"] = True
    return d


def cache_key(prov: dict) -> str:
    raw = json.dumps(prov, sort_keys=True)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def timed_out(row: dict) -> bool:
    """The row ended on the wall-clock cap (its error is a rendered ``L009`` diagnostic)."""
    return f"[{TIMEOUT_CODE}]" in (row.get("error") or "")


class EvalCache:
    """Rows by provenance key; ``path`` (optional) persists them, one line per entry:
    ``{"key", "provenance", "rows"}``. Lines that do not parse (a torn last line after a
    crash, or an entry of an older format) are skipped."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, list[dict]] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    d = json.loads(line)
                    if "provenance" in d:
                        self.entries[d["key"]] = d["rows"]
                except (ValueError, KeyError, TypeError):
                    continue

    def get(self, key: str) -> list[dict] | None:
        return self.entries.get(key)

    def put(self, key: str, prov: dict, rows: list[dict]) -> bool:
        """File ``rows`` under ``key``; refused (False) when a row timed out."""
        if any(timed_out(r) for r in rows):
            return False
        self.entries[key] = rows
        if self.path is not None:
            append_line(self.path, json.dumps({"key": key, "provenance": prov, "rows": rows}) + "\n")
        return True
