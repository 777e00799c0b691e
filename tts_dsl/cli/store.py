"""``tts-dsl store validate``: check replay stores and print a summary (read-only)."""

from __future__ import annotations

import json

import click

from ..replay.validate import validate_path
from .common import UserError, echo_safe
from .live_options import PROTOCOL_OPTIONS, SERVER_OPTIONS, Progress, protocol, settings, with_options


@click.group("store")
def store():
    """Inspect replay stores, and build them from an inference server."""


def _fmt_summary(s) -> str:
    lines = [f"{s.path}: ok ({s.model}/{s.dataset}, sha256 {s.digest})"]
    rows = [
        {"": "questions", "value": s.questions},
        {"": "branches", "value": f"{s.branches_total} ({s.branches_min}-{s.branches_max} per question)"},
        {"": "probe_freq", "value": s.probe_freq},
        {"": "probes per branch", "value": f"min {s.probes_min}, mean {s.probes_mean:.1f}, max {s.probes_max}"},
        {"": "tokens per branch", "value": f"min {s.tokens_min:,}, mean {s.tokens_mean:,.0f}, max {s.tokens_max:,}"},
        {"": "distinct finals per question", "value": f"mean {s.distinct_finals_mean:.2f}, max {s.distinct_finals_max}"},
        {"": "distinct answers per question", "value": f"mean {s.distinct_probe_answers_mean:.2f}"},
        {"": "gold among finals", "value": f"{100 * s.gold_in_finals:.1f}% of questions"},
        {"": "finals equal to gold", "value": f"{100 * s.finals_correct:.1f}% of branches"},
        {"": "probes outrun length", "value": f"{100 * s.outrun_share:.1f}% of branches"},
        {"": "junk answers", "value": ", ".join(json.dumps(j) for j in s.junk_answers) or "none"},
        {"": "junk rate", "value": f"{100 * s.junk_probe_share:.1f}% of probes, "
                                   f"{100 * s.junk_final_share:.1f}% of finals"},
    ]
    width = max(len(r[""]) for r in rows)
    lines.extend(f"  {r[''].ljust(width)}  {r['value']}" for r in rows)
    if s.meta:
        lines.extend(_fmt_meta(s.meta))
    for w in s.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def _fmt_meta(m: dict) -> list[str]:
    p = m.get("protocol") or {}
    u = m.get("usage") or {}
    rows = [
        ("metadata", f"version {m.get('version')}, {m.get('tool', '?')} {m.get('tool_version', '?')}, "
                     f"built {m.get('created', '?')}"),
        ("model", f"{m.get('model')} at {m.get('endpoint')}"),
        ("sampling", f"{m.get('branches')} branches, temperature {p.get('temperature')}, top_p {p.get('top_p')}, "
                     f"max_tokens {p.get('max_tokens')}, seed {p.get('seed')}"),
        ("probes", f"every {p.get('interval')} tokens, mode {p.get('probe_mode')}"
                   + (" (an approximation: last answer in the prefix)" if m.get("probe_approximation") else
                      f", suffix {p.get('probe_suffix')!r}, {p.get('probe_max_tokens')} tokens")),
        ("gold match", (m.get("answers") or {}).get("gold_match")),
        ("content hash", m.get("content_hash")),
    ]
    if u:
        rows.append(("build usage", f"{u.get('requests', 0):,} requests, {u.get('prompt_tokens', 0):,} prompt + "
                                    f"{u.get('completion_tokens', 0):,} completion tokens"))
    width = max(len(k) for k, _ in rows)
    return [f"  {k.ljust(width)}  {v}" for k, v in rows]


@store.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.option("--all-errors", is_flag=True, help="Show every problem found (up to 10 per file), not only the first.")
def validate(paths, as_json, all_errors):
    """Check store files (a .json file, ROOT/<model>/<dataset>.json trees) and summarise them.

    Exit status: 0 if every store is valid, 1 otherwise.
    """
    summaries = []
    for p in paths:
        summaries.extend(validate_path(p))
    bad = [s for s in summaries if not s.ok]
    if as_json:
        out = [s.to_dict() for s in summaries]
        click.echo(json.dumps(out if len(out) > 1 else out[0], indent=2))
    else:
        for i, s in enumerate(summaries):
            if s.ok:
                if i:
                    echo_safe()
                echo_safe(_fmt_summary(s))
            else:
                errs = s.errors if all_errors else s.errors[:1]
                for e in errs:
                    echo_safe(f"error: {e}", err=True)
                if not all_errors and len(s.errors) > 1:
                    echo_safe(f"  ({len(s.errors) - 1} more problem{'s' if len(s.errors) > 2 else ''} "
                               f"in {s.path}; --all-errors shows them)", err=True)
        if len(summaries) > 1:
            echo_safe(f"\n{len(summaries) - len(bad)} of {len(summaries)} stores valid")
    if bad:
        raise SystemExit(1)


