/** An elaboration report as LSP diagnostics of the file that was elaborated. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Diagnostic, DiagnosticSeverity, type Range } from 'vscode-languageserver';
import { exportSites } from './designFile.js';
import type { ElaborationReport, Finding, Place } from './report.js';

export const DIAGNOSTIC_SOURCE = 'cdna';

/** Line `line` (0-based) of `text`, trimmed to its non-space text (the whole line when blank). */
export function lineRange(text: string, line: number): Range {
  const lines = text.split(/\r?\n/);
  const l = Math.min(Math.max(line, 0), Math.max(lines.length - 1, 0));
  const src = lines[l] ?? '';
  const start = src.length - src.trimStart().length;
  const end = src.trimEnd().length;
  return end > start
    ? { start: { line: l, character: start }, end: { line: l, character: end } }
    : { start: { line: l, character: 0 }, end: { line: l, character: src.length } };
}

function shown(p: Place, root: string): string {
  const rel = path.relative(root, p.file);
  return `${rel.startsWith('..') ? p.file : rel.split(path.sep).join('/')}:${p.line}`;
}

function diagnosticOf(f: Finding, report: ElaborationReport, text: string, exportLines: Map<string, number>): Diagnostic {
  const here = f.at !== null && f.at.file === report.file;
  // A finding elsewhere (a library or another file of yours) is shown where this file's export is.
  const line = here ? (f.at as Place).line - 1 : (exportLines.get(f.exportName ?? '') ?? 0);
  const where = f.at !== null && !here ? ` (at ${shown(f.at, path.dirname(report.file))})` : '';
  const prefix = f.exportName !== null && !here ? `export '${f.exportName}': ` : '';
  const d: Diagnostic = {
    range: lineRange(text, line),
    severity: f.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    source: DIAGNOSTIC_SOURCE,
    message: `${prefix}${f.message}${where}`,
  };
  const related = [...(f.at !== null && !here ? [{ message: 'here', at: f.at }] : []), ...f.related];
  if (related.length) {
    d.relatedInformation = related.map((r) => ({
      message: r.message,
      location: {
        uri: pathToFileURL(r.at.file).href,
        range: { start: { line: r.at.line - 1, character: 0 }, end: { line: r.at.line - 1, character: 0 } },
      },
    }));
  }
  return d;
}

/** The diagnostics of the elaborated file (`text` is its content); an empty list when all is well. */
export function toDiagnostics(report: ElaborationReport, text: string): Diagnostic[] {
  const exportLines = new Map(exportSites(text).map((s) => [s.name, s.line]));
  return report.findings.map((f) => diagnosticOf(f, report, text, exportLines));
}
