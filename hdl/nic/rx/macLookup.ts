/**
 * The MAC lookup table (spec section 7, "Demultiplexing"): the two-way hashed table of
 * hdl/registers/macTable.ts in block RAM, placed by the hypervisor through BAR1. One read per way per
 * lookup, compared in the next cycle, so a lookup is answered a fixed two cycles after it is asked, for
 * any N_CTX and without a CAM of flops. Way 0 wins when a MAC sits in both ways (during a move).
 *
 * Port A serves the receive path and, when it is idle, BAR1 reads of the table; port B serves the
 * transmit engine's local-delivery lookups (MAC_LOOKUP_LATENCY) and only reports a hit for a context
 * that is enabled and not quiescing. ENTRY_LO writes are staged and committed with the ENTRY_HI write,
 * so the receive path never sees half an entry.
 *
 * Reset (F-6): block RAM cannot be cleared at once, so after `rst` a sweep writes one entry of each way
 * per cycle to its reset value (all zero: not valid), 2 * N_CTX cycles in all; `ready` rises when it
 * ends. Until then port B answers "no hit" (every entry is, by definition, invalid), BAR1 reads are
 * not taken, and the receive path must not ask (its frames wait in the frame buffers).
 */
import { Bool, cat, defineModule, type Expr, lit, mux, UInt } from '../../../generator/index.js';
import { allSetByCarry } from '../../../generator/lib/carryTests.js';
import type { NicParams } from '../../params.js';
import { macHashExpr } from '../../registers/macHashRtl.js';
import { MAC_TABLE_HI, macTableGeometry } from '../../registers/map.js';
import { MAC_LOOKUP_LATENCY, macLookupSpec, type NicWidths } from '../interfaces.js';
import { RX_MAC_LOOKUP_LATENCY } from './classify.js';
import { MAC_W } from './frameBuffer.js';

