import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineModule, UInt } from '../../generator/index.js';
import { applyCrcStep, crcNext, crcOfBytes, crcResidue, crcStep, ETHERNET_CRC32 } from '../../hdl/eth/crc.js';
import { type Simulation, simulate } from '../../sim/index.js';
import { crc32, fcsBytes, hasGoodFcs } from '../../testbench/ethernet/crc32.js';
import { crcStep as tableStep64 } from '../fixtures/crc32.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('CRC-32 matrices generated from the polynomial', () => {
  it('give the published check value of CRC-32 ("123456789" -> 0xCBF43926)', () => {
    expect(crcOfBytes(ETHERNET_CRC32, ascii('123456789'))).toBe(0xcbf43926n);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
  });

  it('agree with the testbench CRC (table-driven) on random frames', async () => {
    await withSeed((rng) => {
      for (let n = 0; n < 200; n++) {
        const data = Uint8Array.from({ length: rng.int(0, 300) }, () => rng.int(0, 255));
        expect(crcOfBytes(ETHERNET_CRC32, data)).toBe(BigInt(crc32(data)));
      }
    });
  });

  it('leave the 802.3 residue after a frame and its FCS, as the testbench check does', async () => {
    const residue = crcResidue(ETHERNET_CRC32);
    await withSeed((rng) => {
      for (let n = 0; n < 50; n++) {
        const data = Uint8Array.from({ length: rng.int(1, 100) }, () => rng.int(0, 255));
        const withFcs = new Uint8Array([...data, ...fcsBytes(data)]);
        expect(hasGoodFcs(withFcs)).toBe(true);
        // The register (before the final inversion) is the complement of crc32 over frame plus FCS.
        expect(crcOfBytes(ETHERNET_CRC32, withFcs) ^ ETHERNET_CRC32.xorOut).toBe(residue);
      }
    });
  });

  it('step 64 bits at once like eight table steps', async () => {
    const step = crcStep(ETHERNET_CRC32, 64);
    await withSeed((rng) => {
      for (let n = 0; n < 100; n++) {
        const reg = rng.int(0, 0xffff_ffff);
        const lo = rng.int(0, 0xffff_ffff);
        const hi = rng.int(0, 0xffff_ffff);
        const data = (BigInt(hi) << 32n) | BigInt(lo);
        expect(applyCrcStep(step, BigInt(reg), data)).toBe(BigInt(tableStep64(reg, lo, hi)));
      }
    });
  });
});

describe('the generated CRC hardware', () => {
  type P = { crc_in: number; data_in: number; crc_next: number };
  const probe = defineModule('crc8_probe', {}, (m) => {
    const reg = m.input('crc_in', UInt(32));
    const data = m.input('data_in', UInt(8));
    const next = m.output('crc_next', UInt(32));
    next.set(crcNext(crcStep(ETHERNET_CRC32, 8), reg, data));
    return { crc_in: reg, data_in: data, crc_next: next };
  });
  let sim: Simulation<P> | undefined;
  beforeAll(() => prebuild(probe), BUILD_TIMEOUT);
  afterAll(() => sim?.close());

  it('computes the same next register as the matrices and the byte table for random inputs', async () => {
    sim = await simulate<P>(probe);
    const s = sim;
    const step = crcStep(ETHERNET_CRC32, 8);
    await withSeed((rng) => {
      let reg = 0xffffffff;
      const bytes: number[] = [];
      for (let n = 0; n < 500; n++) {
        const data = rng.int(0, 255);
        s.ports.crc_in = reg;
        s.ports.data_in = data;
        s.settle();
        const next = s.ports.crc_next;
        expect(next).toBe(Number(applyCrcStep(step, BigInt(reg), BigInt(data))));
        bytes.push(data);
        reg = next;
      }
      // Chained over the whole stream, the hardware register gives the Ethernet CRC.
      expect((reg ^ 0xffffffff) >>> 0).toBe(crc32(Uint8Array.from(bytes)));
    });
  });
});
