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
/** The largest address a Number holds exactly. */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
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

/** The descriptor at `off` holds buffer address `addr`: compared as Numbers when both are exact, else as bigints. */
function descriptorAddrIs(v: DataView, off: number, addr: bigint): boolean {
  const hi = v.getUint32(off + D.addr.offset + 4, true);
  if (hi < 0x20_0000 && addr <= MAX_SAFE) return v.getUint32(off + D.addr.offset, true) + hi * 2 ** 32 === Number(addr);
  return v.getBigUint64(off + D.addr.offset, true) === addr;
}

/** Pages a ring spans. */
function ringPageCount(r: RingView): number {
  return Math.ceil((r.size * DESCRIPTOR.bytes) / PAGE_SIZE);
}

/** What the page pool must hold a context's ring pages as (the strings, made once per context). */
const ringLabels: { TX: string; RX: string }[] = [];
function ringLabel(ctx: number, what: 'TX' | 'RX'): string {
  let l = ringLabels[ctx];
  if (l === undefined) {
    l = { TX: `context ${ctx}'s TX ring`, RX: `context ${ctx}'s RX ring` };
    ringLabels[ctx] = l;
  }
  return l[what];
}

/** The mailbox page of each context, by VMM (fixed by its BAR0 base, which never moves). */
const mailboxPages = new WeakMap<Vmm, number[]>();
function mailboxPfns(vmm: Vmm): number[] {
  let m = mailboxPages.get(vmm);
  if (m === undefined) {
    m = Array.from({ length: vmm.params.N_CTX }, (_, ctx) => Number(pfnOf(vmm.mailboxAddr(ctx))));
    mailboxPages.set(vmm, m);
  }
  return m;
}

/**
 * Scratch tables of one check, by page number as a Number (bigint keys hash slowly), emptied at its
 * start: the check runs after every VMM call and is synchronous, so one set serves them all.
 */
