"""The discovery loop: prompt -> propose -> validate (with repairs) -> dedupe -> screen ->
evaluate -> record, proposal after proposal until a budget is reached; then select and
evaluate the winners on the held-out data and write the report.

Throughput (issue 12, section 4):

* ``run.parallel = N`` proposals are in flight at once. ONE main thread builds prompts,
  validates, evaluates and records; only the proposers' calls of LLM kinds run in worker
  threads, so LLM latency overlaps evaluation and nothing else needs to be thread-safe.
  Offline proposers (``evolve``) run inline. A proposal's record is appended when it is
  complete, so records are in completion order: ``id`` is the completion ordinal (dense,
  the ``cNNNN`` name), ``proposal`` the start ordinal (what seeds a proposer; the same as
  ``id`` when N = 1). An interrupted run loses at most the proposals in flight; ``resume``
  continues with the next unused proposal number, so nothing is recorded twice.
* Cascade: a valid program is first *screened* on a cheap subset (``[cascade]``: a few
  ordering seeds, two betas, the search part's questions); a screen equal to a known
  program's (the behavioural fingerprint) is a duplicate (D003) and goes back for repair;
  a screen that could not enter the quality-diversity archive ends the proposal as
  ``screened`` (no full evaluation); otherwise the full evaluation follows. Both are recorded.
* Several proposers (``[[proposers]]``), chosen per proposal by weight or by a bandit
  (Thompson sampling on each proposer's archive-entry rate).

Everything the proposers see is derived from ``state.json`` and the records, and only
from their search-part fields; validation-part and held-out results never reach a prompt.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write
from .archive import Archive
from .config import DiscoverConfig, config_from_saved, saved_config
from .curves import Curves
from .evaluator import Evaluator
from .prompt import SYSTEM, PromptView, build_prompt, repair_message
from .proposers import Context, Proposer, ProposerError, Reply, make_proposer
from .records import Attempt, Candidate, RunState, SeedProgram
from .validate import Validation, diag_dicts, program_hash


@dataclass
class Budget:
    rounds: int = 0
    llm_calls: int = 0
    usd: float = 0.0
    wall_s: float = 0.0


def score_value(s) -> float:
    """The ranking statistic of a score (``hv``; ``area`` for scores of older runs)."""
    if s is None:
        return float("-inf")
    v = getattr(s, "hv", None)
    return float(v if v is not None else s.area)


@dataclass
class Round:
    """A proposal in progress: its prompt and conversation, the view of the history its
    proposer gets (``known`` hashes, the ``pool``, the named ``parent``), and what its
    attempts gathered."""

    proposal: int
    proposer: str
    t0: float
    prompt: str
    messages: list
    known: dict
    pool: list
    parent: dict | None = None
    inspirations: list = field(default_factory=list)
    island: int | None = None
    attempts: list = field(default_factory=list)
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0
    parents: list = field(default_factory=list)
    validation: Validation | None = None  # of the last reply
    curves: Curves | None = None  # of the valid program (search part)
    validation_curves: Curves | None = None  # of the valid program (validation part; never prompted)
    screen: dict | None = None
    full_skipped: str | None = None
    status: str = "invalid"
    waiting: bool = False  # a proposer call is in flight

    @property
    def file(self) -> str:
        return f"c{self.proposal:04d}.tts"

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
        self._proposers: dict = {}
        self.executor = executor
        self.evaluator: Evaluator | None = None
        self.langref: str | None = None
        self.search = None  # splits.Part: the stores, seeds (and questions) candidates are ranked on
        self.split = None  # splits.Split when the question-level split is available
        self.scoring = None  # scores.Scoring (windows, budgets) when available
        self.qd = None  # the quality-diversity archive (qd.Archive) when available
        self.state: RunState | None = None
        self.stop_reason: str | None = None
        self._hash_cache: dict = {}
        self._records: list = []
        self._abandoned = False  # proposer calls left running when the wall clock ran out
        self._results: queue.Queue = queue.Queue()
        self._wall_before = 0.0  # wall clock of earlier sessions (and the seed evaluation)
        self._session_t0 = time.perf_counter()

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

    # ---------------------------------------------------------------- proposers
    def proposer_configs(self) -> list:
        return list(self.cfg.proposers) or [self.cfg.proposer]

    def proposer_names(self) -> list[str]:
        return [pc.name or pc.kind for pc in self.proposer_configs()]

    def proposer(self, name: str | None = None) -> Proposer:
        """The proposer called ``name`` (the first one without a name). A proposer given to the
        constructor serves a single-proposer run."""
        pcs = self.proposer_configs()
        if len(pcs) == 1 or name is None or name == self.proposer_names()[0]:
            if self._proposer is None:
                self._proposer = make_proposer(pcs[0], self.cfg.base_dir, self.archive.root)
            return self._proposer
        if name not in self._proposers:
            pc = pcs[self.proposer_names().index(name)]
            self._proposers[name] = make_proposer(pc, self.cfg.base_dir, self.archive.root)
        return self._proposers[name]

    def close_proposers(self) -> None:
        for p in [self._proposer, *self._proposers.values()]:
            if p is not None:
                p.close()

    def choose_proposer(self, proposal: int, records: list[Candidate]) -> str:
        """The proposer of a proposal: by weight, or by Thompson sampling on each proposer's
        archive-entry rate (a Beta(1 + entered, 1 + not entered) draw, times its weight as a
        prior share); seeded by (run seed, proposal), so a run is reproducible."""
        names = self.proposer_names()
        if len(names) == 1:
            return names[0]
        weights = [float(pc.weight) for pc in self.proposer_configs()]
        rng = random.Random(f"choose:{self.cfg.seed}:{proposal}")
        if self.cfg.choose == "weights":
            return rng.choices(names, weights)[0] if sum(weights) > 0 else names[0]
        best, best_v = names[0], -1.0
        for name, w in zip(names, weights):
            mine = [r for r in records if r.proposer == name and r.status != "stopped"]
            entered = sum(1 for r in mine if r.entered)
            v = rng.betavariate(1 + entered, 1 + len(mine) - entered) * (w > 0)
            if v > best_v:
                best, best_v = name, v
        return best

    def proposer_stats(self, records: list[Candidate]) -> dict:
        """Per proposer: proposals, valid (fully evaluated), screened out, entered the archive,
        the entry rate, LLM calls and USD (``final.json`` ``proposers``)."""
        out = {}
        for name in self.proposer_names():
            mine = [r for r in records if r.proposer == name]
            n, entered = len(mine), sum(1 for r in mine if r.entered)
            out[name] = {"kind": self.proposer_configs()[self.proposer_names().index(name)].kind,
                         "proposals": n, "valid": sum(1 for r in mine if r.ok),
                         "screened": sum(1 for r in mine if r.status == "screened"),
                         "entered": entered, "entry_rate": round(entered / n, 4) if n else None,
                         "llm_calls": sum(r.llm_calls for r in mine), "usd": round(sum(r.usd for r in mine), 6)}
        return out

    # -------------------------------------------------------------------- setup
    def setup(self) -> None:
        """The evaluator, the parts, the language reference, and the run state (read back, or
        made by evaluating the seed programs)."""
        from .langref import language_reference

        cfg = self.cfg
        cache = cfg.path(cfg.cache) if cfg.cache else self.archive.cache_path
        self.evaluator = Evaluator(cfg, cache, self.executor)
        self.langref = language_reference()
        state = self.archive.read_state()
        fresh = state is None
        if fresh:
            state = self.evaluate_seed_programs()
        self.state = state
        self._load_parts()
        self.complete_state()
        self._init_qd()
        self.save_state()

    def save_state(self) -> None:
        """``state.json``, with the archive's current content (``archive``)."""
        if self.qd is not None:
            self.state.extra["archive"] = self.qd.to_dict()
        self.archive.write_state(self.state)

    def _load_parts(self) -> None:
        from . import splits

        from . import scores

        st = self.state
        if st.split is None or st.scoring is None:
            raise ValueError(f"{self.archive.state_path}: written before question splits and windows per part "
                             "(issue 12); start a new run")
        self.split = splits.Split.from_dict(st.split) if isinstance(st.split, dict) else st.split
        self.search = self.split.search
        if not self.search.slices:
            raise ValueError("[search] selects no store")
        self.scoring = scores.Scoring.from_dict(st.scoring)

    def evaluate_seed_programs(self) -> RunState:
        from ..api import check, read_source

        cfg = self.cfg
        t0 = time.perf_counter()
        entries = []
        ids = set()
        for p in cfg.seed_program_paths():
            src = read_source(p)
            checked = check(src, str(p))
            sid = p.stem
            while sid in ids:
                sid += "_"
            ids.add(sid)
            entries.append((sid, src, str(p), program_hash(checked.program), checked.uses_beta))
        from .evaluator import store_refs

        n_refs, n_betas = len(store_refs(cfg)), len(cfg.betas)
        total = sum(n_refs * (n_betas if e[4] else 1) for e in entries) + n_refs  # + the SC@64 budget
        ev = self.evaluator
        plain = ev.evaluate
        with phase_progress(self.log, total, "seed programs (evaluations)") as bar:
            def counted(*a, progress=None, **k):
                return plain(*a, progress=progress or bar.update, **k)

            ev.evaluate = counted  # the evaluator's tasks report to this phase's progress
            try:
                split, scoring, parts = ev.setup_parts(entries, self.log)
            finally:
                del ev.evaluate
        seeds = []
        for (sid, src, path, h, ub), pt in zip(entries, parts):
            s = SeedProgram(sid, path, src, h, ub, pt["search"], scoring.score(pt["search"]))
            s.validation_part = {"curves": pt["validation"].to_dict(),
                                 "score": scoring.score(pt["validation"], "validation").to_dict()}
            self.log(f"seed program {sid}: search hv {score_value(s.score):.3f}")
            seeds.append(s)
        return RunState(seeds, {k: list(v) for k, v in scoring.windows.items()}, split.search.labels,
                        split.search.seeds_summary(), round(time.perf_counter() - t0, 3),
                        split=split.to_dict(), scoring=scoring.to_dict())

    def complete_state(self) -> None:
        """Add what the state lacks (a fresh run, or one written before these existed): the
        store facts and the seed programs' screens."""
        if self.state.store_facts is None:
            self.state.store_facts = self.store_facts()
        if self.cfg.cascade.get("enabled"):
            for s in self.state.seeds:
                if s.screen is None:
                    s.screen = self.screen_dict(self.screen_curves(s.source, f"{s.id}.tts", s.hash, s.uses_beta))

    def search_questions(self) -> dict:
        """Per search store label: the question indices of the search part (None: all)."""
        return dict(self.split.questions("search"))

    def store_facts(self) -> dict:
        """Per search store, over the search part's questions only: questions, branches per
        question, the probe interval in tokens, and how many revealed answers are junk (``ERR``,
        ``?``, empty) or otherwise not a number (e.g. ``No``)."""
        from collections import Counter

        qs = self.search_questions()
        out = {}
        for sl in self.search.slices:
            st = sl.ref.load()
            want = qs.get(sl.label)
            questions = [st.questions[i] for i in want] if want is not None else list(st.questions)
            probes, junk, other = 0, 0, Counter()
            for q in questions:
                kinds = [_answer_kind(a) for a in q.answers]
                for br in q.probes:
                    for a in br:
                        probes += 1
                        k = kinds[a]
                        if k == "junk":
                            junk += 1
                        elif k == "text":
                            other[q.answers[a]] += 1
            nb = sorted({q.n_branches for q in questions})
            out[sl.label] = {
                "questions": len(questions), "branches": nb[0] if len(nb) == 1 else nb,
                "interval_tokens": questions[0].probe_freq if questions else None,
                "probe_answers": probes, "junk_share": round(junk / probes, 4) if probes else 0.0,
                "text_share": round(sum(other.values()) / probes, 4) if probes else 0.0,
                "text_examples": [a for a, _ in other.most_common(3)]}
        return out

    # ---------------------------------------------------------------- qd archive
    def _init_qd(self) -> None:
        """The quality-diversity archive (:mod:`.qd`), rebuilt from the state and the records
        (the seed programs' points are kept in the state, a candidate's in its record)."""
        from . import qd

        self.qd = qd.from_run(self.cfg, self.state, self.archive.records())

    def admits(self, rd: Round, screen: Curves) -> bool:
        """Could the screened program enter a cell of its island (empty, or within the
        archive's ``admit_margin`` of the elite)? The in-memory screen curves carry the
        per-question arrays the behaviour descriptor needs."""
        if self.qd is None:
            return True
        return bool(self.qd.admits(screen, island=rd.island))

    # ------------------------------------------------------- budget, history
    def wall_now(self) -> float:
        return self._wall_before + (time.perf_counter() - self._session_t0)

    def _begin_session(self, records: list[Candidate]) -> None:
        walls = [r.run_wall_s for r in records if r.run_wall_s is not None]
        if walls:
            last = max(walls)
            # records written by an older loop after the last one with a run clock
            i = max(i for i, r in enumerate(records) if r.run_wall_s is not None)
            self._wall_before = last + sum(r.wall_s for r in records[i + 1:])
        else:
            self._wall_before = sum(r.wall_s for r in records) + self.state.setup_wall_s
        self._session_t0 = time.perf_counter()

    def budget_used(self, records: list[Candidate], inflight: dict | None = None) -> Budget:
        """Spent so far: records, the finished attempts of proposals in flight, and one
        reserved call (at the mean price per call so far) for each LLM call in flight."""
        b = Budget(len(records))
        for r in records:
            b.llm_calls += r.llm_calls
            b.usd += r.usd
        waiting = 0
        for rd in (inflight or {}).values():
            b.rounds += 1
            b.llm_calls += rd.calls
            b.usd += rd.usd
            if rd.waiting and self.proposer(rd.proposer).is_llm:
                waiting += 1
        if waiting:
            per_call = b.usd / b.llm_calls if b.llm_calls else 0.0
            b.llm_calls += waiting
            b.usd += waiting * per_call
        b.wall_s = self.wall_now()
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
        the valid candidates (screened ones included), and those rejected only by running
        (schedule, smoke, sweep)."""
        known: dict = {}
        for s in self.state.seeds:
            h, bk = self._hash_keys(s.source)
            for k in (s.hash, h, bk):
                if k:
                    known.setdefault(k, f"seed program {s.id}")
        for r in records:
            if r.source and r.status in ("ok", "invalid", "screened") and \
                    (r.status in ("ok", "screened") or (r.stage in ("schedule", "smoke", "sweep"))):
                name = f"candidate {r.label}" + ("" if r.status != "invalid" else f" (rejected at {r.stage})")
                for k in self._hash_keys(r.source):
                    if k:
                        known.setdefault(k, name)
        return known

    def pool(self, records: list[Candidate]) -> list[dict]:
        """The programs a proposer may start from, best search score first (``area`` is that
        score, under its old name)."""
        items = [{"id": s.id, "label": s.label, "source": s.source, "area": score_value(s.score), "hash": s.hash}
                 for s in self.state.seeds]
        items += [{"id": r.label, "label": r.label, "source": r.source, "area": score_value(r.score), "hash": r.hash}
                  for r in records if r.ok]
        return sorted(items, key=lambda x: -x["area"])

    def pick(self, proposal: int, pool: list[dict], records: list[Candidate]) -> tuple:
        """(parent, inspirations, island) of a proposal: from the quality-diversity archive
        (parents across cells and islands, inspirations from other cells) when there is one,
        else the parent by rank among the best (weights 1/rank^2) and the next best others."""
        rng = random.Random(f"pick:{self.cfg.seed}:{proposal}")
        k = int(self.cfg.prompt.get("inspirations", 2))
        by_id = {p["label"]: p for p in pool}
        if self.qd is not None and self.qd.island_cells(None):
            island = proposal % max(1, int(self.qd.n_islands))
            par = [by_id[i] for i in self.qd.sample_parents(rng, 1, island) if i in by_id]
            if par:
                ins = self.qd.inspirations(rng, k, exclude=[_qd_id(par[0])])
                return par[0], [by_id[i] for i in ins if i in by_id and by_id[i] is not par[0]], island
        if not pool:
            return None, [], None
        top = pool[: max(1, int(self.cfg.proposer.elite or 6))]
        parent = rng.choices(top, [1.0 / (i + 1) ** 2 for i in range(len(top))])[0]
        others = [p for p in pool if p is not parent]
        return parent, others[:k], None

    # ------------------------------------------------------------------ the run
    def next_proposal(self, records: list[Candidate]) -> int:
        used = [r.proposal if r.proposal is not None else r.id for r in records]
        return max(used) + 1 if used else 0

    def preflight(self) -> None:
        """Check every proposer (the endpoint answers, the command exists) before any
        evaluation: a fatal ProposerError names the cause."""
        for name in self.proposer_names():
            check = getattr(self.proposer(name), "preflight", None)
            if check is not None:
                try:
                    check()
                except ProposerError as ex:
                    raise ProposerError(f"proposer {name}: {ex}", fatal=True) from None

    def run(self) -> dict:
        try:
            return self._run()
        finally:
            self.close()

    def close(self) -> None:
        """Stop the evaluator's worker processes (kept between candidates during a run)."""
        if self.evaluator is not None:
            self.evaluator.close()

    def _run(self) -> dict:
        self.preflight()
        self.setup()
        records = self._records = self.archive.records(repair=True)
        self.log(f"{len(records)} complete record(s) so far")
        self._begin_session(records)
        inflight: dict[int, Round] = {}
        nxt = self.next_proposal(records)
        no_more = None  # why no new proposal starts (max_rounds) while others finish
        try:
            while True:
                while self.stop_reason is None and no_more is None and len(inflight) < self.cfg.parallel:
                    b = self.budget_used(records, inflight)
                    why = self.exhausted(b)
                    if why and b.rounds >= self.cfg.max_rounds:
                        no_more = why
                        break
                    if why:
                        self.stop_reason = why
                        break
                    rd = self.open_round(nxt, records)
                    nxt += 1
                    inflight[rd.proposal] = rd
                    self.submit(rd, 0)
                if not inflight:
                    break
                if self.stop_reason and self.stop_reason.startswith("max_wall_s"):
                    self.abandon(inflight, records)
                    break
                got = self.next_result(records, inflight)
                if got is None:  # the wall clock ran out while waiting
                    continue
                p, n, res = got
                rd = inflight[p]
                rd.waiting = False
                over = self.handle(rd, n, res)
                if not over:
                    why = self.stop_reason or self.exhausted(self.budget_used(records, inflight), rounds=False)
                    if n >= self.cfg.max_repairs:
                        over = True
                    elif why:
                        self.stop_reason = self.stop_reason or why
                        rd.status, over = "stopped", True
                    else:
                        self.submit(rd, n + 1)
                if over:
                    del inflight[p]
                    self.commit(rd, records)
        finally:
            if self._abandoned:  # calls still running: closing a client would wait for them
                threading.Thread(target=self.close_proposers, daemon=True).start()
            else:
                self.close_proposers()
        self.stop_reason = self.stop_reason or no_more
        self.log(f"stopped: {self.stop_reason}")
        return self.finish(records)

    def abandon(self, inflight: dict, records: list[Candidate]) -> None:
        """The wall clock ran out with proposals in flight: those with a finished attempt are
        recorded as stopped, the others are dropped (their calls are still running)."""
        self._abandoned = any(rd.waiting for rd in inflight.values())
        for p in sorted(inflight):
            rd = inflight[p]
            if rd.attempts:
                rd.status = "stopped"
                self.commit(rd, records)
        inflight.clear()

    def next_result(self, records, inflight):
        """The next finished proposer call ``(proposal, attempt, Reply | exception)``; None when
        the wall-clock budget ran out while waiting."""
        while True:
            try:
                return self._results.get(timeout=0.2)
            except queue.Empty:
                why = self.exhausted(self.budget_used(records, inflight), rounds=False)
                if why and why.startswith("max_wall_s"):
                    self.stop_reason = why
                    return None

    def submit(self, rd: Round, n: int) -> None:
        """Start attempt ``n``'s proposer call: in a worker thread for LLM kinds when
        ``parallel`` > 1, else inline. Its result arrives on the results queue."""
        prop = self.proposer(rd.proposer)
        last = None
        if n and rd.validation is not None:
            last = {"source": rd.validation.source, "validation": rd.validation.to_dict()}
        ctx = Context(rd.proposal, n, self.cfg.seed, rd.pool, rd.known, self.cfg.smoke, last=last,
                      betas=list(self.cfg.betas), parents=[rd.parent] if rd.parent else None,
                      inspirations=rd.inspirations or None, island=rd.island, proposer=rd.proposer)
        messages = list(rd.messages)
        rd.waiting = True

        def work():
            try:
                res = prop.propose(messages, ctx)
            except BaseException as ex:  # noqa: BLE001 - handed to the main thread
                res = ex
            self._results.put((rd.proposal, n, res))

        if self.cfg.parallel > 1 and prop.is_llm:
            threading.Thread(target=work, name=f"propose-{rd.proposal}-{n}", daemon=True).start()
        else:
            work()

    def open_round(self, proposal: int, records: list[Candidate]) -> Round:
        """The prompt step: the proposer, the parent and inspirations, the prompt and
        conversation, and the history view."""
        t0 = time.perf_counter()
        name = self.choose_proposer(proposal, records)
        pool = self.pool(records)
        parent, insp, island = self.pick(proposal, pool, records)
        view = self.prompt_view(parent, insp, records)
        prompt = build_prompt(self.cfg, self.langref, self.state.seeds, records, view)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        return Round(proposal, name, t0, prompt, messages, self.known_hashes(records), pool, parent=parent,
                     inspirations=insp, island=island)

    def prompt_view(self, parent, inspirations, records) -> PromptView:
        """What a prompt shows beyond the history: the score's definition, the store facts,
        the archive's cells, the named parent and the inspirations."""
        from . import scores

        cells = self.qd.render_grid() if self.qd is not None and self.qd.island_cells(None) else None
        lookup = {s.id: s for s in self.state.seeds}
        lookup.update({r.label: r for r in records if r.ok})

        def entry(p):
            return lookup.get(p["id"]) if p else None

        return PromptView(score_definition=scores.score_definition(self.cfg.score["extend"] == "flat"),
                          store_facts=self.state.store_facts, cells=cells, parent=entry(parent),
                          inspirations=[e for e in (entry(p) for p in inspirations) if e is not None])

    def handle(self, rd: Round, n: int, res) -> bool:
        """Attempt ``n``'s proposer result: validate, screen, evaluate. True when the proposal
        is over (a valid program, or a fatal proposer error); a rejected reply queues its
        repair message."""
        ta = time.perf_counter()
        att = Attempt(n, message=rd.messages[-1]["content"] if n else None)
        if isinstance(res, ProposerError):
            rd.calls += res.calls
            att.error, att.llm_calls, att.wall_s = str(res), res.calls, round(time.perf_counter() - ta, 3)
            rd.attempts.append(att)
            self._failures = getattr(self, "_failures", 0) + 1
            self.log(f"proposal {rd.proposal} attempt {n}: proposer {rd.proposer} failed: {res}")
            if res.fatal:
                self.stop_reason = f"proposer error: {res}"
                rd.status = "stopped"
                return True
            limit = int(self.cfg.proposer_failures)
            if self._failures >= limit:
                self.stop_reason = f"proposer error: {self._failures} failures in a row, the last: {res}"
                rd.status = "stopped"
                return True
            return False  # the same conversation again
        if not isinstance(res, BaseException):
            self._failures = 0
        if isinstance(res, BaseException):
            raise res
        reply: Reply = res
        rd.take(reply)
        att.response, att.tokens_in, att.tokens_out = reply.text, reply.tokens_in, reply.tokens_out
        att.usd, att.llm_calls, att.meta = reply.usd, reply.llm_calls, reply.meta
        v = self.validate(reply.text, rd, reply.parents[0] if reply.parents else None)
        rd.curves = rd.validation_curves = rd.screen = rd.full_skipped = None
        if v.ok:
            v = self.assess(rd, v)
        rd.validation = v
        att.validation = v.to_dict()
        att.wall_s = round(time.perf_counter() - ta, 3)
        rd.attempts.append(att)
        if v.ok:
            rd.status = "ok" if rd.curves is not None else "screened"
            return True
        if n < self.cfg.max_repairs:
            rd.messages = rd.messages + [
                {"role": "assistant", "content": reply.text},
                {"role": "user", "content": repair_message(v.to_dict(), n + 1, self.cfg.max_repairs,
                                                           edits=self.cfg.prompt.get("edits", "both"),
                                                           parent=rd.parent["id"] if rd.parent else None)}]
        return False

    def validate(self, text: str, rd: Round, parent: str | None = None) -> Validation:
        """The stages before the screen (extract/apply .. smoke), see :mod:`.validate`. A diff
        is applied to the source of the parent it names (any program of the pool), by default
        the prompt's parent; ``parent`` overrides that (the proposer's own pick, for evolve)."""
        from .validate import validate

        sources = {p["id"]: p["source"] for p in rd.pool}
        sources.update({f"seed:{p['id']}": p["source"] for p in rd.pool})
        return validate(text, rd.file, rd.known, self.cfg, parents=sources,
                        default_parent=parent or (rd.parent["id"] if rd.parent else None))

    # --------------------------------------------------------- screen, sweep
    def screen_curves(self, source: str, file: str, phash: str, uses_beta: bool) -> Curves:
        """The program on the cascade's subset: ``cascade.seeds`` ordering seeds, the cascade
        betas, and the search part's questions (``cascade.questions`` > 0: that many per store,
        spread over the part)."""
        c = self.cfg.cascade
        seeds = tuple(self.search.seeds[: max(1, int(c["seeds"]))])
        qs = self.search_questions()
        nq = int(c.get("questions") or 0)
        if nq > 0:
            qs = {lb: _spread(q if q is not None else range(self._n_questions(lb)), nq) for lb, q in qs.items()}
        qarg = qs if any(v is not None for v in qs.values()) else None
        return self.evaluator.evaluate(source, file, phash, uses_beta, self.search.refs, seeds,
                                       questions=qarg, betas=list(c["betas"]))

    def _n_questions(self, label) -> int:
        for sl in self.search.slices:
            if sl.label == label:
                return len(sl.ref.load().questions)
        return 0

    def screen_dict(self, curves: Curves) -> dict:
        c = self.cfg.cascade
        sc = self.score_curves(curves)
        return {"betas": list(c["betas"]), "seeds": [self.search.seeds[0], min(int(c["seeds"]), len(self.search.seeds))],
                "questions": int(c.get("questions") or 0), "curves": curves.to_dict(),
                "score": sc.to_dict() if sc is not None else None, "fingerprint": _fingerprint(curves)}

    def score_curves(self, curves: Curves):
        """The search-part score of curves."""
        return self.scoring.score(curves)

    def assess(self, rd: Round, v: Validation) -> Validation:
        """The cascade: screen, fingerprint dedupe (D003), admission, then the full
        evaluation; a runtime error on a search store rejects the program (sweep, R001)."""
        from ..lang.diagnostics import Diagnostic

        if self.cfg.cascade.get("enabled"):
            t0 = time.perf_counter()
            sc = self.screen_curves(v.source, rd.file, v.hash, v.checked.uses_beta)
            if sc.errors():
                return self.sweep_failure(v, rd.file, sc.errors(), "the screening subset")
            rd.screen = self.screen_dict(sc)
            rd.screen["wall_s"] = round(time.perf_counter() - t0, 3)
            fp = rd.screen["fingerprint"]
            dup = self.qd.duplicate_of(fp) if (fp is not None and self.qd is not None) else None
            if dup is not None:
                d = Diagnostic("D003", f"this program behaves exactly like {_program_name(dup)} on the screening "
                               "subset (the same per-question accuracy and cost at every screening beta)",
                               v.checked.program.name_span, stage="dedupe", file=rd.file,
                               hint="change what the program does, not only how it is written")
                return Validation(False, "dedupe", diag_dicts([d], v.source), source=v.source, hash=v.hash,
                                  duplicate_of=_program_name(dup), warnings=v.warnings)
            rd.screen["admitted"] = self.admits(rd, sc)
            if not rd.screen["admitted"]:
                rd.full_skipped = "its screen could not enter the archive (no cell it would improve)"
                return v
        parts = self.evaluator.evaluate_parts(v.source, rd.file, v.hash, v.checked.uses_beta, self.split)
        curves, rd.validation_curves = parts["search"], parts.get("validation")
        errs = curves.errors()
        if errs:
            return self.sweep_failure(v, rd.file, errs, "a search store")
        rd.curves = curves
        return v

    def sweep_failure(self, v: Validation, file: str, errs: list, where: str) -> Validation:
        from ..lang.diagnostics import Diagnostic

        diags = [Diagnostic("R001", e, stage="sweep", file=file,
                            hint=f"the program failed on {where}; guard the failing expression")
                 for e in errs[:3]]
        return Validation(False, "sweep", diag_dicts(diags, v.source), source=v.source, hash=v.hash,
                          warnings=v.warnings)

    # ----------------------------------------------------------------- records
    def commit(self, rd: Round, records: list[Candidate]) -> Candidate:
        """Record a finished proposal (appended whole), and add it to the archive."""
        rec = self.record(rd, len(records))
        self.archive.append(rec)
        records.append(rec)
        if rec.status in ("ok", "screened"):  # the archive moved on (cells, fingerprints, migration)
            self.save_state()
        if rec.status == "stopped":
            self.log(f"{rec.label} stopped")
        else:
            s = rec.score
            tail = (f" hv {score_value(s):.3f} best acc {s.best_accuracy}" if s is not None
                    else f" ({rec.stage or rec.full_skipped})")
            self.log(f"{rec.label} [{rec.proposer}] {rec.status}{tail} [{rec.wall_s:.1f} s] "
                     f"(round {len(records)}/{self.cfg.max_rounds}"
                     + (f", {self.wall_now():.0f} s elapsed)" if hasattr(self, "_session_t0") else ")"))
        return rec

    def record(self, rd: Round, rid: int | None = None) -> Candidate:
        """The proposal's record; a valid program's file, curves, score and trace sample with it."""
        cfg, v = self.cfg, rd.validation
        status = rd.status
        if status not in ("ok", "screened") and v is not None and v.stage == "dedupe":
            status = "duplicate"
        rid = rd.proposal if rid is None else rid
        pc = self.proposer_configs()[self.proposer_names().index(rd.proposer)]
        edit = getattr(v, "edit", None) if v else None
        named = edit.get("parent") if edit and edit.get("kind") == "diff" else None
        if named and named.startswith("seed:"):
            named = named[5:]
        parents = rd.parents or ([named] if named else [rd.parent["id"]] if rd.parent else
                                 [p["id"] for p in rd.pool[:cfg.prompt["top_k"]]])
        rec = Candidate(
            id=rid, status=status, stage=None if status in ("ok", "screened") else (v.stage if v else "proposer"),
            proposer=rd.proposer, parents=parents,
            source=v.source if v else None, hash=v.hash if v else None,
            duplicate_of=v.duplicate_of if v else None, system=SYSTEM, prompt=rd.prompt, attempts=rd.attempts,
            llm_calls=rd.calls, tokens_in=rd.tokens_in, tokens_out=rd.tokens_out, usd=round(rd.usd, 6),
            betas=list(cfg.betas), seeds=self.search.seeds_summary(), stores=self.search.labels)
        rec.proposal, rec.proposer_kind, rec.island = rd.proposal, pc.kind, rd.island
        rec.edit = edit
        rec.inspirations = [p["id"] for p in rd.inspirations] or None
        rec.screen, rec.full_skipped = rd.screen, rd.full_skipped
        if status == "ok":
            self.keep_valid(rec, v, rd.curves)
            if rd.validation_curves is not None:
                rec.validation_part = {"curves": rd.validation_curves.to_dict(),
                                       "score": self.scoring.score(rd.validation_curves, "validation").to_dict()}
        if self.qd is not None and status in ("ok", "screened"):
            rec.cells = [list(c) for c in self.qd.add(rec)] if status == "ok" else []
            if rec.screen and rec.screen.get("fingerprint"):
                self.qd.remember(rec.screen["fingerprint"], rec.label)
        rec.wall_s = round(time.perf_counter() - rd.t0, 3)
        rec.run_wall_s = round(self.wall_now(), 3)
        return rec

    def keep_valid(self, rec: Candidate, v: Validation, curves: Curves) -> None:
        name = f"{rec.label}-{v.hash[:8]}"
        rec.program_file = self.archive.write_program(name, v.source)
        rec.curves = curves
        rec.score = self.score_curves(curves)
        rec.warnings = v.warnings
        try:
            from .traces import trace_sample

            b = 0.5 if v.checked.uses_beta else None
            sl = self.search.slices[0]
            qs = self.search_questions().get(sl.label)
            text = trace_sample(v.checked, sl.ref, b, self.search.seeds[0], questions=(qs[0] if qs else 0,))
            rec.trace_file = self.archive.write_trace(name, text)
            rec.trace = text[: 2 * int(self.cfg.prompt["trace_chars"])]
        except Exception as ex:  # noqa: BLE001 - a trace is a sample; never fail a round for it
            rec.trace_error = f"{type(ex).__name__}: {ex}"

    # ------------------------------------------------------------ final stage
    def finish(self, records: list[Candidate]) -> dict:
        from .report import finalize

        return finalize(self, records)


