/**
 * The DMA interconnect: several AXI4 masters (the engines) onto the NIC's one AXI4 master port.
 *
 * Address channels are arbitrated round-robin through a register stage (so a granted request's payload
 * is stable until the host accepts it). The client number goes into the top ID bits; R and B responses
 * are routed back by those bits, so each client sees its own IDs and keeps several reads in flight.
 * Write data follows the order in which write addresses were accepted (a small queue of client numbers),
 * through a register stage.
 */
import {
  all,
  any,
  axi4Spec,
  Bool,
  cat,
  defineModule,
  type Expr,
  lit,
  log2Ceil,
  type ModuleBuilder,
  mux,
  type Reg,
  UInt,
} from '../../generator/index.js';

export interface DmaInterconnectParams {
  clients: number;
  dataWidth: number;
  clientIdWidth: number;
  /** Write addresses accepted whose data has not all passed yet. */
  writeDepth?: number;
}

type AddrChannel = 'ar' | 'aw';
const addrFields = ['id', 'addr', 'len', 'size', 'burst', 'lock', 'cache', 'prot'] as const;

/**
 * Round-robin choice among `valid` bits after the last grant: each client's win (one-hot), the
 * winner's index and whether any is valid. Client i wins when it is valid and no client between the
 * last grant and it is: one flat function of the valids and `last` per client (n is small: one per
 * engine), so a client's ready is not a mux chain and a compare (the AW handshake was the longest
 * path of the TX completion); the index is encoded from the wins.
 */
function roundRobin(m: ModuleBuilder, name: string, valid: Expr[], take: Expr): { index: Expr; wins: Expr[]; any: Expr } {
  const n = valid.length;
  const w = Math.max(1, log2Ceil(n));
  const last = m.reg(`${name}_last`, UInt(w), { reset: n - 1 });
  const wins = valid.map((vi, i) => {
    const afterStart = Array.from({ length: n }, (_, start) => {
      const before: Expr[] = [];
      for (let k = 1; k < n; k++) {
        const j = (start + k) % n;
        if (j === i) break;
        before.push((valid[j] as Expr).not());
      }
      return last.eq(start).and(before.length ? all(...before) : lit(1, 1));
    });
    return m.named(`${name}_win_${i}`, vi.and(any(...afterStart)));
  });
  const index = m.named(`${name}_pick`, any(...wins.map((win, i) => mux(win, lit(i, w), lit(0, w)))));
  m.when(take, () => last.set(index));
  return { index, wins, any: any(...valid) };
}

