import { describe, expect, it } from 'vitest';
import { HostMemory } from '../../testbench/host/memory.js';
import { PhysicalPages } from '../../testbench/vmm/physical-pages.js';
import { SeqSpace } from '../../testbench/vmm/seq.js';

describe('sequence arithmetic', () => {
  it('wraps at SEQ_W bits in both directions', () => {
    const s = new SeqSpace(4);
    expect([s.add(15, 1), s.add(0, -1), s.add(3, 40)]).toEqual([0, 15, 11]);
    expect([s.diff(1, 15), s.diff(15, 1)]).toEqual([2, 14]);
    const w = new SeqSpace(32);
    expect([w.add(0xffff_ffff, 1), w.diff(0, 0xffff_ffff)]).toEqual([0, 1]);
    expect(() => s.check(16, 'seq')).toThrow(/seq 16 must be an integer in 0..15 \(SEQ_W=4\)/);
  });
});

describe('physical pages', () => {
  it('allocates contiguous zeroed runs, maps them by type, and takes freed pages back', () => {
    const mem = new HostMemory();
    const pages = new PhysicalPages(mem, { firstPfn: 0x10n, pageCount: 8 });
    const a = pages.allocate(1, 'normal', 3);
    if (!a.ok) throw new Error(a.message);
    expect(a.pfns).toEqual([0x10n, 0x11n, 0x12n]);
    expect(mem.accessOf(0x10n, 1)).toBe('rw');
    const pt = pages.allocate(1, 'page-table');
    expect(pt.ok && mem.accessOf(pt.pfns[0], 1)).toBe('ro');
    mem.write(0x11_000n, Uint8Array.of(9));
    expect(pages.release(0x11n, 2)).toMatchObject({ ok: false, reason: 'not-page-owner' });
    expect(pages.release(0x11n, 1).ok).toBe(true);
    expect(pages.release(0x11n)).toMatchObject({ ok: false, reason: 'not-page-owner' });
    expect(pages.allocate(2, 'normal', 5)).toMatchObject({ ok: false, reason: 'out-of-memory' });
    const again = pages.allocate(2, 'normal', 1);
    // Next-fit: the freed page is not handed out again at once.
    expect(again.ok && again.pfns[0]).toBe(0x14n);
    const wrap = pages.allocate(2, 'normal', 3);
    expect(wrap.ok && wrap.pfns).toEqual([0x15n, 0x16n, 0x17n]);
    const last = pages.allocate(2, 'normal', 1);
    expect(last.ok && last.pfns[0]).toBe(0x11n);
    expect(mem.read(0x11_000n, 1)[0]).toBe(0);
    expect(pages.freeCount).toBe(0);
  });

  it('counts references and refuses to move a referenced page; unbalanced unpins are a bug', () => {
    const mem = new HostMemory();
    const pages = new PhysicalPages(mem, { firstPfn: 0x10n, pageCount: 2 });
    const a = pages.allocate(1, 'normal');
    if (!a.ok) throw new Error(a.message);
    const p = a.pfns[0];
    pages.pin(p);
    pages.pin(p);
    expect(pages.transfer(p, 1, 2)).toMatchObject({ ok: false, reason: 'page-pinned' });
    pages.unpin(p);
    expect(pages.release(p)).toMatchObject({ ok: false, reason: 'page-pinned' });
    pages.unpin(p);
    expect(() => pages.unpin(p)).toThrow(/holds no reference/);
    expect(pages.transfer(p, 1, 2).ok).toBe(true);
    expect([mem.ownerOf(p), mem.accessOf(p, 1), mem.accessOf(p, 2)]).toEqual([2, undefined, 'rw']);
  });
});
