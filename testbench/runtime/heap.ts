/** A min-heap of cycle deadlines; ties fire in insertion order. */

export interface Deadline {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export class DeadlineHeap {
  private readonly items: Deadline[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  /** The earliest deadline's cycle, or Infinity. */
  peek(): number {
    return this.items.length ? this.items[0].at : Number.POSITIVE_INFINITY;
  }

  push(at: number, fire: () => void): Deadline {
    const d: Deadline = { at, seq: this.seq++, fire, cancelled: false };
    const a = this.items;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
    return d;
  }

  pop(): Deadline | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop() as Deadline;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  clear(): Deadline[] {
    return this.items.splice(0);
  }

  private less(x: Deadline, y: Deadline): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }
}
