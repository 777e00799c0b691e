"""``tts-dsl lsp``: a Language Server Protocol server for ``.tts`` files (pygls, stdio).

Diagnostics as you type (the checker's and the schedule prover's, with codes and hints),
hover (built-in docs; for a param its schedule, range and proof status), completion,
go to definition, references, document symbols, formatting and a quick fix for every
did-you-mean hint. The answers come from :mod:`tts_dsl.faces.analysis`; this module only
converts positions and types. LSP positions are 0-based; columns count characters (exact
for the ASCII programs are; the checker's columns are code points).
"""

from __future__ import annotations

import dataclasses

from lsprotocol import types as T
from pygls.lsp.server import LanguageServer

from ..lang.diagnostics import DiagnosticsError, Span
from . import analysis as AN

SEVERITY = {"error": T.DiagnosticSeverity.Error, "warning": T.DiagnosticSeverity.Warning,
            "note": T.DiagnosticSeverity.Information}
COMPLETION_KIND = {"keyword": T.CompletionItemKind.Keyword, "function": T.CompletionItemKind.Function,
                   "state": T.CompletionItemKind.Variable, "attr": T.CompletionItemKind.Property,
                   "field": T.CompletionItemKind.Field, "variable": T.CompletionItemKind.Variable,
                   "param": T.CompletionItemKind.Constant, "direction": T.CompletionItemKind.EnumMember}
SYMBOL_KIND = {"param": T.SymbolKind.Constant, "var": T.SymbolKind.Variable, "branch var": T.SymbolKind.Field,
               "let": T.SymbolKind.Variable, "function": T.SymbolKind.Function}


def to_range(span: Span) -> T.Range:
    return T.Range(T.Position(span.line - 1, span.col - 1), T.Position(span.end_line - 1, span.end_col - 1))


def diag_range(d: dict) -> T.Range:
    return T.Range(T.Position(d["line"] - 1, d["col"] - 1), T.Position(d["end"]["line"] - 1, d["end"]["col"] - 1))


def to_lsp_diagnostic(d: dict) -> T.Diagnostic:
    msg = d["message"]
    for k in ("expected", "found"):
        if d.get(k):
            msg += f"\n{k} {d[k]}"
    if d.get("hint"):
        msg += f"\nhint: {d['hint']}"
    return T.Diagnostic(range=diag_range(d), message=msg, severity=SEVERITY.get(d["severity"]), code=d["code"],
                        source="tts-dsl", data={"hint": d.get("hint")})


class TtsLanguageServer(LanguageServer):
    def __init__(self):
        from .. import __version__

        super().__init__("tts-dsl", __version__, text_document_sync_kind=T.TextDocumentSyncKind.Full)
        self.analyses: dict[str, AN.Analysis] = {}
        self.last_parsed: dict[str, AN.Analysis] = {}  # the latest analysis whose text parsed

    def analysis(self, uri: str) -> AN.Analysis:
        doc = self.workspace.get_text_document(uri)
        an = self.analyses.get(uri)
        if an is None or an.source != doc.source:
            an = AN.analyze(doc.source, doc.path if doc.path else uri)
            self.analyses[uri] = an
            if an.program is not None:
                self.last_parsed[uri] = an
        return an

    def publish(self, uri: str, version: int | None):
        an = self.analysis(uri)
        self.text_document_publish_diagnostics(T.PublishDiagnosticsParams(
            uri=uri, version=version, diagnostics=[to_lsp_diagnostic(d) for d in an.diagnostics]))