COMMANDS = [store]


@store.command("build")
@with_options(SERVER_OPTIONS)
@click.option("--questions", type=click.Path(dir_okay=False), default=None,
              help="JSONL question file (question + gold answer; HF MATH/AIME layouts load as they are).")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="The store file, ROOT/<model>/<dataset>.json.")
@click.option("--branches", "-n", type=click.IntRange(1), default=None, help="Branches per question (default 128).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N questions.")
@click.option("--price-in", type=float, default=None, help="Dollars per million prompt tokens (cost report).")
@click.option("--price-out", type=float, default=None, help="Dollars per million completion tokens (cost report).")
@with_options(PROTOCOL_OPTIONS)
@click.option("--dry-run", is_flag=True, help="Print the request plan and its token estimate; send nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def build_cmd(config_path, endpoint, model_name, concurrency, retries, timeout, questions, out, branches, limit,
              price_in, price_out, dry_run, as_json, quiet, **proto_flags):
    """Build a replay store by sampling branches from an OpenAI-compatible completions
    endpoint: every interval of every branch is probed for its answer (docs/live.md).

    Interrupted builds resume where they stopped when run again (the finished branches
    are kept in OUT.partial.jsonl); the store and its metadata block (OUT.meta) are
    written atomically at the end.
    """
    from ..live.build import BuildConfig, BuildError, build, plan
    from ..live.client import ServerError
    from ..live.questions import QuestionFileError, load_questions

    flags = {"endpoint": endpoint, "model": model_name, "concurrency": concurrency, "retries": retries,
             "timeout": timeout, "questions": questions, "out": out, "branches": branches, "limit": limit,
             "price_in": price_in, "price_out": price_out, **proto_flags}
    d = settings(config_path, flags)
    protocol(d)
    try:
        cfg = BuildConfig.from_dict(d)
    except (BuildError, TypeError) as ex:
        raise UserError(str(ex)) from None
    for k in ("model", "questions", "out"):
        if not getattr(cfg, k):
            raise UserError(f"store build needs --{k} (or {k} in the config)")
    try:
        if dry_run:
            items = load_questions(cfg.questions, cfg.limit)
            pl = plan(cfg, items)
            if as_json:
                click.echo(json.dumps(pl, indent=2))
            else:
                click.echo(f"plan: {pl['questions']} questions x {cfg.branches} branches = {pl['branches']} branches, "
                           f"cut every {cfg.protocol.interval} tokens, probe mode {cfg.protocol.probe_mode}")
                click.echo(f"  requests (at most): {pl['generation_requests_max']:,} generation, "
                           f"{pl['probe_requests_max']:,} probe")
                click.echo(f"  tokens (at most): {pl['completion_tokens_max']:,} completion, "
                           f"~{pl['prompt_tokens_max']:,} prompt (prefix caching makes resent prefixes cheap)")
                if cfg.price_in or cfg.price_out:
                    click.echo(f"  cost (at most): ${pl['cost_max_usd']:,.2f}")
            return
        rep = build(cfg, progress=Progress("branches", quiet or as_json))
    except (BuildError, QuestionFileError, ServerError) as ex:
        raise UserError(str(ex)) from None
    if as_json:
        click.echo(json.dumps(rep, indent=2))
        return
    u = rep["usage"]
    click.echo(f"wrote {rep['store']} ({rep['questions']} questions x {cfg.branches} branches; "
               f"{rep['resumed']} resumed) and {rep['meta']}")
    click.echo(f"  {u['requests']:,} requests ({u['retries']} retried), {u['prompt_tokens']:,} prompt + "
               f"{u['completion_tokens']:,} completion tokens" + (f", ${rep['cost_usd']:,.4f}" if rep["cost_usd"] else "")
               + f", {rep['wall_s']:.1f} s")
    if rep["truncated"]:
        click.echo(f"  {rep['truncated']} branches reached --max-tokens (their final answer is from truncated text)")
