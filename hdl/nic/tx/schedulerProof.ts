/**
 * The TX scheduler (scheduler.ts: the active queue, the fetcher and the doorbells) alone, for the V-5
 * proof (spec section 14, docs/formal.md): a backlogged, enabled context is served within
 * N_CTX * TX_QUANTUM turns.
 *
 * A turn is a scheduling decision: the fetcher pops a context from the active queue (from IDLE, or
 * the cut of a just-woken context while another's turn waits for its probe) and gives it one turn of
 * at most TX_QUANTUM descriptor fetches (one for a probe). A context waits for service while it is in
 * the queue; it is served when it is popped. Proven for any one context (a free input, constant over
 * the run, so every context is covered), with ghost counters since it entered the queue: (1) while a context waits, other contexts get at most N_CTX - 1 turns; (2) and at most
 * (N_CTX - 1) * TX_QUANTUM descriptor fetches; (3) an active context is always in the rotation (in
 * the queue, in its turn, or set aside with its turn pending), so a backlogged context is never lost
 * from it. (2) assumes that no context has a TX_RATE_SHARE: a turn with a share fetches what its
 * deficit pays for (up to SHARE_TURN_MAX); caps (TX_RATE_MAX) are free, they only make turns skip.
 *
 * Free here: doorbells, EN/QUIESCE, the descriptor read's grant, the meta queue's back-pressure, the
 * writes of the ring registers, next-to-complete seqs, counters and shaping settings by the other
 * stages, the sequence check's rollbacks of the next-to-fetch seq, and the check's context-bit
 * updates in the directions the check makes them (check.ts: a probe answered, a context gone idle,
 * probing set or cleared, rearm cleared), in any cycle it decides (doorbells wait then, as in the engine).
 */
import { Bool, defineModule, type Expr, lit, mux, UInt } from '../../../generator/index.js';
import { syncFifo } from '../../../generator/lib/syncFifo.js';
import type { NicParams } from '../../params.js';
import { ctxEventSpec, nicWidths } from '../interfaces.js';
import { txConfig } from './config.js';
import type { ContextMemories, CtxMemory } from './contextMemory.js';
import type { ReadRequest } from './dmaRead.js';
import { txLayouts } from './layouts.js';
import { doorbells, type Flags, fetcher, finishScheduler, type SchedulerMutation, scheduler } from './scheduler.js';
import { SHARE_QUOTA_W, type Shaper } from './shaper.js';
import { SharedPort } from './sharedPort.js';

