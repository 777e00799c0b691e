"""``tts-dsl run``: a controller on a live model (docs/live.md), with replay semantics."""

from __future__ import annotations

import csv
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import click

from ..api import check as check_source
from ..api import compile as compile_program
from ..api import default_beta, read_source
from ..lang.limits import Limits
from .common import UserError, check_writable, parse_sets
from .live_options import PROTOCOL_OPTIONS, SERVER_OPTIONS, Progress, protocol, settings, with_options

CSV_COLUMNS = ["index", "gold", "answer", "correct", "cost", "ended", "branches", "speculative", "requests", "prompt_tokens",
               "completion_tokens", "wall_s"]


@click.command("run")
@click.argument("program", type=click.Path(dir_okay=False))
@with_options(SERVER_OPTIONS)
@click.option("--question", default=None, help="One question's text.")
@click.option("--gold", default=None, help="Its gold answer (optional: marks the answer correct or not).")
@click.option("--questions", "questions_file", type=click.Path(dir_okay=False), default=None,
              help="A JSONL question file (question + gold answer), one episode per question.")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N questions.")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="Per-question results as CSV.")
@click.option("--beta", type=click.FloatRange(0, 1), default=None,
              help="Beta for the params (default: 0.5 for programs whose params use beta).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Override a param (repeatable).")
@click.option("--branches", "-n", type=click.IntRange(1), default=None, help="Branch pool size (default 128).")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False), default=None,
              help="Write each episode's trace record (docs/traces.md) to this JSONL file.")
@click.option("--lookahead", type=click.IntRange(0, 64), default=2, show_default=True,
              help="Speculate: keep each advanced branch's next interval and the next N fresh branches in "
                   "flight, so one step's actions run concurrently (unused work is reported); 0: one request "
                   "at a time.")
@with_options(PROTOCOL_OPTIONS)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def run_cmd(program, config_path, endpoint, model_name, concurrency, retries, timeout, question, gold,
            questions_file, limit, out, beta, sets, branches, trace_path, lookahead, as_json, quiet, **proto_flags):
    """Run PROGRAM on a live model: `open` starts a branch and generates one interval,
    `advance` one more, a revealed answer is the probe of the new prefix, `read`
    generates a branch to the end, `prune` stops one, `answer` ends the episode. Charges
    are the replay's; the server's token counts and the wall time are reported beside them.

    One question (--question TEXT) or a file of them (--questions FILE, --out results.csv,
    with accuracy against gold; --concurrency episodes at a time).
    """
    from ..live.answers import equivalent
    from ..live.client import CompletionsClient, ServerError
    from ..live.environment import run_episode
    from ..live.questions import Item, QuestionFileError, load_questions

    if (question is None) == (questions_file is None):
        raise UserError("give exactly one of --question TEXT or --questions FILE")
    flags = {"endpoint": endpoint, "model": model_name, "concurrency": concurrency, "retries": retries,
             "timeout": timeout, "branches": branches, **proto_flags}
    d = settings(config_path, flags)
    proto = protocol(d)
    if not d.get("endpoint") or not d.get("model"):
        raise UserError("run needs --endpoint and --model (or endpoint and model in the config)")
    check_writable(out)
    check_writable(trace_path)
    src = read_source(program)
    checked = check_source(src, program)
    exe = compile_program(checked, default_beta(checked, beta), parse_sets(sets), traced=trace_path is not None)
    if question is not None:
        items = [Item(question, gold)]
    else:
        try:
            items = load_questions(questions_file, limit)
        except QuestionFileError as ex:
            raise UserError(str(ex)) from None
    nb = int(d.get("branches") or 128)
    client = CompletionsClient(d["endpoint"], d["model"], os.environ.get(d.get("api_key_env", "OPENAI_API_KEY")),
                               timeout=float(d.get("timeout", 600.0)), retries=int(d.get("retries", 5)))
    limits = Limits()
    progress = Progress("questions", quiet or as_json or len(items) == 1)
    t0 = time.perf_counter()
    results: list = [None] * len(items)

    def one(i):
        results[i] = run_episode(exe, client, proto, items[i].question, items[i].gold, nb, proto.seed, limits, i,
                                 lookahead)
        progress(sum(r is not None for r in results), len(items), client.usage)

    try:
        with ThreadPoolExecutor(int(d.get("concurrency") or 1) if len(items) > 1 else 1) as pool:
            for f in [pool.submit(one, i) for i in range(len(items))]:
                f.result()
    except ServerError as ex:
        raise UserError(str(ex)) from None
    finally:
        client.close()
    wall = time.perf_counter() - t0
    rows = []
    for i, (it, r) in enumerate(zip(items, results)):
        correct = None if it.gold is None else (r.answer is not None and equivalent(it.gold, r.answer))
        rows.append({"index": i, "gold": it.gold, "answer": r.answer, "correct": correct, "cost": r.cost,
                     "ended": r.reason, "branches": r.branches, "speculative": r.speculative, **r.usage, "wall_s": round(r.wall_s, 3)})
    if trace_path:
        from ..reporting.traces import EpisodeMeta, decode_episode, write_jsonl

        meta = EpisodeMeta(exe.name, program, d["model"], "live", exe.binding.beta, dict(exe.binding.values))
        recs = []
        for row, r in zip(rows, results):
            rec = decode_episode(r.events, r.snapshot, 0, r.answer_id, r.cost, r.reason, meta)
            for b in rec["branches"]:
                b["source"] = b["index"]  # live branch i is sampled with seed + i
            rec["correct"] = bool(row["correct"])
            recs.append(rec)
        with open(trace_path, "w", encoding="utf-8") as fh:
            write_jsonl(recs, fh)
    if out:
        with open(out, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, CSV_COLUMNS, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    graded = [r for r in rows if r["correct"] is not None]
    summary = {"program": exe.name, "model": d["model"], "questions": len(rows),
               "accuracy": round(100 * sum(r["correct"] for r in graded) / len(graded), 2) if graded else None,
               "avg_cost": sum(r["cost"] for r in rows) / len(rows), **client.usage.to_dict(),
               "wall_s": round(wall, 3)}
    if as_json:
        click.echo(json.dumps({"summary": summary, "episodes": rows}, indent=2))
        return
    u = client.usage
    if len(rows) == 1:
        r = rows[0]
        click.echo(f"answer   {r['answer']}" + ("" if r["correct"] is None else
                                                 f"   ({'correct' if r['correct'] else 'wrong'}; gold {r['gold']})"))
        click.echo(f"cost     {r['cost']:,} tokens charged (replay semantics), {r['branches']} branches, "
                   f"ended by {r['ended']}")
    else:
        acc = "-" if summary["accuracy"] is None else f"{summary['accuracy']:.2f}"
        click.echo(f"accuracy {acc} over {len(rows)} questions, avg_cost {summary['avg_cost']:,.1f} tokens charged")
    spec = sum(r["speculative"] for r in rows)
    click.echo(f"server   {u.requests:,} requests ({u.retries} retried), {u.prompt_tokens:,} prompt + "
               f"{u.completion_tokens:,} completion tokens"
               + (f"; {spec} intervals or branches generated ahead and unused" if spec else ""))
    click.echo(f"wall     {wall:.2f} s")
    for p in (out, trace_path):
        if p:
            click.echo(f"wrote {p}", err=True)


COMMANDS = [run_cmd]
