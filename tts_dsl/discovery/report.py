"""The end of a run: select a winner by the configured rule (on the search part), judge the
winners and the seed programs on the validation part (questions no proposal was ranked on:
hv with its bootstrap interval, and the paired bootstrap against every seed program), and on
the configured ``[heldout]`` stores if any; write ``final.json``, ``best.tts``, the frontier
plots and ``report.md``. Nothing here is ever read back by a prompt."""

from __future__ import annotations

import json
import time

from ..files import atomic_write
from .records import Candidate, SeedProgram
from .scores import BUDGET_FRACTIONS, BUDGET_NAME, Scoring, hv_interval, score_definition, score_part, versus_seeds
from .scores import windows_from
from .splits import Split

RULES = ("frontier", "accuracy")


def _rule_key(rule: str):
    """Sort key of a rule (smaller is better): ``frontier`` ranks by search hv, ``accuracy``
    by the best store-averaged search accuracy over the beta grid (ties: lower cost)."""
    if rule == "accuracy":
        return lambda r: (-(r.score.best_accuracy or 0), r.score.best_accuracy_cost or 0)
    return lambda r: (-r.score.hv,)


def ranking(records: list[Candidate], seeds: list[SeedProgram], rule: str) -> list:
    """Valid candidates best first by ``rule`` (seed programs if there is none); ties keep
    the earlier candidate."""
    ok = [r for r in records if r.ok and r.score is not None]
    pool = ok or [s for s in seeds if s.score is not None]
    return sorted(pool, key=_rule_key(rule))


def select(records: list[Candidate], seeds: list[SeedProgram], rule: str) -> Candidate | SeedProgram | None:
    """The winning entry among valid candidates (seed programs if there is none).

    ``frontier``: the largest search hv (ties: the earlier candidate).
    ``accuracy``: the highest best mean search accuracy over the beta grid (the paper's rule;
    ties: the lower cost at that accuracy, then the earlier candidate)."""
    r = ranking(records, seeds, rule)
    return r[0] if r else None


class Judge:
    """Evaluates entries on the split's parts (through the evaluator's cache) and judges them
    on the validation part against every seed program."""

    def __init__(self, disc, split: Split, scoring: Scoring):
        self.disc, self.split, self.scoring = disc, split, scoring
        sel = disc.cfg.selection
        self.b, self.seed = int(sel.get("bootstrap", 1000)), int(sel.get("seed", 0))
        self.parts: dict = {}
        self.has_validation = bool(split.validation.slices)
        self.seed_val: dict = {}
        self.progress = None  # called once per finished evaluation task (the final stage's progress)

    def parts_of(self, label: str, e) -> dict:
        if label not in self.parts:
            uses_beta = e.uses_beta if isinstance(e, SeedProgram) else _uses_beta(e)
            self.parts[label] = self.disc.evaluator.evaluate_parts(e.source, f"{label}.tts", e.hash, uses_beta,
                                                                   self.split, self.progress)
        return self.parts[label]

    def seeds(self, seeds: list[SeedProgram]) -> None:
        self.seed_val = {s.label: self.parts_of(s.label, s)["validation"] for s in seeds}

    def versus(self, label: str, e) -> dict:
        """The paired bootstrap against every seed program on the validation part."""
        if not self.has_validation:
            return {}
        v = self.parts_of(label, e)["validation"]
        return versus_seeds(v, {k: c for k, c in self.seed_val.items() if k != label},
                            self.scoring.validation_windows, self.b, self.seed, extend=self.scoring.extend)

    def beats_every_seed(self, label: str, e) -> bool:
        vs = self.versus(label, e)
        return bool(vs) and all(d["significant"] for d in vs.values())

    def entry(self, label: str, e, compare: bool) -> dict:
        p = self.parts_of(label, e)
        s = p["search"]
        d = {"source": e.source, "hash": e.hash,
             "uses_beta": e.uses_beta if isinstance(e, SeedProgram) else _uses_beta(e),
             "search": s.to_dict(), "search_score": self.scoring.score(s).to_dict(), "search_mean": s.mean_curve()}
        if self.has_validation:
            v = p["validation"]
            d.update({"validation": v.to_dict(), "validation_score": self.scoring.score(v, "validation").to_dict(),
                      "validation_interval": hv_interval(v, self.scoring.validation_windows, self.b, self.seed,
                                                         extend=self.scoring.extend),
                      "validation_mean": v.mean_curve()})
            if compare:
                vs = self.versus(label, e)
                d["versus_seeds"] = vs
                d["beats_every_seed"] = bool(vs) and all(x["significant"] for x in vs.values())
        return d