export function rxMacLookup(p: NicParams, w: NicWidths) {
  const g = macTableGeometry(p);
  const ib = g.indexBits;
  const ctxW = w.ctxW;
  const ew = 1 + ctxW + MAC_W;
  if (MAC_LOOKUP_LATENCY !== 2) throw new RangeError(`rxMacLookup answers in 2 cycles; interfaces.ts asks for ${MAC_LOOKUP_LATENCY}`);
  if (RX_MAC_LOOKUP_LATENCY !== 3)
    throw new RangeError(`rxMacLookup answers port A in 3 cycles; classify.ts asks for ${RX_MAC_LOOKUP_LATENCY}`);
  return defineModule('rx_mac_lookup', { N_CTX: p.N_CTX, WAYS: g.ways, INDEX_W: ib }, (m) => {
    const ctxOk = m.input('ctx_ok', UInt(w.nCtx));
    const wrValid = m.input('wr_valid');
    const wrWay = m.input('wr_way', UInt(1));
    const wrIndex = m.input('wr_index', UInt(ib));
    const wrHi = m.input('wr_hi');
    const wrData = m.input('wr_data', UInt(32));
    const rdValid = m.input('rd_valid');
    const rdReady = m.output('rd_ready');
    const rdWay = m.input('rd_way', UInt(1));
    const rdIndex = m.input('rd_index', UInt(ib));
    const rdHi = m.input('rd_hi');
    const respValid = m.output('resp_valid');
    const respData = m.output('resp_data', UInt(32));
    const aValid = m.input('a_valid');
    const aMac = m.input('a_mac', UInt(MAC_W));
    const aRespValid = m.output('a_resp_valid');
    const aHit = m.output('a_hit');
    const aCtx = m.output('a_ctx', UInt(ctxW));
    const b = m.slave('b', macLookupSpec(w));
    const ready = m.output('ready');

    const ways = [0, 1].map((i) => m.memory(`way${i}`, { width: ew, depth: g.entriesPerWay }));
    const sweeping = m.reg('sweeping', Bool, { reset: 1 });
    const sweepIdx = m.reg('sweep_idx', UInt(ib), { reset: 0 });
    m.when(sweeping, () => {
      sweepIdx.set(sweepIdx.addWrap(1));
      m.when(sweepIdx.eq(g.entriesPerWay - 1), () => sweeping.set(0));
    });
    ready.set(sweeping.not());
    const staged = m.reg('staged_lo', UInt(32), { reset: 0 });
    m.when(wrValid.and(wrHi.not()), () => staged.set(wrData));
    const entry = cat(
      wrData.bit(MAC_TABLE_HI.VALID.lsb),
      wrData.bits(MAC_TABLE_HI.CTX.lsb + ctxW - 1, MAC_TABLE_HI.CTX.lsb),
      wrData.bits(MAC_TABLE_HI.MAC.lsb + MAC_TABLE_HI.MAC.width - 1, MAC_TABLE_HI.MAC.lsb),
      staged,
    );
    // One write port per way (so each stays one block RAM): the sweep, or a committed BAR1 entry.
    ways.forEach((mem, i) => {
      const we = sweeping.or(wrValid.and(wrHi).and(wrWay.eq(i)));
      m.when(we, () => mem.write(mux(sweeping, sweepIdx, wrIndex), mux(sweeping, lit(0, ew), entry)));
    });

    const fields = (q: Expr) => ({ valid: q.bit(ew - 1), ctx: q.bits(ew - 2, MAC_W), mac: q.bits(MAC_W - 1, 0) });
    /** Reads both ways at the MAC's slots (given, or hashed here); the next cycle's compare says which way holds it. */
    const lookup = (name: string, valid: Expr, mac: Expr, altAddr: Expr | null, altEn: Expr, slots?: Expr[]) => {
      const q = ways.map((mem, i) => {
        const slot = slots?.[i] ?? macHashExpr(mac, i, ib);
        const addr = altAddr ? mux(valid, slot, altAddr) : slot;
        return fields(mem.read(addr, { enable: valid.or(altEn), name: `${name}_q${i}` }));
      });
      const v1 = m.reg(`${name}_v1`, Bool, { reset: 0 });
      const mac1 = m.reg(`${name}_mac1`, UInt(MAC_W));
      v1.set(valid);
      m.when(valid, () => mac1.set(mac));
      const [q0, q1] = q as [ReturnType<typeof fields>, ReturnType<typeof fields>];
      // Each 48-bit compare as the carry out of a chain (the bits that agree, plus one, overflow when
      // all do), not a tree of LUTs: from the block RAM's output through the compare, the way's enable
      // bit and the sweep into the TX port's hit was 10 LUT levels at 32 contexts.
      const same = (a: Expr, b: Expr): Expr => allSetByCarry(a.xor(b).not());
      const m0 = q0.valid.and(same(q0.mac, mac1));
      const m1 = q1.valid.and(same(q1.mac, mac1));
      return { v1, q0, q1, m0, m1, hit: m0.or(m1), ctx: mux(m0, q0.ctx, q1.ctx) };
    };

    // Port A: the RX path has priority; a BAR1 read takes a cycle in which it does not look up. Its
    // requests wait a cycle in registers, with both ways' slots hashed (RX_MAC_LOOKUP_LATENCY): the
    // frame buffer's MAC through classify's choice of buffer and the hash into the block RAMs'
    // address was the NIC's placed worst path (8.9 ns in 4 nets, the RAMs' address setup).
    const aV0 = m.reg('a_v0', Bool, { reset: 0 });
    const aMac0 = m.reg('a_mac0', UInt(MAC_W), { reset: 0 });
    const aSlot0 = [0, 1].map((i) => m.reg(`a_slot0_${i}`, UInt(ib), { reset: 0 }));
    aV0.set(aValid);
    m.when(aValid, () => {
      aMac0.set(aMac);
      aSlot0.forEach((r, i) => {
        r.set(macHashExpr(aMac, i, ib));
      });
    });
    const rdTake = m.named('rd_take', rdValid.and(aV0.not()).and(sweeping.not()));
    rdReady.set(aV0.not().and(sweeping.not()));
    const la = lookup('a', aV0, aMac0, rdIndex, rdTake, aSlot0);
    const aV2 = m.reg('a_v2', Bool, { reset: 0 });
    const aHit2 = m.reg('a_hit2', Bool, { reset: 0 });
    const aCtx2 = m.reg('a_ctx2', UInt(ctxW), { reset: 0 });
    aV2.set(la.v1);
    aHit2.set(la.v1.and(la.hit));
    aCtx2.set(la.ctx);
    aRespValid.set(aV2);
    aHit.set(aHit2);
    aCtx.set(aCtx2);

    const cfgV1 = m.reg('cfg_v1', Bool, { reset: 0 });
    const cfgWay1 = m.reg('cfg_way1', UInt(1));
    const cfgHi1 = m.reg('cfg_hi1', Bool);
    cfgV1.set(rdTake);
    m.when(rdTake, () => {
      cfgWay1.set(rdWay);
      cfgHi1.set(rdHi);
    });
    const qe = {
      valid: mux(cfgWay1.eq(1), la.q1.valid, la.q0.valid),
      ctx: mux(cfgWay1.eq(1), la.q1.ctx, la.q0.ctx),
      mac: mux(cfgWay1.eq(1), la.q1.mac, la.q0.mac),
    };
    const hiWord = cat(qe.valid, lit(0, 31 - MAC_TABLE_HI.CTX.lsb - ctxW), qe.ctx, qe.mac.bits(MAC_W - 1, 32));
    const cfgV2 = m.reg('cfg_v2', Bool, { reset: 0 });
    const cfgData2 = m.reg('cfg_data2', UInt(32), { reset: 0 });
    cfgV2.set(cfgV1);
    m.when(cfgV1, () => cfgData2.set(mux(cfgHi1, hiWord, qe.mac.bits(31, 0))));
    respValid.set(cfgV2);
    respData.set(cfgData2);

    // Port B: the TX engine's lookups.
    const lb = lookup('b', b.req_valid, b.req_mac, null, lit(0, 1));
    const bV2 = m.reg('b_v2', Bool, { reset: 0 });
    const bHit2 = m.reg('b_hit2', Bool, { reset: 0 });
    const bCtx2 = m.reg('b_ctx2', UInt(ctxW), { reset: 0 });
    // The context's enable bit is looked up for both ways beside the MAC compares, not after the
    // way that hit is known (that put the 48-bit compare and the select in a row: 9 LUT levels).
    const okOf = (ctx: Expr) => (w.nCtx === 1 ? ctxOk.bit(0) : ctxOk.bit(ctx));
    const okHit = lb.m0.and(okOf(lb.q0.ctx)).or(lb.m0.not().and(lb.m1).and(okOf(lb.q1.ctx)));
    bV2.set(lb.v1);
    // A lookup asked during the sweep (even in its last cycle) may read an entry not yet cleared.
    const bSwept = m.reg('b_swept1', Bool, { reset: 0 });
    bSwept.set(sweeping.not());
    bHit2.set(lb.v1.and(okHit).and(bSwept));
    // Loaded only with an answer: the way registers hold no value before the first lookup.
    m.when(lb.v1, () => bCtx2.set(lb.ctx));
    b.resp_valid.set(bV2);
    b.resp_hit.set(bHit2);
    b.resp_ctx.set(bCtx2);

    return {
      ctx_ok: ctxOk,
      wr_valid: wrValid,
      wr_way: wrWay,
      wr_index: wrIndex,
      wr_hi: wrHi,
      wr_data: wrData,
      rd_valid: rdValid,
      rd_ready: rdReady,
      rd_way: rdWay,
      rd_index: rdIndex,
      rd_hi: rdHi,
      resp_valid: respValid,
      resp_data: respData,
      a_valid: aValid,
      a_mac: aMac,
      a_resp_valid: aRespValid,
      a_hit: aHit,
      a_ctx: aCtx,
      b,
      ready,
    };
  });
}