const expectedPins = new Map<number, number>();
const expectedHeld = new Set<number>();
const byCtx: (ContextView | undefined)[] = [];

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
  const page = (pfn: bigint | number) => `page ${formatAddr(pageBase(BigInt(pfn)))}`;

  // Pins: exactly one reference per outstanding shadow entry on the page (none with protection off),
  // and the page still belongs to the context's owner (it never changed hands while pinned: P-4).
  expectedPins.clear();
  for (const c of ctxs) {
    for (const r of [c.tx, c.rx]) {
      for (const e of r?.entries ?? []) {
        if (e.pinned) {
          const k = Number(e.pfn);
          expectedPins.set(k, (expectedPins.get(k) ?? 0) + 1);
        }
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
  const pinMismatch = (pfn: bigint | number, have: number, want: number) =>
    bad('pins-match-shadow', `${page(pfn)} holds ${have} pin(s) for ${want} outstanding shadow entr${want === 1 ? 'y' : 'ies'}`);
  // Every page either side counts, once: the pinned pages first, each taken out of expectedPins, and
  // then what is left there, pages with shadow entries and no pin at all.
  for (const [pfn, have] of pinned) {
    const k = Number(pfn);
    const want = expectedPins.get(k) ?? 0;
    expectedPins.delete(k);
    if (have !== want) pinMismatch(pfn, have, want);
  }
  for (const [k, want] of expectedPins) pinMismatch(k, 0, want);

  // Held pages: every started context's ring pages, the interrupt ring and the completion records,
  // owned by the hypervisor; nothing else.
  const held = vmm.pages.heldView();
  expectedHeld.clear();
  for (const c of ctxs) {
    for (let side = 0; side < 2; side++) {
      const r = side === 0 ? c.tx : c.rx;
      if (!r) continue;
      const what = side === 0 ? 'TX' : 'RX';
      const label = ringLabel(c.ctx, what);
      const first = pfnOf(r.base);
      const n = ringPageCount(r);
      for (let i = 0; i < n; i++) {
        const pfn = first + BigInt(i);
        expectedHeld.add(Number(pfn));
        const as = held.get(pfn);
        if (as !== label) {
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
    if (expectedHeld.has(Number(pfn))) continue;
    if (as !== 'the interrupt ring' && as !== 'the completion records')
      bad('held-pages', `${page(pfn)} is held as ${as}, which no live context uses`);
    // (Completion records are typed `hypervisor`: the type check below covers them.)
    else if (memory.typeOf(pfn) === 'ring' && memory.mappingsOf(pfn).size > 0)
      bad('mapping', `${page(pfn)} (${as}) is mapped into a guest`);
  }

  // Every byte the NIC may reach by DMA lies in a page that cannot change hands. Every page some
  // grant covers is looked at once (the monitor's pages of live grants); only when one fails are the
  // grants walked one by one, to name each grant and page that fails, in grant order.
  if (monitor && vmm.protection) {
    let allHeld = true;
    for (const k of monitor.grantedPages()) {
      const pfn = BigInt(k);
      if ((pinned.get(pfn) ?? 0) === 0 && !held.has(pfn)) {
        allHeld = false;
        break;
      }
    }
    if (!allHeld) {
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
  }

  // Mappings by page type: no guest writes a page table (P-3); I/O, completion records and free
  // pages are mapped nowhere; a mailbox page only into its context's owner (C-4). An owned page of
  // another type may be mapped any way here (rings and mailboxes are checked by owner above and below).
  memory.forEachMapped((owner, type, mappings, pfn) => {
    if (owner !== null && type !== 'page-table' && type !== 'io' && type !== 'hypervisor') return;
    for (const [g, access] of mappings) {
      if (owner === null) bad('mapping', `free ${page(pfn)} is mapped ${access} into guest ${g}`);
      else if (type === 'page-table' && access === 'rw') bad('mapping', `page-table ${page(pfn)} is mapped rw into guest ${g}`);
      else if (type === 'io' || type === 'hypervisor') bad('mapping', `${type} ${page(pfn)} is mapped ${access} into guest ${g}`);
    }
  });
  // The views taken above (each contextOf copies a context's shadow entries): one per check.
  byCtx.length = 0;
  for (const c of ctxs) byCtx[c.ctx] = c;
  const mailboxes = mailboxPfns(vmm);
  for (let ctx = 0; ctx < vmm.params.N_CTX; ctx++) {
    const c = byCtx[ctx];
    for (const [g, access] of memory.mappingsOf(mailboxes[ctx])) {
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
      // Slots as page and offset in Numbers (a page number is below 2^52, a ring's bytes fit an int).
      const ringPfn = Number(pfnOf(r.base));
      const ringOffset = pageOffset(r.base);
      for (const e of r.entries) {
        // Read in place: a descriptor never straddles a page, and a page never written reads as zeros.
        const at = ringOffset + (e.seq % r.size) * DESCRIPTOR.bytes;
        const data = memory.pageData(ringPfn + Math.floor(at / PAGE_SIZE));
        const off = data ? at % PAGE_SIZE : 0;
        const v = data ? pageView(data) : zeroView;
        if (
          descriptorAddrIs(v, off, e.addr) &&
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
  if (v.length > 0) throw invariantsBroken(v, after);
}

function invariantsBroken(v: readonly InvariantViolation[], after: string): Error {
  return new Error(`VMM invariants broken after ${after}:\n${v.map((x) => `  ${x.invariant}: ${x.message}`).join('\n')}`);
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
  // One wrapper per method, made at its first call (not at every property read); the call is only
  // described in words when an invariant broke.
  const wrappers = new Map<string, { method: (...args: unknown[]) => unknown; wrapper: (...args: unknown[]) => unknown }>();
  const check = (prop: string, args: readonly unknown[]) => {
    const v = vmmInvariantViolations(vmm, monitor);
    if (v.length > 0) throw invariantsBroken(v, describeCall(prop, args));
  };
  return new Proxy(vmm, {
    get(target, prop, receiver) {
      const v: unknown = Reflect.get(target, prop, receiver);
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      const known = wrappers.get(prop);
      if (known?.method === v) return known.wrapper;
      const method = v as (...args: unknown[]) => unknown;
      const wrapper = (...args: unknown[]) => {
        const r: unknown = Reflect.apply(method, target, args);
        if (r instanceof Promise) {
          return r.then((x: unknown) => {
            check(prop, args);
            return x;
          });
        }
        check(prop, args);
        return r;
      };
      wrappers.set(prop, { method, wrapper });
      return wrapper;
    },
  });
}
