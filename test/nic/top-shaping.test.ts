/**
 * S-5 on the whole NIC: the shaping registers (TX_RATE_MAX, TX_RATE_SHARE) are BAR1 registers only,
 * writable while the context runs; nothing a guest writes to its mailbox page reaches them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BAR0_PAGE_BYTES, STATUS, TX_RATE_MAX, TX_RATE_SHARE } from '../../hdl/registers/map.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeOpenTopBench, closeTopSims, TopBench } from './topBench.js';

afterEach(closeOpenTopBench);
afterAll(closeTopSims);
beforeAll(() => TopBench.prepare({}), BUILD_TIMEOUT);

describe('transmit shaping registers (cdna_nic)', () => {
  it('S-5: TX_RATE_MAX and TX_RATE_SHARE are written through BAR1 while the context is enabled; no mailbox write of any guest changes them', async () => {
    const b = await TopBench.create('test');
    await b.enable(1);
    await b.enable(2);
    const rate = (0x123 << TX_RATE_MAX.BURST.lsb) | 0x4567;
    await b.setCtx(1, 'TX_RATE_MAX', rate);
    await b.setCtx(1, 'TX_RATE_SHARE', 0xffff_ff07);
    expect(await b.ctxReg(1, 'TX_RATE_MAX')).toBe(rate >>> 0);
    // Only the weight's field is kept.
    expect(await b.ctxReg(1, 'TX_RATE_SHARE')).toBe(0x07 & TX_RATE_SHARE.SHARE.mask);
    // Writable while enabled: not a locked register (no CFG_ERR).
    expect((await b.ctxReg(1, 'STATUS')) & STATUS.CFG_ERR.mask).toBe(0);
    // Every word of the mailbox pages of contexts 1 and 2 (guests own these pages), all ones.
    for (const c of [1, 2]) {
      for (let off = 0; off < BAR0_PAGE_BYTES; off += 4) await b.bar0.write(c * BAR0_PAGE_BYTES + off, 0xffff_ffff);
    }
    await b.tb.cycles(50);
    expect(await b.ctxReg(1, 'TX_RATE_MAX')).toBe(rate >>> 0);
    expect(await b.ctxReg(1, 'TX_RATE_SHARE')).toBe(0x07);
    expect(await b.ctxReg(2, 'TX_RATE_MAX')).toBe(0);
    expect(await b.ctxReg(2, 'TX_RATE_SHARE')).toBe(0);
    // The mailbox page does not show them either.
    expect(Number(await b.bar0.read(BAR0_PAGE_BYTES + 0x5c))).toBe(0);
    expect(Number(await b.bar0.read(BAR0_PAGE_BYTES + 0x7c))).toBe(0);
  }, 120_000);
});
