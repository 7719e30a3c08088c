/**
 * The VS Code extension: a thin client of the cdna language server (`cdna lsp --stdio`, run from the
 * cdna-nic package of the workspace), and the cdna.* commands run in an output channel "CDNA" with a
 * progress notification and the last result in the status bar (docs/editor.md).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { CDNA_COMMANDS, type CdnaCommand, type CommandTarget, commandId, invocation } from '../../../lsp/commands.js';
import { buildDirOf, cdnaBin, findCdnaRoot } from '../../../lsp/project.js';
import { runInvocation } from '../../../lsp/run.js';
import { newestWaveform, onPath, WAVEFORM_VIEWERS } from './waveform.js';

let client: LanguageClient | undefined;

function settings() {
  const c = vscode.workspace.getConfiguration('cdna');
  return {
    node: c.get<string>('node', 'node'),
    timeoutSeconds: c.get<number>('elaborationTimeoutSeconds', 20),
    serverCommand: c.get<string[]>('server.command', []),
  };
}

/** The cdna-nic package of the workspace (a clone, or node_modules/cdna-nic of a folder). */
function cdnaRoot(): string | null {
  for (const f of vscode.workspace.workspaceFolders ?? []) {
    const root = findCdnaRoot(f.uri.fsPath);
    if (root) return root;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  return active?.scheme === 'file' ? findCdnaRoot(path.dirname(active.fsPath)) : null;
}

function serverOptions(root: string): ServerOptions {
  const s = settings();
  const [command, ...args] = s.serverCommand.length ? s.serverCommand : [s.node, cdnaBin(root), 'lsp', '--stdio'];
  return { command: command as string, args, options: { cwd: root } };
}

function targetOf(arg: unknown): CommandTarget | null {
  const t = arg as Partial<CommandTarget> | undefined;
  if (t && typeof t.file === 'string') return { file: t.file, ...(typeof t.exportName === 'string' ? { exportName: t.exportName } : {}) };
  const doc = vscode.window.activeTextEditor?.document;
  return doc?.uri.scheme === 'file' ? { file: doc.uri.fsPath } : null;
}

async function runCommand(command: CdnaCommand, arg: unknown, output: vscode.OutputChannel, status: vscode.StatusBarItem): Promise<void> {
  const target = targetOf(arg);
  const root = (target && findCdnaRoot(path.dirname(target.file))) ?? cdnaRoot();
  if (!target || !root) {
    void vscode.window.showErrorMessage('CDNA: open a design file of a folder that has cdna-nic (a clone, or node_modules/cdna-nic)');
    return;
  }
  const inv = invocation(command, target, root);
  output.show(true);
  output.appendLine(`$ ${inv.shown}`);
  status.text = `$(sync~spin) cdna ${command}`;
  const r = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `cdna ${command}`, cancellable: true },
    async (progress, token) => {
      const run = runInvocation(inv, {
        node: settings().node,
        onOutput: (text) => {
          output.append(text);
          const last = text.trim().split('\n').pop();
          if (last) progress.report({ message: last.slice(0, 100) });
        },
      });
      token.onCancellationRequested(() => run.kill());
      return run.result;
    },
  );
  const ok = r.exitCode === 0;
  const what = `cdna ${command}${target.exportName ? ` ${target.exportName}` : ''}`;
  output.appendLine(`${what}: ${ok ? 'done' : `failed (exit ${r.exitCode})`} in ${r.seconds.toFixed(1)} s`);
  status.text = `${ok ? '$(check)' : '$(error)'} ${what} ${r.seconds.toFixed(1)} s`;
  status.tooltip = r.tail;
  if (!ok) void vscode.window.showErrorMessage(`${what} failed: see the CDNA output`);
}

function openWaveform(output: vscode.OutputChannel): void {
  const root = cdnaRoot();
  if (!root) {
    void vscode.window.showErrorMessage('CDNA: no cdna-nic package in this workspace, so no build dir');
    return;
  }
  const dir = buildDirOf(root);
  const file = newestWaveform(dir);
  if (!file) {
    void vscode.window.showInformationMessage(`CDNA: no .fst or .vcd under ${dir}`);
    return;
  }
  const viewer = onPath(WAVEFORM_VIEWERS);
  if (!viewer) {
    void vscode.window.showErrorMessage(`CDNA: neither surfer nor gtkwave is on PATH; install one to open ${file}`);
    return;
  }
  output.appendLine(`$ ${viewer} ${file}`);
  spawn(viewer, [file], { detached: true, stdio: 'ignore' }).unref();
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('CDNA', { log: true });
  const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left);
  status.text = 'CDNA';
  status.command = 'cdna.openOutput';
  status.show();
  context.subscriptions.push(output, status);
  context.subscriptions.push(vscode.commands.registerCommand('cdna.openOutput', () => output.show()));
  for (const c of CDNA_COMMANDS) {
    context.subscriptions.push(vscode.commands.registerCommand(commandId(c), (arg: unknown) => runCommand(c, arg, output, status)));
  }
  context.subscriptions.push(vscode.commands.registerCommand('cdna.openWaveform', () => openWaveform(output)));

  const root = cdnaRoot();
  if (!root) {
    output.appendLine('no cdna-nic package in this workspace (a clone, or node_modules/cdna-nic): the language server is not started');
    return;
  }
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'typescript' },
      { scheme: 'file', language: 'markdown' },
    ],
    // The extension runs the cdna.* commands itself (above), so the server does not offer them.
    initializationOptions: { clientCommands: true, timeoutSeconds: settings().timeoutSeconds },
    synchronize: { configurationSection: 'cdna' },
    outputChannel: output,
  };
  client = new LanguageClient('cdna', 'CDNA', serverOptions(root), clientOptions);
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
