"""The end of a run: select a winner by the configured rule, evaluate it and the seed
programs on the held-out split (which no prompt ever contained), write ``final.json``,
``best.tts``, the frontier plots and ``report.md``."""

from __future__ import annotations

import json
import time

from ..files import atomic_write
from .curves import Curves
from .records import Candidate, SeedProgram
from .scores import ranges_from, score
from .splits import Part, heldout_part


def select(records: list[Candidate], seeds: list[SeedProgram], rule: str) -> Candidate | SeedProgram | None:
    """The winning entry among valid candidates (seed programs if there is none).

    ``frontier``: the largest search frontier area (ties: the earlier candidate).
    ``accuracy``: the highest best mean search accuracy over the beta grid (the paper's rule;
    ties: the lower cost at that accuracy, then the earlier candidate)."""
    ok = [r for r in records if r.ok and r.score is not None]
    pool = ok or list(seeds)
    if not pool:
        return None
    if rule == "accuracy":
        def k(r):
            return (-(r.score.best_accuracy or 0), r.score.best_accuracy_cost or 0)
    else:
        def k(r):
            return (-r.score.area,)
    return sorted(pool, key=k)[0]


def _entry(e: Candidate | SeedProgram, uses_beta: bool) -> dict:
    return {"source": e.source, "hash": e.hash, "uses_beta": uses_beta, "search": e.curves.to_dict(),
            "search_score": e.score.to_dict()}


def heldout_entries(disc, winners: dict, part: Part) -> tuple[dict, dict]:
    """Every seed program and each rule's winning candidate, evaluated on the held-out part:
    the ``programs`` entries of ``final.json`` and the held-out cost ranges (the seed programs')."""
    from ..api import check

    entries = {s.label: _entry(s, s.uses_beta) for s in disc.state.seeds}
    for w in winners.values():
        if isinstance(w, Candidate):
            entries[w.label] = _entry(w, check(w.source, w.label).uses_beta)
    disc.log(f"held-out evaluation of {len(entries)} program(s) on {len(part.refs)} store(s)")
    hcurves = {}
    for lab, e in entries.items():
        hcurves[lab] = disc.evaluator.evaluate(e["source"], f"{lab}.tts", e["hash"], e["uses_beta"], part.refs,
                                               part.seeds)
    hranges = ranges_from([hcurves[lab] for lab in entries if lab.startswith("seed:")], disc.cfg.area_range)
    for lab, e in entries.items():
        e["heldout"] = hcurves[lab].to_dict()
        e["heldout_score"] = score(hcurves[lab], hranges).to_dict()
        e["search_mean"] = Curves(e["search"]).mean_curve()
        e["heldout_mean"] = hcurves[lab].mean_curve()
    return entries, hranges


