/**
 * The software-virtualized baseline's work, counted the way testbench/vmm/operations.ts counts the
 * VMM's: one unit per operation, one counter per kind, `countsSince` for traffic. Each kind belongs
 * to the domain that does it (the hypervisor, the driver domain, or a guest's front-end).
 */
export const PARAVIRT_KINDS = [
  /** hypervisor: one hypercall entered (a batch of grant operations, an event-channel send, a flip). */
  'hypercall',
  /** hypervisor: a guest page mapped into the driver domain through its grant. */
  'grantMap',
  /** hypervisor: that mapping removed. */
  'grantUnmap',
  /** hypervisor: a TLB flush after an unmap or a page flip. */
  'tlbFlush',
  /** hypervisor: one grant copy (a frame copied between a guest page and the driver domain). */
  'grantCopy',
  /** hypervisor: one page flip (a received page given to the guest, one of its pages taken back). */
  'pageFlip',
  /** hypervisor: one event-channel notification sent. */
  'eventSend',
  /** hypervisor: one virtual interrupt (event upcall) delivered to a domain. */
  'upcall',
  /** driver domain: one request taken from a front-end's shared ring. */
  'ringRequestRead',
  /** driver domain: one response put into a front-end's shared ring. */
  'ringResponseWrite',
  /** driver domain: one bridge forwarding decision (a MAC lookup). */
  'bridgeLookup',
  /** guest: one request put into its shared ring. */
  'frontRequestWrite',
  /** guest: one grant-table entry written (a page offered to the driver domain). */
  'grantEntry',
  /** guest: one response taken from its shared ring. */
  'frontResponseRead',
] as const;

export type ParavirtKind = (typeof PARAVIRT_KINDS)[number];
export type ParavirtCounts = Record<ParavirtKind, number>;
export type Domain = 'hypervisor' | 'driverDomain' | 'guest';

export const PARAVIRT_DOMAIN: Record<ParavirtKind, Domain> = {
  hypercall: 'hypervisor',
  grantMap: 'hypervisor',
  grantUnmap: 'hypervisor',
  tlbFlush: 'hypervisor',
  grantCopy: 'hypervisor',
  pageFlip: 'hypervisor',
  eventSend: 'hypervisor',
  upcall: 'hypervisor',
  ringRequestRead: 'driverDomain',
  ringResponseWrite: 'driverDomain',
  bridgeLookup: 'driverDomain',
  frontRequestWrite: 'guest',
  grantEntry: 'guest',
  frontResponseRead: 'guest',
};

export function zeroParavirtCounts(): ParavirtCounts {
  return Object.fromEntries(PARAVIRT_KINDS.map((k) => [k, 0])) as ParavirtCounts;
}

export function paravirtCountsSince(before: ParavirtCounts, after: ParavirtCounts): ParavirtCounts {
  return Object.fromEntries(PARAVIRT_KINDS.map((k) => [k, after[k] - before[k]])) as ParavirtCounts;
}

export class ParavirtCounter {
  private readonly c = zeroParavirtCounts();

  add(kind: ParavirtKind, n = 1): void {
    this.c[kind] += n;
  }

  snapshot(): ParavirtCounts {
    return { ...this.c };
  }
}
