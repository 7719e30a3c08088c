/**
 * AXI4-Lite: a master transactor with async `read`/`write`, and a passive checker of the slave's
 * obligations (stable responses, no response without a request).
 */
import type { Port, PortInput, PortValue } from '../../sim/index.js';
import type { Settle, Testbench } from '../runtime/testbench.js';
import { ChannelRule, type CheckerOptions, ViolationLog } from './checker-base.js';
import { always, type Pattern } from './patterns.js';
import { expectDir, num, optionalSignal, signal } from './signals.js';

const handshake = 'AXI4-Lite (AXI4 A3.2.1): once VALID is asserted it must remain asserted, with stable information, until READY';

export const RESP_OKAY = 0;
export const RESP_EXOKAY = 1;
export const RESP_SLVERR = 2;
export const RESP_DECERR = 3;

const respNames = ['OKAY', 'EXOKAY', 'SLVERR', 'DECERR'];
const none: readonly string[] = [];

export interface AxiLiteRead {
  data: PortValue;
  resp: number;
}

interface LitePorts {
  awaddr: Port;
  awprot: Port | null;
  awvalid: Port;
  awready: Port;
  wdata: Port;
  wstrb: Port | null;
  wvalid: Port;
  wready: Port;
  bresp: Port | null;
  bvalid: Port;
  bready: Port;
  araddr: Port;
  arprot: Port | null;
  arvalid: Port;
  arready: Port;
  rdata: Port;
  rresp: Port | null;
  rvalid: Port;
  rready: Port;
}

function litePorts(tb: Testbench<object>, prefix: string): LitePorts {
  const s = tb.sim;
  const need = (n: string) => signal(s, prefix, n);
  const may = (n: string) => optionalSignal(s, prefix, n);
  return {
    awaddr: need('awaddr'),
    awprot: may('awprot'),
    awvalid: need('awvalid'),
    awready: need('awready'),
    wdata: need('wdata'),
    wstrb: may('wstrb'),
    wvalid: need('wvalid'),
    wready: need('wready'),
    bresp: may('bresp'),
    bvalid: need('bvalid'),
    bready: need('bready'),
    araddr: need('araddr'),
    arprot: may('arprot'),
    arvalid: need('arvalid'),
    arready: need('arready'),
    rdata: need('rdata'),
    rresp: may('rresp'),
    rvalid: need('rvalid'),
    rready: need('rready'),
  };
}

/** Watches an AXI4-Lite bus and reports the slave's rule violations. */
class LiteRules {
  readonly aw: ChannelRule;
  readonly w: ChannelRule;
  readonly b: ChannelRule;
  readonly ar: ChannelRule;
  readonly r: ChannelRule;
  private writesOwed = 0;
  private awCount = 0;
  private wCount = 0;
  private readsOwed = 0;
  /** The last edge's transfers: one object reused, since edge() runs on every cycle. */
  private readonly took = { aw: false, w: false, b: false, ar: false, r: false };

  constructor(
    p: LitePorts,
    private readonly log: ViolationLog,
    masterLog: ViolationLog | null,
  ) {
    const opt = (...x: (Port | null)[]) => x.filter((q): q is Port => q !== null);
    this.aw = new ChannelRule(masterLog, p.awvalid, p.awready, opt(p.awaddr, p.awprot), handshake);
    this.w = new ChannelRule(masterLog, p.wvalid, p.wready, opt(p.wdata, p.wstrb), handshake);
    this.b = new ChannelRule(log, p.bvalid, p.bready, opt(p.bresp), handshake);
    this.ar = new ChannelRule(masterLog, p.arvalid, p.arready, opt(p.araddr, p.arprot), handshake);
    this.r = new ChannelRule(log, p.rvalid, p.rready, opt(p.rdata, p.rresp), handshake);
  }

  /** No channel waits for READY: edges with every VALID low change nothing. */
  get idle(): boolean {
    return this.aw.idle && this.w.idle && this.b.idle && this.ar.idle && this.r.idle;
  }

  /** No response waits for READY (the slave's side). */
  get responsesIdle(): boolean {
    return this.b.idle && this.r.idle;
  }

  get valids(): string[] {
    return [this.aw, this.w, this.b, this.ar, this.r].map((c) => c.valid.name);
  }

