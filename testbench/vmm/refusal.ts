/** Why the VMM refused a guest's request: hypercalls and page or mapping operations answer with these, never by throwing. */

export type RefusalReason =
  // The seven checks of the enqueue hypercall (spec section 10), in table order.
  | 'not-context-owner'
  | 'foreign-page'
  | 'bad-bounds'
  | 'not-writable'
  | 'frame-too-large'
  | 'ring-full'
  | 'context-state'
  // Pages and mappings.
  | 'page-pinned'
  | 'page-in-use'
  | 'rx-buffer-posted'
  | 'bad-mapping'
  | 'not-page-owner'
  | 'out-of-memory'
  | 'context-taken'
  | 'mailbox-not-owner'
  | 'mailbox-taken'
  | 'bar1-never-mapped'
  | 'mac-in-use'
  | 'mac-table-full'
  | 'bad-mac'
  | 'no-such-context'
  | 'no-such-guest'
  | 'guest-in-use'
  // Contexts the NIC will not let go of.
  | 'quiesce-timeout';

export interface Refusal {
  readonly ok: false;
  readonly reason: RefusalReason;
  readonly message: string;
  /** For a batch: the index of the first offending buffer. */
  readonly index?: number;
}

export type Outcome<T extends object = object> = ({ readonly ok: true } & T) | Refusal;

export function refuse(reason: RefusalReason, message: string, index?: number): Refusal {
  return index === undefined ? { ok: false, reason, message } : { ok: false, reason, message, index };
}
