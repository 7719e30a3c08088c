/** Leftovers of interrupted Verilator builds are removed on the next run; builds in progress are kept. */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeStaleBuilds } from '../../sim/stale-builds.js';

const dead = 999_999_999;
let dir = '';

afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('stale build folders', () => {
  it('removes temporary folders no live lock owns and keeps the one being built', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cdna-stale-'));
    const tmp = (target: string, pid: number) => path.join(dir, `${target}.tmp-${pid}-ab12cd`);
    // Interrupted: no lock left.
    await mkdir(tmp('a', dead), { recursive: true });
    await writeFile(path.join(tmp('a', dead), 'model.node'), 'x');
    // Interrupted: its lock names a dead process on this host.
    await mkdir(tmp('b', dead));
    await writeFile(path.join(dir, 'b.lock'), `${dead} ${hostname()} 2026-01-01T00:00:00Z`);
    // Taken over: the lock now belongs to another process.
    await mkdir(tmp('c', dead));
    await writeFile(path.join(dir, 'c.lock'), `${process.pid} ${hostname()} 2026-01-01T00:00:00Z`);
    // In progress: the lock is held by the process that made the folder.
    await mkdir(tmp('d', process.pid));
    await writeFile(path.join(dir, 'd.lock'), `${process.pid} ${hostname()} 2026-01-01T00:00:00Z`);
    // A runtime object file (not a folder) left by an interrupted compile.
    await writeFile(tmp('shim.o', dead), 'x');
    // Finished builds are not touched.
    await mkdir(path.join(dir, 'nic-none-0123456789abcdef'));

    const removed = await removeStaleBuilds(dir);
    expect(removed.map((p) => path.basename(p)).sort()).toEqual(
      [`a.tmp-${dead}-ab12cd`, `b.tmp-${dead}-ab12cd`, `c.tmp-${dead}-ab12cd`, `shim.o.tmp-${dead}-ab12cd`].sort(),
    );
    expect((await readdir(dir)).sort()).toEqual(
      ['b.lock', 'c.lock', `d.tmp-${process.pid}-ab12cd`, 'd.lock', 'nic-none-0123456789abcdef'].sort(),
    );
  });

  it('returns nothing for a folder that does not exist', async () => {
    expect(await removeStaleBuilds(path.join(tmpdir(), 'cdna-no-such-folder-xyz'))).toEqual([]);
  });
});
