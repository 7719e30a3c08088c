/**
 * V-2 on the TX side (every payload read for context c lies inside a descriptor the check accepted for
 * c), proven with yosys in two parts: the check's fragments and frames, and the payload issuer's reads.
 */
import { describe, expect, it } from 'vitest';
import { proveDesign, reachCover } from '../../fpga/formal.js';
import { coversOf, PROOFS, type ProofSpec, proofParams } from '../../fpga/proofs.js';
import { PROOF_TIMEOUT } from '../fixtures/prebuild.js';

const part = (name: string): ProofSpec => {
  const spec = PROOFS.find((s) => s.id === 'V-2' && s.name === name);
  if (!spec) throw new Error(`no V-2 proof ${name}`);
  return spec;
};
const reads = part('tx-payload-reads');
const frags = part('tx-fragments');

describe('V-2 TX payload reads lie inside accepted descriptors', { timeout: PROOF_TIMEOUT }, () => {
  it('V-2 is registered in parts (TX here, RX in v2-rx-writes.test.ts), all run by `cdna prove V-2`', () => {
    expect(PROOFS.filter((s) => s.id === 'V-2').map((s) => s.name)).toEqual(['tx-payload-reads', 'tx-fragments', 'rx-payload-writes']);
  });

  for (const spec of [reads, frags]) {
    it(`V-2 (${spec.name}): every assertion is proven by induction (test profile)`, async () => {
      const r = await proveDesign(spec.build(proofParams(), false), spec.mode, { name: `test-v2-${spec.name}` });
      expect(r.failed).toEqual([]);
      expect(r.status).toBe('proven');
    });
  }

  it("V-2 cover: a read of a frame's second fragment is issued; a frame of two fragments is committed", async () => {
    const want: [ProofSpec, number][] = [
      [reads, 2],
      [frags, 1],
    ];
    for (const [spec, count] of want) {
      const def = spec.build(proofParams(), false);
      const covers = coversOf(spec, def);
      expect(covers.length).toBe(count);
      for (const wire of covers) {
        const c = await reachCover(def, wire, spec.coverDepth, { name: `test-v2-${spec.name}` });
        expect(c.reached, `${spec.name} ${wire}`).toBe(true);
      }
    }
  });

  it('V-2 broken: a read one beat too long is caught with a counterexample and its line', async () => {
    const r = await proveDesign(
      reads.build(proofParams(), true),
      { kind: 'bmc', depth: reads.brokenDepth },
      { name: 'test-v2-reads-broken' },
    );
    expect(r.status).toBe('failed');
    expect(r.trace).toMatch(/\.vcd$/);
    expect(
      r.failed.some(
        (f) => f.message.startsWith('V-2: a payload read starts at the beat') && /^hdl\/nic\/tx\/payloadProof\.ts:\d+$/.test(f.loc),
      ),
    ).toBe(true);
  });

  it('V-2 broken: a frame counted one fragment too many is caught with a counterexample and its line', async () => {
    const r = await proveDesign(
      frags.build(proofParams(), true),
      { kind: 'bmc', depth: frags.brokenDepth },
      { name: 'test-v2-frags-broken' },
    );
    expect(r.status).toBe('failed');
    expect(r.failed.some((f) => f.message.startsWith('V-2: a frame to read is pushed with the commit of exactly its n fragments'))).toBe(
      true,
    );
  });
});
