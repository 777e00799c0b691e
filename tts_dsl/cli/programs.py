"""``tts-dsl programs``: the shipped programs, usable by name in check, eval, trace, compare."""

from __future__ import annotations

import click

from ..api import program_summary, shipped_programs


@click.command("programs")
@click.option("--path", "show_path", is_flag=True, help="Print the directory of the shipped programs.")
def programs_cmd(show_path):
    """List the shipped programs. Each NAME works wherever a program file does
    (`tts-dsl eval asc`); a file of that name in the current directory wins."""
    d = shipped_programs()
    if d is None:
        raise click.ClickException("no shipped programs found (a broken installation?)")
    if show_path:
        click.echo(str(d))
        return
    files = sorted(d.glob("*.tts"))
    width = max(len(p.stem) for p in files)
    for p in files:
        click.echo(f"{p.stem:<{width}}  {program_summary(p) or ''}".rstrip())


COMMANDS = [programs_cmd]
