/**
 * The fault injector: decisions are a pure function of (seed, rule, 64-byte line, direction), so the
 * RTL's beats and the reference model's whole accesses see the same faults; rules select by range,
 * context, kind and direction, at a rate, and switch on and off.
 */
import { describe, expect, it } from 'vitest';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { FAULT_LINE_BYTES, FaultInjector, faultDraw, RESP, TRANSFER_KINDS, transferOf } from '../../testbench/host/fault-injector.js';
import { HostMemory } from '../../testbench/host/memory.js';
import { withSeed } from './seeded.js';

/** Grants as the VMM makes them, for two contexts. */
function grants() {
  const mon = new DmaMonitor(new HostMemory());
  mon.grant(0x10_000n, 1024, 'read-write', 'ctx 0 TX ring');
  mon.grant(0x11_000n, 1024, 'read-write', 'ctx 0 RX ring');
  mon.grant(0x12_000n, 8, 'write', 'ctx 0 completion record');
  mon.grant(0x12_008n, 8, 'write', 'ctx 1 completion record');
  mon.grant(0x13_000n, 1024, 'write', 'interrupt ring');
  mon.grant(0x20_000n, 2048, 'read', 'ctx 0 TX buffer seq 3');
  mon.grant(0x20_800n, 2048, 'write', 'ctx 0 RX buffer seq 7');
  mon.grant(0x30_000n, 2048, 'read', 'ctx 1 TX buffer seq 1');
  return mon;
}

/** Lines of [addr, addr+len) the side fails, as line addresses. */
function failedLines(inj: FaultInjector, addr: bigint, len: number, dir: 'read' | 'write', side = 'rtl'): bigint[] {
  return inj
    .side(side)
    .failures(addr, len, dir)
    .map((f) => f.line);
}