def _uses_beta(e) -> bool:
    """Whether a candidate was evaluated over the beta grid (its rows carry betas), which keys
    its cached evaluation; checked again only when it has no curves."""
    if e.curves is not None and e.curves.stores:
        return any(r.get("beta") is not None for rows in e.curves.stores.values() for r in rows)
    from ..api import check

    return check(e.source, e.label).uses_beta


def _split_and_scoring(disc) -> tuple[Split, Scoring]:
    split = getattr(disc, "split", None)
    if split is None and getattr(disc.state, "split", None):
        split = Split.from_dict(disc.state.split)
    scoring = getattr(disc, "scoring", None)
    if scoring is None and getattr(disc.state, "scoring", None):
        scoring = Scoring.from_dict(disc.state.scoring)
    if split is None or scoring is None:
        raise ValueError("this run has no question-level split (a run from before issue 12): "
                         "start a new run to get a validation part")
    return split, scoring


class Novelty:
    """Novelty verdicts (:mod:`.novelty`) for candidates, memoised, within the run's bounds:
    at most ``select.novelty_candidates`` candidates and ``select.novelty_max_s`` seconds
    (a candidate past the bounds is not checked: its verdict is None)."""

    def __init__(self, disc, split: Split, seeds: list[SeedProgram], records: list[Candidate], scoring=None):
        sel = disc.cfg.selection
        self.disc, self.split, self.seeds, self.scoring = disc, split, seeds, scoring
        self.max_n, self.max_s = int(sel.get("novelty_candidates", 25)), float(sel.get("novelty_max_s", 600))
        self.n_seeds = int(sel.get("novelty_seeds", 3))
        self.parents = {r.label: list(r.parents or []) for r in records}
        self.verdicts: dict = {}
        self.spent = 0.0
        self._checker = None

    def checker(self):
        if self._checker is None:
            from .novelty import NoveltyChecker, ScreenSet

            part = self.split.search
            stores = [(sl.label, sl.ref.load(), sl.questions) for sl in part.slices]
            screen = ScreenSet(stores, tuple(part.seeds[:self.n_seeds]))
            limits = getattr(getattr(self.disc, "evaluator", None), "limits", None)
            self._checker = NoveltyChecker(screen, [(s.id, s.source) for s in self.seeds], list(self.disc.cfg.betas),
                                           limits)
        return self._checker

    def roots(self, label: str) -> list:
        """The seed programs the candidate descends from (checked first)."""
        ids = {s.id for s in self.seeds}
        out, todo, seen = [], [label], set()
        while todo:
            cur = todo.pop(0)
            if cur in seen:
                continue
            seen.add(cur)
            if cur in ids:
                out.append(cur)
            todo += [p for p in self.parents.get(cur, []) if isinstance(p, str)]
        return out

    def weights(self, r) -> dict | None:
        """Each beta's share of the candidate's search-part score (None: no curves)."""
        from .scores import beta_weights

        curves = getattr(r, "curves", None)
        if curves is None or self.scoring is None:
            return None
        return beta_weights(curves, self.scoring.windows, self.scoring.extend) or None

    def verdict(self, r) -> dict | None:
        if r.label in self.verdicts:
            return self.verdicts[r.label]
        if len(self.verdicts) >= self.max_n or self.spent >= self.max_s:
            return None
        t0 = time.perf_counter()
        try:
            v = self.checker().check(r.source, r.label, self.roots(r.label), self.weights(r))
        except Exception as ex:  # noqa: BLE001 - an unchecked candidate is reported as such
            v = {"novel": None, "error": f"{type(ex).__name__}: {ex}"}
        self.spent += time.perf_counter() - t0
        self.verdicts[r.label] = v
        self.disc.log(f"novelty: {r.label}: {_novelty_phrase(v)}")
        return v