def finalize(disc, records: list[Candidate]) -> dict:
    """Select, evaluate on the held-out part, write ``final.json``, ``best.tts``, the plots and
    ``report.md``; returns ``final.json``'s content."""
    cfg = disc.cfg
    t0 = time.perf_counter()
    winners = {rule: select(records, disc.state.seeds, rule) for rule in ("frontier", "accuracy")}
    chosen = winners[cfg.select]
    part = heldout_part(cfg)
    entries, hranges = heldout_entries(disc, winners, part)
    final = {
        "rule": cfg.select,
        "selected": chosen.label if chosen else None,
        "winners": {rule: (w.label if w else None) for rule, w in winners.items()},
        "stop_reason": disc.stop_reason,
        "rounds": len(records),
        "valid": sum(1 for r in records if r.ok),
        "status_counts": {s: sum(1 for r in records if r.status == s) for s in sorted({r.status for r in records})},
        "search": {"stores": disc.state.search_stores, "seeds": disc.state.search_seeds,
                   "ranges": disc.state.ranges},
        "heldout": {"stores": part.labels, "seeds": part.seeds_summary(), "note": part.note,
                    "ranges": {k: list(v) for k, v in hranges.items()}},
        "programs": entries,
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    root = disc.archive.root
    atomic_write(root / "final.json", json.dumps(final, indent=2))
    if chosen is not None:
        atomic_write(root / "best.tts", chosen.source if chosen.source.endswith("\n") else chosen.source + "\n")
    plots = {}
    for split in (("search", "heldout") if cfg.plots else ()):
        try:
            plots[split] = _plot(final, split, root / f"frontier_{split}.png")
        except Exception as ex:  # noqa: BLE001 - a missing plot must not lose the report
            plots[split] = f"(plot failed: {type(ex).__name__}: {ex})"
    atomic_write(root / "report.md", render_report(final, records, plots))
    return final


def _plot(final, split, path):
    from ..reporting.frontier import plot_frontiers

    curves, areas = {}, {}
    for lab, e in final["programs"].items():
        pts = [(r["avg_cost"], r["accuracy"], r["beta"]) for r in e[f"{split}_mean"]]
        curves[lab] = pts
        areas[lab] = e[f"{split}_score"]["area"]
    plot_frontiers(curves, path, title=f"{split}: mean over stores", areas=areas)
    return path.name


def _versus_seeds(final) -> str:
    sel = final["selected"]
    seeds = {k: v for k, v in final["programs"].items() if k.startswith("seed:")}
    if not sel or not seeds or sel.startswith("seed:"):
        return "- no valid candidate: the best seed program is reported as selected"
    e = final["programs"][sel]
    key = (lambda v: v["search_score"]["area"]) if final["rule"] == "frontier" else \
        (lambda v: v["search_score"]["best_accuracy"] or 0)
    best = max(seeds, key=lambda k: key(seeds[k]))
    stat = "search frontier area" if final["rule"] == "frontier" else "search best accuracy"
    verdict = "beats" if key(e) > key(seeds[best]) else "does not beat"
    h = e["heldout_score"]["area"] - seeds[best]["heldout_score"]["area"]
    return (f"- {sel} {verdict} the best seed program by {stat} ({best}: {key(e):.3f} vs {key(seeds[best]):.3f}); "
            f"held-out area difference {h:+.3f}")


def render_report(final, records, plots) -> str:
    sel = final["selected"]
    out = ["# Discovery report", "",
           f"- rounds: {final['rounds']} ({', '.join(f'{k}: {v}' for k, v in final['status_counts'].items())}); "
           f"stopped: {final['stop_reason']}",
           f"- selection rule: `{final['rule']}`; selected: **{sel}** "
           f"(frontier rule: {final['winners']['frontier']}, accuracy rule: {final['winners']['accuracy']})",
           f"- search split: {', '.join(final['search']['stores'])}, seeds {final['search']['seeds'][0]}.."
           f"{final['search']['seeds'][0] + final['search']['seeds'][1] - 1}",
           f"- held-out split: {', '.join(final['heldout']['stores'])}, seeds {final['heldout']['seeds'][0]}.."
           f"{final['heldout']['seeds'][0] + final['heldout']['seeds'][1] - 1} ({final['heldout']['note']})",
           _versus_seeds(final),
           "", "Frontier area: mean over stores of the area under each store's best-accuracy-within-budget "
           "curve on a log-cost axis, over the seed programs' cost span on that store (accuracy points).",
           "", "| program | search area | search best acc | held-out area | held-out best acc |",
           "|---|---:|---:|---:|---:|"]
    for lab, e in sorted(final["programs"].items(), key=lambda kv: -kv[1]["search_score"]["area"]):
        s, h = e["search_score"], e["heldout_score"]
        mark = " (selected)" if lab == sel else ""
        out.append(f"| {lab}{mark} | {s['area']:.3f} | {s['best_accuracy']} | {h['area']:.3f} | {h['best_accuracy']} |")
    for split in ("search", "heldout"):
        p = plots.get(split)
        if p and not str(p).startswith("("):
            out += ["", f"![{split} frontier]({p})"]
        elif p:
            out += ["", f"{split} plot: {p}"]
    if sel and sel in final["programs"]:
        e = final["programs"][sel]
        out += ["", f"## Selected program ({sel})", "", "```tts", e["source"].rstrip(), "```", "",
                "| beta | search acc | search tokens | held-out acc | held-out tokens |", "|---:|---:|---:|---:|---:|"]
        hm = {r["beta"]: r for r in e["heldout_mean"]}
        for r in e["search_mean"]:
            h = hm.get(r["beta"], {})
            out.append(f"| {r['beta']} | {r['accuracy']:.2f} | {r['avg_cost']:,.0f} | "
                       f"{h.get('accuracy', '-')} | {h.get('avg_cost', 0):,.0f} |")
    ok = sorted([r for r in records if r.ok], key=lambda r: -r.score.area)[:10]
    if ok:
        out += ["", "## Best candidates (search split)", "", "| id | area | best acc | parents | file |",
                "|---|---:|---:|---|---|"]
        for r in ok:
            out.append(f"| {r.label} | {r.score.area:.3f} | {r.score.best_accuracy} | "
                       f"{', '.join(map(str, r.parents))} | {r.program_file} |")
    out += ["", "Replay data and reference controllers: AutoTTS (arXiv 2605.08083) and Parallel-Probe "
            "(arXiv 2602.03845)."]
    return "\n".join(out) + "\n"
