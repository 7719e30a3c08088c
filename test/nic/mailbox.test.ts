/**
 * The mailbox block in simulation (spec section 4): event bits and their fixed latency (C-2), the
 * doorbell queues and the same-cycle race with a pop (C-3), the INT_CTRL stream, the done-seq
 * read-back and the AXI4-Lite slave's obligations.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAILBOX_EVENT_LATENCY } from '../../hdl/nic/mailbox.js';
import type { Bar0Reg } from '../../hdl/registers/map.js';
import { AxiLiteChecker, always, RESP_OKAY } from '../../testbench/axi/index.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { bit, closeOpenBench, closeSims, EXEC_DELAY, MailboxBench } from './mailboxBench.js';

afterEach(closeOpenBench);
afterAll(closeSims);
beforeAll(() => MailboxBench.prepare({}, { profile: '10g' }), BUILD_TIMEOUT);

const DOORBELL_WORDS = ['TX_PROD', 'RX_PROD', 'INT_CTRL'] as const satisfies readonly Bar0Reg[];
const all = (n: number): bigint => (1n << BigInt(n)) - 1n;

describe('mailbox: event bits (C-2)', () => {
  for (const profile of ['test', '10g']) {
    it(`C-2: a write to TX_PROD, RX_PROD or INT_CTRL of page c sets mbox_ev[c][m] and ctx_ev[c] exactly ${MAILBOX_EVENT_LATENCY} cycles after its handshake, and no other bit (${profile})`, async () => {
      const b = await MailboxBench.create({ profile });
      const n = b.p.N_CTX;
      const expected = { tx: 0n, rx: 0n, int: 0n };
      for (let c = 0; c < n; c++) {
        for (const reg of DOORBELL_WORDS) {
          const first = b.writes.length;
          await b.master.write(b.addr(c, reg), 0x1234);
          await b.tb.cycles(MAILBOX_EVENT_LATENCY + 2);
          const hs = (b.writes[first] as { cycle: number }).cycle;
          const which = reg === 'TX_PROD' ? 'tx' : reg === 'RX_PROD' ? 'rx' : 'int';
          const rise = b.firstCycle(hs, (s) => bit(s[which], c));
          expect(rise, `${reg} of page ${c}`).not.toBeNull();
          expect((rise as number) - hs, `${reg} of page ${c}: cycles from handshake to event`).toBe(MAILBOX_EVENT_LATENCY);
          expect(bit(b.sampleAt(rise as number).ctx, c), `ctx_ev[${c}] with ${reg}`).toBe(true);
          expected[which] |= 1n << BigInt(c);
          const now = b.samples[b.samples.length - 1] as { tx: bigint; rx: bigint; int: bigint; ctx: bigint };
          expect({ tx: now.tx, rx: now.rx, int: now.int }).toEqual(expected);
          expect(now.ctx).toBe(expected.tx | expected.rx | expected.int);
          if (reg === 'INT_CTRL') {
            // The interrupt engine takes it; the INT_CTRL event then clears.
            b.intReady = always;
            await b.tb.cycles(2);
            b.intReady = () => false;
            expected.int = 0n;
            expect(b.intCtrl.at(-1)?.ctx).toBe(c);
          }
        }
      }
      await b.tb.cycles(2);
      const last = b.samples.at(-1) as { tx: bigint; rx: bigint; int: bigint; ctx: bigint };
      expect(last.tx).toBe(all(n));
      expect(last.rx).toBe(all(n));
      expect(last.int).toBe(0n);
      expect(last.ctx).toBe(all(n));
      b.close();
    });
  }

  it('C-2: a reserved word (or a read-only one) of any page sets no event, pushes nothing and answers OKAY; reads of it return 0', async () => {
    const b = await MailboxBench.create({ txReady: always, rxReady: always, intReady: always });
    const n = b.p.N_CTX;
    const reserved = [0x00c, 0x010, 0x014, 0x018, 0x020, 0x400, 0x800, 0xffc];
    for (let c = 0; c < n; c++) {
      for (const off of reserved) {
        expect(await b.master.writeResp(c * 0x1000 + off, 0xffffffff)).toBe(RESP_OKAY);
      }
    }
    await b.tb.cycles(8);
    const raised = b.samples.filter((s) => s.tx !== 0n || s.rx !== 0n || s.int !== 0n || s.ctx !== 0n);
    expect(raised).toEqual([]);
    expect(b.txPops).toEqual([]);
    expect(b.rxPops).toEqual([]);
    expect(b.intCtrl).toEqual([]);
    for (let c = 0; c < n; c++) {
      for (const off of [0x000, 0x004, 0x008, 0x00c, 0x018, 0xffc]) {
        const r = await b.master.readResp(c * 0x1000 + off);
        expect(r, `read of page ${c} offset 0x${off.toString(16)}`).toEqual({ data: 0, resp: RESP_OKAY });
      }
    }
    // A doorbell after all that still works.
    await b.master.write(b.addr(n - 1, 'TX_PROD'), 1);
    await b.tb.cycles(6);
    expect(b.txPops.map((x) => x.ctx)).toEqual([n - 1]);
    b.close();
  });
});

describe('mailbox: doorbell queues', () => {
  it('C-2: each queue gives the contexts in doorbell order, each once however often it rang; a pop clears its bit', async () => {
    const b = await MailboxBench.create();
    const n = b.p.N_CTX;
    const ring = [2, 0, 2, 3, 0, 3, 3, 1].map((c) => c % n);
    for (const c of ring) await b.master.write(b.addr(c, 'RX_PROD'), 7);
    for (const c of [...ring].reverse()) await b.master.write(b.addr(c, 'TX_PROD'), 7);
    await b.tb.cycles(4);
    const once = (xs: number[]) => xs.filter((c, i) => xs.indexOf(c) === i);
    const rxOrder = once(ring);
    const txOrder = once([...ring].reverse());
    b.rxReady = always;
    await b.tb.cycles(rxOrder.length + 4);
    expect(b.rxPops.map((x) => x.ctx)).toEqual(rxOrder);
    expect(b.samples.at(-1)?.rx).toBe(0n);
    expect(b.txPops).toEqual([]);
    b.txReady = always;
    await b.tb.cycles(txOrder.length + 4);
    expect(b.txPops.map((x) => x.ctx)).toEqual(txOrder);
    expect(b.samples.at(-1)?.tx).toBe(0n);
    expect(b.samples.at(-1)?.ctx).toBe(0n);
    b.close();
  });

  it('C-3: a doorbell landing in the cycle its bit is popped is not lost (pop swept around the race cycle)', async () => {
    const b = await MailboxBench.create();
    const n = b.p.N_CTX;
    const c = n - 1;
    let raced = 0;
    for (let offset = -3; offset <= 3; offset++) {
      // c is queued, its bit set.
      await b.master.write(b.addr(c, 'TX_PROD'), 1);
      await b.tb.cycles(4);
      const popsBefore = b.txPops.length;
      const writesBefore = b.writes.length;
      // The write below is offered 4 edges from now, taken at the next edge and takes effect EXEC_DELAY
      // edges later; the engine pops c once, `offset` edges from that (ready is driven one edge ahead).
      const raceEdge = b.tb.cycle + 4 + 1 + EXEC_DELAY;
      b.txReady = (cyc) => cyc + 1 === raceEdge + offset;
      await b.tb.cycles(4);
      await b.master.write(b.addr(c, 'TX_PROD'), 2);
      await b.tb.cycles(8);
      const hs = (b.writes[writesBefore] as { cycle: number }).cycle;
      const execEdge = hs + EXEC_DELAY;
      const pop = b.txPops[popsBefore];
      expect(pop, `offset ${offset}: the engine's pop`).toBeDefined();
      if ((pop as { cycle: number }).cycle === execEdge) {
        raced++;
        // The bit survives the pop that happened in the doorbell's own cycle.
        expect(bit(b.sampleAt(execEdge + 1).tx, c), `offset ${offset}: bit after the race`).toBe(true);
      }
      // Whatever the order, once the engine takes the queue again, c comes out after the doorbell.
      b.txReady = always;
      await b.tb.cycles(6);
      const later = b.txPops.slice(popsBefore).filter((x) => x.ctx === c && x.cycle > execEdge);
      expect(later.length, `offset ${offset}: pops of ${c} after the doorbell at edge ${execEdge}`).toBe(1);
      expect(b.samples.at(-1)?.tx).toBe(0n);
      b.txReady = () => false;
    }
    expect(raced, 'the sweep must include the same-cycle race').toBe(1);
    b.close();
  });
});

describe('mailbox: INT_CTRL and done seqs', () => {
  it('INT_CTRL writes reach the interrupt engine in order with their mask and unmask bits (byte lane 0 only)', async () => {
    const b = await MailboxBench.create({ intReady: always });
    const n = b.p.N_CTX;
    const cases = [
      { c: 0, v: 1, strb: 0xf, mask: true, unmask: false },
      { c: 1 % n, v: 2, strb: 0xf, mask: false, unmask: true },
      { c: 2 % n, v: 3, strb: 0x1, mask: true, unmask: true },
      { c: 3 % n, v: 0, strb: 0xf, mask: false, unmask: false },
      { c: 0, v: 3, strb: 0xe, mask: false, unmask: false },
      { c: n - 1, v: 0xfffffffd, strb: 0xf, mask: true, unmask: false },
    ];
    for (const k of cases) await b.master.write(b.addr(k.c, 'INT_CTRL'), k.v, k.strb);
    await b.tb.cycles(4);
    expect(b.intCtrl.map(({ ctx, mask, unmask }) => ({ ctx, mask, unmask }))).toEqual(
      cases.map((k) => ({ ctx: k.c, mask: k.mask, unmask: k.unmask })),
    );
    expect(b.txPops).toEqual([]);
    expect(b.rxPops).toEqual([]);
    b.close();
  });

  it('TX_DONE_SEQ and RX_DONE_SEQ of each page read back the last value the engines sent for that context', async () => {
    const b = await MailboxBench.create();
    const n = b.p.N_CTX;
    const mask = 2 ** b.p.SEQ_W - 1;
    const tx = new Map<number, number>();
    const rx = new Map<number, number>();
    for (let i = 0; i < 3 * n; i++) {
      const c = (i * 7) % n;
      const t = (i * 5 + 3) & mask;
      const r = (i * 11 + 9) & mask;
      b.done('tx', c, t);
      b.done('rx', (c + 1) % n, r);
      tx.set(c, t);
      rx.set((c + 1) % n, r);
    }
    await b.tb.cycles(3 * n + 4);
    for (let c = 0; c < n; c++) {
      expect(await b.master.read(b.addr(c, 'TX_DONE_SEQ')), `TX_DONE_SEQ of page ${c}`).toBe(tx.get(c) ?? 0);
      expect(await b.master.read(b.addr(c, 'RX_DONE_SEQ')), `RX_DONE_SEQ of page ${c}`).toBe(rx.get(c) ?? 0);
    }
    b.close();
  });
});

describe('mailbox: reset (F-6)', () => {
  for (const profile of ['test', '10g']) {
    it(`F-6: after rst every done seq reads 0 and no event bit, queued doorbell or INT_CTRL write survives; updates after it read back (${profile})`, async () => {
      const b = await MailboxBench.create({ profile });
      const n = b.p.N_CTX;
      const mask = 2 ** b.p.SEQ_W - 1;
      const pages = [0, 1, n - 1].filter((c, i, a) => a.indexOf(c) === i);
      for (const c of pages) {
        b.done('tx', c, (c + 5) & mask || 1);
        b.done('rx', c, (c + 9) & mask || 1);
        await b.master.write(b.addr(c, 'TX_PROD'), 1);
        await b.master.write(b.addr(c, 'RX_PROD'), 1);
      }
      await b.master.write(b.addr(pages[0] as number, 'INT_CTRL'), 1);
      await b.tb.cycles(5);
      for (const c of pages) expect(await b.master.read(b.addr(c, 'TX_DONE_SEQ')), `before rst: page ${c}`).not.toBe(0);
      expect((b.samples.at(-1) as { ctx: bigint }).ctx).not.toBe(0n);
      await b.tb.reset();
      await b.tb.cycles(2);
      // Consumers ready from now on: nothing may come out of the queues.
      b.txReady = always;
      b.rxReady = always;
      b.intReady = always;
      const afterReset = b.tb.cycle;
      await b.tb.cycles(20);
      expect(b.txPops.filter((x) => x.cycle > afterReset)).toEqual([]);
      expect(b.rxPops.filter((x) => x.cycle > afterReset)).toEqual([]);
      expect(b.intCtrl.filter((x) => x.cycle > afterReset)).toEqual([]);
      expect(b.samples.at(-1)).toMatchObject({ tx: 0n, rx: 0n, int: 0n, ctx: 0n });
      for (let c = 0; c < n; c++) {
        for (const reg of ['TX_DONE_SEQ', 'RX_DONE_SEQ'] as const) {
          if (c > 3 && c < n - 2 && c % 37 !== 0) continue;
          expect(await b.master.read(b.addr(c, reg)), `${reg} of page ${c} after rst`).toBe(0);
        }
      }
      b.done('rx', pages[0] as number, 3);
      await b.tb.cycles(3);
      expect(await b.master.read(b.addr(pages[0] as number, 'RX_DONE_SEQ'))).toBe(3);
      expect(await b.master.read(b.addr(pages[0] as number, 'TX_DONE_SEQ'))).toBe(0);
      b.close();
    });
  }
});

describe('mailbox: AXI4-Lite slave', () => {
  it('takes AW and W independently (either first, cycles apart), holds B and R until taken, answers OKAY', async () => {
    const b = await MailboxBench.create({ manualBar0: true, rxReady: always });
    const checker = new AxiLiteChecker(b.tb, 's_axil_bar0');
    const P = b.sim.ports;
    const S = b.sim.sampled;
    const waitFor = async (what: string, cond: () => boolean) => {
      for (let i = 0; i < 50; i++) {
        await b.tb.rising();
        if (cond()) return;
      }
      throw new Error(`${what} did not happen within 50 cycles`);
    };
    const write = async (addr: number, awFirst: boolean, gap: number) => {
      const first = awFirst ? 'aw' : 'w';
      const second = awFirst ? 'w' : 'aw';
      P.s_axil_bar0_awaddr = addr;
      P.s_axil_bar0_wdata = 1;
      P.s_axil_bar0_wstrb = 0xf;
      P[`s_axil_bar0_${first}valid`] = 1;
      await waitFor(`${first} handshake`, () => S[`s_axil_bar0_${first}ready`] === 1);
      P[`s_axil_bar0_${first}valid`] = 0;
      await b.tb.cycles(gap);
      expect(S.s_axil_bar0_bvalid, 'no B before both halves').toBe(0);
      P[`s_axil_bar0_${second}valid`] = 1;
      await waitFor(`${second} handshake`, () => S[`s_axil_bar0_${second}ready`] === 1);
      P[`s_axil_bar0_${second}valid`] = 0;
      // B stays up, unchanged, for as long as bready is low.
      await b.tb.cycles(12);
      expect(b.sim.ports.s_axil_bar0_bvalid).toBe(1);
      expect(b.sim.ports.s_axil_bar0_bresp).toBe(RESP_OKAY);
      P.s_axil_bar0_bready = 1;
      await b.tb.rising();
      P.s_axil_bar0_bready = 0;
    };
    await write(b.addr(0, 'RX_PROD'), true, 5);
    await write(b.addr(1 % b.p.N_CTX, 'RX_PROD'), false, 7);
    await b.tb.cycles(4);
    expect(b.rxPops.map((x) => x.ctx)).toEqual([0, 1 % b.p.N_CTX]);
    // A read answered while rready is low stays on the bus.
    b.done('rx', 0, 5);
    await b.tb.cycles(2);
    P.s_axil_bar0_araddr = b.addr(0, 'RX_DONE_SEQ');
    P.s_axil_bar0_arvalid = 1;
    await waitFor('ar handshake', () => S.s_axil_bar0_arready === 1);
    P.s_axil_bar0_arvalid = 0;
    await b.tb.cycles(10);
    expect(b.sim.ports.s_axil_bar0_rvalid).toBe(1);
    expect(b.sim.ports.s_axil_bar0_rdata).toBe(5);
    expect(b.sim.ports.s_axil_bar0_rresp).toBe(RESP_OKAY);
    P.s_axil_bar0_rready = 1;
    await b.tb.rising();
    P.s_axil_bar0_rready = 0;
    await b.tb.cycles(2);
    expect(b.sim.ports.s_axil_bar0_rvalid).toBe(0);
    expect(checker.violations).toEqual([]);
    b.close();
  });
});