def _novelty_phrase(v) -> str:
    from .novelty import describe

    if v is not None and v.get("error"):
        return f"novelty check failed ({v['error']})"
    return describe(v)


def choose(judge: Judge, records: list[Candidate], seeds: list[SeedProgram], rule: str,
           require_significant: bool, novelty: Novelty | None = None, require_novel: bool = False) -> tuple:
    """The selected entry and a note. With ``require_significant`` the best candidate by
    ``rule`` whose validation hv beats every seed program significantly (the lower bound of
    the paired bootstrap interval above 0); with ``require_novel`` (and a ``novelty``
    checker) the best candidate that is not a schedule variant of a seed program; both:
    the best that is both. When none is, the best seed program."""
    best = select(records, seeds, rule)
    notes = []
    if require_significant and not judge.has_validation:
        notes.append("select.require_significant has no validation part to test on: ignored")
        require_significant = False
    require_novel = require_novel and novelty is not None
    if not (require_significant or require_novel):
        return best, (notes[0] if notes else None)
    what = " and ".join(x for x, on in (("is not a schedule variant of a seed program", require_novel),
                                         ("whose validation hv beats every seed program significantly",
                                          require_significant)) if on)
    flags = ", ".join(f"select.{k}" for k, on in (("require_novel", require_novel),
                                                    ("require_significant", require_significant)) if on)
    unchecked = 0
    for r in ranking([r for r in records if r.ok], [], rule):
        if require_novel:
            v = novelty.verdict(r)
            if v is None:
                unchecked += 1
                continue
            if v.get("novel") is not True:
                continue
        if require_significant and not judge.beats_every_seed(r.label, r):
            continue
        notes.append(f"{flags}: {r.label} is the best candidate by the {rule} rule that {what}")
        return r, "; ".join(notes)
    top = ranking([], seeds, rule)
    notes.append(f"{flags}: no candidate qualifies (one that {what}); the best seed program is selected"
                 + (f" ({unchecked} candidate(s) past the novelty check's bounds were not checked)" if unchecked else ""))
    return (top[0] if top else None), "; ".join(notes)


