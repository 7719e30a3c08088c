/**
 * The model's clock, seen from a test: `await clk.rising()`, `await clk.cycles(n)`. The bridge drives
 * one clock per model (the port picked at build time); each cycle is 10 ns in waveforms.
 */
import type { Testbench, WaitOptions } from './testbench.js';

export class Clock {
  constructor(private readonly tb: Testbench<object>) {}

  /** The clock port's name. */
  get name(): string {
    return this.tb.sim.clock ?? '';
  }

  /** Rising edges so far. */
  get cycle(): number {
    return this.tb.cycle;
  }

  /** The waveform period in picoseconds. */
  readonly periodPs = 10_000;

  rising(): Promise<void> {
    return this.tb.rising();
  }

  cycles(n: number): Promise<void> {
    return this.tb.cycles(n);
  }

  until(cond: () => boolean, opts?: WaitOptions): Promise<void> {
    return this.tb.until(cond, opts);
  }
}
