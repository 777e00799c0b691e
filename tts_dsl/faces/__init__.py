"""Editor and agent faces: the MCP server (``tts-dsl mcp``) and the language server
(``tts-dsl lsp``). Like ``cli/``, they are thin adapters over :mod:`tts_dsl.api`; their
third-party dependencies (``mcp``, ``pygls``) come with the ``agents`` extra and are
imported only when a server starts."""
