"""What a run records, as dataclasses: a proposal attempt, a candidate (one round), a seed
program, and the run state. ``to_dict``/``from_dict`` keep the JSON keys of
``candidates.jsonl`` and ``state.json`` (documented in ``docs/discovery.md``), so runs
written before these types existed still resume."""

from __future__ import annotations

from dataclasses import dataclass, field

from .curves import Curves
from .scores import Score


# Bounds on what one record stores (issue 15: a reply with many diagnostics once wrote a 305 MB
# line). Texts longer than MAX_TEXT_CHARS keep their head and a note of what was cut; an
# attempt keeps its first MAX_DIAGNOSTICS diagnostics (and warnings), each diagnostic's strings cut
# to MAX_DIAGNOSTIC_CHARS, and says how many it left out ("diagnostics_cut", "warnings_cut").
MAX_TEXT_CHARS = 200_000
MAX_DIAGNOSTICS = 50
MAX_DIAGNOSTIC_CHARS = 2_000


def cap_text(text, limit: int = MAX_TEXT_CHARS):
    """``text`` itself if it is short (or not a string), else its head and a note of the cut."""
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters cut: records keep {limit}]"


def _cap_diag(d):
    if not isinstance(d, dict):
        return d
    return {k: cap_text(v, MAX_DIAGNOSTIC_CHARS) for k, v in d.items()}


def cap_diagnostics(diags, key: str, into: dict) -> list | None:
    """The first MAX_DIAGNOSTICS of ``diags`` (capped); ``into[key + '_cut']`` counts the rest."""
    if not isinstance(diags, list):
        return diags
    if len(diags) > MAX_DIAGNOSTICS:
        into[f"{key}_cut"] = len(diags) - MAX_DIAGNOSTICS
    return [_cap_diag(x) for x in diags[:MAX_DIAGNOSTICS]]


def cap_validation(v):
    """A Validation.to_dict() with its diagnostics and warnings bounded."""
    if not isinstance(v, dict):
        return v
    out = dict(v)
    for key in ("diagnostics", "warnings"):
        if key in out:
            out[key] = cap_diagnostics(out[key], key, out)
    if "source" in out:
        out["source"] = cap_text(out["source"])
    return out


def _opt(d: dict, key: str, value) -> None:
    if value is not None:
        d[key] = value


@dataclass
class Attempt:
    """One proposal of a round: the proposer's reply and its validation, or the error that
    stopped the proposer. ``message`` is the repair message that preceded it (n > 0)."""

    n: int
    message: str | None = None
    error: str | None = None
    response: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0
    llm_calls: int = 0
    meta: dict = field(default_factory=dict)
    validation: dict | None = None  # Validation.to_dict(): stage, diagnostics, hash, warnings
    wall_s: float = 0.0

    def to_dict(self) -> dict:
        d: dict = {"n": self.n}
        _opt(d, "message", cap_text(self.message))
        if self.error is not None:
            d.update({"error": cap_text(self.error), "llm_calls": self.llm_calls, "wall_s": self.wall_s})
            return d
        d.update({"response": cap_text(self.response), "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
                  "usd": self.usd, "llm_calls": self.llm_calls, "meta": self.meta,
                  "validation": cap_validation(self.validation), "wall_s": self.wall_s})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Attempt":
        return cls(d.get("n", 0), d.get("message"), d.get("error"), d.get("response"), d.get("tokens_in", 0),
                   d.get("tokens_out", 0), d.get("usd", 0.0), d.get("llm_calls", 0), d.get("meta") or {},
                   d.get("validation"), d.get("wall_s", 0.0))