def finalize(disc, records: list[Candidate]) -> dict:
    """Select, judge on the validation part (and the [heldout] stores), write ``final.json``,
    ``best.tts``, the plots and ``report.md``; returns ``final.json``'s content."""
    cfg = disc.cfg
    t0 = time.perf_counter()
    split, scoring = _split_and_scoring(disc)
    seeds = list(disc.state.seeds)
    judge = Judge(disc, split, scoring)
    disc.log(f"final: judging on the validation part ({', '.join(split.validation.labels) or 'none'})")
    from .loop import phase_progress

    winners = {rule: select(records, seeds, rule) for rule in RULES}
    judged = list(seeds) + list({w.label: w for w in winners.values() if isinstance(w, Candidate)}.values())
    n_refs, n_betas = len(split.refs), len(cfg.betas)
    held_refs = len(split.heldout.refs) if split.heldout is not None and split.heldout.slices else 0
    total = sum((n_refs + held_refs) * (n_betas if _is_beta(e) else 1) for e in judged)
    with phase_progress(disc.log, total, "final stage (evaluations)") as bar:
        judge.progress = bar.update
        judge.seeds(seeds)
        novelty = Novelty(disc, split, seeds, records, scoring) if cfg.selection.get("novelty", True) else None
        chosen, sel_note = choose(judge, records, seeds, cfg.select, bool(cfg.selection.get("require_significant")),
                                  novelty, bool(cfg.selection.get("require_novel")))
        if novelty is not None:  # every winner gets a verdict (within the bounds)
            for w in [chosen, *winners.values()]:
                if isinstance(w, Candidate):
                    novelty.verdict(w)
        entries = {s.label: judge.entry(s.label, s, compare=False) for s in seeds}
        for w in list(winners.values()) + [chosen]:
            if isinstance(w, Candidate) and w.label not in entries:
                entries[w.label] = judge.entry(w.label, w, compare=True)
        held = heldout_results(disc, split, entries, seeds, bar.update)
    over = _past_wall(disc, time.perf_counter() - t0)
    if over:
        disc.log(over)
    final = {
        "rule": cfg.select,
        "selected": chosen.label if chosen else None,
        "winners": {rule: (w.label if w else None) for rule, w in winners.items()},
        "require_significant": bool(cfg.selection.get("require_significant")),
        "require_novel": bool(cfg.selection.get("require_novel")) and novelty is not None,
        "novelty": novelty.verdicts if novelty is not None else {},
        "selection_note": sel_note,
        "stop_reason": disc.stop_reason,
        "rounds": len(records),
        "valid": sum(1 for r in records if r.ok),
        "status_counts": {s: sum(1 for r in records if r.status == s) for s in sorted({r.status for r in records})},
        "split": split.to_dict(),
        "scoring": scoring.to_dict(),
        "search": {"stores": split.search.labels, "seeds": split.search.seeds_summary(),
                   "ranges": {k: list(v) for k, v in scoring.windows.items()}},
        "validation": {"stores": split.validation.labels, "seeds": split.validation.seeds_summary(),
                       "windows": {k: list(v) for k, v in scoring.validation_windows.items()},
                       "note": split.describe(), "bootstrap": judge.b, "bootstrap_seed": judge.seed},
        "heldout": held,
        "programs": entries,
    }
    if over:
        final["wall_note"] = over
    stats = getattr(disc, "proposer_stats", None)
    if callable(stats):
        final["proposers"] = stats(records)
    qd = getattr(disc, "qd", None)
    if qd is not None and hasattr(qd, "to_dict"):
        final["archive"] = qd.to_dict()
    elif isinstance(getattr(disc.state, "extra", None), dict) and disc.state.extra.get("archive"):
        final["archive"] = disc.state.extra["archive"]
    final["wall_s"] = round(time.perf_counter() - t0, 3)
    root = disc.archive.root
    atomic_write(root / "final.json", json.dumps(final, indent=2))
    if final["novelty"]:  # the per-candidate novelty records, one JSON line each
        atomic_write(root / "novelty.jsonl", "".join(json.dumps({"id": k, **v}) + "\n"
                                                     for k, v in final["novelty"].items()))
    if chosen is not None:
        atomic_write(root / "best.tts", chosen.source if chosen.source.endswith("\n") else chosen.source + "\n")
    plots = {}
    for part in (("search", "validation", "heldout") if cfg.plots else ()):
        if part == "validation" and not judge.has_validation or part == "heldout" and held is None:
            continue
        try:
            plots[part] = _plot(final, part, root / f"frontier_{part}.png")
        except Exception as ex:  # noqa: BLE001 - a missing plot must not lose the report
            plots[part] = f"(plot failed: {type(ex).__name__}: {ex})"
    archive_md = ""
    if final.get("archive"):
        try:
            from .qd_report import render_archive

            archive_md = render_archive(final, root)
        except Exception as ex:  # noqa: BLE001 - the archive section is optional
            archive_md = f"(archive rendering failed: {type(ex).__name__}: {ex})"
    atomic_write(root / "report.md", render_report(final, records, plots, archive_md,
                                                   ancestries(final, records, seeds)))
    return final


def ancestries(final, records: list[Candidate], seeds: list[SeedProgram]) -> dict:
    """Per candidate winner: its generations and its diff to its root seed program
    (:func:`tts_dsl.discovery.lineage.render_ancestry`)."""
    from .lineage import render_ancestry

    out = {}
    dicts = [r.to_dict() for r in records]
    sources = {s.id: s.source for s in seeds}
    for lab in dict.fromkeys([final["selected"], *final["winners"].values()]):
        if lab and not lab.startswith("seed:"):
            try:
                out[lab] = render_ancestry(lab, dicts, sources)
            except Exception as ex:  # noqa: BLE001 - the ancestry is a reading aid
                out[lab] = f"(ancestry failed: {type(ex).__name__}: {ex})"
    return out


def _is_beta(e) -> bool:
    return e.uses_beta if isinstance(e, SeedProgram) else _uses_beta(e)