class _LogStream:
    """A stream for :class:`tts_dsl.cli.progress.Progress` that writes whole lines through the
    run's log (so ``-q`` silences them, and they interleave with the other status lines)."""

    def __init__(self, log):
        self.log = log

    def write(self, text: str) -> None:
        if text.strip():
            self.log(text.rstrip("\n"))

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def phase_progress(log, total: int, label: str):
    """Periodic lines with counts for one phase of a run (every ``TTS_DSL_PROGRESS_EVERY``
    seconds and at the end), through ``log``."""
    from ..cli.progress import Progress

    return Progress(total, label, stream=_LogStream(log))


def _answer_kind(text) -> str:
    """``junk`` (ERR, ?, empty), ``number``, or ``text`` (another non-numeric answer)."""
    t = (text or "").strip()
    if t in ("", "?", "ERR"):
        return "junk"
    try:
        float(t.replace(",", ""))
        return "number"
    except ValueError:
        return "text"


def _spread(items, n: int) -> tuple:
    """``n`` items spread evenly over a sequence (all of them if there are fewer)."""
    items = list(items)
    if n >= len(items):
        return tuple(items)
    return tuple(items[(i * len(items)) // n] for i in range(n))


def _fingerprint(curves: Curves) -> str | None:
    """The behavioural fingerprint of screen curves (:func:`.qd.fingerprint`); None when the
    curves lack the per-question arrays (then no D003 check)."""
    from .qd import fingerprint

    try:
        return fingerprint(curves)
    except ValueError:
        return None


def _qd_id(entry: dict) -> str:
    """The archive's name of a pool entry (seed programs are ``seed:ID``)."""
    return entry.get("label") or entry["id"]


def _program_name(qd_id: str) -> str:
    return f"seed program {qd_id[5:]}" if qd_id.startswith("seed:") else f"candidate {qd_id}"
