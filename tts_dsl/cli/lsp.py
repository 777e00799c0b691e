"""``tts-dsl lsp``: the language server for editors (stdio)."""

from __future__ import annotations

import click

from .common import UserError


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the only transport; accepted for editors "
                                            "that pass it).")
def lsp_cmd(stdio):
    """Run the language server for .tts files over stdio: diagnostics as you type, hover,
    completion, go to definition, references, document symbols, formatting and did-you-mean
    quick fixes. Needs the agents extra: pip install 'tts-dsl[agents]'. Editors start it;
    see editors/vscode and docs/agents.md."""
    try:
        from ..faces.lsp_server import serve
    except ImportError as ex:
        raise UserError(f"tts-dsl lsp needs the agents extra: pip install 'tts-dsl[agents]' ({ex})") from None
    serve()


COMMANDS = [lsp_cmd]
