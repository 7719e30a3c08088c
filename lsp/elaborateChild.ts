/**
 * The child process that elaborates one design file for the language server (elaborate.ts starts it
 * with tsx and a time limit). It imports the file through the CLI's loader (cli/design.ts), takes
 * every export `cdna generate --design <file> --top <export>` would accept and that needs no
 * parameters (a design, or a function whose parameters all have defaults), elaborates and emits it,
 * and sends back what went wrong: ElaborationErrors with their lines, other errors, console.warn
 * lines. Run alone, `node --import tsx lsp/elaborateChild.ts file.ts` prints the report as JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { loadDesignFile } from '../cli/design.js';
import { emitDesign } from '../generator/index.js';
import { importLine, placeInFile, placesIn } from './places.js';
import type { ElaborationReport, ExportInfo, Finding, Place } from './report.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface LocatedError {
  name: string;
  detail: string;
  loc: { file: string; line: number };
  related: { what: string; loc: { file: string; line: number } }[];
}

/** An ElaborationError, recognized by its shape (the design may import another copy of the package). */
function asElaborationError(err: unknown): LocatedError | null {
  const e = err as Partial<LocatedError> | null;
  if (typeof e !== 'object' || e === null || e.name !== 'ElaborationError' || typeof e.detail !== 'string' || !e.loc) return null;
  return e as LocatedError;
}

function knownPlace(loc: { file: string; line: number }): Place | null {
  return loc.line > 0 && path.isAbsolute(loc.file) ? { file: loc.file, line: loc.line } : null;
}

function errorText(err: unknown): { message: string; stack: string } {
  if (err instanceof Error) return { message: err.message, stack: err.stack ?? '' };
  return { message: String(err), stack: '' };
}

/** The finding for an error thrown while loading the file or elaborating `exportName`. */
function findingFor(err: unknown, file: string, source: string, exportName: string | null): Finding {
  const el = asElaborationError(err);
  if (el) {
    const related = el.related.flatMap((r) => {
      const at = knownPlace(r.loc);
      return at ? [{ message: r.what, at }] : [];
    });
    return { severity: 'error', message: el.detail, at: knownPlace(el.loc), related, exportName };
  }
  // The loader wraps a design function's own error; its stack is the cause's.
  const cause = err instanceof Error && err.cause !== undefined ? errorText(err.cause) : null;
  const { message, stack } = errorText(err);
  // esbuild's syntax errors: "Transform failed with 1 error:\n/abs/file.ts:2:20: ERROR: Unexpected ';'".
  const syntax = /ERROR: (.*)/.exec(message);
  const shown = syntax ? `syntax error: ${syntax[1]}` : message;
  let at = placeInFile(`${message}\n${cause?.stack ?? ''}\n${stack}`, file, projectRoot);
  if (!at) {
    const line = importLine(message, source);
    if (line !== null) at = { file, line };
  }
  return { severity: 'error', message: shown, at, related: [], exportName };
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}

// The loader's refusals of an export that is not a design (no cause: nothing threw inside the export).
function notADesign(err: unknown): boolean {
  return err instanceof Error && err.cause === undefined && asElaborationError(err) === null && /not a design/.test(err.message);
}

/** Elaborates the design exports of `file` (absolute); never throws. */
export async function elaborateFile(file: string): Promise<ElaborationReport> {
  const started = performance.now();
  const findings: Finding[] = [];
  const exports: ExportInfo[] = [];
  let current: string | null = null;
  const savedWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    const message = format(...args);
    const at = placesIn(message, projectRoot)[0] ?? null;
    findings.push({ severity: 'warning', message, at, related: [], exportName: current });
  };
  let source = '';
  try {
    source = readFileSync(file, 'utf8');
  } catch {
    // The loader names a missing file.
  }
  const done = (loadFailed: boolean): ElaborationReport => {
    console.warn = savedWarn;
    return { file, loadFailed, exports, findings, timedOut: false, ms: Math.round(performance.now() - started) };
  };
  let mod: Record<string, unknown>;
  try {
    // The same module instance the loader imports below (the ESM cache): its top level runs once.
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    findings.push(findingFor(err, file, source, null));
    return done(true);
  }
  for (const name of Object.keys(mod)) {
    const value = mod[name];
    if (typeof value === 'function' && (value.length > 0 || isClass(value))) {
      exports.push({ name, kind: isClass(value) ? 'other' : 'function-with-params' });
      continue;
    }
    if (typeof value !== 'function' && (typeof value !== 'object' || value === null)) {
      exports.push({ name, kind: 'other' });
      continue;
    }
    const kind = typeof value === 'function' ? 'function' : 'design';
    current = name;
    try {
      const { def } = await loadDesignFile(file, { top: name });
      emitDesign(def);
      exports.push({ name, kind, design: def.verilogName });
    } catch (err) {
      if (notADesign(err)) exports.push({ name, kind: 'other' });
      else {
        exports.push({ name, kind });
        findings.push(findingFor(err, file, source, name));
      }
    }
    current = null;
  }
  return done(false);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node --import tsx lsp/elaborateChild.ts <design file>\n');
    process.exit(2);
  }
  const report = await elaborateFile(path.resolve(file));
  // A design may leave timers or handles behind: leave once the report is out.
  if (process.send) process.send(report, () => process.exit(0));
  else process.stdout.write(`${JSON.stringify(report, null, 2)}\n`, () => process.exit(0));
}
