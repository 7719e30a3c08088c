/**
 * Elaborating a design file for the language server: in a child process (elaborateChild.ts under
 * tsx), so that each run imports the file as it is on disk now and a design that never finishes is
 * stopped at the time limit without taking the server with it.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ElaborationReport } from './report.js';

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'elaborateChild.ts');

/** The default time limit of one elaboration. */
export const DEFAULT_TIMEOUT_MS = 20_000;

export interface Elaboration {
  readonly result: Promise<ElaborationReport>;
  /** Stops the child; `result` then resolves with a report that says so (it never rejects). */
  cancel(): void;
}

function failed(file: string, started: number, message: string, timedOut = false): ElaborationReport {
  return {
    file,
    loadFailed: true,
    exports: [],
    findings: [{ severity: timedOut ? 'warning' : 'error', message, at: null, related: [], exportName: null }],
    timedOut,
    ms: Math.round(performance.now() - started),
  };
}

/** Elaborates `file` (absolute) in a child process, stopped after `timeoutMs`. */
export function elaborate(file: string, opts: { timeoutMs?: number } = {}): Elaboration {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const child = fork(childScript, [file], {
    // tsx from the server's own installation, whichever folder the child runs in.
    execArgv: ['--import', import.meta.resolve('tsx')],
    cwd: path.dirname(file),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdout?.resume();
  let settle: (r: ElaborationReport) => void = () => {};
  const result = new Promise<ElaborationReport>((resolve) => {
    settle = resolve;
  });
  let done = false;
  const finish = (r: ElaborationReport) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    settle(r);
  };
  const timer = setTimeout(() => {
    const s = (timeoutMs / 1000).toFixed(timeoutMs % 1000 ? 1 : 0);
    finish(
      failed(
        file,
        started,
        `elaboration did not finish within ${s} s and was stopped (the time limit: cdna.elaborationTimeoutSeconds, or --timeout of cdna lsp)`,
        true,
      ),
    );
  }, timeoutMs);
  child.on('message', (m) => finish(m as ElaborationReport));
  child.on('error', (err) => finish(failed(file, started, `could not start the elaboration process: ${err.message}`)));
  // 'close' comes after the child's last message and its output.
  child.on('close', (code, signal) => {
    const tail = stderr.trim().split('\n').slice(-8).join('\n');
    finish(
      failed(file, started, `the elaboration process ended (${signal ?? `exit code ${code}`}) without a report${tail ? `:\n${tail}` : ''}`),
    );
  });
  return {
    result,
    cancel: () => finish(failed(file, started, 'elaboration cancelled')),
  };
}
