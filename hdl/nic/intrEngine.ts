/**
 * The interrupt engine (spec section 8): the pending vector, the per-context masks, coalescing by
 * completions and by cycles, and the interrupt ring in host memory, written through its own AXI4 master.
 *
 * Registers (BAR1 globals, hdl/registers/map.ts): INTR_CTRL, INTR_RING_BASE_LO/HI, INTR_RING_LOG2,
 * INTR_RING_TAIL, INTR_RING_HEAD, INTR_SEQ_INIT, COALESCE_EVENTS, COALESCE_CYCLES, INTR_ENTRIES and
 * INTR_IRQS. The BAR1 block refuses writes to the locked ones while INTR_CTRL.EN is set; this engine
 * still ignores an INTR_RING_LOG2 above MAX_INTR_RING_LOG2 itself.
 *
 * Decisions the spec leaves open (also in docs/architecture.md):
 * - Masks reset to unmasked; INTR_CTRL.EN (reset 0) gates the ring, so nothing is written before the
 *   hypervisor has set it up.
 * - A snapshot takes only the unmasked pending bits. Masked bits stay pending (the snapshot does not
 *   clear them) and go out with the first snapshot after their context is unmasked.
 * - An interrupt is due when some unmasked bit is pending and one of: max(1, COALESCE_EVENTS)
 *   completions (masked contexts' too) since the last snapshot; COALESCE_CYCLES (when not 0) cycles
 *   since the first of them; an unmask of a context whose bit is pending (I-7, whatever the
 *   coalescing settings). Masked bits alone never make one due.
 * - If the ring fills in the middle of a snapshot's entries, `irq` is raised for the entries written
 *   so far and the rest follow (with another `irq`) once the tail moves, so even a ring smaller than
 *   the number of groups delivers every bit.
 *
 * Faults (docs/faults.md):
 * - An entry write answered with `bresp` other than OKAY: the whole snapshot is ORed back into the
 *   pending vector (entries of it that did land sit behind a slot the hypervisor will never get past,
 *   so they count as lost too; a bit delivered twice is harmless, one means "at least one event"), the
 *   snapshot's remaining entries are not written, `m_fault` pulses (the BAR1 block sets
 *   GLOBAL_STATUS.INTR_FAULT) and `irq` is raised once every write of the interrupt is answered. No
 *   entry is written from then on while `s_intr_fault` (GLOBAL_STATUS.INTR_FAULT) is set; once it is
 *   cleared the returned bits are due at once, whatever the coalescing settings.
 * - INTR_RING_HEAD counts entries issued, the failed ones included (it is not wound back; several
 *   entries may be in flight). The hypervisor re-arms the ring (INTR_CTRL.EN off, INTR_SEQ_INIT, which
 *   zeroes HEAD and TAIL, EN on) before it clears INTR_FAULT. INTR_ENTRIES counts only entries answered
 *   OKAY.
 * - A fault-interrupt request (`s_fault_irq`, a context entered FAULT) raises `irq` as soon as no entry
 *   write is in flight (at once when idle; otherwise with the interrupt's own irq, which serves both),
 *   writes no entry, and ignores masks, coalescing, INTR_CTRL.EN and INTR_FAULT. It counts in
 *   INTR_IRQS like every irq.
 */
import { any, Bool, cat, defineModule, type Expr, fsm, lit, log2Ceil, mux, UInt } from '../../generator/index.js';
import { anySetByCarry } from '../../generator/lib/carryTests.js';
import { lowestSetBit } from '../../generator/lib/priorityEncoder.js';
import { fieldBits, INTR_ENTRY } from '../descriptors.js';
import { CONTEXTS_PER_INTR_GROUP, deriveParams, type NicParams } from '../params.js';
import {
  type Bar1GlobalReg,
  bar1GlobalOffset,
  bar1GlobalRegisters,
  COALESCE_CYCLES,
  COALESCE_EVENTS,
  findRegister,
  INTR_CTRL,
  MAX_INTR_RING_LOG2,
  RING_BASE_LO,
  RING_LOG2,
} from '../registers/map.js';
import { dmaSpec, intCtrlSpec, intrSetSpec, nicWidths, regBusSpec } from './interfaces.js';

