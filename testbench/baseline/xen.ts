/**
 * A Xen-style software-virtualized network path, the baseline CDNA is measured against: a driver
 * domain owns ONE context of the NIC (through the VMM and a GuestDriver, like any context owner),
 * bridges frames by MAC, and serves one back-end per guest; each guest has only a front-end (a
 * shared request/response ring, grant-table entries and an event channel), never a NIC context.
 *
 * Transmit: the front-end puts the frame in one of its pages, grants it, posts a request and
 * notifies (one event per batch); the back-end takes the requests, maps the granted pages (one
 * hypercall per batch; `tx: 'copy'` copies instead), looks each frame up in the bridge and hands it
 * to the physical driver; when the NIC is done it unmaps (TLB flush), posts responses and notifies.
 * Receive: the physical driver takes the frames from its context, the bridge finds the guest, and
 * the back-end flips a page to the guest (`rx: 'flip'`, TLB flush) or grant-copies the frame into
 * a page the guest posted (`rx: 'copy'`), then responds and notifies once per guest per batch.
 *
 * Every step is counted in operations.ts's units by the domain that does it. The physical
 * driver's own work runs through the VMM's hypercall (the machinery that owns contexts here) and
 * is counted by the VMM: the experiment books its data-path kinds to the driver domain. The bytes
 * do move: frames are read from the guest's page and written into the guest's page, the wire side
 * is the real NIC. The physical driver copying a mapped frame into its own buffer is an artefact
 * of GuestDriver (Xen's netback gives the NIC the mapped page) and is not counted.
 */
import { localMac, type MacAddress } from '../ethernet/mac.js';
import { type GuestId, PAGE_SIZE, pageBase } from '../host/memory.js';
import type { AttachedGuest, SystemHarness } from '../system/harness.js';
import { ParavirtCounter } from './operations.js';

export interface BaselineOptions {
  /** How the back-end reaches a frame to send: map the guest's page (default) or copy it. */
  tx?: 'map' | 'copy';
  /** How a received frame reaches the guest: page flip (default) or grant copy. */
  rx?: 'flip' | 'copy';
  /** Pages of the driver domain's physical driver (default 32: 32 TX and 32 RX buffers). */
  ddPages?: number;
  /** log2 of the driver domain's ring sizes (default 5, at most the profile's MAX_RING_LOG2). */
  ringLog2?: number;
}

export interface Frontend {
  guest: GuestId;
  mac: MacAddress;
  pages: bigint[];
  /** Frames the back-end delivered, oldest first. */
  received: Uint8Array[];
  sent: number;
  /** Responses the back-end put into its ring. */
  responses: number;
}

/** The MAC of front-end i (never a context's MAC: contexts use localMac(ctx + 1)). */
export function frontendMac(i: number): MacAddress {
  return localMac(0x200 + i);
}

export class XenBaseline {
  readonly ops = new ParavirtCounter();
  readonly frontends: Frontend[] = [];
  /** Frames from the wire the bridge found no guest for. */
  unknownDestination = 0;
  private readonly tx: 'map' | 'copy';
  private readonly rx: 'flip' | 'copy';
  /** Transmitted frames whose granted pages stay mapped until the NIC is done, per front-end. */
  private readonly inFlight: number[] = [];
  private seen = 0;

  private constructor(
    readonly sys: SystemHarness,
    readonly dd: AttachedGuest,
    opts: BaselineOptions,
  ) {
    this.tx = opts.tx ?? 'map';
    this.rx = opts.rx ?? 'flip';
  }

  /** The driver domain on context 0 and `guests` front-ends, their MACs steered to that context. */
  static async create(sys: SystemHarness, guests: number, opts: BaselineOptions = {}): Promise<XenBaseline> {
    const log2 = Math.min(opts.ringLog2 ?? 5, sys.params.MAX_RING_LOG2);
    // The bridge forwards frames with the guests' source MACs: no spoof check on its context.
    const dd = await sys.attachGuest(0, {
      pages: opts.ddPages ?? 32,
      config: { spoofchk: false, txRingLog2: log2, rxRingLog2: log2 },
    });
    const x = new XenBaseline(sys, dd, opts);
    for (let i = 0; i < guests; i++) {
      const guest = sys.vmm.createGuest();
      const mac = frontendMac(i);
      const r = await sys.vmm.addMacAlias(0, mac);
      if (!r.ok) throw new Error(`front-end ${i}: ${r.message}`);
      x.frontends.push({ guest, mac, pages: sys.allocate(guest, 2), received: [], sent: 0, responses: 0 });
      x.inFlight.push(0);
    }
    return x;
  }

