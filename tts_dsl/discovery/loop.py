"""The discovery loop: prompt -> propose -> validate (with repairs) -> dedupe ->
evaluate -> record, round after round until a budget is reached; then select and
evaluate the winner on the held-out split and write the report.

Rounds are numbered from 0 and a round's record id is its number. A round is recorded
only when it is complete, with a single appended line; ``resume`` continues after the
last complete record. Everything the proposers see is derived from ``state.json`` and
the records, which hold search-split results only; held-out results exist only in
``final.json`` and the report.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write
from .archive import Archive
from .config import DiscoverConfig, config_from_saved, saved_config
from .curves import Curves
from .evaluator import Evaluator
from .prompt import SYSTEM, build_prompt, repair_message
from .proposers import Context, Proposer, ProposerError, Reply, make_proposer
from .records import Attempt, Candidate, RunState, SeedProgram
from .scores import ranges_from, score
from .splits import Part, search_part
from .validate import Validation, diag_dicts, program_hash


@dataclass
class Budget:
    rounds: int = 0
    llm_calls: int = 0
    usd: float = 0.0
    wall_s: float = 0.0


@dataclass
class Round:
    """A round in progress: its prompt and conversation, the view of the history its
    proposer gets (``known`` hashes, the parent ``pool``), and what its attempts gathered."""

    id: int
    t0: float
    base: Budget  # spent before this round
    prompt: str
    messages: list
    known: dict
    pool: list
    attempts: list = field(default_factory=list)
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0
    parents: list = field(default_factory=list)
    validation: Validation | None = None  # of the last reply
    curves: Curves | None = None  # of the valid program
    status: str = "invalid"

    @property
    def file(self) -> str:
        return f"c{self.id:04d}.tts"

    def spent(self) -> Budget:
        return Budget(self.base.rounds, self.base.llm_calls + self.calls, self.base.usd + self.usd, self.base.wall_s)

    def take(self, reply: Reply) -> None:
        self.calls += reply.llm_calls
        self.tokens_in += reply.tokens_in
        self.tokens_out += reply.tokens_out
        self.usd += reply.usd
        if reply.parents:
            self.parents = list(reply.parents)


class Discovery:
    def __init__(self, cfg: DiscoverConfig, out: str | Path, proposer: Proposer | None = None, log=None,
                 executor=None):
        self.cfg = cfg
        self.archive = Archive(out)
        self.log = log or (lambda msg: None)
        self._proposer = proposer
        self.executor = executor
        self.evaluator: Evaluator | None = None
        self.langref: str | None = None
        self.search: Part | None = None
        self.state: RunState | None = None
        self.stop_reason: str | None = None
        self._hash_cache: dict = {}

    # ------------------------------------------------------------------ setup
    @classmethod
    def start(cls, cfg: DiscoverConfig, out, **kw) -> "Discovery":
        d = cls(cfg, out, **kw)
        d.archive.create(saved_config(cfg))
        return d

    @classmethod
    def resume(cls, out, overrides: dict | None = None, **kw) -> "Discovery":
        a = Archive(out)
        if not a.exists():
            raise FileNotFoundError(f"{out}: no discovery run here (config.json missing)")
        saved = a.load_config()
        for k, v in (overrides or {}).items():
            if v is not None:
                saved[k] = v
        cfg = config_from_saved(saved)
        if overrides:
            atomic_write(a.config_path, json.dumps(saved_config(cfg), indent=2))
        return cls(cfg, out, **kw)

    def proposer(self) -> Proposer:
        if self._proposer is None:
            self._proposer = make_proposer(self.cfg.proposer, self.cfg.base_dir, self.archive.root)
        return self._proposer

    def setup(self) -> None:
        """The evaluator, the search part, the language reference, and the run state (read
        back, or made by evaluating the seed programs)."""
        from .langref import language_reference

        cfg = self.cfg
        cache = cfg.path(cfg.cache) if cfg.cache else self.archive.cache_path
        self.evaluator = Evaluator(cfg, cache, self.executor)
        self.search = search_part(cfg)
        if not self.search.slices:
            raise ValueError("[search] selects no store")
        self.langref = language_reference()
        state = self.archive.read_state()
        if state is not None:
            self.state = state
            return
        self.state = self.evaluate_seed_programs()
        self.archive.write_state(self.state)

    def evaluate_seed_programs(self) -> RunState:
        from ..api import check, read_source

        cfg = self.cfg
        t0 = time.perf_counter()
        seeds: list[SeedProgram] = []
        ids = set()
        for p in cfg.seed_program_paths():
            src = read_source(p)
            checked = check(src, str(p))
            sid = p.stem
            while sid in ids:
                sid += "_"
            ids.add(sid)
            self.log(f"seed program {sid}: evaluating on {len(self.search.refs)} store(s)")
            h = program_hash(checked.program)
            curves = self.evaluator.evaluate(src, str(p), h, checked.uses_beta, self.search.refs, self.search.seeds)
            seeds.append(SeedProgram(sid, str(p), src, h, checked.uses_beta, curves))
        ranges = ranges_from([s.curves for s in seeds], cfg.area_range)
        for s in seeds:
            s.score = score(s.curves, ranges)
            self.log(f"seed program {s.id}: frontier area {s.score.area:.3f}")
        return RunState(seeds, {k: list(v) for k, v in ranges.items()}, self.search.labels,
                        self.search.seeds_summary(), round(time.perf_counter() - t0, 3))

    # ------------------------------------------------------- budget, history
    def budget_used(self, records: list[Candidate]) -> Budget:
        b = Budget(len(records))
        for r in records:
            b.llm_calls += r.llm_calls
            b.usd += r.usd
            b.wall_s += r.wall_s
        b.wall_s += self.state.setup_wall_s
        return b

    def exhausted(self, b: Budget, extra_wall: float = 0.0, rounds: bool = True) -> str | None:
        c = self.cfg
        if rounds and b.rounds >= c.max_rounds:
            return f"max_rounds ({c.max_rounds}) reached"
        if b.llm_calls >= c.max_llm_calls:
            return f"max_llm_calls ({c.max_llm_calls}) reached"
        if c.max_usd is not None and b.usd >= c.max_usd:
            return f"max_usd ({c.max_usd}) reached"
        if c.max_wall_s is not None and b.wall_s + extra_wall >= c.max_wall_s:
            return f"max_wall_s ({c.max_wall_s:g} s) reached"
        return None

    def _hash_keys(self, source: str) -> tuple:
        """(canonical hash, behaviour key) of a source, (None, None) if it no longer checks."""
        from ..api import check
        from .validate import behaviour_key

        if source not in self._hash_cache:
            try:
                c = check(source, "<known>")
                self._hash_cache[source] = (program_hash(c.program), behaviour_key(c, self.cfg.betas))
            except Exception:  # noqa: BLE001 - an old record that no longer checks is not a duplicate
                self._hash_cache[source] = (None, None)
        return self._hash_cache[source]

    def known_hashes(self, records: list[Candidate]) -> dict:
        """Hash or behaviour key -> the name of the program it belongs to: the seed programs,
        the valid candidates, and those rejected only by running (schedule, smoke, sweep)."""
        known: dict = {}
        for s in self.state.seeds:
            h, bk = self._hash_keys(s.source)
            for k in (s.hash, h, bk):
                if k:
                    known.setdefault(k, f"seed program {s.id}")
        for r in records:
            if r.source and r.status in ("ok", "invalid") and \
                    (r.status == "ok" or (r.stage in ("schedule", "smoke", "sweep"))):
                name = f"candidate {r.label}" + ("" if r.status == "ok" else f" (rejected at {r.stage})")
                for k in self._hash_keys(r.source):
                    if k:
                        known.setdefault(k, name)
        return known

    def pool(self, records: list[Candidate]) -> list[dict]:
        """The programs a proposer may start from, best search area first."""
        items = [{"id": s.id, "source": s.source, "area": s.score.area, "hash": s.hash} for s in self.state.seeds]
        items += [{"id": r.label, "source": r.source, "area": r.score.area, "hash": r.hash}
                  for r in records if r.ok]
        return sorted(items, key=lambda x: -x["area"])

    # ------------------------------------------------------------------ rounds
    def run(self) -> dict:
        self.setup()
        records = self.archive.records(repair=True)
        self.log(f"{len(records)} complete record(s) so far")
        try:
            while True:
                why = self.exhausted(self.budget_used(records))
                if why:
                    self.stop_reason = why
                    break
                rec = self.round(len(records), records)
                if rec is None:
                    break
                self.archive.append(rec)
                records.append(rec)
                if rec.status == "stopped":
                    self.log(f"{rec.label} stopped")
                    break
                s = rec.score
                self.log(f"{rec.label} {rec.status}"
                         + (f" area {s.area:.3f} best acc {s.best_accuracy}" if s else f" ({rec.stage})")
                         + f" [{rec.wall_s:.1f} s]")
        finally:
            self.proposer().close()
        self.log(f"stopped: {self.stop_reason}")
        return self.finish(records)

    def round(self, rid: int, records: list[Candidate]) -> Candidate | None:
        """One round: prompt, then attempts (propose, validate, evaluate; a rejected one is
        repaired in the same conversation) until one is valid or the repairs or a budget run
        out, then the record. None if a budget ran out before the first attempt."""
        rd = self.open_round(rid, records)
        for n in range(self.cfg.max_repairs + 1):
            why = self.exhausted(rd.spent(), time.perf_counter() - rd.t0, rounds=False)
            if why:
                self.stop_reason = why
                if not rd.attempts:
                    return None
                rd.status = "stopped"
                break
            if self.attempt(rd, n):
                break
        return self.record(rd)

    def open_round(self, rid: int, records: list[Candidate]) -> Round:
        """The prompt step: the round's prompt and conversation, and the history view."""
        t0 = time.perf_counter()
        base = self.budget_used(records)
        prompt = build_prompt(self.cfg, self.langref, self.state.seeds, records)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        return Round(rid, t0, base, prompt, messages, self.known_hashes(records), self.pool(records))

    def attempt(self, rd: Round, n: int) -> bool:
        """Attempt ``n``: propose, validate, evaluate. True when the round is over (a valid
        program, or a fatal proposer error); a rejected reply queues its repair message."""
        ta = time.perf_counter()
        att = Attempt(n, message=rd.messages[-1]["content"] if n else None)
        ctx = Context(rd.id, n, self.cfg.seed, rd.pool, rd.known, self.cfg.smoke)
        try:
            reply = self.proposer().propose(rd.messages, ctx)
        except ProposerError as ex:
            rd.calls += ex.calls
            att.error, att.llm_calls, att.wall_s = str(ex), ex.calls, round(time.perf_counter() - ta, 3)
            rd.attempts.append(att)
            if ex.fatal:
                self.stop_reason = f"proposer error: {ex}"
                rd.status = "stopped"
                return True
            return False  # the same conversation again
        rd.take(reply)
        att.response, att.tokens_in, att.tokens_out = reply.text, reply.tokens_in, reply.tokens_out
        att.usd, att.llm_calls, att.meta = reply.usd, reply.llm_calls, reply.meta
        v = self.validate(reply.text, rd.id, rd.known)
        rd.curves = None
        if v.ok:
            v, rd.curves = self.evaluate(v, rd.file)
        rd.validation = v
        att.validation = v.to_dict()
        att.wall_s = round(time.perf_counter() - ta, 3)
        rd.attempts.append(att)
        if v.ok:
            rd.status = "ok"
            return True
        if n < self.cfg.max_repairs:
            rd.messages = rd.messages + [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": repair_message(v.to_dict(), n + 1, self.cfg.max_repairs)}]
        return False

    def validate(self, text: str, rid: int, known: dict) -> Validation:
        """The stages before the sweep (extract .. smoke), see :mod:`.validate`."""
        from .validate import validate

        return validate(text, f"c{rid:04d}.tts", known, self.cfg)

    def evaluate(self, v: Validation, file: str) -> tuple[Validation, Curves | None]:
        """The sweep stage: the valid program's curves on the search part; a runtime error on
        a search store rejects it (no curves)."""
        from ..lang.diagnostics import Diagnostic

        curves = self.evaluator.evaluate(v.source, file, v.hash, v.checked.uses_beta, self.search.refs,
                                         self.search.seeds)
        errs = curves.errors()
        if not errs:
            return v, curves
        diags = [Diagnostic("R001", e, stage="sweep", file=file,
                            hint="the program failed on a search store; guard the failing expression")
                 for e in errs[:3]]
        return Validation(False, "sweep", diag_dicts(diags, v.source), source=v.source, hash=v.hash,
                          warnings=v.warnings), None

    def record(self, rd: Round) -> Candidate:
        """The round's record; a valid program's file, curves, score and trace sample with it."""
        cfg, v = self.cfg, rd.validation
        status = rd.status
        if status != "ok" and v is not None and v.stage == "dedupe":
            status = "duplicate"
        rec = Candidate(
            id=rd.id, status=status, stage=None if status == "ok" else (v.stage if v else "proposer"),
            proposer=cfg.proposer.kind, parents=rd.parents or [p["id"] for p in rd.pool[:cfg.prompt["top_k"]]],
            source=v.source if v else None, hash=v.hash if v else None,
            duplicate_of=v.duplicate_of if v else None, system=SYSTEM, prompt=rd.prompt, attempts=rd.attempts,
            llm_calls=rd.calls, tokens_in=rd.tokens_in, tokens_out=rd.tokens_out, usd=round(rd.usd, 6),
            betas=list(cfg.betas), seeds=self.search.seeds_summary(), stores=self.search.labels)
        if status == "ok":
            self.keep_valid(rec, v, rd.curves)
        rec.wall_s = round(time.perf_counter() - rd.t0, 3)
        return rec

    def keep_valid(self, rec: Candidate, v: Validation, curves: Curves) -> None:
        name = f"{rec.label}-{v.hash[:8]}"
        rec.program_file = self.archive.write_program(name, v.source)
        rec.curves = curves
        rec.score = score(curves, self.state.range_tuples())
        rec.warnings = v.warnings
        try:
            from .traces import trace_sample

            b = 0.5 if v.checked.uses_beta else None
            text = trace_sample(v.checked, self.search.refs[0], b, self.search.seeds[0])
            rec.trace_file = self.archive.write_trace(name, text)
            rec.trace = text[: 2 * int(self.cfg.prompt["trace_chars"])]
        except Exception as ex:  # noqa: BLE001 - a trace is a sample; never fail a round for it
            rec.trace_error = f"{type(ex).__name__}: {ex}"

    # ------------------------------------------------------------ final stage
    def finish(self, records: list[Candidate]) -> dict:
        from .report import finalize

        return finalize(self, records)