export function dmaInterconnect(p: DmaInterconnectParams) {
  const writeDepth = p.writeDepth ?? 8;
  return defineModule('dma_interconnect', { CLIENTS: p.clients, DATA_W: p.dataWidth, CLIENT_ID_W: p.clientIdWidth }, (m) => {
    const n = p.clients;
    const cw = Math.max(1, log2Ceil(n));
    const clientSpec = axi4Spec({ addrWidth: 64, dataWidth: p.dataWidth, idWidth: p.clientIdWidth });
    const hostSpec = axi4Spec({ addrWidth: 64, dataWidth: p.dataWidth, idWidth: p.clientIdWidth + cw });
    const s = Array.from({ length: n }, (_, i) => m.slave(`s${i}_axi`, clientSpec));
    const host = m.master('m_axi', hostSpec);

    // ---- address channels: round-robin into a register stage ----
    const addrChannel = (ch: AddrChannel, onAccept: (client: Expr) => void, canAccept: Expr): void => {
      const outValid = m.reg(`${ch}_out_valid`, Bool, { reset: 0 });
      const hostReady = ch === 'ar' ? host.arready : host.awready;
      const free = m.named(`${ch}_free`, outValid.not().or(hostReady).and(canAccept));
      const valids = s.map((c) => (ch === 'ar' ? c.arvalid : c.awvalid));
      const take = m.wire(`${ch}_take`, Bool, { init: 0 });
      const rr = roundRobin(m, ch, valids, take);
      take.set(free.and(rr.any));
      s.forEach((c, i) => {
        const ready = ch === 'ar' ? c.arready : c.awready;
        ready.set(free.and(rr.wins[i] as Expr));
      });
      const regs: Record<string, Reg> = {};
      for (const f of addrFields) {
        const hostPort = host[`${ch}${f}` as const];
        // Reset, although only valid with `outValid`: a 4-state simulator must see no X on an output (F-7).
        regs[f] = m.reg(`${ch}_out_${f}`, hostPort.type, { reset: 0 });
      }
      m.when(take, () => {
        for (const f of addrFields) {
          const options = s.map((c) => c[`${ch}${f}` as const] as Expr);
          let v: Expr = options[0] as Expr;
          for (let i = 1; i < n; i++) v = mux(rr.index.eq(i), options[i] as Expr, v);
          if (f === 'id') regs.id?.set(cat(rr.index, v));
          else regs[f]?.set(v);
        }
        onAccept(rr.index);
      });
      m.when(take, () => outValid.set(1)).elseWhen(hostReady, () => outValid.set(0));
      (ch === 'ar' ? host.arvalid : host.awvalid).set(outValid);
      for (const f of addrFields) host[`${ch}${f}` as const].set(regs[f] as Reg);
    };

    // ---- write data order: the clients whose write addresses were accepted, oldest first ----
    const qw = Math.max(1, log2Ceil(writeDepth));
    const order = m.memory('w_order', { width: cw, depth: writeDepth });
    const head = m.reg('w_head', UInt(qw), { reset: 0 });
    const tail = m.reg('w_tail', UInt(qw), { reset: 0 });
    const count = m.reg('w_count', UInt(qw + 1), { reset: 0 });
    const wClient = m.named('w_client', order.readAsync(head));
    const wActive = m.named('w_active', count.ne(0));
    const wSel = (f: 'wdata' | 'wstrb' | 'wlast' | 'wvalid'): Expr => {
      let v: Expr = (s[0] as (typeof s)[number])[f];
      for (let i = 1; i < n; i++) v = mux(wClient.eq(i), (s[i] as (typeof s)[number])[f], v);
      return v;
    };
    // W leaves through a register stage (full rate: it takes a beat whenever it is empty or the host
    // takes its beat), so the host port's W signals come from flip-flops and the clients' write-data
    // logic and the host's timing are not one path. Its payload is 0 while it holds no beat: `w_order`
    // is read at an unwritten slot when no burst is active, and the clients' data may be unreset,
    // which a 4-state simulator shows as X on the outputs (F-7).
    const wOutValid = m.reg('w_out_valid', Bool, { reset: 0 });
    const wOutData = m.reg('w_out_data', UInt(p.dataWidth), { reset: 0 });
    const wOutStrb = m.reg('w_out_strb', UInt(p.dataWidth / 8), { reset: 0 });
    const wOutLast = m.reg('w_out_last', Bool, { reset: 0 });
    const wFree = m.named('w_free', wOutValid.not().or(host.wready));
    const wOn = m.named('w_on', wActive.and(wSel('wvalid')));
    m.when(wFree, () => {
      wOutValid.set(wOn);
      wOutData.set(mux(wOn, wSel('wdata'), lit(0, p.dataWidth)));
      wOutStrb.set(mux(wOn, wSel('wstrb'), lit(0, p.dataWidth / 8)));
      wOutLast.set(wOn.and(wSel('wlast')));
    });
    host.wvalid.set(wOutValid);
    host.wdata.set(wOutData);
    host.wstrb.set(wOutStrb);
    host.wlast.set(wOutLast);
    s.forEach((c, i) => {
      c.wready.set(wActive.and(wClient.eq(i)).and(wFree));
    });
    // A burst's last beat taken into the stage: the next client's burst may follow in the next cycle.
    const wDone = m.named('w_burst_done', wOn.and(wFree).and(wSel('wlast')));

    addrChannel('ar', () => {}, lit(1, 1));
    const awPush = m.wire('aw_push', Bool, { init: 0 });
    addrChannel(
      'aw',
      (client) => {
        awPush.set(1);
        order.write(tail, client);
      },
      count.lt(writeDepth),
    );
    m.when(awPush, () => tail.set(tail.addWrap(1)));
    m.when(wDone, () => head.set(head.addWrap(1)));
    m.when(awPush.and(wDone.not()), () => count.set(count.addWrap(1))).elseWhen(wDone.and(awPush.not()), () => count.set(count.subWrap(1)));

    // ---- responses: routed by the client number in the top ID bits ----
    const idW = p.clientIdWidth;
    const rClient = m.named('r_client', host.rid.bits(idW + cw - 1, idW));
    const bClient = m.named('b_client', host.bid.bits(idW + cw - 1, idW));
    let rReady: Expr = lit(0, 1);
    let bReady: Expr = lit(0, 1);
    s.forEach((c, i) => {
      const rMine = rClient.eq(i);
      const bMine = bClient.eq(i);
      c.rvalid.set(host.rvalid.and(rMine));
      c.rid.set(host.rid.bits(idW - 1, 0));
      c.rdata.set(host.rdata);
      c.rresp.set(host.rresp);
      c.rlast.set(host.rlast);
      c.bvalid.set(host.bvalid.and(bMine));
      c.bid.set(host.bid.bits(idW - 1, 0));
      c.bresp.set(host.bresp);
      rReady = mux(rMine, c.rready, rReady);
      bReady = mux(bMine, c.bready, bReady);
    });
    host.rready.set(rReady);
    host.bready.set(bReady);
    return { s, host };
  });
}
