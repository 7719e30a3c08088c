/**
 * Cross-process build exclusion. Parallel test workers may ask for the same model at once: one builds,
 * the others wait for its result. Results are published by renaming a finished temporary directory or
 * file into place, so a reader never sees half a build even if a builder dies.
 */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';

const staleMs = 30 * 60_000;

/** True when process `pid` runs on this host. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  try {
    const [text, st] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const [pid, host] = text.split(' ');
    // On this host the owner's pid decides: a cold build of a large model on a loaded machine may
    // take longer than staleMs, and taking its lock over would start the same build a second time.
    if (host === hostname() && Number(pid) > 0) return !alive(Number(pid));
    return Date.now() - st.mtimeMs > staleMs;
  } catch {
    return false;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Produces `target` once: returns at once if it exists; otherwise takes `lockPath`, builds with
 * `produce(tmp)` (which must create `tmp`), and renames tmp to target. Waiters poll until the target appears.
 */
export async function produceOnce(
  target: string,
  lockPath: string,
  produce: (tmp: string) => Promise<void>,
  onWait?: () => void,
): Promise<void> {
  let waited = false;
  for (;;) {
    if (await exists(target)) return;
    let handle: Awaited<ReturnType<typeof open>> | null = null;
    try {
      handle = await open(lockPath, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (handle) {
      try {
        await handle.writeFile(`${process.pid} ${hostname()} ${new Date().toISOString()}`);
        await handle.close();
        if (await exists(target)) return;
        const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
        try {
          await produce(tmp);
          try {
            await rename(tmp, target);
          } catch (e) {
            // Someone published it meanwhile (a stale-lock race): theirs is as good as ours.
            if (!(await exists(target))) throw e;
          }
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
        return;
      } finally {
        await rm(lockPath, { force: true });
      }
    }
    if (!waited) {
      waited = true;
      onWait?.();
    }
    if (await isStale(lockPath)) {
      await rm(lockPath, { force: true });
      continue;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
