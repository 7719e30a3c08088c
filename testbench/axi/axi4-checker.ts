/**
 * A passive AXI4 protocol checker. It checks the master's obligations (channel stability, burst
 * legality, WLAST on the last beat) and the slave's (stability, responses only to outstanding IDs,
 * RLAST on the last beat), and fails the test on the first violation.
 */
import type { Port } from '../../sim/index.js';
import type { Testbench } from '../runtime/testbench.js';
import { type Burst, burstViolation } from './axi4-rules.js';
import { ChannelRule, type CheckerOptions, ViolationLog } from './checker-base.js';
import { num, optionalSignal, signal } from './signals.js';

const handshake = 'AXI4 A3.2.1: once VALID is asserted it must remain asserted, with stable information, until READY';

export interface Axi4CheckerOptions extends CheckerOptions {
  /** Check the master's rules (default true). */
  master?: boolean;
  /** Check the slave's rules (default true). */
  slave?: boolean;
}

/** The address channel of a bus: AR or AW. */
export interface AddressChannel {
  valid: Port;
  ready: Port;
  id: Port | null;
  addr: Port;
  len: Port | null;
  size: Port | null;
  burst: Port | null;
}

function addressChannel(tb: Testbench<object>, prefix: string, ch: 'ar' | 'aw'): AddressChannel | null {
  const sim = tb.sim;
  const valid = optionalSignal(sim, prefix, `${ch}valid`);
  if (!valid) return null;
  return {
    valid,
    ready: signal(sim, prefix, `${ch}ready`),
    id: optionalSignal(sim, prefix, `${ch}id`),
    addr: signal(sim, prefix, `${ch}addr`),
    len: optionalSignal(sim, prefix, `${ch}len`),
    size: optionalSignal(sim, prefix, `${ch}size`),
    burst: optionalSignal(sim, prefix, `${ch}burst`),
  };
}

/** The burst a sampled address-channel transfer carries. */
export function sampledBurst(c: AddressChannel, dataBytes: number): Burst {
  return {
    id: c.id ? num(c.id.sampled()) : 0,
    addr: num(c.addr.sampled()),
    len: c.len ? num(c.len.sampled()) : 0,
    size: c.size ? num(c.size.sampled()) : Math.log2(dataBytes),
    burst: c.burst ? num(c.burst.sampled()) : 1,
  };
}

function present(...ports: (Port | null)[]): Port[] {
  return ports.filter((p): p is Port => p !== null);
}

export class Axi4Checker {
  readonly log: ViolationLog;
  readonly dataBytes: number;
  private readonly ar: AddressChannel | null;
  private readonly aw: AddressChannel | null;
  private readonly rules: { ar?: ChannelRule; aw?: ChannelRule; w?: ChannelRule; r?: ChannelRule; b?: ChannelRule } = {};
  private readonly r: { id: Port | null; last: Port | null } | null = null;
  private readonly w: { last: Port | null } | null = null;
  private readonly b: { id: Port | null } | null = null;
  /** Outstanding reads: beats still expected, per ID, in order. */
  private readonly reads = new Map<number, number[]>();
  private readonly awLens: { id: number; len: number }[] = [];
  private wBeat = 0;
  /** W bursts finished before their AW arrived (AXI4 allows data first): their lengths. */
  private readonly wDone: number[] = [];
  /** Writes whose address and data both arrived: IDs owed a response. */
  private readonly owedB = new Map<number, number>();
  private readonly checkMaster: boolean;
  private readonly checkSlave: boolean;

  constructor(
    tb: Testbench<object>,
    readonly prefix: string,
    opts: Axi4CheckerOptions = {},
  ) {
    const sim = tb.sim;
    this.checkMaster = opts.master ?? true;
    this.checkSlave = opts.slave ?? true;
    this.log = new ViolationLog(tb, prefix, 'AXI4', opts.onViolation ?? 'fail');
    const masterLog = this.checkMaster ? this.log : null;
    const slaveLog = this.checkSlave ? this.log : null;
    this.ar = addressChannel(tb, prefix, 'ar');
    this.aw = addressChannel(tb, prefix, 'aw');
    if (!this.ar && !this.aw) throw new Error(`${sim.top} has no ${prefix}_arvalid or ${prefix}_awvalid: not an AXI4 bus prefix`);
    let dataBits = 0;
    if (this.ar) {
      const a = this.ar;
      this.rules.ar = new ChannelRule(masterLog, a.valid, a.ready, present(a.id, a.addr, a.len, a.size, a.burst), handshake);
      const rdata = signal(sim, prefix, 'rdata');
      dataBits = rdata.width;
      const rid = optionalSignal(sim, prefix, 'rid');
      const rlast = optionalSignal(sim, prefix, 'rlast');
      const rresp = optionalSignal(sim, prefix, 'rresp');
      this.rules.r = new ChannelRule(
        slaveLog,
        signal(sim, prefix, 'rvalid'),
        signal(sim, prefix, 'rready'),
        present(rid, rdata, rresp, rlast),
        handshake,
      );
      this.r = { id: rid, last: rlast };
    }
    if (this.aw) {
      const a = this.aw;
      this.rules.aw = new ChannelRule(masterLog, a.valid, a.ready, present(a.id, a.addr, a.len, a.size, a.burst), handshake);
      const wdata = signal(sim, prefix, 'wdata');
      dataBits = wdata.width;
      const wlast = optionalSignal(sim, prefix, 'wlast');
      this.rules.w = new ChannelRule(
        masterLog,
        signal(sim, prefix, 'wvalid'),
        signal(sim, prefix, 'wready'),
        present(wdata, optionalSignal(sim, prefix, 'wstrb'), wlast),
        handshake,
      );
      this.w = { last: wlast };
      const bid = optionalSignal(sim, prefix, 'bid');
      this.rules.b = new ChannelRule(
        slaveLog,
        signal(sim, prefix, 'bvalid'),
        signal(sim, prefix, 'bready'),
        present(bid, optionalSignal(sim, prefix, 'bresp')),
        handshake,
      );
      this.b = { id: bid };
    }
    this.dataBytes = dataBits / 8;
    const rules = Object.values(this.rules);
    tb.onEdge(() => this.edge(), {
      name: `${prefix} AXI4 checker`,
      // With every VALID low and no transfer waiting for READY, an edge changes nothing here.
      quiet: { idle: () => (rules.every((r) => r.idle) ? Number.POSITIVE_INFINITY : 0), wake: rules.map((r) => r.valid.name) },
    });
  }

