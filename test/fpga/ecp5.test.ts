import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFlow } from '../../fpga/flow.js';
import { findNextpnrEcp5 } from '../../fpga/nextpnrEcp5.js';
import { formatReport } from '../../fpga/report.js';
import { defineModule, UInt } from '../../generator/index.js';

const hasNextpnr = findNextpnrEcp5() !== null;
if (!hasNextpnr) console.warn('test/fpga/ecp5.test.ts: nextpnr-ecp5 is not on the PATH; the place-and-route test is skipped');

/** A registered 16-bit adder feeding a 32-input AND: small enough to place and route in seconds. */
const small = () =>
  defineModule('ecp5_small', {}, (m) => {
    const a = m.input('a', UInt(16));
    const b = m.input('b', UInt(16));
    const ra = m.reg('ra', UInt(16), { reset: 0 });
    const rb = m.reg('rb', UInt(16), { reset: 0 });
    ra.set(a);
    rb.set(b);
    const sum = m.reg('sum', UInt(17), { reset: 0 });
    sum.set(ra.add(rb));
    const all = m.reg('all_set', UInt(1), { reset: 0 });
    all.set(sum.bits(15, 0).andR());
    m.output('o', UInt(1)).set(all);
    m.output('s', UInt(17)).set(sum);
    return {};
  });

describe('ECP5 flow', () => {
  it.skipIf(!hasNextpnr)(
    'places and routes out of context with nextpnr-ecp5 and reports Fmax, utilization and the worst path',
    async () => {
      const dir = path.resolve('build/test/fpga/ecp5-small');
      const r = await runFlow(small(), { target: 'ecp5', dir, freqMHz: 125, breakdown: false });
      expect(r.levels?.byClock.find((p) => p.clock === 'clk')?.levels).toBeGreaterThan(0);
      const p = r.ecp5Pnr;
      if (!p || 'missing' in p) throw new Error('expected a place and route');
      expect(p.fits).toBe(true);
      expect(p.clocks.length).toBe(1);
      expect(p.fmaxMHz).toBeGreaterThan(50);
      expect(p.utilization.TRELLIS_FF?.used).toBeGreaterThanOrEqual(50);
      expect(p.worstPaths.length).toBeGreaterThan(0);
      const text = formatReport(r, { design: 'ecp5_small', command: 'test' });
      expect(text).toMatch(/clock .*: \d+\.\d MHz achieved, 125 MHz requested/);
      expect(text).toMatch(/LUT levels/);
    },
    300_000,
  );
});
