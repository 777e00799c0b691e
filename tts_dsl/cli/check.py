"""``tts-dsl check``: validate programs; diagnostics as text or JSON."""

from __future__ import annotations

import json
import os
import sys

import click

from ..api import check_report, find_program, read_source, schedule_table
from ..lang.diagnostics import DiagnosticsError
from ..lang.limits import Limits
from .common import UserError, echo_safe, parse_sets, unreadable_only
from .progress import Progress


def parse_limits(values) -> Limits:
    """``--limit NAME=VALUE`` options -> :class:`Limits` (``max_seconds=none`` lifts the cap)."""
    kw: dict = {}
    names = Limits.names()
    for v in values:
        k, sep, x = v.partition("=")
        k = k.strip().replace("-", "_")
        if not sep or k not in names:
            raise UserError(f"--limit {v}: expected NAME=VALUE with NAME one of {', '.join(names)}")
        x = x.strip()
        if k == "max_seconds" and x.lower() in ("none", "off"):
            kw[k] = None
            continue
        try:
            num = float(x) if k == "max_seconds" else int(x)
        except ValueError:
            raise UserError(f"--limit {v}: {k} must be {'a number' if k == 'max_seconds' else 'an integer'}") from None
        if not num > 0:
            raise UserError(f"--limit {v}: {k} must be positive")
        kw[k] = num
    try:
        return Limits(**kw)
    except ValueError as ex:
        raise UserError(f"--limit: {ex}") from None


MAX_JSON_DIAGNOSTICS = 1_000  # in one --json output, over all files


def cap_json_diagnostics(reports: list[dict], cap: int = MAX_JSON_DIAGNOSTICS) -> int:
    """Keep at most ``cap`` diagnostics over all reports; a report that lost some gets
    ``diagnostics_dropped`` (how many). Returns the number dropped."""
    left, dropped = cap, 0
    for r in reports:
        ds = r.get("diagnostics", [])
        if len(ds) > left:
            r["diagnostics_dropped"] = len(ds) - left
            dropped += len(ds) - left
            r["diagnostics"] = ds[:left]
        left -= len(r["diagnostics"])
    return dropped


STDIN = "<stdin>"


def check_file(path: str, overrides: dict, strict: bool = False, limits: Limits | None = None) -> dict:
    """Check one file (names, types, bounds, safety, then the schedule proofs); ``-`` is
    standard input."""
    if path == "-":
        return check_report(sys.stdin.read(), STDIN, overrides, strict, limits)
    path = str(find_program(path))
    try:
        src = read_source(path, limits)
    except DiagnosticsError as ex:
        return {"file": path, "ok": False, "diagnostics": [d.to_dict() for d in ex.diagnostics], "params": [],
                "_text": ex.render()}
    return check_report(src, path, overrides, strict, limits)


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics as JSON (for tools and LLMs).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Check with a param overridden.")
@click.option("--strict", is_flag=True, help="Treat warnings (unproved knobs) as errors.")
@click.option("--quiet", "-q", is_flag=True, help="Do not list the knobs of valid programs; no progress display.")
@click.option("--behavior", is_flag=True,
              help="Also run each program over a beta grid and check that mean cost is non-decreasing in beta.")
@click.option("--store", type=click.Path(), default=None, help="Store for --behavior (default: the synthetic store).")
@click.option("--model", default=None, help="Model(s) for --behavior: name, comma list or 'all'.")
@click.option("--dataset", default=None, help="Dataset(s) for --behavior: name, comma list or 'all'.")
@click.option("--beta", "beta_spec", default="0:1:0.1", show_default=True, help="Beta grid for --behavior.")
@click.option("--seeds", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Ordering seeds for --behavior.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="Worker processes for --behavior.")
@click.option("--limit", "limit_sets", multiple=True, metavar="NAME=VALUE",
              help="Override a resource limit, e.g. --limit max_nesting=16 (see docs/safety.md).")
@click.option("--compile", "compile_", is_flag=True,
              help="Compile each valid program's specialised native code now (numba's disk cache): "
                   "later evaluations run on it.")
