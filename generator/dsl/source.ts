import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where in the user's TypeScript a hardware node was built. */
export interface SourceLoc {
  file: string;
  line: number;
  column: number;
}

const generatorRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const projectRoot = path.resolve(generatorRoot, '..');
// Frames inside the DSL's own machinery are skipped so a location names the line that made the node.
const internalDirs = [path.join(generatorRoot, 'dsl') + path.sep, path.join(generatorRoot, 'verilog') + path.sep];

const unknownLoc: SourceLoc = { file: '<unknown>', line: 0, column: 0 };

const framePattern = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?$/;

/**
 * Captures the first stack frame outside the DSL: the user's line that built a node. It reads the
 * formatted stack so that source maps (tsx, vitest) give the TypeScript line, not the compiled one.
 */
export function captureSource(): SourceLoc {
  const holder: { stack?: string } = {};
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 16;
  try {
    Error.captureStackTrace(holder, captureSource);
  } finally {
    Error.stackTraceLimit = savedLimit;
  }
  const lines = (holder.stack ?? '').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const m = framePattern.exec((lines[i] as string).trim());
    if (!m) continue;
    let file = m[1] as string;
    if (file.startsWith('file://')) file = fileURLToPath(file);
    if (file.startsWith('node:') || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    if (internalDirs.some((d) => file.startsWith(d))) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return unknownLoc;
}

/** `hdl/txScheduler.ts:42`, relative to the project root where possible. */
export function formatLoc(loc: SourceLoc): string {
  const rel = path.relative(projectRoot, loc.file);
  const shown = rel.startsWith('..') ? loc.file : rel.split(path.sep).join('/');
  return `${shown}:${loc.line}`;
}