  /** Returns which channels transferred at this edge (valid until the next call). */
  edge(): Readonly<{ aw: boolean; w: boolean; b: boolean; ar: boolean; r: boolean }> {
    const b = this.b.edge();
    const r = this.r.edge();
    if (b) {
      if (this.writesOwed === 0) this.log.report('AXI4 A3.3.1', 'write response without a write whose address and data both arrived');
      else this.writesOwed--;
    }
    if (r) {
      if (this.readsOwed === 0) this.log.report('AXI4 A3.3.1', 'read response without an outstanding read address');
      else this.readsOwed--;
    }
    const aw = this.aw.edge();
    const w = this.w.edge();
    const ar = this.ar.edge();
    if (aw) this.awCount++;
    if (w) this.wCount++;
    while (this.awCount > 0 && this.wCount > 0) {
      this.awCount--;
      this.wCount--;
      this.writesOwed++;
    }
    if (ar) this.readsOwed++;
    const t = this.took;
    t.aw = aw;
    t.w = w;
    t.b = b;
    t.ar = ar;
    t.r = r;
    return t;
  }
}

/** Checks an AXI4-Lite bus without driving it. */
export class AxiLiteChecker {
  readonly log: ViolationLog;
  constructor(tb: Testbench<object>, prefix: string, opts: CheckerOptions = {}) {
    this.log = new ViolationLog(tb, prefix, 'AXI4-Lite', opts.onViolation ?? 'fail');
    const rules = new LiteRules(litePorts(tb, prefix), this.log, this.log);
    tb.onEdge(() => void rules.edge(), {
      name: `${prefix} AXI4-Lite checker`,
      quiet: { idle: () => (rules.idle ? Number.POSITIVE_INFINITY : 0), wake: rules.valids },
    });
  }

  get violations(): readonly string[] {
    return this.log.violations;
  }
}

export interface AxiLiteMasterOptions extends CheckerOptions {
  /** When bready / rready are high (default always). */
  bready?: Pattern;
  rready?: Pattern;
}

interface WriteOp {
  addr: number;
  data: PortInput;
  strb: number;
  /** Resolves with BRESP, or (checked) with nothing, rejecting unless OKAY. */
  settle: Settle<unknown>;
  checked: boolean;
}

interface ReadOp {
  addr: number;
  /** What the wait resolves with: data and RRESP, the data (OKAY only), or the data as an unsigned 32-bit number (OKAY only). */
  kind: 'resp' | 'data' | 'u32';
  settle: Settle<unknown>;
}

/**
 * Drives the design's AXI4-Lite slave port (e.g. `s_axil`). One write and one read may be in flight
 * at once; further calls queue. Responses are checked against the AXI4-Lite rules.
 */
export class AxiLiteMaster {
  private readonly p: LitePorts;
  private readonly rules: LiteRules;
  readonly log: ViolationLog;
  private readonly writes: WriteOp[] = [];
  private readonly reads: ReadOp[] = [];
  private curWrite: WriteOp | null = null;
  private awPending = false;
  private wPending = false;
  private curRead: ReadOp | null = null;
  private arPending = false;
  private readonly readyLists: (readonly string[] | undefined)[] = [];
  readonly dataBytes: number;
  bready: Pattern;
  rready: Pattern;

  constructor(
    private readonly tb: Testbench<object>,
    readonly prefix: string,
    opts: AxiLiteMasterOptions = {},
  ) {
    this.p = litePorts(tb, prefix);
    expectDir(this.p.awvalid, 'input', 'AXI4-Lite master');
    this.dataBytes = this.p.wdata.width / 8;
    this.bready = opts.bready ?? always;
    this.rready = opts.rready ?? always;
    this.log = new ViolationLog(tb, prefix, 'AXI4-Lite', opts.onViolation ?? 'fail');
    this.rules = new LiteRules(this.p, this.log, null);
    for (const v of [this.p.awvalid, this.p.wvalid, this.p.arvalid]) v.set(0);
    this.p.awprot?.set(0);
    this.p.arprot?.set(0);
    this.driveReadies();
    tb.onEdge(() => this.edge(), {
      name: `${prefix} AXI4-Lite master`,
      // Idle while no address or data waits for its handshake (a response is awaited by its VALID) and the readies are constant.
      quiet: { idle: () => this.idleEdges(), wake: [this.p.bvalid.name, this.p.rvalid.name], wakeNow: () => this.awaitedReadies() },
    });
  }

  /** Writes `data` at `addr` (all byte lanes unless `strb` says otherwise); resolves with BRESP. */
  writeResp(addr: number, data: PortInput, strb?: number): Promise<number> {
    return this.queueWrite(addr, data, strb, false) as Promise<number>;
  }

  /** Reads `addr`; resolves with the data and RRESP. */
  readResp(addr: number): Promise<AxiLiteRead> {
    return this.queueRead(addr, 'resp') as Promise<AxiLiteRead>;
  }

  /** Writes and rejects unless the response is OKAY. */
  write(addr: number, data: PortInput, strb?: number): Promise<void> {
    return this.queueWrite(addr, data, strb, true) as Promise<void>;
  }

