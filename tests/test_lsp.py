"""``tts-dsl lsp``: a real LSP client (pytest-lsp) drives the server over stdio."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT, require

pytest_lsp = require("pytest_lsp", "test")
require("pygls", "agents")

from lsprotocol import types as T  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

pytestmark = pytest.mark.asyncio(loop_scope="module")

GOOD = """\
controller demo

params {
  n: int increasing in [1, 64] = round(4 + 60 * beta)
  t: float decreasing in [0, 1] = 0.9 - 0.2 * beta
}

branch var seen: int = 0
var best: float = 0.0

repeat n as i {
  open as b else break
  b.seen = b.seen + 1
  let v = votes(completed)
  for c in branches where c.seen > 0 {
    advance c
  }
  if v.top1 > t * n {
    answer v.winner
  }
}
answer majority(completed)
"""

TYPO = "controller x\nanswer majorty(completed)\n"
UGLY = "controller   x\nvar  a:int=1\nanswer   majority( completed )\n"


def pos(text: str, needle: str, nth: int = 0, offset: int = 0) -> T.Position:
    """The 0-based position of the nth occurrence of needle (plus offset characters)."""
    i = -1
    for _ in range(nth + 1):
        i = text.index(needle, i + 1)
    line = text.count("\n", 0, i)
    col = i - (text.rfind("\n", 0, i) + 1)
    return T.Position(line, col + offset)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "tts_dsl", "lsp"],
                                              server_env={"PYTHONPATH": str(ROOT)}),
                    scope="module")
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(T.InitializeParams(capabilities=T.ClientCapabilities(),
                                                           root_uri=ROOT.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def open_doc(client: LanguageClient, name: str, text: str) -> str:
    uri = (ROOT / "tests" / name).as_uri()
    client.text_document_did_open(T.DidOpenTextDocumentParams(
        T.TextDocumentItem(uri=uri, language_id="tts", version=1, text=text)))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return uri


async def test_diagnostics_as_you_type_and_the_did_you_mean_fix(client: LanguageClient):
    uri = await open_doc(client, "typo.tts", TYPO)
    (d,) = client.diagnostics[uri]
    assert d.code == "E309" and d.severity == T.DiagnosticSeverity.Error
    assert "hint: did you mean 'majority'?" in d.message
    assert d.range == T.Range(T.Position(1, 7), T.Position(1, 14))
    actions = await client.text_document_code_action_async(T.CodeActionParams(
        text_document=T.TextDocumentIdentifier(uri), range=d.range, context=T.CodeActionContext(diagnostics=[d])))
    (fix,) = actions
    assert fix.title == "Change to 'majority'" and fix.kind == T.CodeActionKind.QuickFix
    (edit,) = fix.edit.changes[uri]
    assert edit.range == d.range and edit.new_text == "majority"
    # typing the fix clears the diagnostic
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[T.TextDocumentContentChangeWholeDocument(text="controller x\nanswer majority(completed)\n")]))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []
    # a schedule that is not what it claims: the prover's diagnostic, on the param
    bad = "controller y\nparams {\n  n: int increasing in [1, 10] = round(10 - 9 * beta)\n}\nanswer majority(completed)\n"
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        text_document=T.VersionedTextDocumentIdentifier(uri=uri, version=3),
        content_changes=[T.TextDocumentContentChangeWholeDocument(text=bad)]))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (d,) = client.diagnostics[uri]
    assert d.code == "S001" and d.range.start == T.Position(2, 2) and "decreases" in d.message


async def test_hover_completion_definition_references_symbols(client: LanguageClient):
    uri = await open_doc(client, "good.tts", GOOD)
    assert list(client.diagnostics[uri]) == []
    doc = T.TextDocumentIdentifier(uri)

    async def hover(p):
        h = await client.text_document_hover_async(T.HoverParams(doc, p))
        return h.contents.value if h else None

    # a param: its schedule, range and proof status
    h = await hover(pos(GOOD, "t * n", offset=4))
    assert "n: int increasing in [1, 64] = round(4 + 60 * beta)" in h
    assert "declared **increasing** in beta; proved" in h and "4 .. 64" in h and "declared range: proved" in h
    # built-ins: a function, state, a branch attribute, an action
    assert "votes(" in await hover(pos(GOOD, "votes(", offset=1)) and "Usable" not in await hover(pos(GOOD, "votes("))
    assert "state (read-only)" in await hover(pos(GOOD, "completed)"))
    assert "branch var" in await hover(pos(GOOD, "b.seen", offset=3))
    assert "record" in await hover(pos(GOOD, "v.top1", offset=3))
    assert "(action)" in await hover(pos(GOOD, "advance c"))

    async def complete(p):
        res = await client.text_document_completion_async(T.CompletionParams(doc, p))
        return {i.label: i for i in res.items}

    after_dot = await complete(pos(GOOD, "b.seen + 1", offset=2))
    assert {"latest", "finished", "history", "seen"} <= set(after_dot) and "majority" not in after_dot
    fields = await complete(pos(GOOD, "v.winner", offset=2))
    assert {"winner", "top1", "top2"} <= set(fields) and "latest" not in fields
    names = await complete(pos(GOOD, "answer v.winner"))
    assert {"repeat", "answer", "majority", "beta_confidence", "completed", "n", "t", "best", "v", "i", "b"} <= set(names)
    assert names["majority"].kind == T.CompletionItemKind.Function and names["n"].kind == T.CompletionItemKind.Constant
    top = await complete(pos(GOOD, "answer majority"))
    assert "v" not in top and "n" in top  # a let is visible only in its block

    # definition and references of a param, a let, a branch var and a loop variable
    async def definition(p):
        loc = await client.text_document_definition_async(T.DefinitionParams(doc, p))
        return loc.range.start

    async def refs(p, decl=True):
        locs = await client.text_document_references_async(T.ReferenceParams(
            text_document=doc, position=p, context=T.ReferenceContext(include_declaration=decl)))
        return sorted((loc.range.start.line, loc.range.start.character) for loc in locs)

    assert await definition(pos(GOOD, "t * n", offset=4)) == pos(GOOD, "n: int")
    assert await refs(pos(GOOD, "n: int")) == sorted(
        (p.line, p.character) for p in [pos(GOOD, "n: int"), pos(GOOD, "repeat n", offset=7), pos(GOOD, "t * n", offset=4)])
    assert await definition(pos(GOOD, "v.top1")) == pos(GOOD, "v = votes")
    assert len(await refs(pos(GOOD, "v = votes"))) == 3 and len(await refs(pos(GOOD, "v = votes"), False)) == 2
    assert await definition(pos(GOOD, "c.seen", offset=2)) == pos(GOOD, "seen: int")
    assert len(await refs(pos(GOOD, "seen: int"))) == 4
    assert await definition(pos(GOOD, "advance c", offset=8)) == pos(GOOD, "for c", offset=4)

    syms = await client.text_document_document_symbol_async(T.DocumentSymbolParams(doc))
    (root,) = syms
    assert root.name == "demo" and [s.name for s in root.children] == ["n", "t", "seen", "best", "v"]
    assert root.children[0].kind == T.SymbolKind.Constant


async def test_formatting(client: LanguageClient):
    uri = await open_doc(client, "ugly.tts", UGLY)
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(uri), T.FormattingOptions(tab_size=2, insert_spaces=True)))
    (e,) = edits
    assert e.new_text == "controller x\n\nvar a: int = 1\n\nanswer majority(completed)\n"
    assert e.range.start == T.Position(0, 0)
