/** V-5 (a context waiting in the TX rotation is served within N_CTX * TX_QUANTUM turns), on the TX scheduler with yosys. */
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { coversOf, PROOFS, proofParams } from '../../fpga/proofs.js';
import { PROOF_TIMEOUT } from '../fixtures/prebuild.js';

const spec = PROOFS.find((s) => s.id === 'V-5')!;

describe('V-5 TX scheduler: no context waits more than a round', { timeout: PROOF_TIMEOUT }, () => {
  it('V-5: every assertion holds to the documented bound (test profile, TX_QUANTUM=1)', async () => {
    const r = await proveDesign(spec.build(proofParams(), false), spec.mode, { name: 'test-v5' });
    expect(r.failed).toEqual([]);
    expect(r.status).toBe('bounded');
    expect(r.depth).toBe(spec.mode.kind === 'bmc' ? spec.mode.depth : -1);
  });

  it('V-5 cover: a context gets its turn after exactly N_CTX-1 turns and (N_CTX-1)*TX_QUANTUM fetches of others', async () => {
    const def = spec.build(proofParams(), false);
    const covers = coversOf(spec, def);
    expect(covers.length).toBe(2);
    for (const wire of covers) {
      const c = await reachCover(def, wire, spec.coverDepth, { name: 'test-v5' });
      expect(c.reached, wire).toBe(true);
    }
  });

  it('V-5 broken: a fetcher that keeps a context instead of rotating is caught with a counterexample and its line', async () => {
    const r = await proveDesign(spec.build(proofParams(), true), { kind: 'bmc', depth: spec.brokenDepth }, { name: 'test-v5-broken' });
    expect(r.status).toBe('failed');
    expect(r.trace).toMatch(/\.vcd$/);
    expect(
      r.failed.some(
        (f) => f.message.startsWith('V-5: a context in the queue sees at most') && /^hdl\/nic\/tx\/schedulerProof\.ts:\d+$/.test(f.loc),
      ),
    ).toBe(true);
  });
});
