"""``tts-dsl fmt``: print (or check, or write) the canonical layout of programs."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

import click

from ..api import read_source
from ..files import replacing
from ..lang.diagnostics import DiagnosticsError
from ..lang.formatter import FormatError, format_source
from .common import unreadable_only


def _write_atomic(path: Path, text: str) -> None:
    """Rewrite ``path`` atomically, keeping its mode and writing through a symlink."""
    with replacing(path, newline="\n") as fh:
        fh.write(text)


@click.command("fmt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check", "check_only", is_flag=True,
              help="Print nothing but the files that are not in canonical layout; exit 1 if any.")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff instead of the text.")
@click.option("--write", "-w", is_flag=True, help="Rewrite the files in place.")
def fmt(files, check_only, show_diff, write):
    """Print the canonical layout of .tts programs (comments are kept; '-' reads stdin).

    Parsing the output gives the same program, and formatting it again changes nothing.
    Exit status: 0 on success, 1 if a file has errors or (with --check or --diff) is not
    canonical, 2 if a file cannot be read.
    """
    if check_only and write:
        raise click.UsageError("--check and --write exclude each other")
    status = 0
    for f in files:
        try:
            src = sys.stdin.read() if f == "-" else read_source(f)
            out = format_source(src, "<stdin>" if f == "-" else f)
        except DiagnosticsError as ex:
            click.echo(ex.render(), err=True)
            status = max(status, 2 if unreadable_only(ex.diagnostics) else 1)
            continue
        except FormatError as ex:  # pragma: no cover - parsed programs are always writable
            click.echo(f"{f}: error: {ex}", err=True)
            status = 1
            continue
        changed = out != src
        if check_only:
            if changed:
                click.echo(f"{f}: not formatted")
                status = max(status, 1)
        elif show_diff:
            if changed:
                status = 1
                click.echo("".join(difflib.unified_diff(src.splitlines(True), out.splitlines(True),
                                                        f"{f} (original)", f"{f} (formatted)")), nl=False)
        elif write and f != "-":
            if changed:
                _write_atomic(Path(f), out)
                click.echo(f"{f}: reformatted", err=True)
        else:
            click.echo(out, nl=False)
    if check_only and status == 0:
        click.echo(f"{len(files)} file{'s' if len(files) != 1 else ''} already formatted")
    if status:
        raise SystemExit(status)


COMMANDS = [fmt]