def _past_wall(disc, final_s: float) -> str | None:
    """A note when the run (with its final stage, which always runs to the end so that the
    report is complete) went past ``max_wall_s``; None otherwise."""
    cap = disc.cfg.max_wall_s
    wall_now = getattr(disc, "wall_now", None)
    if cap is None or not hasattr(disc, "_session_t0") or wall_now is None:
        return None
    total = wall_now()
    if total <= cap:
        return None
    return (f"the run ran past max_wall_s ({cap:g} s): {total:.0f} s in all, of which the final stage "
            f"(validation and held-out judging, which always completes) took {final_s:.0f} s")


def heldout_results(disc, split: Split, entries: dict, seeds: list[SeedProgram], progress=None) -> dict | None:
    """Every entry on the configured ``[heldout]`` stores (whole stores, windows from the
    seed programs there): ``heldout`` and ``heldout_score`` in each entry; the part's summary."""
    part = split.heldout
    if part is None or not part.slices:
        return None
    disc.log(f"held-out evaluation of {len(entries)} program(s) on {len(part.refs)} store(s)")
    hc = {lab: disc.evaluator.evaluate(e["source"], f"{lab}.tts", e["hash"], e["uses_beta"], part.refs, part.seeds,
                                       progress)
          for lab, e in entries.items()}
    hwin = windows_from([hc[s.label] for s in seeds], disc.cfg.score.get("window"))
    extend = disc.cfg.score.get("extend", "none") == "flat"
    for lab, e in entries.items():
        e["heldout"] = hc[lab].to_dict()
        e["heldout_score"] = score_part(hc[lab], hwin, extend=extend).to_dict()
        e["heldout_mean"] = hc[lab].mean_curve()
    return {"stores": part.labels, "seeds": part.seeds_summary(), "note": part.note,
            "ranges": {k: list(v) for k, v in hwin.items()}}


def _plot(final, part, path):
    from ..reporting.frontier import plot_frontiers

    curves, areas = {}, {}
    for lab, e in final["programs"].items():
        if f"{part}_mean" not in e:
            continue
        curves[lab] = [(r["avg_cost"], r["accuracy"], r["beta"]) for r in e[f"{part}_mean"]]
        areas[lab] = e[f"{part}_score"]["hv"]
    plot_frontiers(curves, path, title=f"{part}: mean over stores", areas=areas)
    return path.name


# ------------------------------------------------------------------ report.md
def _f(x, fmt="{:.2f}") -> str:
    return "-" if x is None else fmt.format(x)


def _budget_means(score: dict) -> list:
    """Accuracy at each budget, mean over the stores where the program reaches it."""
    per = list((score.get("acc_at_budget") or {}).values())
    out = []
    for i in range(len(BUDGET_FRACTIONS)):
        vals = [p[i] for p in per if i < len(p)]
        out.append(None if not vals or any(v is None for v in vals) else sum(vals) / len(vals))
    return out


def _seeds_of(final) -> dict:
    return {k: v for k, v in final["programs"].items() if k.startswith("seed:")}


def winner_lines(final) -> list[str]:
    """Per winner: its rule's statistic against the best seed program on the search part
    (saying plainly when a seed program is better), and the validation verdict."""
    seeds = _seeds_of(final)
    out = []
    for rule, w in final["winners"].items():
        if w is None:
            continue
        e = final["programs"][w]
        if w.startswith("seed:") or not seeds:
            out.append(f"- {rule} rule: no valid candidate; the best seed program {w} stands in")
            continue
        key = ((lambda v: v["search_score"]["hv"]) if rule == "frontier" else
               (lambda v: v["search_score"]["best_accuracy"] or 0))
        stat = "search hv" if rule == "frontier" else "search best accuracy"
        best = max(seeds, key=lambda k: key(seeds[k]))
        above = [k for k in seeds if key(seeds[k]) > key(e)]
        line = (f"- {rule} rule: {w} {'beats' if not above else 'does NOT beat'} every seed program by {stat} "
                f"({key(e):.3f}; best seed {best}: {key(seeds[best]):.3f})")
        if above:
            line += f"; below it: {', '.join(sorted(above))}"
        if "beats_every_seed" in e:
            line += (f". Validation part: {'beats every seed program significantly' if e['beats_every_seed'] else 'does not beat every seed program significantly'}")
        if w in (final.get("novelty") or {}):
            line += f". Mechanism: {_novelty_phrase(final['novelty'][w])}"
        out.append(line)
    return out


