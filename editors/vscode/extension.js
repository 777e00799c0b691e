// The tts-dsl VS Code extension: .tts highlighting (syntaxes/) and a client for `tts-dsl lsp`.
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("tts-dsl").get("server.command", ["tts-dsl", "lsp"]);
  const server = { command, args, transport: TransportKind.stdio };
  client = new LanguageClient("tts-dsl", "tts-dsl language server", server, {
    documentSelector: [{ scheme: "file", language: "tts" }, { scheme: "untitled", language: "tts" }],
  });
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
