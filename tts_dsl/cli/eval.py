"""``tts-dsl eval``: evaluate programs on stores, over betas, in parallel."""

from __future__ import annotations

import json
import time

import click

from ..api import check as check_source
from ..api import find_program, read_source
from ..evaluation import executors
from ..evaluation.sweep import Interrupted, parse_beta_spec, plan_sweep
from ..files import replacing
from .common import UserError, check_writable, parse_sets, report_cache, store_refs, table, with_cache
from .progress import Progress

BASE_COLUMNS = ["program", "model", "dataset", "beta", "accuracy", "avg_cost", "episodes", "wall_s"]


def get_executor(name: str, jobs: int | None, address: str | None = None):
    try:
        return executors.get_executor(name, jobs, address)
    except executors.ExecutorError as ex:
        raise UserError(str(ex)) from None


@click.command("eval")
@click.argument("programs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--store", type=click.Path(), default=None,
              help="Replay store: ROOT (AutoTTS layout ROOT/<model>/<dataset>.json) or one .json file. "
                   "Default: the embedded synthetic store.")
@click.option("--model", default=None, help="Model(s): a name, a comma list, or 'all' (default: all).")
@click.option("--dataset", default=None, help="Dataset(s): a name, a comma list, or 'all' (default: all).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a param (repeatable).")
@click.option("--beta", "beta_spec", default=None, metavar="SPEC",
              help="Beta: 0.5 | 0,0.5,1 | 0:1:0.1. Default: 0.5 for programs whose params use beta.")
@click.option("--seeds", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Ordering seeds 0..N-1.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Write the rows as CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON lines.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="Worker processes (default: all cores).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True)
@click.option("--address", default=None, help="Ray cluster address (with --executor ray).")
@click.option("--max-seconds", type=float, default=None, help="Wall-clock cap per evaluation (default 900).")
@click.option("--max-actions", type=click.IntRange(1), default=None, help="Action cap per episode (default 50000).")
@click.option("--limit", "limit_sets", multiple=True, metavar="NAME=VALUE",
              help="Override a resource limit, e.g. --limit max_steps=100000 (see docs/safety.md).")
@click.option("--force", is_flag=True, help="Overwrite existing --out and --traces files.")
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
@click.option("--no-cache", is_flag=True,
              help="Evaluate everything again (default: rows evaluated before with the same tool version, "
                   "program, store, beta, seeds and limits come from the cache; see docs/cli.md).")
@click.option("--traces", "traces_path", type=click.Path(dir_okay=False), default=None,
              help="Also write episode traces as JSONL (schema: docs/traces.md).")
@click.option("--trace-questions", default="all", show_default=True, metavar="SPEC",
              help="Questions to trace: all | 3 | 0,2,5 | 0-9.")
@click.option("--trace-seeds", default="0", show_default=True, metavar="SPEC",
              help="Seeds to trace: all | 0 | 0,1 | 0-4.")
def eval_cmd(programs, store, model, dataset, sets, beta_spec, seeds, out, as_json, jobs, executor, address,
             max_seconds, max_actions, limit_sets, force, quiet, no_cache, traces_path, trace_questions, trace_seeds):
    """Evaluate PROGRAMS (files, or names of shipped programs: see `tts-dsl programs`)
    under the replay protocol (100 ordering seeds, every question).

    Prints accuracy (%), mean tokens per question, episodes and wall time per
    (program, model, dataset, beta).
    """
    overrides = parse_sets(sets)
    from .check import parse_limits

    limits = parse_limits(limit_sets)
    if max_seconds is not None:
        try:
            limits = limits.with_(max_seconds=max_seconds)
        except ValueError as ex:
            raise UserError(f"--max-seconds: {ex}") from None
    if max_actions is not None:
        limits = limits.with_(max_actions=max_actions)
    try:
        betas_given = parse_beta_spec(beta_spec) if beta_spec else None
    except ValueError as ex:
        raise UserError(str(ex)) from None
    check_writable(out, force)
    refs = store_refs(store, model, dataset)
    for r in refs:  # fail early, with a clear message, on a broken store
        r.load()
    sources = []
    for p in map(str, map(find_program, programs)):
        src = read_source(p, limits)
        check_source(src, p, limits)  # diagnostics before anything runs
        sources.append((src, p))
    tasks, sweep_knobs = plan_sweep(sources, refs, betas_given, overrides, range(seeds), limits)
    if traces_path:  # check the selections before running anything
        from ..reporting.traces import parse_selection

        try:
            for r in refs:
                parse_selection(trace_questions, len(r.load().questions), "question")
            parse_selection(trace_seeds, seeds, "seed")
        except ValueError as ex_:
            raise UserError(str(ex_)) from None
        check_writable(traces_path, force)
    ex = with_cache(get_executor(executor, jobs, address), no_cache)
    t0 = time.perf_counter()
    partial = False
    try:
        with Progress(len(tasks), "evaluating", enabled=len(tasks) > 1 and not quiet) as bar:
            rows = ex.map(tasks, bar.update)
    except Interrupted as it:  # the first Ctrl-C: keep what finished, marked partial
        rows = [dict(r, partial=True) for r in it.done]
        partial = True
    wall = time.perf_counter() - t0
    if traces_path and not partial:
        from ..reporting.traces import trace_tasks

        try:
            with replacing(traces_path) as fh:  # interrupted: the previous file is intact
                n_traces = trace_tasks(tasks, fh, trace_questions, trace_seeds, seeds)
        except OSError as ex_:
            raise UserError(f"cannot write {traces_path}: {ex_.strerror}") from None
        if not as_json:
            click.echo(f"wrote {n_traces} episode traces to {traces_path}", err=True)
    if out and rows:
        import pandas as pd

        try:
            with replacing(out) as fh:
                pd.DataFrame(rows).to_csv(fh, index=False, float_format="%.6f")
        except OSError as ex_:
            raise UserError(f"cannot write {out}: {ex_.strerror or ex_}") from None
    if as_json:
        for r in rows:
            click.echo(json.dumps(r))
    elif rows:
        cols = list(BASE_COLUMNS)
        if all(r.get("beta") is None for r in rows):
            cols.remove("beta")
        if betas_given and len(betas_given) > 1:
            cols += [f"param.{k}" for k in sweep_knobs]
        shown = [{**r, **{c: r.get(c) for c in cols}} for r in rows]
        if len(rows) == 1 and rows[0].get("error") is None and not partial:
            r = rows[0]
            for c in cols:
                v = r.get(c)
                if c == "avg_cost":
                    v = f"{v:.3f}"
                click.echo(f"{c:<10} {v if v is not None else '-'}")
        else:
            click.echo(table(shown, cols))
    if len(tasks) > 1:
        click.echo(f"{len(rows)} evaluations in {wall:.1f} s", err=True)
    report_cache(ex)
    if out and rows:
        click.echo(f"wrote {out}" + (" (partial)" if partial else ""), err=True)
    errors = [r for r in rows if r.get("error")]
    for r in errors:
        beta = "" if r.get("beta") is None else f" beta={r['beta']}"
        click.echo(f"error: {r['program']} on {r['model']}/{r['dataset']}{beta}: {r['error']}", err=True)
    if partial:
        click.echo(f"interrupted: {len(rows)} of {len(tasks)} evaluations finished"
                   + ("; the rows are marked partial" if rows else ""), err=True)
        raise SystemExit(130)
    if errors:
        raise SystemExit(1)