/** The widths every block derives from the parameters. */
/** The BAR1 registers this engine answers reads of. */
export const INTR_OWNED_REGS = [
  'INTR_CTRL',
  'INTR_RING_BASE_LO',
  'INTR_RING_BASE_HI',
  'INTR_RING_LOG2',
  'INTR_RING_TAIL',
  'INTR_RING_HEAD',
  'INTR_SEQ_INIT',
  'COALESCE_EVENTS',
  'COALESCE_CYCLES',
  'INTR_ENTRIES',
  'INTR_IRQS',
] as const satisfies readonly Bar1GlobalReg[];
type IntrReg = (typeof INTR_OWNED_REGS)[number];

/** Assembles a record from field values placed at their `fieldBits` positions (gaps and the top are zero). */
function packRecord(bytes: number, parts: { lsb: number; width: number; value: Expr }[]): Expr {
  const sorted = [...parts].sort((a, b) => b.lsb - a.lsb);
  const pieces: Expr[] = [];
  let top = bytes * 8;
  for (const f of sorted) {
    const gap = top - (f.lsb + f.width);
    if (gap < 0) throw new RangeError(`packRecord: field at bit ${f.lsb} overlaps the next one`);
    if (gap > 0) pieces.push(lit(0, gap));
    pieces.push(f.value.resize(f.width));
    top = f.lsb;
  }
  if (top > 0) pieces.push(lit(0, top));
  return cat(...pieces);
}

/**
 * Deliberate bugs for the non-vacuity tests of the proofs (docs/formal.md): the prover must find a
 * counterexample on each. Never used outside test/formal.
 */
export type IntrMutation = 'v4-full-off-by-one';