@dataclass
class Candidate:
    """One round's record: the last proposed program, every attempt, the round's totals and,
    when valid, its search-split curves, score, files and trace sample."""

    id: int
    status: str  # ok | invalid | duplicate | stopped
    stage: str | None  # failing stage of the last attempt (None when ok; "proposer" with no reply)
    proposer: str
    parents: list
    source: str | None
    hash: str | None
    duplicate_of: str | None
    system: str
    prompt: str
    attempts: list[Attempt]
    llm_calls: int
    tokens_in: int
    tokens_out: int
    usd: float
    betas: list
    seeds: list  # [first, count]
    stores: list
    program_file: str | None = None
    curves: Curves | None = None
    score: Score | None = None
    warnings: list | None = None
    trace_file: str | None = None
    trace: str | None = None
    trace_error: str | None = None
    wall_s: float = 0.0
    # issue 12: throughput and prompts
    proposal: int | None = None  # start ordinal (ids are completion ordinals; equal when parallel = 1)
    proposer_kind: str | None = None  # ``proposer`` is the proposer's name ([[proposers]]), this its kind
    edit: dict | None = None  # {kind: whole | diff, parent, blocks, added, removed} of the last reply
    screen: dict | None = None  # cascade screen: {betas, seeds, questions, curves, score, admitted}
    full_skipped: str | None = None  # why a valid program was not fully evaluated (status screened)
    cells: list | None = None  # quality-diversity cells the candidate entered (empty: none)
    island: int | None = None
    inspirations: list | None = None  # programs shown beside the parent
    run_wall_s: float | None = None  # the run's wall clock (all sessions) when this record was written
    validation_part: dict | None = None  # {curves, score} on the validation part: NEVER read by prompt.py
    extra: dict = field(default_factory=dict)  # keys other modules attach (kept as top-level JSON keys)

    OPTIONAL = ("proposal", "proposer_kind", "edit", "screen", "full_skipped", "cells", "island", "inspirations",
                "run_wall_s", "validation_part")

    @property
    def label(self) -> str:
        return f"c{self.id:04d}"

    @property
    def entered(self) -> bool:
        """Did the candidate enter the quality-diversity archive? (Without cell information, a
        fully evaluated candidate counts as entered.)"""
        return bool(self.cells) if self.cells is not None else self.ok

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict:
        d = {"id": self.id, "status": self.status, "stage": self.stage, "proposer": self.proposer,
             "parents": self.parents, "source": self.source, "hash": self.hash, "duplicate_of": self.duplicate_of,
             "system": cap_text(self.system), "prompt": cap_text(self.prompt),
             "attempts": [a.to_dict() for a in self.attempts],
             "llm_calls": self.llm_calls, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out,
             "usd": self.usd, "betas": self.betas, "seeds": self.seeds, "stores": self.stores}
        _opt(d, "program_file", self.program_file)
        _opt(d, "curves", self.curves.to_dict() if self.curves is not None else None)
        _opt(d, "score", self.score.to_dict() if self.score is not None else None)
        _opt(d, "warnings", cap_diagnostics(self.warnings, "warnings", d))
        _opt(d, "trace_file", self.trace_file)
        _opt(d, "trace", self.trace)
        _opt(d, "trace_error", self.trace_error)
        for k in self.OPTIONAL:
            _opt(d, k, getattr(self, k))
        for k, v in self.extra.items():
            d.setdefault(k, v)
        d["wall_s"] = self.wall_s
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Candidate":
        return cls(d["id"], d["status"], d.get("stage"), d.get("proposer", ""), d.get("parents") or [],
                   d.get("source"), d.get("hash"), d.get("duplicate_of"), d.get("system", ""), d.get("prompt", ""),
                   [Attempt.from_dict(a) for a in d.get("attempts") or []], d.get("llm_calls", 0),
                   d.get("tokens_in", 0), d.get("tokens_out", 0), d.get("usd", 0.0), d.get("betas") or [],
                   d.get("seeds") or [], d.get("stores") or [], d.get("program_file"),
                   Curves.from_dict(d["curves"]) if d.get("curves") is not None else None,
                   Score.from_dict(d["score"]) if d.get("score") is not None else None,
                   d.get("warnings"), d.get("trace_file"), d.get("trace"), d.get("trace_error"),
                   d.get("wall_s", 0.0), **{k: d.get(k) for k in cls.OPTIONAL},
                   extra={k: v for k, v in d.items() if k not in _CANDIDATE_KEYS})


_CANDIDATE_KEYS = frozenset(f for f in Candidate.__dataclass_fields__ if f != "extra")


@dataclass
class SeedProgram:
    """A seed program (``seed_programs``): its text, canonical hash and search-split results."""

    id: str
    file: str
    source: str
    hash: str
    uses_beta: bool
    curves: Curves
    score: Score | None = None
    validation_part: dict | None = None  # {curves, score} on the validation part: NEVER read by prompt.py
    screen: dict | None = None  # the cascade screen of the seed program (same subset as candidates')

    @property
    def label(self) -> str:
        return f"seed:{self.id}"

    def to_dict(self) -> dict:
        d = {"id": self.id, "file": self.file, "source": self.source, "hash": self.hash,
             "uses_beta": self.uses_beta, "curves": self.curves.to_dict()}
        _opt(d, "score", self.score.to_dict() if self.score is not None else None)
        _opt(d, "validation_part", self.validation_part)
        _opt(d, "screen", self.screen)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SeedProgram":
        return cls(d["id"], d["file"], d["source"], d["hash"], d["uses_beta"], Curves.from_dict(d["curves"]),
                   Score.from_dict(d["score"]) if d.get("score") is not None else None, d.get("validation_part"),
                   d.get("screen"))


@dataclass
class RunState:
    """``state.json``: the seed programs' search results and the cost range per store that
    every frontier area of the search part is computed over."""

    seeds: list[SeedProgram]
    ranges: dict  # store label -> [lo, hi]
    search_stores: list
    search_seeds: list  # [first, count]
    setup_wall_s: float = 0.0
    store_facts: dict | None = None  # per search store: questions, branches, interval, junk answers (prompts)
    split: dict | None = None  # splits.Split.to_dict(): which questions each part holds
    scoring: dict | None = None  # scores.Scoring.to_dict(): windows and budgets per store
    extra: dict = field(default_factory=dict)  # keys other modules attach (kept as top-level JSON keys)

    def to_dict(self) -> dict:
        d = {"seeds": [s.to_dict() for s in self.seeds], "ranges": self.ranges,
             "search_stores": self.search_stores, "search_seeds": self.search_seeds,
             "setup_wall_s": self.setup_wall_s}
        _opt(d, "store_facts", self.store_facts)
        _opt(d, "split", self.split)
        _opt(d, "scoring", self.scoring)
        for k, v in self.extra.items():
            d.setdefault(k, v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunState":
        known = {"seeds", "ranges", "search_stores", "search_seeds", "setup_wall_s", "store_facts", "split", "scoring"}
        return cls([SeedProgram.from_dict(s) for s in d["seeds"]], d["ranges"], d["search_stores"],
                   d["search_seeds"], d.get("setup_wall_s", 0.0), d.get("store_facts"), d.get("split"),
                   d.get("scoring"), {k: v for k, v in d.items() if k not in known})


def as_candidates(items) -> list[Candidate]:
    """Records as :class:`Candidate` (dicts read from ``candidates.jsonl`` are converted)."""
    return [r if isinstance(r, Candidate) else Candidate.from_dict(r) for r in items]


def as_seeds(items) -> list[SeedProgram]:
    """Seed programs as :class:`SeedProgram` (dicts from ``state.json`` are converted)."""
    return [s if isinstance(s, SeedProgram) else SeedProgram.from_dict(s) for s in items]
