"""``tts-dsl mcp``: serve the language as MCP tools over stdio (for agent CLIs)."""

from __future__ import annotations

import click

from .common import UserError


@click.command("mcp")
@click.option("--workspace", type=click.Path(file_okay=False), default=None,
              help="The only directory the server writes to (saved programs, temporary files). "
                   "Default: a new temporary directory.")
@click.option("--store-root", "store_roots", multiple=True, metavar="[NAME=]DIR",
              help="A replay store root (ROOT/<model>/<dataset>.json) the tools may read (repeatable); "
                   "its stores are NAME/<model>/<dataset> (NAME defaults to the directory's name).")
@click.option("--programs", "program_dirs", multiple=True, metavar="[NAME=]DIR",
              help="More read-only program directories to offer (repeatable); the shipped programs always are.")
@click.option("--time-cap", type=click.FloatRange(0.5, 3600), default=60.0, show_default=True,
              help="Seconds per tool call that runs a program; a call over its cap returns an error.")
@click.option("--max-output", "max_output", type=click.IntRange(1000, 10_000_000), default=60_000,
              show_default=True, help="Characters per tool result (longer results are cut, saying so).")
@click.option("--max-seeds", type=click.IntRange(1, 10_000), default=1000, show_default=True,
              help="Most ordering seeds one call may ask for.")
def mcp_cmd(workspace, store_roots, program_dirs, time_cap, max_output, max_seeds):
    """Serve the language to an agent CLI over the Model Context Protocol (stdio): tools
    language_reference, check, evaluate, trace, compare, list_stores, list_programs,
    read_program, save_program; resources for the programs, the reference and the JSON
    Schemas. Needs the agents extra: pip install 'tts-dsl[agents]'. See docs/agents.md."""
    try:
        from ..faces.mcp_server import serve
    except ImportError as ex:
        raise UserError(f"tts-dsl mcp needs the agents extra: pip install 'tts-dsl[agents]' ({ex})") from None
    from ..faces.tools import ToolInputError

    if workspace is None:
        import sys
        import tempfile

        workspace = tempfile.mkdtemp(prefix="tts-dsl-mcp-")
        click.echo(f"tts-dsl mcp: workspace {workspace}", err=True)
        sys.stderr.flush()
    try:
        serve(workspace, store_roots, program_dirs, time_cap, max_output, max_seeds)
    except ToolInputError as ex:
        raise UserError(str(ex)) from None


COMMANDS = [mcp_cmd]