  get violations(): readonly string[] {
    return this.log.violations;
  }

  /** Called by a transactor that embeds this checker when it accepts a burst (null = legal). */
  private acceptBurst(kind: 'read' | 'write', b: Burst): void {
    if (!this.checkMaster) return;
    const bad = burstViolation(b, this.dataBytes);
    if (bad) this.log.report('AXI4 A3.4', `${kind} burst ID ${b.id}: ${bad}`);
  }

  private edge(): void {
    const { rules } = this;
    // Responses first: one in the same edge as its request would be too early (the slave must see
    // the request handshake before it answers).
    if (rules.r?.edge() && this.r) this.readBeat();
    if (rules.b?.edge() && this.b) this.writeResponse();
    if (rules.ar?.edge() && this.ar) {
      const b = sampledBurst(this.ar, this.dataBytes);
      this.acceptBurst('read', b);
      let q = this.reads.get(b.id);
      if (!q) {
        q = [];
        this.reads.set(b.id, q);
      }
      q.push(b.len + 1);
    }
    if (rules.aw?.edge() && this.aw) {
      const b = sampledBurst(this.aw, this.dataBytes);
      this.acceptBurst('write', b);
      if (this.wDone.length > 0) {
        const beats = this.wDone.shift() as number;
        if (beats !== b.len + 1 && this.checkMaster) {
          this.log.report('AXI4 A3.4.1', `write burst ID ${b.id} has AWLEN ${b.len} (${b.len + 1} beats) but its data had ${beats} beats`);
        }
        this.owe(b.id);
      } else this.awLens.push({ id: b.id, len: b.len });
    }
    if (rules.w?.edge() && this.w) this.writeBeat();
  }

  private owe(id: number): void {
    this.owedB.set(id, (this.owedB.get(id) ?? 0) + 1);
  }

  private writeBeat(): void {
    const last = this.w?.last ? this.w.last.sampled() !== 0 : true;
    this.wBeat++;
    const aw = this.awLens[0];
    if (aw !== undefined) {
      const expectLast = this.wBeat === aw.len + 1;
      if (last !== expectLast && this.checkMaster) {
        this.log.report(
          'AXI4 A3.4.1',
          expectLast
            ? `WLAST low on beat ${this.wBeat}, the last of write burst ID ${aw.id} (AWLEN ${aw.len})`
            : `WLAST high on beat ${this.wBeat} of write burst ID ${aw.id}, which has ${aw.len + 1} beats`,
        );
      }
      if (last || expectLast) {
        this.awLens.shift();
        this.wBeat = 0;
        this.owe(aw.id);
      }
    } else if (last) {
      this.wDone.push(this.wBeat);
      this.wBeat = 0;
    }
  }

  private readBeat(): void {
    if (!this.checkSlave || !this.r) return;
    const id = this.r.id ? num(this.r.id.sampled()) : 0;
    const last = this.r.last ? this.r.last.sampled() !== 0 : true;
    const q = this.reads.get(id);
    if (!q || q.length === 0) {
      const known = [...this.reads].filter(([, v]) => v.length > 0).map(([k]) => k);
      this.log.report(
        'AXI4 A5.3',
        `read response with ID ${id}, which has no outstanding read (outstanding IDs: ${known.length ? known.join(', ') : 'none'})`,
      );
      return;
    }
    q[0]--;
    const expectLast = q[0] === 0;
    if (last !== expectLast) {
      this.log.report(
        'AXI4 A3.4.1',
        expectLast ? `RLAST low on the last beat of read ID ${id}` : `RLAST high with ${q[0]} beats of read ID ${id} still due`,
      );
    }
    if (expectLast || last) q.shift();
  }

  private writeResponse(): void {
    if (!this.checkSlave || !this.b) return;
    const id = this.b.id ? num(this.b.id.sampled()) : 0;
    const owed = this.owedB.get(id) ?? 0;
    if (owed === 0) {
      this.log.report('AXI4 A3.3.1', `write response with ID ${id}, which has no write whose address and data both arrived`);
      return;
    }
    this.owedB.set(id, owed - 1);
  }
}
