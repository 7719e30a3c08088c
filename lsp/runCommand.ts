/** `workspace/executeCommand` for editors without the VS Code extension: runs the CLI, reports by progress and a message. */
import { type Connection, type ExecuteCommandParams, MessageType, ShowMessageNotification } from 'vscode-languageserver/node';
import { type CommandTarget, commandOf, invocation } from './commands.js';
import { findCdnaRoot } from './project.js';
import type { RunResult } from './run.js';
import { runInvocation } from './run.js';

export interface CommandOutcome extends RunResult {
  command: string;
  ok: boolean;
}

// window/showMessage (a notification: connection.window.show*Message sends a request with actions, which not every client answers).
function show(connection: Connection, type: MessageType, message: string): void {
  void connection.sendNotification(ShowMessageNotification.type, { type, message });
}

function targetOf(args: unknown[] | undefined): CommandTarget | null {
  const t = args?.[0] as Partial<CommandTarget> | undefined;
  if (!t || typeof t.file !== 'string') return null;
  return { file: t.file, ...(typeof t.exportName === 'string' ? { exportName: t.exportName } : {}) };
}

/** Runs a cdna.* command; its output goes to the log (window/logMessage), its outcome to window/showMessage. */
export async function executeCommand(
  connection: Connection,
  params: ExecuteCommandParams,
  serverRoot: string,
): Promise<CommandOutcome | null> {
  const command = commandOf(params.command);
  const target = targetOf(params.arguments);
  if (!command || !target) {
    show(connection, MessageType.Error, `cdna: ${params.command} takes { file, exportName? } (from a code lens)`);
    return null;
  }
  const inv = invocation(command, target, findCdnaRoot(target.file) ?? serverRoot);
  const progress = await connection.window.createWorkDoneProgress();
  progress.begin(`cdna ${command}`, undefined, inv.shown, false);
  connection.console.info(`$ ${inv.shown}`);
  const run = runInvocation(inv, {
    node: process.execPath,
    onOutput: (text) => {
      connection.console.info(text.trimEnd());
      const last = text.trim().split('\n').pop();
      if (last) progress.report(last.slice(0, 120));
    },
  });
  const r = await run.result;
  progress.done();
  const ok = r.exitCode === 0;
  const summary = `cdna ${command}${target.exportName ? ` (${target.exportName})` : ''}: ${ok ? 'done' : `failed (exit ${r.exitCode})`} in ${r.seconds.toFixed(1)} s`;
  const lastLine = r.tail.split('\n').pop() ?? '';
  if (ok) show(connection, MessageType.Info, `${summary}. ${lastLine}`);
  else show(connection, MessageType.Error, `${summary}\n${r.tail}`);
  return { ...r, command: inv.shown, ok };
}