  /** Reads and rejects unless the response is OKAY. */
  read(addr: number): Promise<PortValue> {
    return this.queueRead(addr, 'data') as Promise<PortValue>;
  }

  /** Reads `addr` as an unsigned 32-bit number (a register); rejects unless the response is OKAY. */
  readU32(addr: number): Promise<number> {
    return this.queueRead(addr, 'u32') as Promise<number>;
  }

  // One wait per access and no async layers around it: register accesses are the system's most common wait.
  private queueWrite(addr: number, data: PortInput, strb: number | undefined, checked: boolean): Promise<unknown> {
    const all = 2 ** this.dataBytes - 1;
    return this.tb.wait<unknown>(`${this.prefix}.write(0x${addr.toString(16)})`, (settle) => {
      this.writes.push({ addr, data, strb: strb ?? all, settle, checked });
      this.startWrite();
    });
  }

  private queueRead(addr: number, kind: ReadOp['kind']): Promise<unknown> {
    return this.tb.wait<unknown>(`${this.prefix}.read(0x${addr.toString(16)})`, (settle) => {
      this.reads.push({ addr, kind, settle });
      this.startRead();
    });
  }

  private finishWrite(op: WriteOp, resp: number): void {
    if (!op.checked) op.settle.resolve(resp);
    else if (resp === RESP_OKAY) op.settle.resolve(undefined);
    else op.settle.reject(new Error(`${this.prefix}: write to 0x${op.addr.toString(16)} got ${respNames[resp]}`));
  }

  private finishRead(op: ReadOp, data: PortValue, resp: number): void {
    if (op.kind === 'resp') op.settle.resolve({ data, resp });
    else if (resp !== RESP_OKAY) op.settle.reject(new Error(`${this.prefix}: read of 0x${op.addr.toString(16)} got ${respNames[resp]}`));
    else op.settle.resolve(op.kind === 'u32' ? Number(data) >>> 0 : data);
  }

  private startWrite(): void {
    if (this.curWrite !== null) return;
    const op = this.writes.shift();
    if (!op) return;
    this.curWrite = op;
    this.p.awaddr.set(op.addr);
    this.p.wdata.set(op.data);
    this.p.wstrb?.set(op.strb);
    this.p.awvalid.set(1);
    this.p.wvalid.set(1);
    this.awPending = true;
    this.wPending = true;
  }

  private startRead(): void {
    if (this.curRead !== null) return;
    const op = this.reads.shift();
    if (!op) return;
    this.curRead = op;
    this.p.araddr.set(op.addr);
    this.p.arvalid.set(1);
    this.arPending = true;
  }

  /**
   * An address or data beat waiting for its READY changes nothing until that READY is sampled high
   * (VALID and the payload are this master's own, constant meanwhile): it wakes the stretch.
   */
  private idleEdges(): number {
    if (this.bready !== always || this.rready !== always || !this.rules.responsesIdle) return 0;
    return Number.POSITIVE_INFINITY;
  }

  /** The READYs awaited now: one array per combination, kept (the scheduler looks its watch up by it). */
  private awaitedReadies(): readonly string[] {
    const k = (this.awPending ? 1 : 0) | (this.wPending ? 2 : 0) | (this.arPending ? 4 : 0);
    let r = this.readyLists[k];
    if (r === undefined) {
      const out: string[] = [];
      if (this.awPending) out.push(this.p.awready.name);
      if (this.wPending) out.push(this.p.wready.name);
      if (this.arPending) out.push(this.p.arready.name);
      r = k === 0 ? none : out;
      this.readyLists[k] = r;
    }
    return r;
  }

  private driveReadies(): void {
    this.p.bready.set(this.bready(this.tb.cycle) ? 1 : 0);
    this.p.rready.set(this.rready(this.tb.cycle) ? 1 : 0);
  }

  private edge(): void {
    const t = this.rules.edge();
    if (t.aw && this.awPending) {
      this.awPending = false;
      this.p.awvalid.set(0);
    }
    if (t.w && this.wPending) {
      this.wPending = false;
      this.p.wvalid.set(0);
    }
    if (t.ar && this.arPending) {
      this.arPending = false;
      this.p.arvalid.set(0);
    }
    if (t.b && this.curWrite !== null && !this.awPending && !this.wPending) {
      const op = this.curWrite;
      this.curWrite = null;
      this.finishWrite(op, this.p.bresp ? num(this.p.bresp.sampled()) : RESP_OKAY);
      this.startWrite();
    }
    if (t.r && this.curRead !== null && !this.arPending) {
      const op = this.curRead;
      this.curRead = null;
      this.finishRead(op, this.p.rdata.sampled(), this.p.rresp ? num(this.p.rresp.sampled()) : RESP_OKAY);
      this.startRead();
    }
    this.driveReadies();
  }
}
