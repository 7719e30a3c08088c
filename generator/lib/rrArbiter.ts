import { cat, type Expr, lit, mux, select } from '../dsl/expr.js';
import { defineModule, type ModuleBuilder, type ModuleDef, type Params } from '../dsl/module.js';
import type { InPort, OutPort } from '../dsl/signal.js';
import { isPow2, log2Ceil, UInt } from '../dsl/types.js';
import { requireInt } from './params.js';
import { priorityEncoder } from './priorityEncoder.js';

export interface RrArbiterOptions {
  /** Number of requesters, 1..65536. */
  n: number;
  /**
   * Requesters per group in the hierarchical arbiter (a power of two, default 32). With n <= groupSize
   * the arbiter is flat: one masked and one unmasked priority encoder.
   */
  groupSize?: number;
}

export interface RrArbiterIO {
  /** One request bit per requester. */
  req: InPort;
  /**
   * Moves the round-robin pointer past the current grant on this clock edge. Hold it low to keep the
   * grant on the same requester for several cycles (while it still requests).
   */
  advance: InPort;
  /** One-hot grant, in the same cycle as `req` (no register on the way). */
  grant: OutPort;
  /** Index of the granted requester (max(1, log2Ceil(n)) bits); meaningful while grant_valid. */
  grant_index: OutPort;
  /** Some requester is granted (some req bit is set). */
  grant_valid: OutPort;
}

/**
 * Round-robin arbiter. The grant goes to the first requester at or after the pointer, wrapping; the
 * pointer starts at 0 and an `advance` with a valid grant moves it to the requester after the granted
 * one. So after granting i the next grant is the first requester after i, idle requesters are skipped,
 * and each of k busy requesters gets every k-th grant.
 *
 * The grant is combinational from `req` and the pointer register: the same cycle for any n. For
 * n > groupSize it is hierarchical, so logic grows linearly with n and depth with log(n): a priority
 * encoder per group of requesters, one for the pointer's group masked below the pointer, and two over
 * the groups' "any request" bits (after the pointer's group, and from group 0 to wrap around).
 */
export function rrArbiter(opts: RrArbiterOptions): ModuleDef<RrArbiterIO> {
  requireInt('rrArbiter', 'n', opts.n, 1, 65536);
  const groupSize = opts.groupSize ?? 32;
  if (!isPow2(groupSize) || groupSize < 2 || groupSize > 1024) {
    throw new RangeError(`rrArbiter: groupSize = ${groupSize} is not allowed; it must be a power of two from 2 to 1024`);
  }
  const n = opts.n;
  // The group size only matters when the arbiter is hierarchical; leave it out of the name otherwise.
  const params: Params = n > groupSize ? { N: n, GROUP: groupSize } : { N: n };
  return defineModule('rr_arbiter', params, (m) => {
    const req = m.input('req', UInt(n));
    const advance = m.input('advance');
    const grant = m.output('grant', UInt(n));
    const grantIndex = m.output('grant_index', UInt(Math.max(1, log2Ceil(n))));
    const grantValid = m.output('grant_valid');
    const io = { req, advance, grant, grant_index: grantIndex, grant_valid: grantValid };
    if (n === 1) {
      // One requester: nothing to arbitrate and no pointer.
      grant.set(req);
      grantIndex.set(0);
      grantValid.set(req);
      return io;
    }
    const ptr = m.reg('ptr', UInt(log2Ceil(n)), { reset: 0 });
    const picked = n <= groupSize ? flatPick(m, req, ptr) : hierarchicalPick(m, req, ptr, groupSize);
    grantValid.set(picked.valid);
    grantIndex.set(picked.index);
    grant.set(picked.oneHot);
    m.when(advance.and(picked.valid), () => {
      ptr.set(isPow2(n) ? picked.index.addWrap(1) : mux(picked.index.eq(n - 1), 0, picked.index.addWrap(1)));
    });
    return io;
  });
}

interface Pick {
  valid: Expr;
  index: Expr;
  oneHot: Expr;
}

/** Bits at and above `from` set: a thermometer mask of `width` bits. */
function atOrAbove(width: number, from: Expr): Expr {
  return lit((1n << BigInt(width)) - 1n, width).shl(from);
}

function encoder(m: ModuleBuilder, name: string, bits: Expr): { valid: Expr; index: Expr } {
  const u = m.instance(name, priorityEncoder({ n: bits.width }));
  u.io.bits.set(bits);
  return { valid: u.io.valid, index: u.io.index };
}

function flatPick(m: ModuleBuilder, req: Expr, ptr: Expr): Pick {
  const n = req.width;
  const masked = encoder(m, 'u_from_ptr', req.and(atOrAbove(n, ptr)));
  const wrapped = encoder(m, 'u_from_zero', req);
  const index = m.named('pick_index', mux(masked.valid, masked.index, wrapped.index));
  const valid = m.named('pick_valid', wrapped.valid);
  return { valid, index, oneHot: mux(valid, lit(1, n).shl(index), 0) };
}

function hierarchicalPick(m: ModuleBuilder, req: Expr, ptr: Expr, size: number): Pick {
  const n = req.width;
  const groups = Math.ceil(n / size);
  const offBits = log2Ceil(size);
  const groupBits = Math.max(1, log2Ceil(groups));
  const padded = groups * size === n ? req : m.named('req_padded', cat(lit(0, groups * size - n), req));
  const ptrGroup = ptr.bits(ptr.width - 1, offBits).resize(groupBits);
  const ptrOffset = ptr.bits(offBits - 1, 0);

  // The lowest request of every group, and whether the group has any.
  const lowest: Expr[] = [];
  const busy: Expr[] = [];
  for (let g = 0; g < groups; g++) {
    const e = encoder(m, `u_group${g}`, padded.bits((g + 1) * size - 1, g * size));
    lowest.push(e.index);
    busy.push(e.valid);
  }
  const groupBusy = m.named('group_busy', cat(...[...busy].reverse()));
  // The pointer's own group, from the pointer's offset up.
  const ptrGroupReq = m.named('ptr_group_req', padded.part(ptrGroup, size));
  const here = encoder(m, 'u_ptr_group', ptrGroupReq.and(atOrAbove(size, ptrOffset)));
  // Otherwise the first busy group after the pointer's, else the first busy group (wrapping around,
  // which may be the pointer's group again, below the offset).
  const after = encoder(m, 'u_after_ptr', groupBusy.and(atOrAbove(groups, ptrGroup).shl(1).trunc(groups)));
  const first = encoder(m, 'u_first', groupBusy);
  const otherGroup = m.named('other_group', mux(after.valid, after.index, first.index));
  const group = m.named('pick_group', mux(here.valid, ptrGroup, otherGroup));
  const offset = m.named('pick_offset', mux(here.valid, here.index, select(otherGroup, lowest)));
  const valid = m.named('pick_valid', first.valid);
  const index = cat(group, offset).trunc(log2Ceil(n));
  // One-hot as (group one-hot) x (offset one-hot): n AND gates instead of n wide comparators.
  const groupHot = m.named('grant_group', mux(valid, lit(1, groups).shl(group), 0));
  const offsetHot = m.named('grant_offset', lit(1, size).shl(offset));
  const lanes: Expr[] = [];
  for (let g = groups - 1; g >= 0; g--) lanes.push(offsetHot.and(groupHot.bit(g).repeat(size)));
  return { valid, index, oneHot: cat(...lanes).trunc(n) };
}
