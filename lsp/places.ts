/** Finding `file:line` of a given file in error messages and stack traces. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Place } from './report.js';

// `/abs/file.ts:12:5`, `file:///abs/file.ts:12:5`, `rel/file.ts:12` (an ElaborationError's formatLoc).
const located = /((?:file:\/\/)?[^\s():'"]+\.[cm]?[jt]sx?):(\d+)(?::(\d+))?/g;

function sameFile(a: string, b: string): boolean {
  // esbuild names a file's syntax errors with its path; tsx may report `.mts` as `.ts`.
  const strip = (f: string) => f.replace(/\.[cm]?[jt]sx?$/, '');
  return a === b || strip(a) === strip(b);
}

function toAbsolute(name: string, root: string): string {
  if (name.startsWith('file://')) return fileURLToPath(name);
  return path.isAbsolute(name) ? name : path.resolve(root, name);
}

/** Every `file:line` in `text`, absolute (relative names are taken from `root`). */
export function placesIn(text: string, root: string): Place[] {
  const out: Place[] = [];
  for (const m of text.matchAll(located)) out.push({ file: toAbsolute(m[1] as string, root), line: Number(m[2]) });
  return out;
}

/** The first `file:line` in `text` that is in `file`, or null. */
export function placeInFile(text: string, file: string, root: string): Place | null {
  for (const p of placesIn(text, root)) if (sameFile(p.file, file)) return { file, line: p.line };
  return null;
}

/**
 * The line of `source` that imports what a "Cannot find module/package 'x'" message names, or null.
 */
export function importLine(message: string, source: string): number | null {
  const m = /Cannot find (?:module|package) '([^']+)'/.exec(message);
  if (!m) return null;
  const wanted = m[1] as string;
  const base = path.basename(wanted).replace(/\.[cm]?[jt]sx?$/, '');
  const lines = source.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const spec = /\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(?\s*['"]([^'"]+)['"]/.exec(lines[i] as string);
    const s = spec?.[1] ?? spec?.[2];
    if (!s) continue;
    if (s === wanted || wanted.startsWith(`${s}/`) || path.basename(s).replace(/\.[cm]?[jt]sx?$/, '') === base) return i + 1;
  }
  return null;
}
