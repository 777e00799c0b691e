"""The ``tts-dsl`` command line. Each command lives in its own module and registers here."""

from __future__ import annotations

import sys

import click

from .common import run_guarded


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tts-dsl")
def cli():
    """tts-dsl: write, check and evaluate test-time-scaling controllers."""


def _register():
    from . import check as _check
    from . import eval as _eval

    cli.add_command(_check.check)
    cli.add_command(_eval.eval_cmd)
    for mod in ("fmt", "store", "trace", "compare", "discover", "programs", "mcp", "lsp", "run"):
        try:
            m = __import__(f"{__name__}.{mod}", fromlist=["command"])
        except ModuleNotFoundError as ex:
            if ex.name != f"{__name__}.{mod}":
                raise
            continue
        for c in getattr(m, "COMMANDS", []):
            cli.add_command(c)


_register()


def main(argv=None):
    return run_guarded(cli, argv if argv is not None else sys.argv[1:])
