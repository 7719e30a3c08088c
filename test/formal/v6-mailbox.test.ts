/** V-6 (a doorbell is never lost) proven on the mailbox with yosys: the proof, its covers, its broken variant. */
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { coversOf, PROOFS, proofParams } from '../../fpga/proofs.js';
import { PROOF_TIMEOUT } from '../fixtures/prebuild.js';

const spec = PROOFS.find((s) => s.id === 'V-6')!;

describe('V-6 mailbox: a doorbell is never lost', { timeout: PROOF_TIMEOUT }, () => {
  it('V-6: every assertion holds for 12 cycles after reset (test profile)', async () => {
    const r = await proveDesign(spec.build(proofParams(), false), spec.mode, { name: 'test-v6' });
    expect(r.failed).toEqual([]);
    expect(r.status).toBe('bounded');
    expect(r.depth).toBe(12);
  });

  it('V-6 cover: a doorbell lands in the cycle that pops its context (the C-3 race), on both queues', async () => {
    const def = spec.build(proofParams(), false);
    const covers = coversOf(spec, def);
    expect(covers.length).toBeGreaterThan(0);
    for (const wire of covers) {
      const c = await reachCover(def, wire, spec.coverDepth, { name: 'test-v6' });
      expect(c.reached, wire).toBe(true);
    }
  });

  it('V-6 broken: a doorbell dropped in the popping cycle is caught with a counterexample and its line', async () => {
    const r = await proveDesign(spec.build(proofParams(), true), { kind: 'bmc', depth: spec.brokenDepth }, { name: 'test-v6-broken' });
    expect(r.status).toBe('failed');
    expect(r.trace).toMatch(/\.vcd$/);
    expect(r.failed.some((f) => f.message.startsWith('V-6') && /^hdl\/nic\/mailbox\.ts:\d+$/.test(f.loc))).toBe(true);
  });
});
