/**
 * The VMM's invariants (issue 12, written out in testbench/vmm/README.md), checked from the outside:
 * from the VMM's views, the page pool, host memory and the DMA monitor, never from the VMM's own
 * bookkeeping alone, so a VMM call that breaks one is caught at the call, not when a DMA later lands
 * in the wrong page. Randomized tests run `vmmInvariantViolations` after every VMM call
 * (`checkedVmm`); the DMA monitor then only has to catch what the NIC does.
 */
import { DESCRIPTOR, decodeDescriptor } from '../../hdl/descriptors.js';
import type { DmaMonitor } from '../host/dma-monitor.js';
import { formatAddr, formatOwner, type HostMemory, PAGE_SIZE, pageBase, pageOffset, pfnOf } from '../host/memory.js';
import type { ContextView, RingView, Vmm } from './vmm.js';

/** One broken invariant: its name (as in the README) and what was found. */
export interface InvariantViolation {
  readonly invariant:
    | 'pins-match-shadow'
    | 'pinned-page-owner'
    | 'held-pages'
    | 'grant-not-held'
    | 'mapping'
    | 'rx-buffer-writable'
    | 'ring-contents';
  readonly message: string;
}

const zeroDescriptor = new Uint8Array(DESCRIPTOR.bytes);
const zeroView = new DataView(zeroDescriptor.buffer);
const D = DESCRIPTOR.fields;
/** One DataView per page buffer (pages live as long as their memory). */
const pageViews = new WeakMap<Uint8Array, DataView>();
function pageView(data: Uint8Array): DataView {
  let v = pageViews.get(data);
  if (v === undefined) {
    v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    pageViews.set(data, v);
  }
  return v;
}

function ringPages(r: RingView): bigint[] {
  const first = pfnOf(r.base);
  const n = Math.ceil((r.size * DESCRIPTOR.bytes) / PAGE_SIZE);
  return Array.from({ length: n }, (_, i) => first + BigInt(i));
}

function contexts(vmm: Vmm): ContextView[] {
  const out: ContextView[] = [];
  for (let ctx = 0; ctx < vmm.params.N_CTX; ctx++) {
    const v = vmm.contextOf(ctx);
    if (v) out.push(v);
  }
  return out;
}