def render_report(final, records, plots, archive_md: str = "", ancestry: dict | None = None) -> str:
    sel = final["selected"]
    out = ["# Discovery report", "",
           f"- rounds: {final['rounds']} ({', '.join(f'{k}: {v}' for k, v in final['status_counts'].items())}); "
           f"stopped: {final['stop_reason']}",
           f"- selection rule: `{final['rule']}`"
           + (" with `select.require_significant`" if final.get("require_significant") else "")
           + f"; selected: **{sel}** (frontier rule: {final['winners']['frontier']}, "
           f"accuracy rule: {final['winners']['accuracy']})"]
    if final.get("selection_note"):
        out.append(f"- {final['selection_note']}")
    if final.get("wall_note"):
        out.append(f"- **wall clock**: {final['wall_note']}")
    out.append(f"- split: {final['split']['description']}")
    if final.get("heldout"):
        h = final["heldout"]
        out.append(f"- [heldout] stores: {', '.join(h['stores'])}, seeds {h['seeds'][0]}..{h['seeds'][0] + h['seeds'][1] - 1}"
                   f" ({h['note']})")
    out += winner_lines(final)
    if final.get("require_significant"):
        out.append("- With `require_significant` the validation part took part in the selection (as a filter), "
                   "so the selected program's validation figures are no longer an untouched estimate.")
    fr = [f"{BUDGET_NAME} x {f:g}" for f in BUDGET_FRACTIONS]
    out += ["", score_definition(final["scoring"].get("extend", "none") == "flat"),
            "`frontier area` is the old score (0 below a program's cheapest point, so one very cheap point "
            "could win), shown for comparison only. Accuracy at a budget: the best accuracy among points "
            f"costing at most {', '.join(fr)} (mean over stores; - when a store has no point that cheap).",
            "", "| program | search hv | validation hv [95% CI] | search frontier area (old) | search best acc | "
            "validation best acc | " + " | ".join(f"val acc @ {x}" for x in fr) + " |",
            "|---|---:|---:|---:|---:|---:|" + "---:|" * len(fr)]
    for lab, e in sorted(final["programs"].items(), key=lambda kv: -kv[1]["search_score"]["hv"]):
        s, v, iv = e["search_score"], e.get("validation_score"), e.get("validation_interval")
        mark = " (selected)" if lab == sel else ""
        vtxt = f"{v['hv']:.3f} [{iv['lo']:.2f}, {iv['hi']:.2f}]" if v and iv else "-"
        bud = _budget_means(v) if v else [None] * len(fr)
        out.append(f"| {lab}{mark} | {s['hv']:.3f} | {vtxt} | {_f(s.get('frontier_area'), '{:.3f}')} | "
                   f"{_f(s['best_accuracy'])} | {_f(v['best_accuracy']) if v else '-'} | "
                   + " | ".join(_f(x) for x in bud) + " |")
    if final.get("heldout"):
        out += ["", "| program | [heldout] hv | [heldout] best acc |", "|---|---:|---:|"]
        for lab, e in final["programs"].items():
            if "heldout_score" in e:
                out.append(f"| {lab} | {e['heldout_score']['hv']:.3f} | {_f(e['heldout_score']['best_accuracy'])} |")
    for lab, e in final["programs"].items():
        if "versus_seeds" not in e:
            continue
        verdict = "**beats every seed program significantly**" if e["beats_every_seed"] else \
            "does not beat every seed program significantly"
        iv = e["validation_interval"]
        out += ["", f"## {lab} on the validation part: {verdict}", "",
                f"Validation hv {e['validation_score']['hv']:.3f}, 95% interval [{iv['lo']:.2f}, {iv['hi']:.2f}] "
                f"(bootstrap over questions, {iv['B']} resamples). Paired bootstrap against each seed program "
                "(difference of hv; p = share of resamples where the candidate is not better):", "",
                "| seed program | difference | 95% interval | p | significant |", "|---|---:|---:|---:|---|"]
        for sk, d in sorted(e["versus_seeds"].items(), key=lambda kv: kv[1]["diff"]):
            out.append(f"| {sk} | {d['diff']:+.3f} | [{d['lo']:+.2f}, {d['hi']:+.2f}] | {d['p']:.3f} | "
                       f"{'yes' if d['significant'] else 'no'} |")
    for part in ("search", "validation", "heldout"):
        p = plots.get(part)
        if p and not str(p).startswith("("):
            out += ["", f"![{part} frontier]({p})"]
        elif p:
            out += ["", f"{part} plot: {p}"]
    if sel and sel in final["programs"]:
        e = final["programs"][sel]
        out += ["", f"## Selected program ({sel})", "", "```tts", e["source"].rstrip(), "```", "",
                "| beta | search acc | search tokens | validation acc | validation tokens |", "|---:|---:|---:|---:|---:|"]
        vm = {r["beta"]: r for r in e.get("validation_mean", [])}
        for r in e["search_mean"]:
            v = vm.get(r["beta"], {})
            out.append(f"| {r['beta']} | {r['accuracy']:.2f} | {r['avg_cost']:,.0f} | "
                       f"{_f(v.get('accuracy'))} | {_f(v.get('avg_cost'), '{:,.0f}')} |")
    out += novelty_lines(final)
    for lab, text in (ancestry or {}).items():
        out += ["", f"## Ancestry of {lab}", "", text.rstrip()]
    ok = sorted([r for r in records if r.ok and r.score is not None], key=lambda r: -r.score.hv)[:10]
    if ok:
        out += ["", "## Best candidates (ranked on the search part)", "",
                "| id | search hv | validation hv | search best acc | parents | file |", "|---|---:|---:|---:|---|---|"]
        for r in ok:
            vp = getattr(r, "validation_part", None) or {}
            vh = (vp.get("score") or {}).get("hv")
            out.append(f"| {r.label} | {r.score.hv:.3f} | {_f(vh, '{:.3f}')} | {r.score.best_accuracy} | "
                       f"{', '.join(map(str, r.parents))} | {r.program_file} |")
    if final.get("proposers"):
        out += ["", "## Proposers", "", "| proposer | " + " | ".join(_stat_cols(final["proposers"])) + " |",
                "|---|" + "---:|" * len(_stat_cols(final["proposers"]))]
        for name, st in final["proposers"].items():
            out.append(f"| {name} | " + " | ".join(_cell(st.get(c)) for c in _stat_cols(final["proposers"])) + " |")
    if archive_md:
        out += ["", archive_md.rstrip()]
    out += ["", "Replay data and reference controllers: AutoTTS (arXiv 2605.08083) and Parallel-Probe "
            "(arXiv 2602.03845)."]
    return "\n".join(out) + "\n"


