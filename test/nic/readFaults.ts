/**
 * Read-response faults for the engine benches (the read side of busFaults.ts's WriteFaults): a host
 * bus that answers the beats of chosen AXI4 read bursts with SLVERR or DECERR, the way a PCIe bridge
 * reports a completion timeout or a poisoned read (docs/faults.md). It sits beside an
 * `Axi4SlaveMemory` and overrides the RRESP that memory drives; the data stays whatever the memory
 * returned, which the design must not use.
 *
 * A beat fails when its bytes overlap a rule's range, so a fault can hit one beat of a burst. Each rule
 * fails `times` bursts. Rules are decided when the AR is taken, so a rule added or cleared later never
 * changes a burst already in flight. The memory answers bursts of one ID in order, as this follows them.
 */
import type { PortValue, Simulation } from '../../sim/index.js';
import { RESP_SLVERR } from '../../testbench/axi/index.js';
import type { Testbench } from '../../testbench/runtime/index.js';

type Ports = { [name: string]: PortValue };

export interface FailedRead {
  /** The burst's address and ID, and which of its beats fail. */
  addr: number;
  id: number;
  beats: number[];
  resp: number;
  /** Cycle of the AR handshake. */
  cycle: number;
}

interface Rule {
  lo: number;
  hi: number;
  left: number;
  resp: number;
}

interface ArRecord {
  /** Response per beat. */
  resp: number[];
  beat: number;
}

const BURST_WRAP = 2;

export class ReadFaults {
  /** Bursts with at least one failed beat, in AR order. */
  readonly failed: FailedRead[] = [];
  private readonly rules: Rule[] = [];
  private readonly inFlight = new Map<number, ArRecord[]>();

  /** Registers after the memory transactor on `prefix`: construct it after the `Axi4SlaveMemory`. */
  constructor(
    tb: Testbench<Ports>,
    private readonly sim: Simulation<Ports>,
    private readonly prefix = 'm_axi',
  ) {
    tb.onEdge((cycle) => this.edge(cycle), { name: `${prefix} read faults` });
  }

  /** Fails the beats that touch [lo, hi) in the next `times` read bursts that touch it, with `resp`. */
  fail(lo: number, hi: number, opts: { times?: number; resp?: number } = {}): void {
    const resp = opts.resp ?? RESP_SLVERR;
    if (resp !== 2 && resp !== 3) throw new RangeError(`a read fault answers SLVERR (2) or DECERR (3), not ${resp}`);
    if (!(hi > lo)) throw new RangeError(`read fault range [0x${lo.toString(16)}, 0x${hi.toString(16)}) is empty`);
    this.rules.push({ lo, hi, left: opts.times ?? Number.POSITIVE_INFINITY, resp });
  }

  /** Removes every rule (bursts already taken keep their answers). */
  clear(): void {
    this.rules.length = 0;
  }

  private get(name: string): number {
    return Number(this.sim.sampled[`${this.prefix}_${name}`] ?? 0);
  }

  /** The byte range [lo, hi) of beat `i` of a burst (INCR or WRAP). */
  static beatRange(addr: number, beats: number, size: number, wrap: boolean, i: number): [number, number] {
    const n = 2 ** size;
    const aligned = addr - (addr % n);
    if (!wrap) return [i === 0 ? addr : aligned + i * n, aligned + (i + 1) * n];
    const total = beats * n;
    const base = addr - (addr % total);
    const start = base + ((aligned - base + i * n) % total);
    return [start, start + n];
  }

  private edge(cycle: number): void {
    const p = this.prefix;
    if (this.get('rvalid') && this.get('rready')) {
      const q = this.inFlight.get(this.get('rid'));
      const head = q?.[0];
      if (q && head) {
        head.beat++;
        if (this.get('rlast')) q.shift();
      }
    }
    if (this.get('arvalid') && this.get('arready')) {
      const addr = Number(this.sim.sampled[`${p}_araddr`]);
      const beats = this.get('arlen') + 1;
      const size = this.get('arsize');
      const wrap = this.get('arburst') === BURST_WRAP;
      const id = this.get('arid');
      const resp = Array.from({ length: beats }, () => 0);
      for (const rule of this.rules) {
        if (rule.left <= 0) continue;
        let hit = false;
        for (let i = 0; i < beats; i++) {
          const [lo, hi] = ReadFaults.beatRange(addr, beats, size, wrap, i);
          if (lo < rule.hi && rule.lo < hi && resp[i] === 0) {
            resp[i] = rule.resp;
            hit = true;
          }
        }
        if (hit) rule.left--;
      }
      const bad = resp.flatMap((r, i) => (r === 0 ? [] : [i]));
      if (bad.length > 0) this.failed.push({ addr, id, beats: bad, resp: resp[bad[0] as number] as number, cycle });
      const q = this.inFlight.get(id) ?? [];
      q.push({ resp, beat: 0 });
      this.inFlight.set(id, q);
    }
    // The memory has just driven (or holds) a beat: answer it as decided.
    const P = this.sim.ports;
    if (Number(P[`${p}_rvalid`]) === 1) {
      const head = this.inFlight.get(Number(P[`${p}_rid`]))?.[0];
      const r = head?.resp[head.beat] ?? 0;
      if (r !== 0) P[`${p}_rresp`] = r;
    }
  }
}
