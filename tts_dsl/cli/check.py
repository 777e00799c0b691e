"""``tts-dsl check``: validate programs; diagnostics as text or JSON."""

from __future__ import annotations

import json

import click

from ..api import check as check_source
from ..api import read_source
from ..lang.diagnostics import DiagnosticsError
from ..lang.schedule import bind
from .common import parse_sets


def check_file(path: str, overrides: dict) -> dict:
    """Check one file; returns a JSON-able report."""
    report = {"file": path, "ok": False, "diagnostics": [], "params": []}
    try:
        src = read_source(path)
    except DiagnosticsError as ex:
        report["diagnostics"] = [d.to_dict() for d in ex.diagnostics]
        report["_text"] = ex.render()
        return report
    try:
        checked = check_source(src, path)
        if overrides:
            bind(checked, None, overrides)
    except DiagnosticsError as ex:
        report["diagnostics"] = [d.to_dict() for d in ex.diagnostics]
        report["_text"] = ex.render()
        return report
    report["ok"] = True
    report["name"] = checked.name
    report["diagnostics"] = [d.to_dict() for d in checked.warnings]
    report["_text"] = "\n\n".join(d.render(src) for d in checked.warnings)
    report["params"] = [{"name": p.name, "type": str(p.ty), "direction": p.direction,
                         "uses_beta": p.uses_beta} for p in checked.params]
    report["_checked"] = checked
    return report


@click.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics as JSON (for tools and LLMs).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Check with a param overridden.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def check(files, as_json, sets, strict):
    """Check .tts programs: syntax, names, types, bounds, information safety.

    Exit status: 0 if every file is valid, 1 otherwise.
    """
    overrides = parse_sets(sets)
    reports = [check_file(f, overrides) for f in files]
    failed = 0
    for r in reports:
        if not r["ok"] or (strict and r["diagnostics"]):
            failed += 1
    if as_json:
        out = [{k: v for k, v in r.items() if not k.startswith("_")} for r in reports]
        click.echo(json.dumps(out if len(out) > 1 else out[0], indent=2))
    else:
        for r in reports:
            if r["ok"]:
                knobs = ", ".join(p["name"] for p in r["params"]) or "none"
                click.echo(f"{r['file']}: ok (controller {r['name']}; params: {knobs})")
                if r["_text"]:
                    click.echo(r["_text"])
            else:
                click.echo(r["_text"], err=True)
        if len(reports) > 1:
            click.echo(f"{len(reports) - failed} of {len(reports)} programs valid")
    if failed:
        raise SystemExit(1)
