/**
 * Leftovers of interrupted builds. `produceOnce` (sim/lock.ts) builds into `<target>.tmp-<pid>-<tag>`
 * while it holds `<target>.lock` and renames the folder into place when done; a build stopped by
 * Ctrl-C (or killed) leaves the temporary folder behind, and nothing else would remove it. Such a
 * folder is stale when no lock for its target is held by the process that made it: the lock is gone,
 * is held by another process (which took over a stale lock), or names a dead process on this host.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { alive } from './lock.js';

const TMP = /^(.+)\.tmp-(\d+)-[a-z0-9]+$/;

/** True when `<target>.lock` is held by process `pid` (on this host: one that still runs). */
async function heldBy(lockPath: string, pid: number): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch {
    return false;
  }
  const [owner, host] = text.split(' ');
  if (Number(owner) !== pid) return false;
  return host !== hostname() || alive(pid);
}

/** Removes the stale temporary build folders and files directly in `dir`; returns their paths. */
export async function removeStaleBuilds(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TMP.exec(name);
    if (!m) continue;
    const target = path.join(dir, m[1]);
    if (await heldBy(`${target}.lock`, Number(m[2]))) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(path.join(dir, name));
  }
  return removed;
}

const swept = new Set<string>();

/** `removeStaleBuilds(dir)` once per process and folder, quietly unless something was removed. */
export async function sweepStaleBuilds(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  const removed = await removeStaleBuilds(dir);
  if (removed.length && process.env.CDNA_QUIET !== '1') {
    process.stderr.write(`sim: removed ${removed.length} leftover(s) of interrupted builds in ${dir}\n`);
  }
}