def check(files, as_json, sets, strict, quiet, behavior, store, model, dataset, beta_spec, seeds, jobs, limit_sets,
          compile_):
    """Check .tts programs: syntax, names, types, bounds, information safety, and a proof
    that every schedule knob is monotone in beta as declared and stays in its range.

    FILES may be '-' (standard input). --json prints a list, one report per file.
    Exit status: 0 if every file is valid, 1 otherwise, 2 if a file cannot be read.
    """
    overrides = parse_sets(sets)
    limits = parse_limits(limit_sets)
    reports = [check_file(f, overrides, strict, limits) for f in files]
    if compile_:
        _compile(reports, limits)
    if behavior:
        _behavior(reports, overrides, store, model, dataset, beta_spec, seeds, jobs, not quiet)
    failed = 0
    for r in reports:
        if not r["ok"] or (strict and r["diagnostics"]) or r.get("behavior", {}).get("inversions"):
            failed += 1
    if as_json:
        out = [{k: v for k, v in r.items() if not k.startswith("_")} for r in reports]
        cap_json_diagnostics(out)
        click.echo(json.dumps(out, indent=2))
    else:
        for r in reports:
            if r["ok"]:
                n = len(r["params"])
                proved = sum(1 for k in r["schedule"] if k["status"] == "proved")
                click.echo(f"{r['file']}: ok (controller {r['name']}; {n} knob{'s' if n != 1 else ''}, "
                           f"{proved} proved)")
                if not quiet:
                    for line in schedule_table(r["_results"]):
                        click.echo(line)
                    click.echo(f"  engine: {r['engine']}")
                c = r.get("compiled")
                if c is not None:
                    click.echo(f"  compiled: specialised native code ready in {c['seconds']:.1f} s; evaluations "
                               "run on it" if c["ok"] else f"  compiled: not compiled ({c['reason']})")
                if r["_text"]:
                    echo_safe(r["_text"])
                b = r.get("behavior")
                if b is not None:
                    if b.get("skipped"):
                        click.echo(f"  behavior: {b['skipped']}")
                    elif b["inversions"]:
                        click.echo(f"  behavior: mean cost is NOT non-decreasing in beta "
                                   f"({len(b['inversions'])} inversion(s)):")
                        for inv in b["inversions"]:
                            click.echo(f"    {inv['model']}/{inv['dataset']}: beta {inv['b1']:g} -> "
                                       f"{inv['cost1']:.1f} tokens, beta {inv['b2']:g} -> {inv['cost2']:.1f}")
                    else:
                        click.echo(f"  behavior: mean cost non-decreasing in beta on {b['stores']} store(s) "
                                   f"over {b['betas']} betas")
                    for e in b.get("errors", []):
                        click.echo(f"  behavior error: {e}")
            else:
                if r.get("_results") is not None and not quiet:
                    click.echo(f"{r['file']}: invalid", err=True)
                    for line in schedule_table(r["_results"]):
                        click.echo(line, err=True)
                echo_safe(r["_text"], err=True)
        if len(reports) > 1:
            click.echo(f"{len(reports) - failed} of {len(reports)} programs valid")
    if any(unreadable_only(r["diagnostics"]) for r in reports):
        raise SystemExit(2)
    if failed:
        raise SystemExit(1)


def _compile(reports, limits) -> None:
    """``--compile``: each valid program's specialised native code, compiled now."""
    from ..engines import fast

    for r in reports:
        if not r["ok"]:
            continue
        try:
            r["compiled"] = {"ok": True, "seconds": round(fast.precompile(r["_checked"], limits), 3)}
            if os.environ.get("TTS_DSL_ENGINE", "").lower() != "vm":
                r["engine"] = "fast"  # compiled code is preferred to the interpreter
        except fast.Unsupported as ex:
            r["compiled"] = {"ok": False, "reason": str(ex)}
        except Exception as ex:  # noqa: BLE001 - numba failing to type or compile, an unwritable cache
            r["compiled"] = {"ok": False, "reason": f"the native engine failed: {type(ex).__name__}"}


def _behavior(reports, overrides, store, model, dataset, beta_spec, seeds, jobs, show_progress):
    from ..evaluation.behavior import behavior_rows, inversions
    from ..evaluation.executors import get_executor
    from ..evaluation.sweep import parse_beta_spec
    from .common import UserError, store_refs

    try:
        betas = parse_beta_spec(beta_spec)
    except ValueError as ex:
        raise UserError(str(ex)) from None
    refs = store_refs(store, model, dataset)
    for ref in refs:
        ref.load()
    ex = get_executor("local", jobs)
    for r in reports:
        if not r["ok"]:
            continue
        checked = r["_checked"]
        if not checked.uses_beta:
            r["behavior"] = {"skipped": "no knob depends on beta", "inversions": []}
            continue
        with Progress(len(refs) * len(betas), f"behavior of {checked.name}", enabled=show_progress) as bar:
            rows = behavior_rows(checked.source, checked.file, refs, betas, ex, range(seeds), overrides, bar.update)
        invs = inversions(rows)
        r["behavior"] = {
            "stores": len(refs), "betas": len(betas),
            "curve": [{"model": x["model"], "dataset": x["dataset"], "beta": x["beta"],
                       "avg_cost": x["avg_cost"], "accuracy": x["accuracy"]} for x in rows],
            "inversions": [vars(i) for i in invs],
            "errors": [x["error"] for x in rows if x.get("error")],
        }
        if r["behavior"]["errors"]:
            r["ok"] = False
