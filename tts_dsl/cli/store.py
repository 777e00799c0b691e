"""``tts-dsl store validate``: check replay stores and print a summary (read-only)."""

from __future__ import annotations

import json

import click

from ..replay.validate import validate_path
from .common import echo_safe


@click.group("store")
def store():
    """Inspect replay stores (nothing is ever written to a store)."""


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
    ]
    width = max(len(r[""]) for r in rows)
    lines.extend(f"  {r[''].ljust(width)}  {r['value']}" for r in rows)
    for w in s.warnings:
        lines.append(f"warning: {w}")
    return "\n".join(lines)


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
