/**
 * The scoreboard's memory-image check compares only the pages that can differ (written or cleared
 * in either memory since the last window, or still differing after it). These tests hold it to the
 * strength of a whole-image comparison: one byte changed on one side anywhere outside the interrupt
 * ring, in a page no DMA touched in the window, is reported at its address, again in every later
 * window while it stays, and no more once both sides agree.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../testbench/host/memory.js';
import { Rng } from '../../testbench/runtime/random.js';
import { closeSimulations, SystemHarness } from '../../testbench/system/harness.js';

let sys: SystemHarness | null = null;

afterEach(() => {
  sys?.close();
  sys = null;
});
afterAll(async () => {
  await closeSimulations();
});

const seed = Number(process.env.SEED ?? 13);

function memoryAt(m: { what: string; detail: string }[], addr: bigint): boolean {
  return m.some((x) => x.what === 'memory' && x.detail.startsWith(`0x${addr.toString(16)} `));
}

describe('scoreboard: memory images', () => {
  it('a byte changed on one side anywhere is caught in that window and every later one until repaired', async () => {
    const rng = new Rng(seed);
    sys = await SystemHarness.create({ params: 'test' });
    await sys.attachGuest(0);
    await sys.attachGuest(1);
    expect(await sys.settle()).toEqual([]);
    const ring = sys.monitor.grants().find((g) => g.purpose === 'interrupt ring');
    const pfns = [...sys.memory.knownPages()]
      .map((p) => p.pfn)
      .filter((pfn) => !ring || pfn << 12n < ring.addr || pfn << 12n >= ring.addr + BigInt(ring.len));
    expect(pfns.length).toBeGreaterThan(4);
    for (let k = 0; k < 6; k++) {
      const addr = (rng.pick(pfns) << 12n) + BigInt(rng.int(PAGE_SIZE));
      const rtlSide = k % 2 === 0;
      const was = rtlSide ? sys.memory.read(addr, 1)[0] : sys.memory.mirror.read(addr, 1)[0];
      const bad = Uint8Array.of(was ^ (1 << rng.int(8)));
      // Outside any DMA (no write event): only the image comparison can see it.
      if (rtlSide) sys.memory.asNic(() => sys?.memory.write(addr, bad));
      else sys.memory.mirror.write(addr, bad);
      const first = await sys.settle();
      expect(memoryAt(first, addr), `seed ${seed}, ${rtlSide ? 'RTL' : 'model'} side, 0x${addr.toString(16)}`).toBe(true);
      // Untouched in the next window, it is still reported.
      expect(memoryAt(await sys.settle(), addr), `seed ${seed}: reported again`).toBe(true);
      // Both sides agree again (a host write lands in both): clean.
      sys.memory.write(addr, Uint8Array.of(was));
      expect(
        (await sys.settle()).filter((x) => x.what === 'memory'),
        `seed ${seed}: repaired`,
      ).toEqual([]);
    }
  });
});
