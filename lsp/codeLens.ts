/** The code lenses over a design file's exports: generate, lint, synthesize, test (and prove in hdl/). */
import type { CodeLens } from 'vscode-languageserver';
import { CDNA_COMMANDS, COMMAND_TITLES, type CommandTarget, commandId, provesFile } from './commands.js';
import { exportSites } from './designFile.js';
import { lineRange } from './diagnostics.js';
import type { ElaborationReport } from './report.js';

/**
 * One row of lenses per design export. Before the file's first elaboration every exported function,
 * const and default export gets one; after it, those the elaboration found to be designs or design
 * functions (a function with required parameters included: the commands take --param).
 */
export function codeLenses(file: string, text: string, report: ElaborationReport | undefined, root: string): CodeLens[] {
  const known = report && !report.loadFailed ? new Map(report.exports.map((e) => [e.name, e.kind])) : null;
  const commands = CDNA_COMMANDS.filter((c) => c !== 'prove' || provesFile(file, root));
  const lenses: CodeLens[] = [];
  for (const site of exportSites(text)) {
    const kind = known?.get(site.name);
    if (known ? kind === undefined || kind === 'other' : site.declared === 'class') continue;
    const range = lineRange(text, site.line);
    const target: CommandTarget = { file, exportName: site.name };
    for (const c of commands) lenses.push({ range, command: { title: COMMAND_TITLES[c], command: commandId(c), arguments: [target] } });
  }
  return lenses;
}