describe('fault injector', () => {
  it('with no rule on answers OKAY at once', () => {
    const inj = new FaultInjector(1);
    expect(inj.enabled).toBe(false);
    expect(inj.side('rtl').readResponse(0x1000n, 8)).toBe(RESP.OKAY);
    expect(inj.side('rtl').failures(0x1000n, 4096, 'write')).toHaveLength(0);
    expect(inj.log).toEqual([]);
  });

  it('decides per 64-byte line, whatever the access is cut into: beats and a whole buffer agree (seeded)', async () => {
    await withSeed((rng, seed) => {
      const inj = new FaultInjector(seed);
      inj.add({ rate: 0.3 });
      const base = 0x40_000n + BigInt(rng.int(64));
      const len = 1500;
      const whole = failedLines(inj, base, len, 'read', 'model');
      // The same bytes as 8-byte aligned beats, in a random order.
      const beats: bigint[] = [];
      for (let a = base & ~7n; a < base + BigInt(len); a += 8n) beats.push(a);
      for (let i = beats.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [beats[i], beats[j]] = [beats[j], beats[i]];
      }
      const byBeat = new Set<bigint>();
      for (const a of beats) if (inj.side('rtl').readResponse(a, 8) !== RESP.OKAY) byBeat.add(a & ~BigInt(FAULT_LINE_BYTES - 1));
      expect([...byBeat].sort((a, b) => (a < b ? -1 : 1))).toEqual(whole);
      // Reads and writes of a line are drawn apart; the same seed gives the same lines.
      const again = new FaultInjector(seed);
      again.add({ rate: 0.3 });
      expect(failedLines(again, base, len, 'read')).toEqual(whole);
      expect(faultDraw(seed, 0, 0x40_000n, 'read')).toBe(faultDraw(seed, 0, 0x40_000n, 'read'));
    });
  });

  it('fails about `rate` of the lines, and a new rule fails other lines (seeded)', async () => {
    await withSeed((_rng, seed) => {
      const inj = new FaultInjector(seed);
      const a = inj.add({ rate: 0.25 });
      const lines = 8000;
      const first = failedLines(inj, 0n, lines * FAULT_LINE_BYTES, 'write');
      expect(first.length / lines).toBeGreaterThan(0.22);
      expect(first.length / lines).toBeLessThan(0.28);
      inj.remove(a);
      expect(failedLines(inj, 0n, lines * FAULT_LINE_BYTES, 'write')).toEqual([]);
      inj.add({ rate: 0.25 });
      const second = failedLines(inj, 0n, lines * FAULT_LINE_BYTES, 'write');
      const shared = second.filter((l) => first.includes(l)).length;
      // Independent draws share about rate^2 of the lines, not all of them.
      expect(shared / lines).toBeLessThan(0.1);
    });
  });

  it('selects by context and kind of transfer, known from the grants and the direction', () => {
    const inj = new FaultInjector(7, grants());
    inj.add({ ctx: 0, kind: 'payload-write' });
    const rtl = inj.side('rtl');
    expect(rtl.writeResponse(0x20_800n, 8)).toBe(RESP.SLVERR); // ctx 0 RX buffer
    expect(rtl.readResponse(0x20_000n, 8)).toBe(RESP.OKAY); // ctx 0 TX buffer: a payload read
    expect(rtl.readResponse(0x30_000n, 8)).toBe(RESP.OKAY); // ctx 1
    inj.clear();
    inj.add({ ctx: 1, kind: 'record', resp: 'DECERR' });
    // Records of 8 contexts share a line: only ctx 1's bytes fail.
    expect(rtl.writeResponse(0x12_00cn, 4)).toBe(RESP.DECERR); // ctx 1's RX half
    expect(rtl.writeResponse(0x12_000n, 4)).toBe(RESP.OKAY);
    expect(rtl.writeResponse(0x12_000n, 8, [false, false, false, false, false, false, false, false])).toBe(RESP.OKAY);
    inj.clear();
    inj.add({ kind: ['desc-fetch', 'intr-entry'] });
    expect(rtl.readResponse(0x10_040n, 8)).toBe(RESP.SLVERR); // TX ring read
    expect(rtl.writeResponse(0x10_040n, 1)).toBe(RESP.OKAY); // TX ring write: a write-back
    expect(rtl.writeResponse(0x13_000n, 8)).toBe(RESP.SLVERR);
    expect(rtl.readResponse(0x50_000n, 8)).toBe(RESP.OKAY); // no grant: no kind
    const summary = inj.summary('rtl');
    expect(summary).toContainEqual({ kind: 'desc-fetch', engine: 'tx', ctx: 0, count: 1 });
    expect(summary).toContainEqual({ kind: 'intr-entry', engine: 'intr', ctx: null, count: 1 });
    expect(summary).toContainEqual({ kind: 'record', engine: 'rx', ctx: 1, count: 1 });
  });

  it('classifies every kind of transfer from region and direction', () => {
    const mon = grants();
    const kinds = new Set<string>();
    for (const [addr, dir] of [
      [0x10_000n, 'read'],
      [0x10_000n, 'write'],
      [0x11_000n, 'read'],
      [0x20_000n, 'read'],
      [0x20_800n, 'write'],
      [0x12_000n, 'write'],
      [0x13_000n, 'write'],
    ] as const) {
      for (const r of mon.regionsAt(addr, 8, dir)) {
        const t = transferOf(r, dir, addr);
        if (t) kinds.add(t.kind);
      }
    }
    expect([...kinds].sort()).toEqual([...TRANSFER_KINDS].sort());
  });

  it('selects by range (whole lines) and direction; `once` fails each line once per side', () => {
    const inj = new FaultInjector(3);
    inj.add({ range: { addr: 0x1000n, len: 0x40 }, direction: 'write' });
    expect(failedLines(inj, 0xfc0n, 0xc0, 'write')).toEqual([0x1000n]);
    expect(failedLines(inj, 0xfc0n, 0xc0, 'read')).toEqual([]);
    inj.clear();
    inj.add({ range: { addr: 0x2000n, len: 0x80 }, once: true });
    expect(failedLines(inj, 0x2000n, 0x80, 'write', 'rtl')).toEqual([0x2000n, 0x2040n]);
    expect(failedLines(inj, 0x2000n, 0x80, 'write', 'rtl')).toEqual([]);
    expect(failedLines(inj, 0x2000n, 0x80, 'write', 'model')).toEqual([0x2000n, 0x2040n]);
    expect(inj.log.slice(1).map((f) => f.side)).toEqual(['rtl', 'rtl', 'model', 'model']);
  });

  it('refuses bad rules with what to fix', () => {
    const inj = new FaultInjector(1);
    expect(() => inj.add({ rate: 1.5 })).toThrow(/rate 1.5: a rate is between 0 and 1/);
    expect(() => inj.add({ kind: 'payload' as never })).toThrow(/kind 'payload': use one of desc-fetch/);
    expect(() => inj.add({ ctx: 0 })).toThrow(/needs a RegionSource/);
    expect(() => inj.add({ resp: 'OKAY' as never })).toThrow(/use SLVERR or DECERR/);
    expect(() => inj.remove(9)).toThrow(/not on/);
    expect(() => new FaultInjector(-1)).toThrow(/fault seed -1/);
  });
});
