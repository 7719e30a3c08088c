import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, MAX_FRAME_BYTES_VLAN, MIN_FRAME_BYTES } from '../../hdl/params.js';
import { crc32, fcsBytes, hasGoodFcs } from '../../testbench/ethernet/crc32.js';
import {
  badFcsFrame,
  broadcastFrame,
  buildFrame,
  ETHERTYPE_TEST,
  ETHERTYPE_VLAN,
  oversizeFrame,
  padToMinimum,
  parseFrame,
  readTag,
  runtFrame,
  testFrame,
  withFcs,
} from '../../testbench/ethernet/frame.js';
import { BROADCAST_MAC, formatMac, isMulticast, isUnicast, localMac, macToBytes, parseMac } from '../../testbench/ethernet/mac.js';
import { withSeed } from './seeded.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('CRC-32 (IEEE 802.3)', () => {
  it('matches the standard check values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
  });

  it('agrees with zlib on random data', async () => {
    await withSeed((rng) => {
      for (let n = 0; n < 200; n++) {
        const data = Uint8Array.from({ length: rng.range(0, 1600) }, () => rng.range(0, 255));
        expect(crc32(data)).toBe(zlibCrc32(data) >>> 0);
      }
    });
  });

  it('puts the FCS least-significant byte first and checks it with the 802.3 residue', () => {
    const frame = testFrame(localMac(2), localMac(1), { ctx: 1, seq: 7 });
    const fcs = fcsBytes(frame.data);
    const c = crc32(frame.data);
    expect(Array.from(fcs)).toEqual([c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24]);
    expect(hasGoodFcs(withFcs(frame))).toBe(true);
    const bad = withFcs({ ...frame, badFcs: true });
    expect(hasGoodFcs(bad)).toBe(false);
    expect(Array.from(bad.subarray(0, frame.data.length))).toEqual(Array.from(frame.data));
  });
});

describe('MAC addresses', () => {
  it('parses, formats and classifies', () => {
    const m = parseMac('02:cd:00:00:00:2a');
    expect(m).toBe(localMac(42));
    expect(formatMac(m)).toBe('02:cd:00:00:00:2a');
    expect(Array.from(macToBytes(m))).toEqual([0x02, 0xcd, 0, 0, 0, 0x2a]);
    expect(isUnicast(m)).toBe(true);
    expect(isMulticast(parseMac('01:00:5e:00:00:01'))).toBe(true);
    expect(isMulticast(BROADCAST_MAC)).toBe(false);
    expect(() => parseMac('02:00:00:00:00')).toThrow(/is not a MAC address/);
  });
});

describe('frame builder and parser', () => {
  const a = localMac(1);
  const b = localMac(2);

  it('builds a tagged unicast frame the parser reads back', () => {
    const f = testFrame(b, a, { ctx: 3, seq: 0x1234_5678 }, 128);
    expect(f.data.length).toBe(128);
    const p = parseFrame(f.data);
    expect(p).toMatchObject({ dst: b, src: a, kind: 'unicast', etherType: ETHERTYPE_TEST, payloadOffset: 14 });
    expect(readTag(f.data)).toEqual({ ctx: 3, seq: 0x1234_5678, length: 114, intact: true });
  });

  it('detects a corrupted payload byte and tolerates zero padding only', () => {
    const f = testFrame(b, a, { ctx: 1, seq: 9 }, 100);
    const corrupt = f.data.slice();
    corrupt[60] ^= 1;
    expect(readTag(corrupt)?.intact).toBe(false);
    // Cut to 40 bytes while its tag says 86: truncated, so not intact.
    expect(readTag(f.data.slice(0, 40))).toMatchObject({ ctx: 1, seq: 9, length: 86, intact: false });
    const small = testFrame(b, a, { ctx: 1, seq: 9 }, 30);
    expect(readTag(padToMinimum(small.data))).toMatchObject({ ctx: 1, seq: 9, length: 16, intact: true });
    const dirtyPad = padToMinimum(small.data);
    dirtyPad[59] = 1;
    expect(readTag(dirtyPad)?.intact).toBe(false);
  });

  it('classifies broadcast and multicast', () => {
    expect(parseFrame(broadcastFrame(a, { ctx: 0, seq: 1 }).data).kind).toBe('broadcast');
    const mc = parseMac('01:00:5e:01:02:03');
    expect(parseFrame(testFrame(mc, a, { ctx: 0, seq: 1 }).data).kind).toBe('multicast');
  });

  it('builds and parses 802.1Q VLAN frames', () => {
    const f = testFrame(b, a, { ctx: 2, seq: 5 }, MAX_FRAME_BYTES_VLAN, { vid: 100, pcp: 5, dei: true });
    expect(f.data.length).toBe(1518);
    expect((f.data[12] << 8) | f.data[13]).toBe(ETHERTYPE_VLAN);
    const p = parseFrame(f.data);
    expect(p.vlan).toEqual({ vid: 100, pcp: 5, dei: true });
    expect(p.etherType).toBe(ETHERTYPE_TEST);
    expect(p.payloadOffset).toBe(18);
    expect(readTag(f.data)).toMatchObject({ ctx: 2, seq: 5, intact: true });
  });

  it('builds runts, oversize and bad-FCS frames at the limits', () => {
    expect(runtFrame(b, a, { ctx: 0, seq: 0 }).data.length).toBe(MIN_FRAME_BYTES - 1);
    expect(runtFrame(b, a, { ctx: 0, seq: 0 }, 14).data.length).toBe(14);
    expect(() => runtFrame(b, a, { ctx: 0, seq: 0 }, 60)).toThrow(/shorter than 60/);
    expect(oversizeFrame(b, a, { ctx: 0, seq: 0 }).data.length).toBe(MAX_FRAME_BYTES + 1);
    expect(oversizeFrame(b, a, { ctx: 0, seq: 0 }, undefined, { vid: 1 }).data.length).toBe(MAX_FRAME_BYTES_VLAN + 1);
    expect(() => oversizeFrame(b, a, { ctx: 0, seq: 0 }, 1514)).toThrow(/longer than 1514/);
    const bad = badFcsFrame(b, a, { ctx: 0, seq: 0 });
    expect(bad.badFcs).toBe(true);
    expect(hasGoodFcs(withFcs(bad))).toBe(false);
  });

  it('refuses bad input with a clear message', () => {
    expect(() => buildFrame({ dst: b, src: a, vlan: { vid: 4096 } })).toThrow(/VLAN id 4096/);
    expect(() => buildFrame({ dst: 2 ** 48, src: a })).toThrow(/bad MAC address/);
    expect(() => buildFrame({ dst: b, src: a, payload: new Uint8Array(10), length: 20 })).toThrow(/shorter than header/);
    expect(() => parseFrame(new Uint8Array(10))).toThrow(/shorter than the 14-byte/);
  });
});
