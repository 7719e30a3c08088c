/** V-1 (no TX payload is read for a descriptor whose seq is not the context's expected seq), on the TX sequence check with yosys. */
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { coversOf, PROOFS, proofParams } from '../../fpga/proofs.js';
import { PROOF_TIMEOUT } from '../fixtures/prebuild.js';

const spec = PROOFS.find((s) => s.id === 'V-1')!;

describe('V-1 TX sequence check: only the expected seq is taken', { timeout: PROOF_TIMEOUT }, () => {
  it('V-1: every assertion holds for 10 cycles after reset (test profile)', async () => {
    const r = await proveDesign(spec.build(proofParams(), false), spec.mode, { name: 'test-v1' });
    expect(r.failed).toEqual([]);
    expect(r.status).toBe('bounded');
    expect(r.depth).toBe(10);
  });

  it("V-1 cover: a frame's first and second descriptors are taken", async () => {
    const def = spec.build(proofParams(), false);
    const covers = coversOf(spec, def);
    expect(covers.length).toBe(2);
    for (const wire of covers) {
      const c = await reachCover(def, wire, spec.coverDepth, { name: 'test-v1' });
      expect(c.reached, wire).toBe(true);
    }
  });

  it('V-1 broken: a check that ignores stale fetches is caught with a counterexample and its line', async () => {
    const r = await proveDesign(spec.build(proofParams(), true), { kind: 'bmc', depth: spec.brokenDepth }, { name: 'test-v1-broken' });
    expect(r.status).toBe('failed');
    expect(r.trace).toMatch(/\.vcd$/);
    expect(
      r.failed.some((f) => f.message.startsWith("V-1: a frame's first descriptor") && /^hdl\/nic\/tx\/checkProof\.ts:\d+$/.test(f.loc)),
    ).toBe(true);
  });
});