def build_server() -> TtsLanguageServer:
    server = TtsLanguageServer()

    @server.feature(T.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TtsLanguageServer, params: T.DidOpenTextDocumentParams):
        ls.publish(params.text_document.uri, params.text_document.version)

    @server.feature(T.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TtsLanguageServer, params: T.DidChangeTextDocumentParams):
        ls.publish(params.text_document.uri, params.text_document.version)

    @server.feature(T.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TtsLanguageServer, params: T.DidCloseTextDocumentParams):
        ls.analyses.pop(params.text_document.uri, None)
        ls.last_parsed.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(T.PublishDiagnosticsParams(uri=params.text_document.uri,
                                                                        diagnostics=[]))

    @server.feature(T.TEXT_DOCUMENT_HOVER)
    def hover(ls: TtsLanguageServer, params: T.HoverParams):
        an = ls.analysis(params.text_document.uri)
        h = AN.hover(an, params.position.line + 1, params.position.character + 1)
        if h is None:
            return None
        text, span = h
        return T.Hover(contents=T.MarkupContent(kind=T.MarkupKind.Markdown, value=text),
                       range=to_range(span) if span else None)

    @server.feature(T.TEXT_DOCUMENT_COMPLETION, T.CompletionOptions(trigger_characters=["."]))
    def completion(ls: TtsLanguageServer, params: T.CompletionParams):
        an = ls.analysis(params.text_document.uri)
        if an.program is None and params.text_document.uri in ls.last_parsed:
            # while the text does not parse (mid-typing), complete from the last text that did
            an = dataclasses.replace(ls.last_parsed[params.text_document.uri], source=an.source)
        items = [T.CompletionItem(label=c.label, kind=COMPLETION_KIND.get(c.kind), detail=c.detail or None,
                                  documentation=c.doc or None)
                 for c in AN.completions(an, params.position.line + 1, params.position.character + 1)]
        return T.CompletionList(is_incomplete=False, items=items)

    @server.feature(T.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: TtsLanguageServer, params: T.DefinitionParams):
        an = ls.analysis(params.text_document.uri)
        o = an.at(params.position.line + 1, params.position.character + 1)
        if o is None or o.decl is None:
            return None
        return T.Location(uri=params.text_document.uri, range=to_range(o.decl.span))

    @server.feature(T.TEXT_DOCUMENT_REFERENCES)
    def references(ls: TtsLanguageServer, params: T.ReferenceParams):
        an = ls.analysis(params.text_document.uri)
        o = an.at(params.position.line + 1, params.position.character + 1)
        if o is None or o.decl is None:
            return []
        return [T.Location(uri=params.text_document.uri, range=to_range(u.span)) for u in an.uses(o.decl)
                if params.context.include_declaration or u.kind != "decl"]

    @server.feature(T.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def symbols(ls: TtsLanguageServer, params: T.DocumentSymbolParams):
        an = ls.analysis(params.text_document.uri)
        if an.program is None:
            return []
        kids = [T.DocumentSymbol(name=d.name, kind=SYMBOL_KIND[d.kind], range=to_range(d.full),
                                 selection_range=to_range(d.span), detail=f"{d.kind}: {d.ty or '?'}")
                for d in AN.document_symbols(an)]
        p = an.program
        whole = T.Range(T.Position(0, 0), T.Position(max(0, len(an.source.splitlines())), 0))
        return [T.DocumentSymbol(name=p.name, kind=T.SymbolKind.Class, range=whole,
                                 selection_range=to_range(p.name_span), detail="controller", children=kids)]

    @server.feature(T.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: TtsLanguageServer, params: T.DocumentFormattingParams):
        from .. import api

        doc = ls.workspace.get_text_document(params.text_document.uri)
        try:
            new = api.format_source(doc.source, doc.path or params.text_document.uri)
        except DiagnosticsError:
            return None  # the diagnostics already say why
        if new == doc.source:
            return []
        n = len(doc.source.splitlines())
        return [T.TextEdit(range=T.Range(T.Position(0, 0), T.Position(n + 1, 0)), new_text=new)]

    @server.feature(T.TEXT_DOCUMENT_CODE_ACTION,
                    T.CodeActionOptions(code_action_kinds=[T.CodeActionKind.QuickFix]))
    def code_actions(ls: TtsLanguageServer, params: T.CodeActionParams):
        uri = params.text_document.uri
        an = ls.analysis(uri)
        wanted = params.context.diagnostics
        out = []
        for d in an.diagnostics:
            rng = diag_range(d)
            if wanted and not any(w.range == rng and str(w.code) == d["code"] for w in wanted):
                continue
            if not _overlaps(rng, params.range):
                continue
            for name in AN.fixes(d):
                out.append(T.CodeAction(
                    title=f"Change to '{name}'", kind=T.CodeActionKind.QuickFix, is_preferred=True,
                    diagnostics=[to_lsp_diagnostic(d)],
                    edit=T.WorkspaceEdit(changes={uri: [T.TextEdit(range=rng, new_text=name)]})))
        return out

    return server


def _overlaps(a: T.Range, b: T.Range) -> bool:
    def key(p):
        return (p.line, p.character)

    return not (key(a.end) < key(b.start) or key(b.end) < key(a.start))


def serve():
    build_server().start_io()
