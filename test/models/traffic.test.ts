/** The scenario's traffic addresses: frames meant for the wire never match a guest's MAC. */
import { describe, expect, it } from 'vitest';
import { localMac } from '../../testbench/ethernet/mac.js';
import { externalMac } from '../../testbench/system/traffic.js';

describe('scenario traffic addresses', () => {
  it('external MACs never equal a guest MAC, whatever index the hand-overs reach', () => {
    const external = new Set(Array.from({ length: 256 }, (_, i) => externalMac(i)));
    // Guests take localMac(0x100 * handOvers + ctx (+ 0x10000 * k)); 256 hand-overs reach 0x10000 + ctx,
    // which once was externalMac(ctx).
    for (let handOvers = 0; handOvers < 4096; handOvers += 1) {
      for (let ctx = 0; ctx < 4; ctx++) {
        for (let k = 0; k < 4; k++) expect(external.has(localMac(0x100 * handOvers + ctx + 0x1_0000 * k))).toBe(false);
      }
    }
    expect(external.has(localMac(0x1_0000 + 2))).toBe(false);
    expect(external.size).toBe(256);
  });

  it('refuses an index outside 32 bits', () => {
    expect(() => externalMac(-1)).toThrow(/externalMac index -1/);
    expect(() => externalMac(2 ** 32)).toThrow(/0\.\.2\^32-1/);
  });
});
