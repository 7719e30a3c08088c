import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { LINKTYPE_ETHERNET, PcapWriter, readPcap } from '../../testbench/ethernet/pcap.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('pcap writer (classic libpcap, LINKTYPE_ETHERNET)', () => {
  it('writes the 24-byte global header Wireshark expects', () => {
    const ns = new PcapWriter().bytes();
    // magic a1b23c4d (ns) little-endian, version 2.4, thiszone 0, sigfigs 0, snaplen 65535, linktype 1
    expect(hex(ns)).toBe('4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '01000000');
    const us = new PcapWriter({ resolution: 'us', snapLen: 2048 }).bytes();
    expect(hex(us.subarray(0, 4))).toBe('d4c3b2a1');
    expect(hex(us.subarray(16, 24))).toBe('00080000' + '01000000');
  });

  it('lays out each record as ts_sec, ts_frac, incl_len, orig_len, data', () => {
    const w = new PcapWriter();
    const f = testFrame(localMac(2), localMac(1), { ctx: 1, seq: 3 }, 64);
    w.add(f.data, 3_000_000_123n);
    const b = w.bytes();
    expect(b.length).toBe(24 + 16 + 64);
    const v = new DataView(b.buffer);
    expect(v.getUint32(24, true)).toBe(3);
    expect(v.getUint32(28, true)).toBe(123);
    expect(v.getUint32(32, true)).toBe(64);
    expect(v.getUint32(36, true)).toBe(64);
    expect(hex(b.subarray(40))).toBe(hex(f.data));
  });

  it('converts to microseconds, truncates to snapLen keeping the original length, and reads back', () => {
    const w = new PcapWriter({ resolution: 'us', snapLen: 100 });
    const small = testFrame(localMac(2), localMac(1), { ctx: 0, seq: 1 }, 60);
    const big = testFrame(localMac(2), localMac(1), { ctx: 0, seq: 2 }, 1514);
    w.add(small.data, 1_500n);
    w.add(big.data, 2_000_000_999);
    const file = readPcap(w.bytes());
    expect(file).toMatchObject({ resolution: 'us', snapLen: 100, linkType: LINKTYPE_ETHERNET });
    expect(file.records.map((r) => [r.timeNs, r.data.length, r.origLen])).toEqual([
      [1_000n, 60, 60],
      [2_000_000_000n, 100, 1514],
    ]);
    expect(hex(file.records[1].data)).toBe(hex(big.data.subarray(0, 100)));
  });

  it('saves a file that reads back record for record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcap-'));
    try {
      const w = new PcapWriter();
      const frames = [1, 2, 3].map((seq) => testFrame(localMac(2), localMac(1), { ctx: 1, seq }, 60 + seq));
      for (const [i, f] of frames.entries()) w.add(f.data, BigInt(i * 8));
      const path = join(dir, 'sub', 'wire.pcap');
      w.save(path);
      const back = readPcap(new Uint8Array(readFileSync(path)));
      expect(back.records.map((r) => hex(r.data))).toEqual(frames.map((f) => hex(f.data)));
      expect(w.records).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses what it cannot represent', () => {
    const w = new PcapWriter();
    expect(() => w.add(new Uint8Array(60), -1n)).toThrow(/must not be negative/);
    expect(() => readPcap(new Uint8Array(24))).toThrow(/not a classic pcap file/);
  });
});
