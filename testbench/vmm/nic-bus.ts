/**
 * How the models reach the NIC's register BARs. Either side may be synchronous (the reference
 * model) or asynchronous (the AXI4-Lite master transactor on the Verilated RTL); callers always
 * `await`. Offsets are byte offsets inside the BAR; values are 32-bit words.
 */

export type MaybePromise<T> = T | Promise<T>;

/** BAR0: the per-context mailbox pages, mappable into guests. */
export interface Bar0Bus {
  bar0Read(offset: number): MaybePromise<number>;
  bar0Write(offset: number, value: number): MaybePromise<void>;
}

/** BAR1: hypervisor-only control. */
export interface Bar1Bus {
  bar1Read(offset: number): MaybePromise<number>;
  bar1Write(offset: number, value: number): MaybePromise<void>;
}

export type NicBus = Bar0Bus & Bar1Bus;