def novelty_lines(final) -> list[str]:
    """The novelty section: every checked candidate's verdict, best first."""
    nv = final.get("novelty") or {}
    if not nv:
        return []
    from .novelty import POINT_TOLERANCE, SCORE_SHARE, VARIANT_SHARE

    some = next(iter(nv.values()))
    out = ["", "## Novelty (schedule variants of seed programs)", "",
           f"A point (one beta) matches a seed program when some knob values of that seed program give the same "
           f"answer and cost on all but at most {POINT_TOLERANCE:.0%} of the screening episodes "
           f"({some.get('episodes', '?')}: the search questions x the first search seeds); a candidate is a "
           f"*variant* when at least {VARIANT_SHARE:.0%} of its points match one seed program, or when the points "
           f"one seed program matches carry at least {SCORE_SHARE:.0%} of its score (docs/discovery.md, Novelty).", "",
           "| candidate | verdict | knob evaluations | seconds |", "|---|---|---:|---:|"]
    for k, v in nv.items():
        out.append(f"| {k}{' (selected)' if k == final.get('selected') else ''} | {_novelty_phrase(v)} | "
                   f"{v.get('evaluations', '-')} | {_f(v.get('wall_s'), '{:.1f}')} |")
    return out


def _stat_cols(stats: dict) -> list:
    cols: list = []
    for st in stats.values():
        cols += [k for k in st if k not in cols and not isinstance(st[k], (dict, list))]
    return cols


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}"
    return "-" if v is None else str(v)
