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
from dataclasses import dataclass
from pathlib import Path

from ..evaluation.sweep import StoreRef
from .archive import Archive
from .config import DiscoverConfig, config_from_dict
from .proposers import Context, Proposer, ProposerError, make_proposer
from .prompt import SYSTEM, build_prompt, repair_message
from .scoring import Curves, Evaluator, ranges_from, ref_label, resolve_stores, score, seeds_of
from .validate import Validation, diag_dicts, program_hash


@dataclass
class Budget:
    rounds: int = 0
    llm_calls: int = 0
    usd: float = 0.0
    wall_s: float = 0.0


def cfg_to_dict(cfg: DiscoverConfig) -> dict:
    d = cfg.to_dict()
    d["base_dir"] = str(Path(cfg.base_dir).resolve())
    return d


def cfg_from_saved(d: dict) -> DiscoverConfig:
    """Rebuild a config from config.json (its own serialisation)."""
    d = dict(d)
    base = d.pop("base_dir", ".")
    run = {k: d.pop(k) for k in list(d) if k not in ("search", "heldout", "proposer", "prompt", "smoke")}
    table = {"run": run, "search": d["search"], "proposer": d["proposer"], "prompt": d.get("prompt", {}),
             "smoke": d.get("smoke", {})}
    if d.get("heldout") is not None:
        table["heldout"] = d["heldout"]
    table["proposer"] = {k: v for k, v in table["proposer"].items() if v is not None}
    return config_from_dict(table, base)


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
        self.search_refs: list[StoreRef] = []
        self.search_seeds: tuple = ()
        self.state: dict = {}
        self.stop_reason: str | None = None

    # ------------------------------------------------------------------ setup
    @classmethod
    def start(cls, cfg: DiscoverConfig, out, **kw) -> "Discovery":
        d = cls(cfg, out, **kw)
        d.archive.create(cfg_to_dict(cfg))
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
        cfg = cfg_from_saved(saved)
        if overrides:
            from .archive import atomic_write

            atomic_write(a.config_path, json.dumps(cfg_to_dict(cfg), indent=2))
        return cls(cfg, out, **kw)

    def proposer(self) -> Proposer:
        if self._proposer is None:
            self._proposer = make_proposer(self.cfg.proposer, self.cfg.base_dir, self.archive.root)
        return self._proposer

    def setup(self) -> None:
        from ..api import check, read_source
        from .langref import language_reference

        cfg = self.cfg
        cache = cfg.path(cfg.cache) if cfg.cache else self.archive.cache_path
        self.evaluator = Evaluator(cfg, cache, self.executor)
        self.search_refs = resolve_stores(cfg.search, cfg)
        if not self.search_refs:
            raise ValueError("[search] selects no store")
        self.search_seeds = seeds_of(cfg.search)
        self.langref = language_reference()
        state = self.archive.read_state()
        if state is not None:
            self.state = state
            return
        t0 = time.perf_counter()
        seeds = []
        ids = set()
        for p in cfg.seed_program_paths():
            src = read_source(p)
            checked = check(src, str(p))
            sid = p.stem
            while sid in ids:
                sid += "_"
            ids.add(sid)
            self.log(f"seed program {sid}: evaluating on {len(self.search_refs)} store(s)")
            h = program_hash(checked.program)
            curves = self.evaluator.evaluate(src, str(p), h, checked.uses_beta, self.search_refs, self.search_seeds)
            seeds.append({"id": sid, "file": str(p), "source": src, "hash": h, "uses_beta": checked.uses_beta,
                          "curves": curves.to_dict()})
        ranges = ranges_from([Curves(s["curves"]) for s in seeds], cfg.area_range)
        for s in seeds:
            s["score"] = score(Curves(s["curves"]), ranges)
            self.log(f"seed program {s['id']}: frontier area {s['score']['area']:.3f}")
        self.state = {"seeds": seeds, "ranges": {k: list(v) for k, v in ranges.items()},
                      "search_stores": [ref_label(r) for r in self.search_refs],
                      "search_seeds": [self.search_seeds[0], len(self.search_seeds)],
                      "setup_wall_s": round(time.perf_counter() - t0, 3)}
        self.archive.write_state(self.state)

    # ---------------------------------------------------------------- helpers
    def ranges(self) -> dict:
        return {k: tuple(v) for k, v in self.state["ranges"].items()}

    def budget_used(self, records) -> Budget:
        b = Budget(len(records))
        for r in records:
            b.llm_calls += r.get("llm_calls", 0)
            b.usd += r.get("usd", 0.0)
            b.wall_s += r.get("wall_s", 0.0)
        b.wall_s += self.state.get("setup_wall_s", 0.0)
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

    def known_hashes(self, records) -> dict:
        from ..api import check

        from .validate import behaviour_key

        cache = self.__dict__.setdefault("_hash_cache", {})

        def keys(source):
            if source not in cache:
                try:
                    c = check(source, "<known>")
                    cache[source] = (program_hash(c.program), behaviour_key(c, self.cfg.betas))
                except Exception:  # noqa: BLE001 - an old record that no longer checks is not a duplicate
                    cache[source] = (None, None)
            return cache[source]

        known: dict = {}
        for s in self.state["seeds"]:
            h, bk = keys(s["source"])
            for k in (s["hash"], h, bk):
                if k:
                    known.setdefault(k, f"seed program {s['id']}")
        for r in records:
            if r.get("source") and r.get("status") in ("ok", "invalid") and \
                    (r.get("status") == "ok" or (r.get("stage") in ("schedule", "smoke", "sweep"))):
                name = f"candidate c{r['id']:04d}" + ("" if r["status"] == "ok" else f" (rejected at {r.get('stage')})")
                for k in keys(r["source"]):
                    if k:
                        known.setdefault(k, name)
        return known

    def pool(self, records) -> list[dict]:
        items = [{"id": s["id"], "source": s["source"], "area": s["score"]["area"], "hash": s["hash"]}
                 for s in self.state["seeds"]]
        items += [{"id": f"c{r['id']:04d}", "source": r["source"], "area": r["score"]["area"], "hash": r["hash"]}
                  for r in records if r.get("status") == "ok"]
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
                if rec["status"] == "stopped":
                    self.log(f"c{rec['id']:04d} stopped")
                    break
                s = rec.get("score") or {}
                self.log(f"c{rec['id']:04d} {rec['status']}"
                         + (f" area {s['area']:.3f} best acc {s['best_accuracy']}" if s else
                            f" ({rec.get('stage')})") + f" [{rec['wall_s']:.1f} s]")
        finally:
            self.proposer().close()
        self.log(f"stopped: {self.stop_reason}")
        return self.finish(records)

    def round(self, rid: int, records: list[dict]) -> dict | None:
        cfg = self.cfg
        t0 = time.perf_counter()
        base = self.budget_used(records)
        prompt = build_prompt(cfg, self.langref, self.state["seeds"], records)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        known = self.known_hashes(records)
        pool = self.pool(records)
        attempts: list[dict] = []
        calls = tin = tout = 0
        usd = 0.0
        v: Validation | None = None
        curves = None
        status = "invalid"
        parents: list = []
        for n in range(cfg.max_repairs + 1):
            used = Budget(base.rounds, base.llm_calls + calls, base.usd + usd, base.wall_s)
            why = self.exhausted(used, time.perf_counter() - t0, rounds=False)
            if why:
                self.stop_reason = why
                if not attempts:
                    return None
                status = "stopped"
                break
            ctx = Context(rid, n, cfg.seed, pool, known, cfg.smoke)
            ta = time.perf_counter()
            att: dict = {"n": n}
            if n:
                att["message"] = messages[-1]["content"]
            try:
                reply = self.proposer().propose(messages, ctx)
            except ProposerError as ex:
                calls += ex.calls
                att.update({"error": str(ex), "llm_calls": ex.calls, "wall_s": round(time.perf_counter() - ta, 3)})
                attempts.append(att)
                if ex.fatal:
                    self.stop_reason = f"proposer error: {ex}"
                    status = "stopped"
                    break
                continue  # the same conversation again
            calls += reply.llm_calls
            tin += reply.tokens_in
            tout += reply.tokens_out
            usd += reply.usd
            if reply.parents:
                parents = list(reply.parents)
            att.update({"response": reply.text, "tokens_in": reply.tokens_in, "tokens_out": reply.tokens_out,
                        "usd": reply.usd, "llm_calls": reply.llm_calls, "meta": reply.meta})
            v = self.validate(reply.text, rid, known)
            if v.ok:
                curves = self.evaluator.evaluate(v.source, f"c{rid:04d}.tts", v.hash, v.checked.uses_beta,
                                                 self.search_refs, self.search_seeds)
                errs = curves.errors()
                if errs:
                    from ..lang.diagnostics import Diagnostic

                    diags = [Diagnostic("R001", e, stage="sweep", file=f"c{rid:04d}.tts",
                                        hint="the program failed on a search store; guard the failing expression")
                             for e in errs[:3]]
                    v = Validation(False, "sweep", diag_dicts(diags, v.source), source=v.source, hash=v.hash,
                                   warnings=v.warnings)
                    curves = None
            att["validation"] = v.to_dict()
            att["wall_s"] = round(time.perf_counter() - ta, 3)
            attempts.append(att)
            if v.ok:
                status = "ok"
                break
            if n < cfg.max_repairs:
                messages = messages + [{"role": "assistant", "content": reply.text},
                                       {"role": "user", "content": repair_message(v.to_dict(), n + 1, cfg.max_repairs)}]
        if status != "ok" and v is not None and v.stage == "dedupe":
            status = "duplicate"
        rec: dict = {
            "id": rid, "status": status, "stage": None if status == "ok" else (v.stage if v else "proposer"),
            "proposer": cfg.proposer.kind, "parents": parents or [p["id"] for p in pool[:cfg.prompt["top_k"]]],
            "source": v.source if v else None, "hash": v.hash if v else None,
            "duplicate_of": v.duplicate_of if v else None,
            "system": SYSTEM, "prompt": prompt, "attempts": attempts,
            "llm_calls": calls, "tokens_in": tin, "tokens_out": tout, "usd": round(usd, 6),
            "betas": list(cfg.betas), "seeds": [self.search_seeds[0], len(self.search_seeds)],
            "stores": [ref_label(r) for r in self.search_refs],
        }
        if status == "ok":
            name = f"c{rid:04d}-{v.hash[:8]}"
            rec["program_file"] = self.archive.write_program(name, v.source)
            rec["curves"] = curves.to_dict()
            rec["score"] = score(curves, self.ranges())
            rec["warnings"] = v.warnings
            try:
                from .traces import trace_sample

                b = 0.5 if v.checked.uses_beta else None
                text = trace_sample(v.checked, self.search_refs[0], b, self.search_seeds[0])
                rec["trace_file"] = self.archive.write_trace(name, text)
                rec["trace"] = text[: 2 * int(cfg.prompt["trace_chars"])]
            except Exception as ex:  # noqa: BLE001 - a trace is a sample; never fail a round for it
                rec["trace_error"] = f"{type(ex).__name__}: {ex}"
        rec["wall_s"] = round(time.perf_counter() - t0, 3)
        return rec

    def validate(self, text: str, rid: int, known: dict) -> Validation:
        from .validate import validate

        return validate(text, f"c{rid:04d}.tts", known, self.cfg)

    # ------------------------------------------------------------ final stage
    def finish(self, records: list[dict]) -> dict:
        from .report import finalize

        return finalize(self, records)