/** Every invariant the VMM breaks now, empty when it keeps them all. */
export function vmmInvariantViolations(vmm: Vmm, monitor?: DmaMonitor): InvariantViolation[] {
  const out: InvariantViolation[] = [];
  const bad = (invariant: InvariantViolation['invariant'], message: string) => out.push({ invariant, message });
  const memory: HostMemory = vmm.memory;
  const ctxs = contexts(vmm);
  const page = (pfn: bigint) => `page ${formatAddr(pageBase(pfn))}`;

  // Pins: exactly one reference per outstanding shadow entry on the page (none with protection off),
  // and the page still belongs to the context's owner (it never changed hands while pinned: P-4).
  const expectedPins = new Map<bigint, number>();
  for (const c of ctxs) {
    for (const r of [c.tx, c.rx]) {
      for (const e of r?.entries ?? []) {
        if (e.pinned) expectedPins.set(e.pfn, (expectedPins.get(e.pfn) ?? 0) + 1);
        if (e.pinned && memory.ownerOf(e.pfn) !== c.owner) {
          bad(
            'pinned-page-owner',
            `${page(e.pfn)} holds seq ${e.seq} of context ${c.ctx} but is owned by ${formatOwner(memory.ownerOf(e.pfn))}, not guest ${c.owner}`,
          );
        }
        if (e.pinned !== vmm.protection)
          bad(
            'pins-match-shadow',
            `seq ${e.seq} of context ${c.ctx} is ${e.pinned ? '' : 'not '}pinned with protection ${vmm.protection ? 'on' : 'off'}`,
          );
      }
    }
  }
  const pinned = vmm.pages.pinnedView();
  const pinCounts = (pfn: bigint) => {
    const have = pinned.get(pfn) ?? 0;
    const want = expectedPins.get(pfn) ?? 0;
    if (have !== want)
      bad('pins-match-shadow', `${page(pfn)} holds ${have} pin(s) for ${want} outstanding shadow entr${want === 1 ? 'y' : 'ies'}`);
  };
  // Every page either side counts, once.
  for (const pfn of pinned.keys()) pinCounts(pfn);
  for (const pfn of expectedPins.keys()) if (!pinned.has(pfn)) pinCounts(pfn);

  // Held pages: every started context's ring pages, the interrupt ring and the completion records,
  // owned by the hypervisor; nothing else.
  const held = vmm.pages.heldView();
  const expectedHeld = new Set<bigint>();
  for (const c of ctxs) {
    for (const [r, what] of [
      [c.tx, 'TX'],
      [c.rx, 'RX'],
    ] as const) {
      if (!r) continue;
      for (const pfn of ringPages(r)) {
        expectedHeld.add(pfn);
        const as = held.get(pfn);
        if (as !== `context ${c.ctx}'s ${what} ring`) {
          bad('held-pages', `${page(pfn)} is context ${c.ctx}'s ${what} ring but is ${as === undefined ? 'not held' : `held as ${as}`}`);
        }
        for (const [g, access] of memory.mappingsOf(pfn)) {
          if (g !== c.owner || access !== 'ro')
            bad('mapping', `${page(pfn)} (context ${c.ctx}'s ${what} ring) is mapped ${access} into guest ${g}`);
        }
      }
    }
  }
  for (const [pfn, as] of held) {
    if (memory.ownerOf(pfn) !== 'hypervisor')
      bad('held-pages', `${page(pfn)} is held as ${as} but owned by ${formatOwner(memory.ownerOf(pfn))}`);
    if (expectedHeld.has(pfn)) continue;
    if (as !== 'the interrupt ring' && as !== 'the completion records')
      bad('held-pages', `${page(pfn)} is held as ${as}, which no live context uses`);
    // (Completion records are typed `hypervisor`: the type check below covers them.)
    else if (memory.typeOf(pfn) === 'ring' && memory.mappingsOf(pfn).size > 0)
      bad('mapping', `${page(pfn)} (${as}) is mapped into a guest`);
  }

  // Every byte the NIC may reach by DMA lies in a page that cannot change hands.
  if (monitor && vmm.protection) {
    for (const g of monitor.grants()) {
      const last = pfnOf(g.addr + BigInt(g.len - 1));
      for (let pfn = pfnOf(g.addr); pfn <= last; pfn++) {
        if ((pinned.get(pfn) ?? 0) === 0 && !held.has(pfn)) {
          bad(
            'grant-not-held',
            `grant '${g.purpose}' covers ${page(pfn)}, which is neither pinned nor held: it could be freed or given away`,
          );
        }
      }
    }
  }

  // Mappings by page type: no guest writes a page table (P-3); I/O, completion records and free
  // pages are mapped nowhere; a mailbox page only into its context's owner (C-4).
  memory.forEachMapped((p) => {
    for (const [g, access] of p.mappings) {
      if (p.owner === null) bad('mapping', `free ${page(p.pfn)} is mapped ${access} into guest ${g}`);
      else if (p.type === 'page-table' && access === 'rw') bad('mapping', `page-table ${page(p.pfn)} is mapped rw into guest ${g}`);
      else if (p.type === 'io' || p.type === 'hypervisor') bad('mapping', `${p.type} ${page(p.pfn)} is mapped ${access} into guest ${g}`);
    }
  });
  // The views taken above (each contextOf copies a context's shadow entries): one per check.
  const byCtx = new Map(ctxs.map((c) => [c.ctx, c]));
  for (let ctx = 0; ctx < vmm.params.N_CTX; ctx++) {
    const pfn = pfnOf(vmm.mailboxAddr(ctx));
    const c = byCtx.get(ctx);
    for (const [g, access] of memory.mappingsOf(pfn)) {
      if (!c || g !== c.owner || !c.mailboxMapped || access !== 'rw') {
        bad('mapping', `mailbox page ${ctx} is mapped ${access} into guest ${g} (${c ? `owner guest ${c.owner}` : 'context unassigned'})`);
      }
    }
  }

  // A posted RX buffer stays writable by its guest: the NIC will write it (protectPage is refused).
  if (vmm.protection) {
    for (const c of ctxs) {
      for (const e of c.rx?.entries ?? []) {
        if (memory.accessOf(e.pfn, c.owner) !== 'rw')
          bad('rx-buffer-writable', `RX buffer seq ${e.seq} of context ${c.ctx} is in ${page(e.pfn)}, which guest ${c.owner} cannot write`);
      }
    }
  }

  // The rings hold what the VMM validated: nothing overwrote a descriptor in flight (the NIC writes
  // back RX lengths only), and no more are in flight than the ring holds.
  for (const c of ctxs) {
    for (const r of [c.tx, c.rx]) {
      if (!r) continue;
      if (r.outstanding > r.size || r.entries.length !== r.outstanding) {
        bad(
          'ring-contents',
          `context ${c.ctx}: ${r.outstanding} outstanding for ${r.entries.length} shadow entries in a ring of ${r.size}`,
        );
      }
      for (const e of r.entries) {
        // Read in place: a descriptor never straddles a page, and a page never written reads as zeros.
        const at = r.base + BigInt((e.seq % r.size) * DESCRIPTOR.bytes);
        const data = memory.pageData(pfnOf(at));
        const off = data ? pageOffset(at) : 0;
        const v = data ? pageView(data) : zeroView;
        if (
          v.getBigUint64(off + D.addr.offset, true) === e.addr &&
          v.getUint32(off + D.seq.offset, true) === e.seq &&
          (r !== c.tx || v.getUint16(off + D.len.offset, true) === e.len)
        )
          continue;
        const d = decodeDescriptor(data ?? zeroDescriptor, off);
        bad(
          'ring-contents',
          `context ${c.ctx} seq ${e.seq}: the ring holds addr ${formatAddr(d.addr)} seq ${d.seq} len ${d.len}, the VMM validated ${formatAddr(e.addr)} len ${e.len}`,
        );
      }
    }
  }
  return out;
}