export function intrEngine(p: NicParams, opts: { mutation?: IntrMutation } = {}) {
  const d = deriveParams(p);
  const w = nicWidths(p);
  const n = p.N_CTX;
  const groups = d.intrGroups;
  const groupIdxW = Math.max(1, log2Ceil(groups));
  const dmaBytes = p.DMA_W / 8;
  const entryBytes = INTR_ENTRY.bytes;
  // An entry is `beats` full-width beats; on a 256-bit bus it fills half a beat (wstrb marks which half).
  const beats = Math.max(1, entryBytes / dmaBytes);
  const axSize = log2Ceil(dmaBytes);
  const evW = COALESCE_EVENTS.COUNT.width;
  const cycW = COALESCE_CYCLES.CYCLES.width;
  const log2W = RING_LOG2.LOG2.width;
  const slotW = MAX_INTR_RING_LOG2;
  const entryShift = log2Ceil(entryBytes);
  const globals = bar1GlobalRegisters(p);
  const mutation = opts.mutation;

  return defineModule('intr_engine', { N_CTX: n, DMA_W: p.DMA_W, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const reg = m.slave('s_reg', regBusSpec());
    const intCtrl = m.slave('s_int_ctrl', intCtrlSpec(w));
    const txSet = m.slave('s_tx_intr', intrSetSpec(w));
    const rxSet = m.slave('s_rx_intr', intrSetSpec(w));
    // From the BAR1 block: a fault-interrupt request (pulse) and GLOBAL_STATUS.INTR_FAULT (level).
    const faultIrqReq = m.input('s_fault_irq');
    const intrFault = m.input('s_intr_fault');
    // To the BAR1 block: an entry write failed (pulse; sets GLOBAL_STATUS.INTR_FAULT).
    const faultOut = m.output('m_fault');
    const axi = m.master('m_axi', dmaSpec(w));
    const irq = m.output('irq');
    const pendOut = m.output('pend_vec', UInt(n));
    const maskOut = m.output('mask_vec', UInt(n));
    // High in the cycle pend_vec is snapshotted (for tests and waveforms).
    const snapOut = m.output('snap_pulse');

    // ---- registers owned here ----
    const enable = m.reg('intr_en', Bool, { reset: 0 });
    const ringBase = m.reg('ring_base', UInt(64), { reset: 0 });
    const ringLog2 = m.reg('ring_log2', UInt(log2W), { reset: 0 });
    const tail = m.reg('ring_tail', UInt(32), { reset: 0 });
    const head = m.reg('ring_head', UInt(32), { reset: 0 });
    const seqInit = m.reg('seq_init', UInt(32), { reset: 0 });
    const seqNext = m.reg('seq_next', UInt(32), { reset: 0 });
    const coalEvents = m.reg('coalesce_events', UInt(evW), { reset: findRegister(globals, 'COALESCE_EVENTS').reset });
    const coalCycles = m.reg('coalesce_cycles', UInt(cycW), { reset: 0 });
    const entriesCount = m.reg('intr_entries', UInt(32), { reset: 0 });
    const irqCount = m.reg('intr_irqs', UInt(32), { reset: 0 });

    reg.wr_ready.set(1);
    reg.rd_ready.set(1);
    const wordOf = (name: Bar1GlobalReg): number => bar1GlobalOffset(name) >> 2;
    const writes = new Map<IntrReg, Expr>(
      INTR_OWNED_REGS.map((name) => [
        name,
        m.named(`wr_${name.toLowerCase()}`, reg.wr_valid.and(reg.wr_addr.bits(19, 2).eq(wordOf(name)))),
      ]),
    );
    const wrAt = (name: IntrReg): Expr => writes.get(name) as Expr;
    const data = reg.wr_data;
    const baseLoLsb = RING_BASE_LO.ADDR.lsb;
    m.when(wrAt('INTR_CTRL'), () => enable.set(data.bit(INTR_CTRL.EN.lsb)));
    m.when(wrAt('INTR_RING_BASE_LO'), () => ringBase.at(31, 0).set(cat(data.bits(31, baseLoLsb), lit(0, baseLoLsb))));
    m.when(wrAt('INTR_RING_BASE_HI'), () => ringBase.at(63, 32).set(data));
    m.when(wrAt('INTR_RING_LOG2').and(data.le(MAX_INTR_RING_LOG2)), () => ringLog2.set(data.trunc(log2W)));
    m.when(wrAt('COALESCE_EVENTS'), () => coalEvents.set(data.bits(evW - 1, 0)));
    // The event threshold (0 counts as 1) is kept beside the register, so the coalescing decision
    // does not start with a 16-bit compare with zero and a multiplexer.
    const evReset = findRegister(globals, 'COALESCE_EVENTS').reset;
    const evThreshold = m.reg('ev_threshold', UInt(evW), { reset: evReset === 0 ? 1 : evReset });
    m.when(wrAt('COALESCE_EVENTS'), () => {
      const v = data.bits(evW - 1, 0);
      evThreshold.set(mux(v.eq(0), lit(1, evW), v));
    });
    m.when(wrAt('COALESCE_CYCLES'), () => coalCycles.set(data.bits(cycW - 1, 0)));
    // COALESCE_CYCLES != 0, kept beside it for the same reason as the threshold.
    const coalCyclesSet = m.reg('coalesce_cycles_set', Bool, { reset: 0 });
    m.when(wrAt('COALESCE_CYCLES'), () => coalCyclesSet.set(data.bits(cycW - 1, 0).ne(0)));

    // A read is answered two cycles after it is taken: its word is registered first, so the register
    // multiplexer starts from a flip-flop and not from the BAR1 block's address decoder.
    const rdPending = m.reg('rd_pending', Bool, { reset: 0 });
    const rdWord = m.reg('rd_word', UInt(18), { reset: 0 });
    rdPending.set(reg.rd_valid);
    m.when(reg.rd_valid, () => rdWord.set(reg.rd_addr.bits(19, 2)));
    const respValid = m.reg('resp_valid_q', Bool, { reset: 0 });
    const respData = m.reg('resp_data_q', UInt(32), { reset: 0 });
    respValid.set(rdPending);
    const readable: Record<IntrReg, Expr> = {
      INTR_CTRL: enable.resize(32),
      INTR_RING_BASE_LO: ringBase.bits(31, 0),
      INTR_RING_BASE_HI: ringBase.bits(63, 32),
      INTR_RING_LOG2: ringLog2.resize(32),
      INTR_RING_TAIL: tail,
      INTR_RING_HEAD: head,
      INTR_SEQ_INIT: seqInit,
      COALESCE_EVENTS: coalEvents.resize(32),
      COALESCE_CYCLES: coalCycles.resize(32),
      INTR_ENTRIES: entriesCount,
      INTR_IRQS: irqCount,
    };
    const readValue = m.wire('read_value', UInt(32), { init: 0 });
    const readSwitch = m.switch(rdWord);
    for (const name of INTR_OWNED_REGS) readSwitch.is(wordOf(name), () => readValue.set(readable[name]));
    respData.set(mux(rdPending, readValue, lit(0, 32)));
    reg.resp_valid.set(respValid);
    reg.resp_data.set(respData);

    // ---- pending vector and masks ----
    const pend = m.reg('pend', UInt(n), { reset: 0 });
    const mask = m.reg('mask', UInt(n), { reset: 0 });
    pendOut.set(pend);
    maskOut.set(mask);
    const oneHot = (valid: Expr, ctx: Expr): Expr => mux(valid, lit(1, n).shl(ctx), lit(0, n));
    const setBits = m.named('set_bits', oneHot(txSet.valid, txSet.ctx).or(oneHot(rxSet.valid, rxSet.ctx)));
    intCtrl.ready.set(1);
    // Both bits set: the context ends unmasked (the register map's rule).
    const doUnmask = m.named('do_unmask', intCtrl.valid.and(intCtrl.unmask));
    const doMask = m.named('do_mask', intCtrl.valid.and(intCtrl.mask).and(intCtrl.unmask.not()));
    const ctrlBit = m.named('ctrl_bit', lit(1, n).shl(intCtrl.ctx));
    m.when(doUnmask, () => mask.set(mask.and(ctrlBit.not()))).elseWhen(doMask, () => mask.set(mask.or(ctrlBit)));
    const unmaskPending = m.named('unmask_pending', doUnmask.and(pend.bit(intCtrl.ctx)).and(mask.bit(intCtrl.ctx)));

    const unmasked = m.named('unmasked', pend.and(mask.not()));
    // As the carry out of a chain (all ones plus the vector overflows when it is not 0), not an OR of
    // N_CTX bits: that was 3 to 4 LUT levels in front of the snapshot decision (9 levels from a mask
    // bit to the state and the pending bits at 32 contexts).
    const anyUnmasked = m.named('any_unmasked', anySetByCarry(unmasked));

    // ---- coalescing ----
    const evCount = m.reg('ev_count', UInt(evW), { reset: 0 });
    const armed = m.reg('armed', Bool, { reset: 0 });
    const cycles = m.reg('cycles', UInt(cycW), { reset: 0 });
    const kick = m.reg('kick', Bool, { reset: 0 });
    // Bits returned by a failed entry write are due again without waiting for new completions.
    const redo = m.reg('redo', Bool, { reset: 0 });
    const completions = m.named('completions', txSet.valid.resize(2).addWrap(rxSet.valid.resize(2)));
    const evSum = m.named('ev_sum', evCount.add(completions.resize(evW)));
    const evNext = m.named('ev_next', mux(evSum.bit(evW), lit((1 << evW) - 1, evW), evSum.trunc(evW)));
    const anyCompletion = m.named('any_completion', completions.ne(0));
    // Both tests in flip-flops, worked out from the next cycle's count and setting (`count_up`,
    // `time_up`, set below once `take` is known): their compares were 5 LUT levels in front of the
    // snapshot decision (11 levels from `cycles` to the state at 32 contexts). The completions, which
    // come late from the engines, only pick among compares made from registers.
    const countUp = m.reg('count_up', Bool, { reset: 0 });
    const timeUp = m.reg('time_up', Bool, { reset: 1 });
    m.assert(countUp.eq(evCount.ge(evThreshold)).and(timeUp.eq(cycles.ge(coalCycles))), 'the coalescing tests follow the counts');
    const byCount = m.named('by_count', countUp);
    const byTime = m.named('by_time', coalCyclesSet.and(armed).and(timeUp));
    const due = m.named('due', anyUnmasked.and(any(byCount, byTime, kick, redo)));

    // ---- ring space: full when head - tail == size; a tail past the head also reads as full ----
    const used = m.named('ring_used', head.subWrap(tail));
    const size = m.named('ring_size', lit(1, slotW + 1).shl(ringLog2));
    const room = m.named('ring_room', enable.and(mutation === 'v4-full-off-by-one' ? used.le(size) : used.lt(size)));
    const slotMask = m.named(
      'slot_mask',
      lit((1 << slotW) - 1, slotW)
        .shl(ringLog2)
        .not(),
    );
    const slot = m.named('slot', head.trunc(slotW).and(slotMask));
    const entryAddr = m.named('entry_addr', ringBase.addWrap(cat(slot, lit(0, entryShift)).resize(64)));

    // ---- snapshot ----
    const snap = m.reg('snap', UInt(n));
    const snapGroups = m.reg('snap_groups', UInt(groups), { reset: 0 });
    const groupOf = (v: Expr, g: number): Expr => (n <= CONTEXTS_PER_INTR_GROUP ? v : v.bits(64 * g + 63, 64 * g));
    const summary = m.named('group_summary', cat(...Array.from({ length: groups }, (_, i) => groupOf(unmasked, groups - 1 - i).orR())));

    // Writer: per entry one AW and `beats` W beats, issued back to back; irq once every B is back (I-1).
    const st = fsm(m, 'state', ['IDLE', 'ENTRY', 'FLUSH'] as const);
    const entryGroup = m.reg('entry_group', UInt(groupIdxW), { reset: 0 });
    const entryVec = m.reg('entry_vec', UInt(64), { reset: 0 });
    const entrySeq = m.reg('entry_seq', UInt(32), { reset: 0 });
    const entryAt = m.reg('entry_at', UInt(64), { reset: 0 });
    const awPending = m.reg('aw_pending', Bool, { reset: 0 });
    const wPending = m.reg('w_pending', Bool, { reset: 0 });
    const beat = m.reg('beat', UInt(Math.max(1, log2Ceil(beats))), { reset: 0 });
    const outstanding = m.reg('outstanding', UInt(log2Ceil(groups + 2)), { reset: 0 });
    const wrote = m.reg('wrote', Bool, { reset: 0 });
    const irqQ = m.reg('irq_q', Bool, { reset: 0 });
    irq.set(irqQ);

    // ---- bus faults: a failed entry write holds the ring until INTR_FAULT is cleared ----
    const bDone = m.named('b_done', axi.bvalid.and(axi.bready));
    const bFail = m.named('b_fail', bDone.and(axi.bresp.ne(0)));
    // Set by a failure until the BAR1 block's INTR_FAULT (set a cycle later) takes over the hold.
    const failHeld = m.reg('fail_held', Bool, { reset: 0 });
    failHeld.set(intrFault.not().and(failHeld.or(bFail)));
    const held = m.named('ring_held', any(intrFault, failHeld, bFail));
    const faultQ = m.reg('fault_q', Bool, { reset: 0 });
    faultQ.set(bFail);
    faultOut.set(faultQ);

    const take = m.named('take', st.is('IDLE').and(due).and(room).and(held.not()));
    snapOut.set(take);
    const next = lowestSetBit(m, 'grp', snapGroups);
    const nextGroup = m.named('next_group', next.index.trunc(groupIdxW));
    const entryIdle = m.named('entry_idle', awPending.not().and(wPending.not()));
    const issue = m.named('issue', st.is('ENTRY').and(entryIdle).and(next.valid).and(room).and(held.not()));

    // A snapshot clears exactly the bits it took; completions of this very cycle go to the next one (I-6).
    // A failed entry gives the snapshot back (no take can happen while an entry is in flight).
    const returned = m.named('returned_bits', mux(bFail, snap, lit(0, n)));
    m.when(take, () => pend.set(pend.and(unmasked.not()).or(setBits))).otherwise(() => pend.set(pend.or(setBits).or(returned)));
    m.when(take, () => {
      snap.set(unmasked);
      snapGroups.set(summary);
      evCount.set(completions.resize(evW));
      armed.set(anyCompletion);
      cycles.set(0);
      kick.set(unmaskPending);
      redo.set(0);
      st.goto('ENTRY');
    }).otherwise(() => {
      evCount.set(evNext);
      m.when(anyCompletion, () => armed.set(1));
      m.when(armed.and(cycles.ne((1 << cycW) - 1)), () => cycles.set(cycles.addWrap(1)));
      // A kick lapses if its context was masked again before the snapshot.
      kick.set(unmaskPending.or(kick.and(anyUnmasked)));
      m.when(bFail, () => redo.set(1));
    });

    // The next cycle's count, threshold, timer and setting, for `count_up` and `time_up`.
    const byCompletions = (c0: Expr, c1: Expr, c2: Expr): Expr =>
      mux(txSet.valid.and(rxSet.valid), c2, mux(txSet.valid.or(rxSet.valid), c1, c0));
    // A write of COALESCE_EVENTS or COALESCE_CYCLES (the register bus's address decode) settles late
    // too: the tests are made for both thresholds (the one written and the one kept) and picked by the
    // write (the threshold picked first put the decode in front of the compares: 9 LUT levels from the
    // bus address to `count_up` at 32 contexts).
    const evData = data.bits(evW - 1, 0);
    const evWide = evCount.resize(evW + 2);
    const countUpFor = (thr: Expr): Expr => {
      const thrWide = thr.resize(evW + 2);
      const keep = byCompletions(evWide.ge(thrWide), evWide.addWrap(1).ge(thrWide), evWide.addWrap(2).ge(thrWide));
      const taken = byCompletions(thr.eq(0), thr.le(1), thr.le(2));
      return mux(take, taken, keep);
    };
    countUp.set(mux(wrAt('COALESCE_EVENTS'), countUpFor(mux(evData.eq(0), lit(1, evW), evData)), countUpFor(evThreshold)));
    const cyclesKeep = mux(armed.and(cycles.ne((1 << cycW) - 1)), cycles.addWrap(1), cycles);
    const timeUpFor = (cyc: Expr): Expr => mux(take, cyc.eq(0), cyclesKeep.ge(cyc));
    timeUp.set(mux(wrAt('COALESCE_CYCLES'), timeUpFor(data.bits(cycW - 1, 0)), timeUpFor(coalCycles)));

    const groupVec = groups === 1 ? snap.resize(64) : snap.part(nextGroup, 64);
    m.when(issue, () => {
      entryGroup.set(nextGroup);
      entryVec.set(groupVec);
      entrySeq.set(seqNext);
      entryAt.set(entryAddr);
      seqNext.set(seqNext.addWrap(1));
      head.set(head.addWrap(1));
      snapGroups.set(snapGroups.and(lit(1, groups).shl(nextGroup).not()));
      awPending.set(1);
      wPending.set(1);
      wrote.set(1);
    });
    m.when(bFail, () => snapGroups.set(0));
    // INTR_SEQ_INIT restarts the ring (register map): the next entry goes to slot 0 with this seq.
    m.when(wrAt('INTR_SEQ_INIT'), () => {
      seqInit.set(data);
      seqNext.set(data);
      head.set(0);
      tail.set(0);
    }).elseWhen(wrAt('INTR_RING_TAIL'), () => tail.set(data));

    m.when(issue.and(bDone.not()), () => outstanding.set(outstanding.addWrap(1))).elseWhen(bDone.and(issue.not()), () =>
      outstanding.set(outstanding.subWrap(1)),
    );

    // FLUSH: every issued entry acknowledged, then irq (if anything was written) and either the rest of
    // the snapshot (the ring had filled) or idle.
    const flushed = m.named('flushed', entryIdle.and(outstanding.eq(0).or(outstanding.eq(1).and(bDone))));
    // A fault interrupt waits only for entry writes in flight; the FLUSH irq below serves it too.
    const faultPending = m.reg('fault_irq_pending', Bool, { reset: 0 });
    const faultIrqNow = m.named('fault_irq_now', faultPending.and(entryIdle).and(outstanding.eq(0)));
    const irqNow = m.named('irq_now', faultIrqNow.or(st.is('FLUSH').and(flushed)));
    faultPending.set(faultPending.and(irqNow.not()).or(faultIrqReq));
    irqQ.set(faultIrqNow);
    st.switch({
      ENTRY: () => {
        // With nothing written yet and no room, wait here for the tail to move.
        m.when(entryIdle.and(next.valid.not().or(room.not().and(wrote))), () => st.goto('FLUSH'));
      },
      FLUSH: () => {
        m.when(flushed, () => {
          irqQ.set(1);
          wrote.set(0);
          m.when(snapGroups.ne(0), () => st.goto('ENTRY')).otherwise(() => st.goto('IDLE'));
        });
      },
    });
    m.when(irqQ, () => irqCount.set(irqCount.addWrap(1)));
    m.when(bDone.and(bFail.not()), () => entriesCount.set(entriesCount.addWrap(1)));

    // ---- AXI4 write of one entry ----
    const f = INTR_ENTRY.fields;
    const entryData = m.named(
      'entry_data',
      packRecord(entryBytes, [
        { ...fieldBits(f.vec), value: entryVec },
        { ...fieldBits(f.seq), value: entrySeq },
        { ...fieldBits(f.group), value: entryGroup },
      ]),
    );
    axi.awid.set(0);
    axi.awlen.set(beats - 1);
    axi.awsize.set(axSize);
    axi.awburst.set(1);
    axi.awlock.set(0);
    axi.awcache.set(0b0011);
    axi.awprot.set(0);
    axi.awvalid.set(awPending);
    if (dmaBytes > entryBytes) {
      // One bus-aligned beat; the entry sits in its 16-byte lane, which wstrb marks exactly.
      const lanes = dmaBytes / entryBytes;
      const laneW = log2Ceil(lanes);
      const lane = entryAt.bits(entryShift + laneW - 1, entryShift);
      axi.awaddr.set(cat(entryAt.bits(63, entryShift + laneW), lit(0, entryShift + laneW)));
      axi.wdata.set(entryData.repeat(lanes));
      axi.wstrb.set(lit((1 << entryBytes) - 1, dmaBytes).shl(cat(lane, lit(0, entryShift))));
    } else {
      // A 16-byte aligned entry never crosses 4 KiB.
      axi.awaddr.set(entryAt);
      axi.wdata.set(beats === 1 ? entryData : entryData.part(beat, p.DMA_W));
      axi.wstrb.set(lit((1n << BigInt(dmaBytes)) - 1n, dmaBytes));
    }
    const lastBeat = m.named('last_beat', beats === 1 ? lit(1, 1) : beat.eq(beats - 1));
    axi.wlast.set(lastBeat);
    axi.wvalid.set(wPending);
    axi.bready.set(1);
    m.when(axi.awvalid.and(axi.awready), () => awPending.set(0));
    m.when(axi.wvalid.and(axi.wready), () => {
      m.when(lastBeat, () => {
        wPending.set(0);
        beat.set(0);
      }).otherwise(() => beat.set(beat.addWrap(1)));
    });
    // The ring is write-only for this engine: the read channels stay idle.
    axi.arid.set(0);
    axi.araddr.set(0);
    axi.arlen.set(0);
    axi.arsize.set(axSize);
    axi.arburst.set(1);
    axi.arlock.set(0);
    axi.arcache.set(0);
    axi.arprot.set(0);
    axi.arvalid.set(0);
    axi.rready.set(1);

    // ---- V-4 (spec section 14): the ring is written only into released slots; no pending bit is lost ----
    // The AXI slave's side of the bargain: a B answers a write whose AW was accepted. Counted here
    // (AWs accepted minus Bs) so the proof can hold the free inputs to it.
    const awAccepted = axi.awvalid.and(axi.awready);
    const fAwOpen = m.ghost('f_aw_open', UInt(outstanding.width), {
      reset: 0,
      next: (s) => mux(awAccepted.and(bDone.not()), s.addWrap(1), mux(bDone.and(awAccepted.not()), s.subWrap(1), s)),
    });
    m.assume(axi.bvalid.not().or(fAwOpen.ne(0)), 'V-4: the AXI slave answers with B only writes whose AW it accepted');

    // The slot, computed apart from the datapath: head mod size, 16 bytes each, from the ring base.
    const fSize32 = lit(1, 32).shl(ringLog2);
    // (Built as a concat of the right width: a slice of a wider expression would need a temporary.)
    const fSlotAddr = ringBase.addWrap(cat(head.and(fSize32.subWrap(1)).resize(64 - entryShift), lit(0, entryShift)));
    m.when(issue, () => {
      m.assert(enable, 'V-4: an entry is issued only while INTR_CTRL.EN is set');
      m.assert(
        ringLog2.le(MAX_INTR_RING_LOG2).and(head.subWrap(tail).lt(fSize32)),
        'V-4: an entry is issued only into a released slot (head - tail < size)',
      );
      m.assert(entryAddr.eq(fSlotAddr), 'V-4: an entry goes to slot head mod size of the ring');
    });
    if (dmaBytes <= entryBytes) {
      // The address the bus sees is the one checked at issue (a wider bus aligns it down: not checked).
      const fIssuedAddr = m.ghost('f_issued_addr', UInt(64), { reset: 0, next: (s) => mux(issue, fSlotAddr, s) });
      m.when(axi.awvalid, () => m.assert(axi.awaddr.eq(fIssuedAddr), 'V-4: the AW address is the slot checked at issue'));
    }
    m.cover(
      issue.and(ringLog2.ne(0)).and(used.eq(size.resize(32).subWrap(1))),
      'V-4: an entry is written into the last free slot of a ring of 2 or more',
    );

    // Bits owed to the hypervisor: set by an event, until an entry holding them is answered OKAY. With
    // one group (N_CTX <= 64) a snapshot is one entry, so the OKAY of the entry delivers the snapshot.
    if (groups === 1) {
      const bOk = bDone.and(bFail.not());
      const fOwed = m.ghost('f_owed', UInt(n), {
        reset: 0,
        next: (s) => s.or(setBits).and(mux(bOk, snap.not(), lit((1n << BigInt(n)) - 1n, n))),
      });
      const live = mux(st.is('IDLE'), lit(0, n), snap);
      m.assert(
        fOwed.and(pend.or(live).not()).eq(0),
        'V-4: an owed bit stays in pend_vec or in the snapshot being written until an OKAY write delivers it',
      );
      // Invariants that make the proof inductive (each holds in every reachable state).
      m.assert(
        fAwOpen.resize(3).addWrap(awPending.resize(3)).eq(outstanding.resize(3)),
        'V-4 (invariant): issued entries not yet answered are the AWs open plus the one waiting',
      );
      m.when(st.is('IDLE'), () => m.assert(outstanding.eq(0).and(entryIdle), 'V-4 (invariant): idle, no entry write is in flight'));
      m.assert(
        outstanding.le(snapGroups.eq(0).resize(outstanding.width)),
        'V-4 (invariant): one entry a snapshot, in flight only once issued',
      );
      m.when(fOwed.and(snap).and(pend.not()).ne(0).and(st.is('IDLE').not()), () =>
        m.assert(snapGroups.ne(0).or(outstanding.ne(0)), 'V-4 (invariant): an undelivered snapshot is still to be written or in flight'),
      );
      m.cover(bFail.and(fOwed.and(snap).ne(0)), 'V-4: a failed entry write gives owed bits back to pend_vec');
    }

    return {
      reg,
      intCtrl,
      txSet,
      rxSet,
      faultIrq: faultIrqReq,
      intrFault,
      fault: faultOut,
      axi,
      irq,
      pendVec: pendOut,
      maskVec: maskOut,
      snapPulse: snapOut,
    };
  });
}
