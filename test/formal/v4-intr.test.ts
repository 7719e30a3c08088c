/** V-4 (the interrupt engine writes only released ring slots and never drops a pending bit), proven with yosys. */
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { coversOf, PROOFS, proofParams } from '../../fpga/proofs.js';
import { PROOF_TIMEOUT } from '../fixtures/prebuild.js';

const spec = PROOFS.find((s) => s.id === 'V-4')!;

describe('V-4 interrupt engine: released slots only, no pending bit lost', { timeout: PROOF_TIMEOUT }, () => {
  it('V-4: every assertion is proven by induction (test profile)', async () => {
    const r = await proveDesign(spec.build(proofParams(), false), spec.mode, { name: 'test-v4' });
    expect(r.failed).toEqual([]);
    expect(r.status).toBe('proven');
  });

  it('V-4 cover: an entry goes into the last free slot; a failed write gives owed bits back', async () => {
    const def = spec.build(proofParams(), false);
    const covers = coversOf(spec, def);
    expect(covers.length).toBe(2);
    for (const wire of covers) {
      const c = await reachCover(def, wire, spec.coverDepth, { name: 'test-v4' });
      expect(c.reached, wire).toBe(true);
    }
  });

  it('V-4 broken: a ring-full check off by one is caught with a counterexample and its line', async () => {
    const r = await proveDesign(spec.build(proofParams(), true), { kind: 'bmc', depth: spec.brokenDepth }, { name: 'test-v4-broken' });
    expect(r.status).toBe('failed');
    expect(r.trace).toMatch(/\.vcd$/);
    expect(
      r.failed.some(
        (f) => f.message.startsWith('V-4: an entry is issued only into a released slot') && /^hdl\/nic\/intrEngine\.ts:\d+$/.test(f.loc),
      ),
    ).toBe(true);
  });
});
