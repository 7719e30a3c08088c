/** The VMM model's transmit shaping API (spec section 13): setTxShaping writes BAR1, checks its arguments. */
import { describe, expect, it } from 'vitest';
import { bar1CtxOffset, TX_RATE_MAX } from '../../hdl/registers/map.js';
import { txRateUnits } from '../../testbench/vmm/vmm.js';
import { guestWithContext, vmmFixture } from './vmm-fixture.js';

describe('VMM transmit shaping', () => {
  it('S-5: setTxShaping programs TX_RATE_MAX and TX_RATE_SHARE of an enabled context (the reference NIC reads them back as the RTL does)', async () => {
    const f = await vmmFixture();
    const g = await guestWithContext(f, 1);
    const rate = txRateUnits(1000, 156.25);
    expect(rate).toBe(819);
    expect(await f.vmm.setTxShaping(g.ctx, { maxRate: rate, burst: 3000, share: 5 })).toEqual({ ok: true });
    const read = async (reg: 'TX_RATE_MAX' | 'TX_RATE_SHARE') => (await f.nic.bar1Read(bar1CtxOffset(g.ctx, reg, f.params))) >>> 0;
    // The burst is rounded up to 256-byte units (12 of them).
    expect(await read('TX_RATE_MAX')).toBe(((12 << TX_RATE_MAX.BURST.lsb) | rate) >>> 0);
    expect(await read('TX_RATE_SHARE')).toBe(5);
    expect(f.vmm.txShaping(g.ctx)).toEqual({ maxRate: rate, burst: 3072, share: 5 });
    // Fields left out keep their values; 0 lifts the cap.
    await f.vmm.setTxShaping(g.ctx, { maxRate: 0 });
    expect(await read('TX_RATE_MAX')).toBe((12 << TX_RATE_MAX.BURST.lsb) >>> 0);
    expect(await read('TX_RATE_SHARE')).toBe(5);
  });

  it('refuses an unassigned context and throws on values out of range', async () => {
    const f = await vmmFixture();
    const g = await guestWithContext(f, 0);
    const r = await f.vmm.setTxShaping(2, { maxRate: 10 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('no-such-context');
    await expect(f.vmm.setTxShaping(g.ctx, { maxRate: 2 ** 20 })).rejects.toThrow(/maxRate .* 0\.\.1048575/);
    await expect(f.vmm.setTxShaping(g.ctx, { share: 256 })).rejects.toThrow(/share 256/);
    await expect(f.vmm.setTxShaping(g.ctx, { burst: -1 })).rejects.toThrow(/burst -1/);
    await expect(f.vmm.setTxShaping(g.ctx, { share: 1.5 })).rejects.toThrow(/integer/);
    await expect(f.vmm.setTxShaping(99, { share: 1 })).rejects.toThrow(RangeError);
    expect(() => txRateUnits(2e6, 156.25)).toThrow(/at most/);
    expect(txRateUnits(0, 156.25)).toBe(0);
    expect(txRateUnits(0.001, 156.25)).toBe(1);
  });
});
