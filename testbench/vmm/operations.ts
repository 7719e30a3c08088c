/**
 * Counters of the hypervisor's own work, all in one unit ("operations"), so the cost of the data
 * path and of protection can be measured and compared.
 */

export const OPERATION_KINDS = [
  /** Entering an enqueue hypercall. */
  'hypercall',
  /** One validation check on one buffer or batch (the seven checks of spec section 10). */
  'check',
  /** Ring-space accounting (kept with protection off: it guards the ring, not other guests). */
  'ringCheck',
  /** One page reference taken, with its shadow-table entry. */
  'pin',
  /** One page reference dropped, with its shadow-table entry. */
  'unpin',
  /** One descriptor written into a ring. */
  'descriptorWrite',
  /** One read of a completion record. */
  'recordRead',
  /** One interrupt-ring entry read. */
  'intrEntryRead',
  /** One BAR1 register access. */
  'registerWrite',
  'registerRead',
  /** One virtual interrupt sent to a guest. */
  'virtualInterrupt',
  /** One context recovered from FAULT (its register accesses, unpins and ring writes count apart). */
  'recovery',
] as const;

export type OperationKind = (typeof OPERATION_KINDS)[number];
export type OperationCounts = Record<OperationKind, number>;

/** The kinds that exist only to protect guests from each other (what switching protection off saves). */
export const PROTECTION_KINDS: readonly OperationKind[] = ['check', 'pin', 'unpin'];

export function zeroCounts(): OperationCounts {
  return Object.fromEntries(OPERATION_KINDS.map((k) => [k, 0])) as OperationCounts;
}

export function totalOperations(c: OperationCounts): number {
  return OPERATION_KINDS.reduce((n, k) => n + c[k], 0);
}

export function protectionOperations(c: OperationCounts): number {
  return PROTECTION_KINDS.reduce((n, k) => n + c[k], 0);
}

/** after - before, kind by kind. */
export function countsSince(before: OperationCounts, after: OperationCounts): OperationCounts {
  return Object.fromEntries(OPERATION_KINDS.map((k) => [k, after[k] - before[k]])) as OperationCounts;
}

export class OperationCounter {
  private readonly c = zeroCounts();

  add(kind: OperationKind, n = 1): void {
    this.c[kind] += n;
  }

  snapshot(): OperationCounts {
    return { ...this.c };
  }

  get total(): number {
    return totalOperations(this.c);
  }
}