  /** TX buffers the physical driver has free (a batch larger than this waits for `completeTx`). */
  get txRoom(): number {
    return this.dd.driver.freeTxBuffers;
  }

  /** Front-end i sends `frames` (one batch, one notification); the back-end hands them to the NIC. */
  async transmit(i: number, frames: readonly Uint8Array[]): Promise<void> {
    if (frames.length === 0) return;
    if (frames.length > this.txRoom) throw new Error(`a batch of ${frames.length} exceeds the ${this.txRoom} free TX buffers`);
    const fe = this.frontends[i];
    const mem = this.sys.memory;
    const addrs = frames.map((f, k) => {
      const addr = pageBase(fe.pages[k % fe.pages.length]);
      if (f.length > PAGE_SIZE) throw new Error('a frame larger than a page');
      mem.write(addr, f);
      this.ops.add('grantEntry');
      this.ops.add('frontRequestWrite');
      return addr;
    });
    this.notify();
    // The back-end: one hypercall for the batch's grant operations.
    this.ops.add('hypercall');
    const out: Uint8Array[] = [];
    frames.forEach((f, k) => {
      this.ops.add('ringRequestRead');
      this.ops.add(this.tx === 'map' ? 'grantMap' : 'grantCopy');
      this.ops.add('bridgeLookup');
      out.push(mem.read(addrs[k], f.length));
    });
    const r = await this.dd.driver.send(out);
    if (!r.ok) throw new Error(`the driver domain's physical driver refused a batch: ${r.message}`);
    this.inFlight[i] += frames.length;
    fe.sent += frames.length;
    // With a copy the guest's page is free at once: respond now.
    if (this.tx === 'copy') this.respond(i, this.takeInFlight(i));
  }

  /** After the NIC sent: reap the physical driver, unmap the granted pages, respond and notify. */
  async completeTx(): Promise<void> {
    await this.dd.driver.reapTx();
    if (this.tx !== 'map') return;
    if (!this.inFlight.some((n) => n > 0)) return;
    this.ops.add('hypercall');
    for (let i = 0; i < this.frontends.length; i++) {
      const n = this.takeInFlight(i);
      if (n === 0) continue;
      this.ops.add('grantUnmap', n);
      this.ops.add('tlbFlush', n);
      this.respond(i, n);
    }
  }

  /** The physical driver's poll, then the bridge delivers each new frame to its guest. Returns frames delivered. */
  async receive(): Promise<number> {
    const drv = this.dd.driver;
    await drv.poll();
    await drv.receive();
    await drv.postRx();
    const fresh = drv.received.slice(this.seen).map((f) => f.data);
    this.seen = drv.received.length;
    const byGuest = new Map<number, Uint8Array[]>();
    for (const f of fresh) {
      this.ops.add('bridgeLookup');
      const i = this.frontendOf(f);
      if (i === undefined) {
        this.unknownDestination++;
        continue;
      }
      byGuest.set(i, [...(byGuest.get(i) ?? []), f]);
    }
    let delivered = 0;
    for (const [i, frames] of byGuest) {
      const fe = this.frontends[i];
      this.ops.add('hypercall');
      frames.forEach((f, k) => {
        // The guest posted a request (and granted a page) for each buffer earlier.
        this.ops.add('frontRequestWrite');
        this.ops.add('grantEntry');
        this.ops.add('ringRequestRead');
        if (this.rx === 'flip') {
          this.ops.add('pageFlip');
          this.ops.add('tlbFlush');
        } else this.ops.add('grantCopy');
        this.sys.memory.write(pageBase(fe.pages[k % fe.pages.length]), f);
        fe.received.push(f);
      });
      this.respond(i, frames.length);
      delivered += frames.length;
    }
    return delivered;
  }

  private frontendOf(frame: Uint8Array): number | undefined {
    let mac = 0;
    for (let b = 0; b < 6; b++) mac = mac * 256 + frame[b];
    const i = this.frontends.findIndex((fe) => fe.mac === mac);
    return i < 0 ? undefined : i;
  }

  private takeInFlight(i: number): number {
    const n = this.inFlight[i];
    this.inFlight[i] = 0;
    return n;
  }

  /** n responses into front-end i's ring, one notification, the front-end reads them. */
  private respond(i: number, n: number): void {
    if (n === 0) return;
    this.frontends[i].responses += n;
    this.ops.add('ringResponseWrite', n);
    this.notify();
    this.ops.add('frontResponseRead', n);
  }

  /** One event-channel notification: the send hypercall and the upcall into the other domain. */
  private notify(): void {
    this.ops.add('hypercall');
    this.ops.add('eventSend');
    this.ops.add('upcall');
  }
}
