/**
 * Queues and events that tasks and coroutines share. A task waiting on them counts as waiting, so the
 * clock keeps running while it does (a coroutine or callback will fill the queue on some edge).
 */
import type { Settle, Testbench } from './testbench.js';

interface Scheduler {
  wait<T>(what: string, register: (settle: Settle<T>) => void): Promise<T>;
}

/** A FIFO with an async `get()` for tasks and `tryGet()` for coroutines. */
export class Queue<T> {
  private readonly items: T[] = [];
  private head = 0;
  private readonly getters: Settle<T>[] = [];

  constructor(
    private readonly tb: Scheduler | Testbench<object>,
    readonly name = 'queue',
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  put(item: T): void {
    while (this.getters.length > 0) {
      const g = this.getters.shift() as Settle<T>;
      if (g.settled) continue;
      g.resolve(item);
      return;
    }
    this.items.push(item);
  }

  /** The oldest item, waiting for one if the queue is empty. */
  get(): Promise<T> {
    if (this.length > 0) return Promise.resolve(this.take());
    return this.tb.wait<T>(`${this.name}.get()`, (s) => {
      this.getters.push(s);
    });
  }

  /** The oldest item, or undefined: for coroutines, which cannot await. */
  tryGet(): T | undefined {
    return this.length > 0 ? this.take() : undefined;
  }

  peek(): T | undefined {
    return this.length > 0 ? this.items[this.head] : undefined;
  }

  /** Removes and returns everything queued. */
  drain(): T[] {
    const out = this.items.slice(this.head);
    this.items.length = 0;
    this.head = 0;
    return out;
  }

  private take(): T {
    const item = this.items[this.head];
    // The slot lets go of the item at once (a taken frame is not kept until the next trim).
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }
}

/** A flag tasks can wait for; `set()` releases all waiters until `clear()`. */
export class Event<T = void> {
  private value: T | undefined = undefined;
  private isSet = false;
  private readonly waiters: Settle<T>[] = [];

  constructor(
    private readonly tb: Scheduler | Testbench<object>,
    readonly name = 'event',
  ) {}

  get fired(): boolean {
    return this.isSet;
  }

  set(value?: T): void {
    this.isSet = true;
    this.value = value;
    for (const w of this.waiters.splice(0)) w.resolve(value as T);
  }

  clear(): void {
    this.isSet = false;
    this.value = undefined;
  }

  wait(): Promise<T> {
    if (this.isSet) return Promise.resolve(this.value as T);
    return this.tb.wait<T>(`${this.name}.wait()`, (s) => {
      this.waiters.push(s);
    });
  }
}
