import { describe, expect, it } from 'vitest';
import { DmaMonitor } from '../../testbench/host/dma-monitor.js';
import { HostMemory, PAGE_SIZE, pageBase } from '../../testbench/host/memory.js';

describe('host memory', () => {
  it('is sparse, zero until written, and spans page boundaries', () => {
    const m = new HostMemory();
    const top = (1n << 64n) - 8n;
    expect(Array.from(m.read(top, 8))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const addr = pageBase(5n) + BigInt(PAGE_SIZE - 3);
    m.write(addr, Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(Array.from(m.read(addr - 1n, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 0]);
    m.writeU64(top, 0x1122_3344_5566_7788n);
    expect(m.readU64(top)).toBe(0x1122_3344_5566_7788n);
    expect(m.readU32(top)).toBe(0x5566_7788);
    expect(() => m.write(top + 4n, new Uint8Array(8))).toThrow(/past the top/);
  });

  it('writes only the bytes whose mask is set', () => {
    const m = new HostMemory();
    m.write(0x1000n, Uint8Array.of(9, 9, 9, 9));
    m.write(0x1000n, Uint8Array.of(1, 2, 3, 4), [true, false, true, false]);
    expect(Array.from(m.read(0x1000n, 4))).toEqual([1, 9, 3, 9]);
  });

  it('keeps owner, type and per-guest mappings per page', () => {
    const m = new HostMemory();
    expect(m.info(7n)).toMatchObject({ owner: null, type: 'normal' });
    m.setPage(7n, 3, 'page-table');
    m.map(7n, 3, 'ro');
    expect(m.info(7n)).toMatchObject({ owner: 3, type: 'page-table' });
    expect(m.accessOf(7n, 3)).toBe('ro');
    expect(m.accessOf(7n, 4)).toBeUndefined();
    m.write(pageBase(7n), Uint8Array.of(1));
    m.clearPage(7n);
    expect(m.read(pageBase(7n), 1)[0]).toBe(0);
  });

  it('reads into a buffer across pages, written or not, with the same range checks as read', () => {
    const m = new HostMemory();
    const addr = pageBase(9n) - 2n;
    m.write(addr, Uint8Array.of(1, 2));
    m.write(pageBase(9n) + 1n, Uint8Array.of(7));
    const out = new Uint8Array(40).fill(0xee);
    m.readInto(addr, out);
    expect(Array.from(out.subarray(0, 4))).toEqual([1, 2, 0, 7]);
    expect(out.subarray(4).every((b) => b === 0)).toBe(true);
    // Page numbers as bigints or Numbers name the same page.
    expect(m.pageData(9) === m.pageData(9n) && m.pageData(9) !== null).toBe(true);
    expect(() => m.readInto((1n << 64n) - 2n, new Uint8Array(4))).toThrow(/past the top/);
    expect(() => m.read(0n, 2 ** 64 + 4096)).toThrow(/past the top/);
  });
});

describe('DMA monitor', () => {
  function setup() {
    const mem = new HostMemory();
    mem.setPage(0x10n, 1, 'normal');
    mem.setPage(0x11n, 2, 'normal');
    return { mem, mon: new DmaMonitor(mem, { log: true }) };
  }

  it('finds the regions an access overlaps page by page, and the last revoked ones until a new grant covers them', () => {
    const { mon } = setup();
    const ring = mon.grant(0x10ff0n, 0x20, 'read-write', 'ctx 1 RX ring');
    const buf = mon.grant(0x11100n, 0x100, 'write', 'ctx 1 RX buffer seq 3');
    const kinds = (addr: bigint, len: number, dir?: 'read' | 'write', recent = false) =>
      mon.regionsAt(addr, len, dir, { recent }).map((r) => r.kind);
    expect(kinds(0x10ff8n, 4)).toEqual(['rx-ring']);
    expect(kinds(0x11008n, 8)).toEqual(['rx-ring']);
    expect(kinds(0x11010n, 0xf0)).toEqual([]);
    expect(kinds(0x11000n, 0x200)).toEqual(['rx-ring', 'rx-buffer']);
    expect(kinds(0x11000n, 0x200, 'read')).toEqual(['rx-ring']);
    // A zero-length access is in no region at a region's first byte, and in it past that.
    expect(kinds(0x11100n, 0)).toEqual([]);
    expect(kinds(0x11101n, 0)).toEqual(['rx-buffer']);
    mon.revoke(buf);
    mon.revoke(ring);
    expect(kinds(0x11000n, 0x200)).toEqual([]);
    expect(kinds(0x11000n, 0x200, undefined, true)).toEqual(['rx-ring', 'rx-buffer']);
    mon.grant(0x11100n, 0x10, 'write', 'ctx 2 RX buffer seq 0');
    expect(kinds(0x11180n, 8, undefined, true)).toEqual([]);
    expect(kinds(0x11008n, 8, undefined, true)).toEqual(['rx-ring']);
  });

  it('passes accesses inside grants and performs them', () => {
    const { mem, mon } = setup();
    mon.grant(0x10_100n, 64, 'write', 'ctx 0 RX buffer seq 1');
    mon.grant(0x10_200n, 32, 'read', 'ctx 0 TX buffer seq 1');
    mon.dmaWrite(0x10_100n, new Uint8Array(64).fill(7));
    mem.write(0x10_200n, new Uint8Array(32).fill(5));
    expect(Array.from(mon.dmaRead(0x10_200n, 32))).toEqual(new Array(32).fill(5));
    expect(mon.violations).toEqual([]);
    expect(() => mon.assertClean()).not.toThrow();
    expect(mon.accesses).toBe(2);
    expect(mon.log.map((a) => a.direction)).toEqual(['write', 'read']);
  });

  it('flags exactly the bytes outside the grant, naming page and owner', () => {
    const { mem, mon } = setup();
    mon.grant(0x10_ffcn, 4, 'write', 'ctx 0 RX buffer seq 1');
    // 8 bytes: 4 granted, then 4 in the next page, owned by guest 2.
    mon.dmaWrite(0x10_ffcn, new Uint8Array(8).fill(1));
    expect(mon.violations).toHaveLength(1);
    const v = mon.violations[0];
    expect(v).toMatchObject({ access: 1, direction: 'write', addr: 0x10_ffcn, len: 8, pfn: 0x11n, owner: 2, type: 'normal' });
    expect(v.bytes).toEqual([{ addr: 0x11_000n, len: 4 }]);
    expect(v.message).toMatch(/page 0x000011000 \(normal, owned by guest 2\)/);
    expect(() => mon.assertClean()).toThrow(/1 access\(es\) outside what the VMM granted/);
    // The write still happened: the test sees what the NIC did.
    expect(mem.read(0x11_000n, 1)[0]).toBe(1);
  });

  it('checks the direction: a read-only grant does not allow a write', () => {
    const { mon } = setup();
    mon.grant(0x10_000n, 16, 'read', 'ctx 1 TX buffer seq 4');
    mon.dmaWrite(0x10_000n, new Uint8Array(2));
    expect(mon.violations[0].message).toMatch(/granted only for 'ctx 1 TX buffer seq 4' in another direction/);
  });

  it('ignores bytes masked out by wstrb', () => {
    const { mon } = setup();
    mon.grant(0x10_000n, 4, 'write', 'buffer');
    mon.dmaWrite(0x10_000n, new Uint8Array(8), [true, true, true, true, false, false, false, false]);
    expect(mon.violations).toEqual([]);
    mon.dmaWrite(0x10_000n, new Uint8Array(8), [false, false, false, false, false, true, false, true]);
    expect(mon.violations[0].bytes).toEqual([
      { addr: 0x10_005n, len: 1 },
      { addr: 0x10_007n, len: 1 },
    ]);
  });

  it('stops allowing a region once revoked, and overlapping grants count separately', () => {
    const { mon } = setup();
    const a = mon.grant(0x10_000n, 16, 'read', 'seq 1');
    const b = mon.grant(0x10_008n, 16, 'read', 'seq 2');
    mon.revoke(a);
    mon.dmaRead(0x10_008n, 16);
    expect(mon.violations).toEqual([]);
    mon.dmaRead(0x10_000n, 16);
    expect(mon.takeViolations()[0].bytes).toEqual([{ addr: 0x10_000n, len: 8 }]);
    mon.revoke(b);
    expect(() => mon.revoke(b)).toThrow(/not active/);
    expect(mon.grants()).toEqual([]);
  });
});