export function schedulerProof(p: NicParams, opts: { mutation?: SchedulerMutation } = {}) {
  const w = nicWidths(p);
  const cfg = txConfig(p, w);
  const lay = txLayouts(cfg);
  const n = cfg.nCtx;
  const q = cfg.quantum;
  const mutation = opts.mutation;
  return defineModule('tx_sched_proof', { N_CTX: n, TX_QUANTUM: q, ...(mutation ? { MUTATION: mutation } : {}) }, (m) => {
    const flags: Flags = {
      en: m.input('ctx_en', UInt(n)),
      quiesce: m.input('ctx_quiesce', UInt(n)),
      spoofchk: m.input('ctx_spoofchk', UInt(n)),
    };
    const doorbell = m.slave('s_doorbell', ctxEventSpec(w));
    // The context memories the fetcher reads (ring registers, next-to-fetch and next-to-complete
    // seqs): any word in any cycle, every row rewritten with free data each cycle (the register bus,
    // the check's rollbacks and the completion write them in the engine; their values only decide
    // whether a turn has ring room). The others belong to the shaper, which is free here. The reset
    // sweep is free too (`initBusy` holds pops and doorbells off at any time, as the sweep does).
    const freeMem = (name: string, width: number): CtxMemory => {
      const mem = m.memory(name, { width, depth: n });
      for (let r = 0; r < n; r++) mem.write(r, m.input(`${name}_word${r}`, UInt(width)));
      return { mem, port: new SharedPort(m, `${name}_wr`, ['addr', 'data', 'mask']), lanes: 1 };
    };
    const fetchSeq = freeMem('fseq_mem', cfg.iseqW);
    const unused = freeMem('unused_mem', 1);
    const mems: ContextMemories = {
      ring: freeMem('ring_mem', 96),
      fetchSeq,
      cpl: freeMem('cpl_mem', cfg.iseqW),
      done: unused,
      mac: unused,
      exp: unused,
      counters: unused,
      shapeCfg: unused,
      shape: unused,
      initBusy: m.input('init_busy'),
      finish: () => {},
    };
    // The sequence check's rollback of a next-to-fetch seq (before the fetcher on the port, as in the engine).
    const chkFetchSeq = {
      en: m.input('chk_fseq_en'),
      ctx: m.input('chk_fseq_ctx', UInt(cfg.ctxW)),
      value: m.input('chk_fseq_value', UInt(cfg.iseqW)),
    };
    fetchSeq.port.request('chk', chkFetchSeq.en, { addr: chkFetchSeq.ctx, data: chkFetchSeq.value, mask: lit(1, 1) });

    const s = scheduler(m, cfg);
    const { bits } = s;
    // The check's context-bit updates, set first so that the fetcher's and doorbells' win (as in the engine).
    const deciding = m.input('chk_deciding');
    const mask = (name: string): Expr => m.input(name, UInt(n));
    m.when(deciding, () => {
      bits.probeWait.set(bits.probeWait.and(mask('chk_answered').not()));
      bits.active.set(bits.active.and(mask('chk_idle').not()));
      bits.probing.set(bits.probing.and(mask('chk_matched').not()).or(mask('chk_reprobe')));
      bits.rearm.set(bits.rearm.and(mask('chk_unrearm').not()));
    });

    const metaQ = m.instance('u_meta_q', syncFifo({ width: lay.meta.width, depth: 1, storage: 'flops' })).io;
    metaQ.out.ready.set(m.input('meta_ready'));
    const ar: ReadRequest = {
      valid: m.wire('ar_desc_valid', Bool),
      addr: m.wire('ar_desc_addr', UInt(64)),
      len: m.wire('ar_desc_len', UInt(8)),
      grant: m.input('ar_desc_grant'),
    };
    // Shaping: any cap decision in any cycle (a free `ok`), and no TX_RATE_SHARE (bound (2)).
    const freeShaper = (): Shaper => ({ ok: m.input('shape_ok'), shareLate: lit(0, 1), shareQuota: lit(0, SHARE_QUOTA_W) });
    const deps = { flags, mems, metaIn: metaQ.in, ar, chkFetchSeq, shaper: freeShaper };
    const f = fetcher(m, cfg, lay, s, deps, mutation ? { mutation } : {});
    const db = doorbells(m, s, { doorbell, initBusy: mems.initBusy, checkDeciding: deciding, fetcher: f });
    finishScheduler(s);

    // ---- V-5 ----
    m.assume(ar.grant.not().or(ar.valid), 'V-5: the descriptor read is granted only when asked for');
    const pop = s.queue.out.valid.and(s.queue.out.ready);
    const head = s.queue.out.data;
    const fetched = metaQ.in.valid;
    const fetchCtx = lay.meta.unpack(metaQ.in.data).ctx;
    const turnBound = n - 1;
    const fetchBound = (n - 1) * q;
    // Saturating counters (a broken variant must not wrap back under the bound).
    const counter = (name: string, max: number, inc: Expr, waiting: Expr): Expr => {
      const cw = Math.max(1, Math.ceil(Math.log2(max + 2)));
      const top = 2 ** cw - 1;
      return m.ghost(name, UInt(cw), {
        reset: 0,
        next: (v) => mux(waiting, mux(inc.and(v.ne(top)), v.addWrap(1), v), lit(0, cw)),
      });
    };
    // The watched context: any one, chosen by the prover and kept for the whole run.
    const j = m.input('f_watch', UInt(cfg.ctxW));
    m.assume(j.eq(m.past(j)), 'V-5: the watched context is one context for the whole run');
    // In the queue, or in the fetcher's requeue register on its way there (scheduler.ts).
    const waiting = bits.queued.bit(j).or(s.requeued.valid.and(s.requeued.ctx.eq(j)));
    const turns = counter('f_turns', turnBound, pop.and(head.ne(j)), waiting);
    const fetches = counter('f_fetches', fetchBound, fetched.and(fetchCtx.ne(j)), waiting);
    m.assert(turns.le(turnBound), 'V-5: a context in the queue sees at most N_CTX-1 turns of others before its own');
    m.assert(fetches.le(fetchBound), 'V-5: a context in the queue sees at most (N_CTX-1)*TX_QUANTUM fetches of others before its turn');
    const inItsTurn = f.formal.inTurn.and(f.formal.turnCtx.eq(j));
    const setAside = f.held.and(f.heldCtx.eq(j));
    // A woken context whose push met the fetcher's is held for its push (scheduler.ts, doorbells).
    const pushHeld = db.pend.and(db.pendCtx.eq(j));
    m.assert(
      bits.active.bit(j).not().or(waiting).or(inItsTurn).or(setAside).or(pushHeld),
      'V-5: an active context is queued, in its turn, set aside with its turn pending, or held for its push',
    );
    const served = pop.and(head.eq(j));
    m.cover(served.and(turns.eq(turnBound)), 'V-5: a context gets its turn after exactly N_CTX-1 turns of others (the worst case)');
    m.cover(
      served.and(fetches.eq(fetchBound)),
      'V-5: a context gets its turn after exactly (N_CTX-1)*TX_QUANTUM fetches of others (the worst case)',
    );
  });
}
