/**
 * Upkeep of the model cache (build/sim/models): a log of what every build request did (CDNA_SIM_LOG),
 * ccache for the model's C++ when it is installed, and pruning so the cache does not grow forever.
 *
 * - CDNA_SIM_LOG=1 prints one line per request on stderr (`sim: cache hit …`, `sim: cold build …`);
 *   CDNA_SIM_LOG=<file> appends one JSON object per request to that file instead (parallel
 *   processes may share it).
 * - CDNA_CCACHE=0 turns ccache off; otherwise Verilator's makefile compiles through `ccache` when it
 *   is on PATH (make OBJCACHE=ccache). The objects are the same, so it is not part of the cache key.
 * - After each cold build, models unused for CDNA_SIM_CACHE_DAYS days (default 30) are removed, and
 *   the least recently used beyond CDNA_SIM_CACHE_MAX models (default 300) too; a model used in the
 *   last hour is always kept (another run may be loading it). 0 turns either limit off.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';

/** What one build request did. */
export interface BuildRecord {
  top: string;
  /** The cache entry (its directory name). */
  entry: string;
  /** 'built': this call built it; 'hit': it was in the cache; 'waited': another process built it meanwhile. */
  result: 'built' | 'hit' | 'waited';
  seconds: number;
}

/** Who asked (test runners register one: the file and test, so a log shows builds inside tests). */
let requester: (() => string | undefined) | null = null;

/** Names the code asking for builds from now on, for the build log (e.g. the running test). */
export function setBuildRequester(fn: (() => string | undefined) | null): void {
  requester = fn;
}

export function logBuild(r: BuildRecord): void {
  const target = process.env.CDNA_SIM_LOG;
  if (!target || target === '0') return;
  const by = requester?.();
  if (target === '1') {
    const what = r.result === 'built' ? 'cold build' : r.result === 'hit' ? 'cache hit' : 'built by another process';
    process.stderr.write(`sim: ${what} ${r.entry} ${r.seconds.toFixed(1)}s${by ? ` (${by})` : ''}\n`);
    return;
  }
  appendFileSync(target, `${JSON.stringify({ ...r, pid: process.pid, by, at: new Date().toISOString() })}\n`);
}

let ccache: string[] | null = null;

/** `OBJCACHE=ccache` for Verilator's makefile when ccache is installed and not turned off. */
export function objCacheFlags(): string[] {
  if (process.env.CDNA_CCACHE === '0') return [];
  if (ccache === null) {
    try {
      execFileSync('ccache', ['--version'], { stdio: 'ignore' });
      ccache = ['OBJCACHE=ccache'];
    } catch {
      ccache = [];
    }
  }
  return ccache;
}

/** Marks a cache entry as used now (pruning removes the least recently used first). */
export async function touchEntry(dir: string): Promise<void> {
  const now = new Date();
  await utimes(dir, now, now).catch(() => {});
}

const hourMs = 3600_000;
const dayMs = 24 * hourMs;
const entryName = /-[0-9a-f]{16}$/;

function limit(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  return Number.isFinite(v) && v > 0 ? v : Number.POSITIVE_INFINITY;
}

/**
 * Removes old cache entries under `modelsDir` (see the header for the rules); returns their names.
 * Locks and unfinished builds are left alone.
 */
export async function pruneModels(modelsDir: string, now = Date.now()): Promise<string[]> {
  const maxAge = limit('CDNA_SIM_CACHE_DAYS', 30) * dayMs;
  const maxCount = limit('CDNA_SIM_CACHE_MAX', 300);
  let names: string[];
  try {
    names = (await readdir(modelsDir)).filter((n) => entryName.test(n));
  } catch {
    return [];
  }
  const entries: { name: string; used: number }[] = [];
  for (const name of names) {
    const st = await stat(path.join(modelsDir, name)).catch(() => null);
    if (st?.isDirectory()) entries.push({ name, used: st.mtimeMs });
  }
  entries.sort((a, b) => b.used - a.used);
  const removed: string[] = [];
  entries.forEach((e, i) => {
    if (now - e.used < hourMs) return;
    if (now - e.used > maxAge || i >= maxCount) removed.push(e.name);
  });
  for (const name of removed) await rm(path.join(modelsDir, name), { recursive: true, force: true });
  return removed;
}