/** Throws, naming every broken invariant and `after` (the call that broke them), unless all hold. */
export function assertVmmInvariants(vmm: Vmm, monitor: DmaMonitor | undefined, after: string): void {
  const v = vmmInvariantViolations(vmm, monitor);
  if (v.length === 0) return;
  throw new Error(`VMM invariants broken after ${after}:\n${v.map((x) => `  ${x.invariant}: ${x.message}`).join('\n')}`);
}

function describeCall(name: string, args: readonly unknown[]): string {
  const arg = (a: unknown) => (typeof a === 'bigint' ? `0x${a.toString(16)}` : typeof a === 'object' ? '{...}' : String(a));
  return `vmm.${name}(${args.map(arg).join(', ')})`;
}

/**
 * The VMM behind a proxy that checks every invariant after each of its public calls returns (for
 * an async call, once it settles). Calls made from inside the VMM are not checked one by one, so a
 * VMM may be in the middle of a call when another starts: the invariants hold at every await too.
 */
export function checkedVmm(vmm: Vmm, monitor?: DmaMonitor): Vmm {
  return new Proxy(vmm, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return (...args: unknown[]) => {
        const r: unknown = Reflect.apply(v, target, args);
        const check = () => assertVmmInvariants(target, monitor, describeCall(prop, args));
        if (r instanceof Promise) {
          return r.then((x: unknown) => {
            check();
            return x;
          });
        }
        check();
        return r;
      };
    },
  });
}
