/**
 * Write-response faults for the NIC benches: a host bus that answers chosen AXI4 write bursts with
 * SLVERR or DECERR, the way a PCIe bridge reports a refused address or a poisoned write
 * (docs/faults.md). It sits beside an `Axi4SlaveMemory` and overrides the B response that memory
 * drives; the failed burst's bytes never reach memory (`FaultableMemory`).
 *
 * A burst fails when its first byte lies in a rule's range; each rule fails `times` bursts. Rules are
 * decided when the AW is taken, so a rule added later never changes a burst already in flight.
 */
import type { PortValue, Simulation } from '../../sim/index.js';
import { RESP_SLVERR, SparseMemory } from '../../testbench/axi/index.js';
import type { Testbench } from '../../testbench/runtime/index.js';

type Ports = { [name: string]: PortValue };

export interface FailedWrite {
  addr: number;
  id: number;
  resp: number;
  /** Cycle of the AW handshake. */
  cycle: number;
}

interface Rule {
  lo: number;
  hi: number;
  left: number;
  resp: number;
}

interface AwRecord {
  addr: number;
  bytes: number;
  id: number;
  resp: number;
  cycle: number;
}

export class WriteFaults {
  /** Bursts answered (or to be answered) with an error, in AW order. */
  readonly failed: FailedWrite[] = [];
  private readonly rules: Rule[] = [];
  /** AWs taken and not yet answered, in order: the memory answers writes in AW order. */
  private readonly inFlight: AwRecord[] = [];
  /** The edge whose handshakes are already in `inFlight`. */
  private synced = -1;

  /**
   * Registers after the memory transactor on `prefix` (so its B can be overridden): construct it after
   * the `Axi4SlaveMemory`.
   */
  constructor(
    private readonly tb: Testbench<Ports>,
    private readonly sim: Simulation<Ports>,
    private readonly prefix = 'm_axi',
  ) {
    tb.onEdge(() => this.edge(), { name: `${prefix} write faults` });
  }

  /** Fails the next `times` write bursts that start in [lo, hi) with `resp` (SLVERR by default). */
  fail(lo: number, hi: number, opts: { times?: number; resp?: number } = {}): void {
    const resp = opts.resp ?? RESP_SLVERR;
    if (resp !== 2 && resp !== 3) throw new RangeError(`a write fault answers SLVERR (2) or DECERR (3), not ${resp}`);
    if (!(hi > lo)) throw new RangeError(`write fault range [0x${lo.toString(16)}, 0x${hi.toString(16)}) is empty`);
    this.rules.push({ lo, hi, left: opts.times ?? Number.POSITIVE_INFINITY, resp });
  }

  /** Removes every rule (bursts already taken keep their answer). */
  clear(): void {
    this.rules.length = 0;
  }

  /** Whether byte `addr` belongs to a failing burst in flight (its data must not land). */
  poisoned(addr: number): boolean {
    // The memory may write in the edge that took the AW, before this injector's callback has run.
    this.sync();
    return this.inFlight.some((r) => r.resp !== 0 && addr >= r.addr && addr < r.addr + r.bytes);
  }

  private get(name: string): number {
    return Number(this.sim.sampled[`${this.prefix}_${name}`] ?? 0);
  }

  /** Takes in this edge's B and AW handshakes, once. */
  private sync(): void {
    if (this.synced === this.tb.cycle) return;
    this.synced = this.tb.cycle;
    const p = this.prefix;
    if (this.get('bvalid') && this.get('bready')) this.inFlight.shift();
    if (this.get('awvalid') && this.get('awready')) {
      const addr = Number(this.sim.sampled[`${p}_awaddr`]);
      const bytes = (this.get('awlen') + 1) << this.get('awsize');
      const id = this.get('awid');
      const rule = this.rules.find((r) => r.left > 0 && addr >= r.lo && addr < r.hi);
      const resp = rule ? rule.resp : 0;
      if (rule) {
        rule.left--;
        this.failed.push({ addr, id, resp, cycle: this.tb.cycle });
      }
      this.inFlight.push({ addr, bytes, id, resp, cycle: this.tb.cycle });
    }
  }

  private edge(): void {
    this.sync();
    const p = this.prefix;
    // The memory has just driven (or holds) the B of the oldest write in flight: answer it as decided.
    const P = this.sim.ports;
    const head = this.inFlight[0];
    if (Number(P[`${p}_bvalid`]) === 1 && head && head.resp !== 0) P[`${p}_bresp`] = head.resp;
  }
}

/** Host memory that drops the bytes of bursts the fault injector fails. */
export class FaultableMemory extends SparseMemory {
  faults: WriteFaults | null = null;
  override writeByte(addr: number, value: number): void {
    if (this.faults?.poisoned(addr)) return;
    super.writeByte(addr, value);
  }
}
