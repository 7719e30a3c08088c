/** V-3 (an RX frame is given only to the contexts selected for its destination MAC), proven with yosys on the RX dispatch stage. */
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { coversOf, PROOFS, proofParams } from '../../fpga/proofs.js';
import { PROOF_TIMEOUT } from '../fixtures/prebuild.js';

const spec = PROOFS.find((s) => s.id === 'V-3')!;

describe('V-3 RX dispatch: copies only to the selected contexts', { timeout: PROOF_TIMEOUT }, () => {
  it('V-3: every assertion is proven by induction (test profile)', async () => {
    const r = await proveDesign(spec.build(proofParams(), false), spec.mode, { name: 'test-v3' });
    expect(r.failed).toEqual([]);
    expect(r.status).toBe('proven');
  });

  it('V-3 cover: a loopback broadcast skipping its sender, a multicast skipping a context, a unicast hit', async () => {
    const def = spec.build(proofParams(), false);
    const covers = coversOf(spec, def);
    expect(covers.length).toBe(3);
    for (const wire of covers) {
      const c = await reachCover(def, wire, spec.coverDepth, { name: 'test-v3' });
      expect(c.reached, wire).toBe(true);
    }
  });

  it('V-3 broken: dispatch ignoring the MAC-table hit is caught with a counterexample and its line', async () => {
    const r = await proveDesign(spec.build(proofParams(), true), { kind: 'bmc', depth: spec.brokenDepth }, { name: 'test-v3-broken' });
    expect(r.status).toBe('failed');
    expect(r.trace).toMatch(/\.vcd$/);
    expect(r.failed.some((f) => f.message.startsWith('V-3') && /^hdl\/nic\/rx\/dispatchProof\.ts:\d+$/.test(f.loc))).toBe(true);
  });
});
