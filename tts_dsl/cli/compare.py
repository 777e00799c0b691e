"""``tts-dsl compare``: a Table-1-style report of several programs on several stores, with
bootstrap intervals, paired tests against a baseline, frontier areas and a frontier plot."""

from __future__ import annotations

import itertools
import json
import math
import sys

import click

from ..api import choose_baseline, compare_configs, compare_report
from ..evaluation import executors
from ..evaluation.sweep import parse_beta_spec
from ..files import replacing
from ..lang.limits import Limits
from ..lang.schedule import parse_override
from .common import (UserError, check_figure_path, check_writable, draw_png, figure_options, parse_sets, parse_size,
                     report_cache, store_refs, with_cache)
from .progress import Progress


def parse_sweeps(values) -> dict:
    """``NAME=V1,V2,...`` (repeatable) -> {name: [values]}."""
    out: dict = {}
    for v in values:
        if "=" not in v:
            raise UserError(f"bad --sweep {v!r}: use NAME=V1,V2,... (e.g. n=4,8,16)")
        name, vals = v.split("=", 1)
        name = name.strip()
        items = [x.strip() for x in vals.split(",") if x.strip()]
        if not name or not items:
            raise UserError(f"bad --sweep {v!r}: use NAME=V1,V2,... (e.g. n=4,8,16)")
        parsed = []
        for x in items:
            try:
                parsed.append(parse_override(f"{name}={x}")[1])
            except ValueError as ex:
                raise UserError(f"bad --sweep value in {v!r}: {ex}") from None
        out[name] = parsed
    return out


def parse_cost_range(spec: str | None):
    if spec is None:
        return None
    try:
        lo, hi = (float(x) for x in spec.split(":"))
    except ValueError:
        raise UserError(f"bad --cost-range {spec!r}: use LO:HI in tokens, e.g. 50000:1000000") from None
    if not (0 < lo < hi < math.inf):
        raise UserError(f"bad --cost-range {spec!r}: need 0 < LO < HI, both finite")
    return (lo, hi)


def make_configs(programs, betas_given, sets: dict, sweeps: dict, limits: Limits):
    try:
        return compare_configs(programs, betas_given, sets, sweeps, limits)
    except ValueError as ex:
        raise UserError(str(ex)) from None


def pick_baseline(configs, spec: str | None):
    try:
        return choose_baseline(configs, spec)
    except ValueError as ex:
        raise UserError(str(ex)) from None


@click.command("compare")
@click.argument("programs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--store", type=click.Path(), default=None,
              help="Replay store root or .json file (default: the embedded synthetic store).")
@click.option("--model", default=None, help="Model(s): a name, a comma list, or 'all' (default: all).")
@click.option("--dataset", default=None, help="Dataset(s): a name, a comma list, or 'all' (default: all).")
@click.option("--beta", "beta_spec", default=None, metavar="SPEC",
              help="Betas for programs whose params use beta: 0.5 | 0,0.5,1 | 0:1:0.1 (default 0.5).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
              help="Override a param in the programs that declare it (repeatable).")
@click.option("--sweep", "sweeps", multiple=True, metavar="NAME=V1,V2,...",
              help="One row per value, in the programs that declare NAME (repeatable), e.g. n=4,8,16,32,64.")
@click.option("--baseline", default=None, metavar="ROW",
              help="Row to pair against: a row label ('sc n=64', 'cmc beta=0.5') or a program name "
                   "(its first row). Default: the first row.")
@click.option("--seeds", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Ordering seeds 0..N-1.")
@click.option("--bootstrap", "n_boot", default=2000, show_default=True, type=click.IntRange(100, 1_000_000),
              help="Bootstrap resamples of the questions.")
@click.option("--permutations", "n_perm", default=10000, show_default=True, type=click.IntRange(100, 10_000_000),
              help="Sign vectors for the paired permutation test.")
@click.option("--ci-seed", default=0, show_default=True, type=click.IntRange(0), help="Seed of bootstrap and test.")
@click.option("--level", default=0.95, show_default=True, type=click.FloatRange(0.5, 0.999), help="Interval level.")
@click.option("--cost-range", default=None, metavar="LO:HI",
              help="Tokens range for the frontier areas (default: cheapest to dearest point, per column).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the Markdown report here.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Write the numbers as CSV.")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Draw the accuracy-cost frontiers (one panel per store, plus the average): "
                   "PNG, SVG or PDF by the file name.")
