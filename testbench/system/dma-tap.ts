/**
 * A DMA port with a tap: forwards every access to the port behind it (the DMA monitor for the RTL,
 * the mirror memory for the reference model) and tells the scoreboard about each write with the
 * bytes it replaced, so writes that change nothing can be told apart, and about each access the bus
 * failed (an injected fault), which the scoreboard follows too.
 */
import type { DmaDirection, DmaPort } from '../host/dma-monitor.js';
import type { HostMemory } from '../host/memory.js';

/**
 * One write, valid only during the listener's call: `bytes`, `mask` and `before` are views (the
 * writer's buffers, a scratch buffer of the tap), not copies. A listener that keeps any, copies it.
 */
export interface DmaWriteEvent {
  addr: bigint;
  bytes: Uint8Array;
  /** AXI `wstrb` per byte; absent: every byte. */
  mask?: ArrayLike<boolean>;
  /** The memory's bytes just before the write (`bytes.length` of them). */
  before: Uint8Array;
}

/** An access the bus answered with an error: nothing was read or written. */
export interface DmaFailureEvent {
  direction: DmaDirection;
  addr: bigint;
  len: number;
  mask?: ArrayLike<boolean>;
}

/** A DMA port straight onto a memory (the reference model's, which nobody needs to police). */
export function memoryPort(memory: HostMemory): DmaPort {
  return {
    dmaRead: (addr, len) => memory.read(addr, len),
    dmaWrite: (addr, bytes, mask) => memory.write(addr, bytes, mask),
  };
}

export class TappedDmaPort implements DmaPort {
  private readonly writeListeners: ((e: DmaWriteEvent) => void)[] = [];
  private readonly failureListeners: ((e: DmaFailureEvent) => void)[] = [];
  private readonly readListeners: ((addr: bigint, data: Uint8Array) => void)[] = [];
  /** Accesses so far (reads and writes). */
  accesses = 0;
  /** Where `before` is read into (grown as needed), while no write is being told (a listener's own write takes a fresh one). */
  private scratch = new Uint8Array(64);
  private telling = false;

  constructor(
    private readonly memory: HostMemory,
    private readonly inner: DmaPort,
    /** Wraps each forwarded write (the RTL's writes must not reach the mirror). */
    private readonly around: <T>(fn: () => T) => T = (fn) => fn(),
  ) {}

  onWrite(fn: (e: DmaWriteEvent) => void): void {
    this.writeListeners.push(fn);
  }

  onFailure(fn: (e: DmaFailureEvent) => void): void {
    this.failureListeners.push(fn);
  }

  dmaFailed(direction: DmaDirection, addr: bigint, len: number, byteMask?: ArrayLike<boolean>): void {
    this.accesses++;
    this.inner.dmaFailed?.(direction, addr, len, byteMask);
    const e: DmaFailureEvent = { direction, addr, len, mask: byteMask ? Array.from(byteMask) : undefined };
    for (const fn of this.failureListeners) fn(e);
  }

  /** Calls `fn` after every read with its data (the scoreboard follows the RTL's RX fetches under faults). */
  onRead(fn: (addr: bigint, data: Uint8Array) => void): void {
    this.readListeners.push(fn);
  }

  dmaRead(addr: bigint, len: number): Uint8Array {
    this.accesses++;
    const data = this.inner.dmaRead(addr, len);
    for (const fn of this.readListeners) fn(addr, data);
    return data;
  }

  dmaWrite(addr: bigint, bytes: Uint8Array, byteMask?: ArrayLike<boolean>): void {
    this.accesses++;
    if (this.writeListeners.length === 0) {
      this.around(() => this.inner.dmaWrite(addr, bytes, byteMask));
      return;
    }
    const n = bytes.length;
    let before: Uint8Array;
    if (this.telling) before = this.memory.read(addr, n);
    else {
      if (this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, 2 * this.scratch.length));
      before = this.scratch.subarray(0, n);
      this.memory.readInto(addr, before);
    }
    this.around(() => this.inner.dmaWrite(addr, bytes, byteMask));
    const e: DmaWriteEvent = { addr, bytes, mask: byteMask, before };
    const nested = this.telling;
    this.telling = true;
    try {
      for (const fn of this.writeListeners) fn(e);
    } finally {
      this.telling = nested;
    }
  }
}
