import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

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

// DSL calls nest a few frames deep at most; a short trace is cheaper to take.
const shortDepth = 5;
const traceDepth = 24;

function toPath(file: string): string {
  return file.startsWith('file://') ? fileURLToPath(file) : file;
}

function isUserFile(file: string): boolean {
  if (file.startsWith('node:') || file.includes(`${path.sep}node_modules${path.sep}`)) return false;
  return !internalDirs.some((d) => file.startsWith(d));
}

// The same test on a raw frame name (a path or a file:// URL) without converting it: this runs once
// per node built.
const internalPrefixes = internalDirs.flatMap((d) => [d, pathToFileURL(d).href]);
function isUserFrame(name: string): boolean {
  if (name.startsWith('node:') || name.includes('/node_modules/')) return false;
  for (const p of internalPrefixes) if (name.startsWith(p)) return false;
  return true;
}

/** The formatted stack, which source maps (tsx, vitest) have turned into TypeScript lines. */
function mappedLoc(): SourceLoc {
  const holder: { stack?: string } = {};
  const savedLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = traceDepth;
  try {
    Error.captureStackTrace(holder, captureSource);
  } finally {
    Error.stackTraceLimit = savedLimit;
  }
  const lines = (holder.stack ?? '').split('\n');
  for (let i = 1; i < lines.length; i++) {
    const m = framePattern.exec((lines[i] as string).trim());
    if (!m) continue;
    const file = toPath(m[1] as string);
    if (!isUserFile(file)) continue;
    return { file, line: Number(m[2]), column: Number(m[3]) };
  }
  return unknownLoc;
}

type CallSite = NodeJS.CallSite;
const rawFrames = (_e: Error, frames: CallSite[]): CallSite[] => frames;

/** The first user frame within `depth` frames, as the engine sees it (compiled positions), unformatted. */
function rawUserFrame(depth: number): string | null {
  const savedPrepare = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = rawFrames;
  Error.stackTraceLimit = depth;
  try {
    const holder: { stack?: CallSite[] } = {};
    Error.captureStackTrace(holder, captureSource);
    const frames = holder.stack;
    if (!Array.isArray(frames)) return null;
    for (const f of frames) {
      const name = f.getFileName();
      if (!name || !isUserFrame(name)) continue;
      return `${name}:${f.getLineNumber()}:${f.getColumnNumber()}`;
    }
    return null;
  } finally {
    Error.prepareStackTrace = savedPrepare;
    Error.stackTraceLimit = savedLimit;
  }
}

// Source-mapping a formatted stack costs ~10 µs; a design of 50k nodes comes from a few hundred
// call sites, so each site is mapped once and later nodes from it cost one raw capture.
const bySite = new Map<string, SourceLoc>();

/**
 * Captures the first stack frame outside the DSL: the user's line that built a node, as a TypeScript
 * line (source maps applied).
 */
export function captureSource(): SourceLoc {
  // Most nodes are built two or three frames below the user's line; a short trace is cheaper.
  const site = rawUserFrame(shortDepth) ?? rawUserFrame(traceDepth);
  if (site === null) return mappedLoc();
  let loc = bySite.get(site);
  if (!loc) {
    loc = mappedLoc();
    bySite.set(site, loc);
  }
  return loc;
}

/** `hdl/txScheduler.ts:42`, relative to the project root where possible. */
export function formatLoc(loc: SourceLoc): string {
  const rel = path.relative(projectRoot, loc.file);
  const shown = rel.startsWith('..') ? loc.file : rel.split(path.sep).join('/');
  return `${shown}:${loc.line}`;
}