@figure_options
@click.option("--frontier/--no-frontier", "show_frontier", default=None,
              help="Include the frontier-area table (default: when a program has 3+ points).")
@click.option("--title", default=None, help="Report title.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="Worker processes (default: all cores).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray).")
@click.option("--force", is_flag=True, help="Overwrite existing --out, --csv and --plot files.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--no-cache", is_flag=True, help="Evaluate everything again (default: reuse the evaluation cache).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report's numbers as one JSON object instead of Markdown.")
def compare_cmd(programs, store, model, dataset, beta_spec, sets, sweeps, baseline, seeds, n_boot, n_perm, ci_seed,
                level, cost_range, out, csv_path, plot, show_frontier, title, jobs, executor, address, force, quiet,
                no_cache, as_json, dpi, size):
    """Compare PROGRAMS: accuracy (with bootstrap intervals) and tokens per store and on
    average, paired differences against a baseline with p-values and token ratios, and the
    area under each accuracy-cost frontier. Prints Markdown; see docs/reports.md."""
    from ..reporting.compare import curves_for_plot, plot_note, to_json, to_markdown, write_csv

    limits = Limits()
    overrides = parse_sets(sets)
    sweep_vals = parse_sweeps(sweeps)
    crange = parse_cost_range(cost_range)
    try:
        betas_given = parse_beta_spec(beta_spec) if beta_spec else None
    except ValueError as ex:
        raise UserError(str(ex)) from None
    for target in (out, csv_path, plot):
        check_writable(target, force)
    check_figure_path(plot, "--plot")
    fig_size = parse_size(size)
    refs = store_refs(store, model, dataset)
    for r in refs:
        r.load()
    configs = make_configs(programs, betas_given, overrides, sweep_vals, limits)
    base = pick_baseline(configs, baseline)
    try:
        ex = with_cache(executors.get_executor(executor, jobs, address), no_cache)
    except executors.ExecutorError as e:
        raise UserError(str(e)) from None
    n_tasks = len(configs) * len(refs)
    with Progress(n_tasks, "evaluating", enabled=n_tasks > 1 and not quiet) as bar:
        rep, cells = compare_report(configs, refs, seeds, limits, ex, base, n_boot, n_perm, ci_seed, level,
                                    crange, overrides, bar.update)
    report_cache(ex)
    md = to_markdown(rep, title, show_frontier)
    if as_json:
        click.echo(json.dumps(to_json(rep), indent=1))
    else:
        click.echo(md, nl=False)
    try:
        if out:
            with replacing(out) as fh:
                fh.write(md)
            click.echo(f"wrote {out}", err=True)
        if csv_path:
            with replacing(csv_path) as fh:
                write_csv(rep, fh)
            click.echo(f"wrote {csv_path}", err=True)
    except OSError as ex:
        raise UserError(f"cannot write {ex.filename}: {ex.strerror}") from None
    if plot:
        from ..reporting.frontier import plot_frontier_panels

        curves = curves_for_plot(rep)
        areas: dict = {}
        for fr in rep.frontier:
            areas.setdefault(fr["store"], {})[fr["program"]] = fr["frontier_area"]
        panels = []
        for s, cv in curves.items():
            lo, hi = rep.cost_range.get(s) or (None, None)
            panels.append((s if s != "average" else "average over stores", cv, lo, hi, areas.get(s, {})))
        draw_png(lambda: plot_frontier_panels(panels, plot, dpi=dpi, size=fig_size, note=plot_note(rep)), plot,
                 "--plot")
        click.echo(f"wrote {plot}", err=True)
    errors = [c for c in cells if c.error]
    for c in errors:
        click.echo(f"error: {c.config.label} on {c.store}: {c.error}", err=True)
    if errors:
        raise SystemExit(1)


COMMANDS = [compare_cmd]
