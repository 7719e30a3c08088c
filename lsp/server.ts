/**
 * The cdna language server (LSP over stdio; docs/editor.md): diagnostics from elaborating design files
 * on open and save, hovers on register names of hdl/registers/map.ts, code lenses over design exports
 * and, for editors without the VS Code extension, `workspace/executeCommand` running the CLI.
 *
 *   npx cdna lsp --stdio                          node --import tsx lsp/server.ts --stdio
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Connection, createConnection, type InitializeResult, TextDocumentSyncKind, TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { codeLenses } from './codeLens.js';
import { CDNA_COMMANDS, commandId } from './commands.js';
import { isDesignFile } from './designFile.js';
import { toDiagnostics } from './diagnostics.js';
import { DEFAULT_TIMEOUT_MS, type Elaboration, elaborate } from './elaborate.js';
import { mayBeRegisterName, wordAt } from './hover.js';
import { RegisterSource } from './registers.js';
import type { ElaborationReport } from './report.js';
import { executeCommand } from './runCommand.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const mapFile = path.join(projectRoot, 'hdl', 'registers', 'map.ts');
const version = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

export interface ServerOptions {
  /** The time limit of one elaboration, in milliseconds. */
  timeoutMs?: number;
}

/** What the client may say in `initializationOptions`. */
interface InitOptions {
  /** Seconds an elaboration may take (default 20). */
  timeoutSeconds?: number;
  /** The client runs the cdna.* commands itself (the VS Code extension): the server does not offer them. */
  clientCommands?: boolean;
}

function seconds(value: unknown): number | undefined {
  const n = Number(value);
  return value !== undefined && value !== null && Number.isFinite(n) && n > 0 ? n * 1000 : undefined;
}

/** Serves LSP on `connection` until the client exits. */
export function serve(connection: Connection, opts: ServerOptions = {}): void {
  const documents = new TextDocuments(TextDocument);
  const registers = new RegisterSource(mapFile);
  const running = new Map<string, Elaboration>();
  const reports = new Map<string, ElaborationReport>();
  const published = new Set<string>();
  let timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;

  connection.onInitialize((params): InitializeResult => {
    const init = (params.initializationOptions ?? {}) as InitOptions;
    timeoutMs = seconds(init.timeoutSeconds) ?? timeoutMs;
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Full, save: { includeText: false } },
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        ...(init.clientCommands ? {} : { executeCommandProvider: { commands: CDNA_COMMANDS.map(commandId) } }),
      },
      serverInfo: { name: 'cdna', version },
    };
  });

  connection.onDidChangeConfiguration((change) => {
    const settings = (change.settings ?? {}) as { cdna?: { elaborationTimeoutSeconds?: unknown } };
    timeoutMs = seconds(settings.cdna?.elaborationTimeoutSeconds) ?? timeoutMs;
  });

  const publish = (uri: string, report: ElaborationReport | null, text: string) => {
    const diagnostics = report ? toDiagnostics(report, text) : [];
    if (diagnostics.length) published.add(uri);
    else if (!published.delete(uri) && !report) return;
    void connection.sendDiagnostics({ uri, diagnostics });
  };

  /** Elaborates the saved file behind `doc`, replacing a run still going for it. */
  const check = async (doc: TextDocument) => {
    if (!doc.uri.startsWith('file:')) return;
    const file = fileURLToPath(doc.uri);
    if (file === mapFile) registers.reload();
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      return;
    }
    running.get(doc.uri)?.cancel();
    if (!isDesignFile(file, text)) {
      running.delete(doc.uri);
      reports.delete(doc.uri);
      publish(doc.uri, null, text);
      return;
    }
    const run = elaborate(file, { timeoutMs });
    running.set(doc.uri, run);
    const report = await run.result;
    if (running.get(doc.uri) !== run) return; // a later save replaced it
    running.delete(doc.uri);
    reports.set(doc.uri, report);
    publish(doc.uri, report, text);
    void connection.sendRequest('workspace/codeLens/refresh').catch(() => {});
    connection.console.info(`cdna: elaborated ${path.basename(file)} in ${report.ms} ms: ${report.findings.length} finding(s)`);
  };

  documents.onDidOpen((e) => void check(e.document));
  documents.onDidSave((e) => void check(e.document));
  documents.onDidClose((e) => {
    running.get(e.document.uri)?.cancel();
    running.delete(e.document.uri);
    reports.delete(e.document.uri);
    if (published.delete(e.document.uri)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  connection.onHover(async (params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc) return null;
    const word = wordAt(doc.getText(), doc.offsetAt(params.position));
    if (!word || !mayBeRegisterName(word)) return null;
    const text = await registers.hover(word).catch(() => null);
    return text ? { contents: { kind: 'markdown', value: text } } : null;
  });

  connection.onCodeLens((params) => {
    const doc = documents.get(params.textDocument.uri);
    if (!doc?.uri.startsWith('file:')) return [];
    const file = fileURLToPath(doc.uri);
    if (!isDesignFile(file, doc.getText())) return [];
    return codeLenses(file, doc.getText(), reports.get(doc.uri), projectRoot);
  });

  connection.onExecuteCommand((params) => executeCommand(connection, params, projectRoot));

  // A request the client does not answer (a refresh it does not support) must not end the server.
  process.on('unhandledRejection', (err) => connection.console.error(`cdna: ${String(err)}`));

  documents.listen(connection);
  connection.listen();
}

/** `--timeout <s>` from the command line, or $CDNA_LSP_TIMEOUT (seconds). */
export function timeoutFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number | undefined {
  const i = argv.indexOf('--timeout');
  return seconds(i >= 0 ? argv[i + 1] : undefined) ?? seconds(env.CDNA_LSP_TIMEOUT);
}

/** Starts the server on stdin/stdout (`cdna lsp --stdio`). */
export function startStdioServer(opts: ServerOptions = {}): void {
  serve(createConnection(process.stdin, process.stdout), opts);
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  startStdioServer({ timeoutMs: timeoutFromArgs(process.argv) });
}
