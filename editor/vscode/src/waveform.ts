/** The newest waveform under the build dir and a viewer to open it with. Plain Node (no VS Code API). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** The newest `.fst` or `.vcd` file under `dir` (searched with its subfolders), or null. */
export function newestWaveform(dir: string): string | null {
  let best: { file: string; mtime: number } | null = null;
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(full);
      } else if (/\.(?:fst|vcd)$/.test(e.name)) {
        const mtime = statSync(full).mtimeMs;
        if (!best || mtime > best.mtime) best = { file: full, mtime };
      }
    }
  };
  walk(dir);
  return (best as { file: string } | null)?.file ?? null;
}

/** The first of `names` found on PATH, as a full path, or null. */
export function onPath(names: readonly string[], envPath: string = process.env.PATH ?? ''): string | null {
  for (const name of names) {
    for (const dir of envPath.split(path.delimiter)) {
      if (!dir) continue;
      const full = path.join(dir, name);
      if (existsSync(full) && statSync(full).isFile()) return full;
    }
  }
  return null;
}

/** The waveform viewers tried, in order. */
export const WAVEFORM_VIEWERS = ['surfer', 'gtkwave'] as const;
