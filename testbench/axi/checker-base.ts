/** What protocol checkers share: reporting a violation, and the valid/ready stability rule. */
import type { Port, PortValue } from '../../sim/index.js';
import { ProtocolError } from '../runtime/errors.js';
import type { Testbench } from '../runtime/testbench.js';

export type ViolationMode = 'fail' | 'record';

export interface CheckerOptions {
  /** 'fail' (default) fails the test on the first violation; 'record' only collects them. */
  onViolation?: ViolationMode;
}

export class ViolationLog {
  readonly violations: string[] = [];
  constructor(
    private readonly tb: Testbench<object>,
    private readonly bus: string,
    private readonly protocol: string,
    private readonly mode: ViolationMode,
  ) {}

  report(rule: string, detail: string): void {
    const msg = `${this.protocol} violation on ${this.bus} at cycle ${this.tb.cycle}: ${detail} (${rule})`;
    this.violations.push(msg);
    if (this.mode === 'fail') this.tb.fail(new ProtocolError(msg));
  }
}

function show(v: PortValue): string {
  return `0x${v.toString(16)}`;
}

/**
 * One valid/ready channel: once valid is high it stays high, with a stable payload, until ready takes
 * it. `edge()` is called once per edge with the sampled values and tells whether a transfer happened.
 */
export class ChannelRule {
  private waiting = false;
  private readonly held: PortValue[];

  constructor(
    private readonly log: ViolationLog | null,
    readonly valid: Port,
    readonly ready: Port,
    private readonly payload: Port[],
    private readonly rule: string,
  ) {
    this.held = payload.map(() => 0);
  }

  /** No transfer is waiting for ready: with valid low at the next edges, they change nothing here. */
  get idle(): boolean {
    return !this.waiting;
  }

  edge(): boolean {
    const v = this.valid.sampled() !== 0;
    const r = this.ready.sampled() !== 0;
    if (this.waiting && this.log) {
      if (!v) {
        this.log.report(this.rule, `${this.valid.name} dropped before ${this.ready.name} took the transfer`);
      } else {
        for (let i = 0; i < this.payload.length; i++) {
          const now = this.payload[i].sampled();
          if (now !== this.held[i]) {
            this.log.report(
              this.rule,
              `${this.payload[i].name} changed from ${show(this.held[i])} to ${show(now)} while ${this.valid.name} was high and ${this.ready.name} low`,
            );
            break;
          }
        }
      }
    }
    this.waiting = v && !r;
    if (this.waiting) for (let i = 0; i < this.payload.length; i++) this.held[i] = this.payload[i].sampled();
    return v && r;
  }
}
