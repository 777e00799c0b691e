"""``tts-dsl trace``: one episode as a readable timeline, optionally as JSON and a picture."""

from __future__ import annotations

import json

import click

from ..api import check as check_source
from ..api import find_program, read_source
from ..api import trace as api_trace
from ..lang.diagnostics import DiagnosticsError
from ..lang.limits import Limits
from .common import UserError, check_figure_path, draw_png, echo_safe, figure_options, parse_sets, parse_size, store_refs


def one_store(store, model, dataset):
    refs = store_refs(store, model, dataset)
    if len(refs) != 1:
        raise UserError(f"--store {store} holds {len(refs)} stores ({', '.join(r.label for r in refs[:6])}"
                        f"{', …' if len(refs) > 6 else ''}); pick one with --model and --dataset")
    return refs[0].load()


@click.command("trace")
@click.argument("program", type=click.Path(dir_okay=False))
@click.option("--store", type=click.Path(), default=None,
              help="Replay store root or .json file (default: the embedded synthetic store).")
@click.option("--model", default=None, help="Model (needed when the store root holds several).")
@click.option("--dataset", default=None, help="Dataset (needed when the model has several).")
@click.option("--question", "-Q", default=0, show_default=True, type=click.IntRange(0), help="Question index.")
@click.option("--seed", "-s", default=0, show_default=True, type=click.IntRange(0), help="Ordering seed.")
@click.option("--beta", type=click.FloatRange(0, 1), default=None,
              help="Beta for the params (default: 0.5 for programs whose params use beta).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a param (repeatable).")
@click.option("--png", type=click.Path(dir_okay=False), default=None,
              help="Draw the episode picture here (PNG, SVG or PDF by the file name).")
@click.option("--colour-by", "colour_by", type=click.Choice(["answer", "gold"]), default="answer", show_default=True,
              help="Picture cells: agreement with the episode's answer, or with the gold answer.")
@figure_options
@click.option("--json", "as_json", is_flag=True, help="Print the trace record (docs/traces.md) instead.")
@click.option("--decisions", is_flag=True, help="Also show which arm each 'if' took.")
@click.option("--no-vars", is_flag=True, help="Hide variable changes.")
@click.option("--max-events", type=click.IntRange(1), default=None, help="Show at most this many actions.")
@click.option("--max-actions", type=click.IntRange(1), default=None, help="Action cap per episode (default 50000).")
def trace_cmd(program, store, model, dataset, question, seed, beta, sets, png, as_json, decisions, no_vars,
              max_events, max_actions, colour_by, dpi, size):
    """Replay one episode of PROGRAM (a question under an ordering seed) and show what the
    controller did: every action, the revealed answers, tokens, changed variables, why it
    stopped. Answers equal to the episode's final answer are marked '*'."""
    from ..reporting.timeline import render_timeline
    from ..reporting.traces import TraceError

    overrides = parse_sets(sets)
    check_figure_path(png, "--png")
    fig_size = parse_size(size)
    limits = Limits() if max_actions is None else Limits().with_(max_actions=max_actions)
    program = str(find_program(program))
    src = read_source(program)
    checked = check_source(src, program, limits)
    st = one_store(store, model, dataset)
    try:
        rec = api_trace(checked, st, question, seed, beta, overrides, limits)
    except ValueError as ex:  # the question is out of range
        raise UserError(str(ex)) from None
    except TraceError as ex:
        if ex.records:  # the episode up to the error, then the diagnostic
            echo_safe(json.dumps(ex.records[-1], indent=1) if as_json else render_timeline(ex.records[-1]))
        raise DiagnosticsError([ex.diagnostic], src) from None
    if as_json:
        click.echo(json.dumps(rec, indent=1, allow_nan=False))
    else:
        echo_safe(render_timeline(rec, decisions=decisions, variables=not no_vars, max_events=max_events))
    if png:
        from ..reporting.picture import draw_episode

        draw_png(lambda: draw_episode(rec, png, colour_by=colour_by, dpi=dpi, size=fig_size), png, "--png")
        click.echo(f"wrote {png}", err=as_json)


COMMANDS = [trace_cmd]
