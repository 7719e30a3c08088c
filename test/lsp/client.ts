/** A real LSP client for the tests: the server in a child process, JSON-RPC over its stdio. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createMessageConnection,
  type Diagnostic,
  type MessageConnection,
  type PublishDiagnosticsParams,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver/node';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface TestClient {
  connection: MessageConnection;
  /** The next diagnostics published for `uri` after this call. */
  nextDiagnostics(uri: string, timeoutMs: number): Promise<Diagnostic[]>;
  /** window/showMessage notifications so far. */
  messages: { type: number; message: string }[];
  close(): Promise<void>;
}

const serverArgs = ['--import', 'tsx', path.join(projectRoot, 'lsp', 'server.ts'), '--stdio'];

/** Starts the server (`node --import tsx lsp/server.ts --stdio`, or `args` given to node) and initializes it. */
export async function startServer(initializationOptions: Record<string, unknown> = {}, args = serverArgs): Promise<TestClient> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: projectRoot,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout as NodeJS.ReadableStream),
    new StreamMessageWriter(child.stdin as NodeJS.WritableStream),
  );
  const waiting = new Map<string, ((d: Diagnostic[]) => void)[]>();
  const messages: { type: number; message: string }[] = [];
  connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    const list = waiting.get(p.uri) ?? [];
    waiting.delete(p.uri);
    for (const w of list) w(p.diagnostics);
  });
  connection.onNotification('window/showMessage', (p: { type: number; message: string }) => {
    messages.push(p);
  });
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('workspace/codeLens/refresh', () => null);
  connection.listen();
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: { window: { workDoneProgress: true } },
    initializationOptions,
  });
  await connection.sendNotification('initialized', {});
  return {
    connection,
    messages,
    nextDiagnostics(uri, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no diagnostics for ${uri} within ${timeoutMs} ms`)), timeoutMs);
        waiting.set(uri, [
          ...(waiting.get(uri) ?? []),
          (d) => {
            clearTimeout(timer);
            resolve(d);
          },
        ]);
      });
    },
    async close() {
      await connection.sendRequest('shutdown').catch(() => {});
      await connection.sendNotification('exit').catch(() => {});
      connection.dispose();
      child.kill();
    },
  };
}
