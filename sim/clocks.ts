/**
 * Several unrelated clocks on one model: the clocks are ordinary inputs, and a scheduler toggles them
 * in time order (each with its own period and phase), evaluating the model at every edge.
 *
 *   const sim = await simulate(asyncFifo({ width: 8, depth: 16 }), { clock: null });
 *   const clocks = new ClockSet(sim, [{ port: 'wr_clk', period: 7000 }, { port: 'rd_clk', period: 11000, phase: 3000 }]);
 *   clocks.on('wr_clk', { sample: () => ..., drive: () => ... });
 *   clocks.reset(['wr_rst', 'rd_rst']);
 *   clocks.runUntil(() => done, 1e9);
 *
 * At each instant with edges: the `sample` handlers of the clocks rising there run (every signal
 * settled, as the edge sees it), the clocks change and the model is evaluated, then the `drive`
 * handlers of those clocks run (set the inputs of that clock's domain for its next edge) and the model
 * is evaluated again. Clocks rising at the same instant rise together. Times are in picoseconds.
 */
import { activeLowName, type Port, type Simulation } from './simulation.js';

export interface ClockSpec {
  /** The clock input (1 bit). */
  port: string;
  /** Period in picoseconds: an even whole number >= 2. */
  period: number;
  /** Time of the first rising edge (default: half a period, so each clock starts low). */
  phase?: number;
}

export interface EdgeHandlers {
  /** Just before a rising edge, with every signal settled: read what the edge samples (handshakes). */
  sample?: () => void;
  /** Just after a rising edge: set this clock domain's inputs for its next edge. */
  drive?: () => void;
}

interface ClockState {
  spec: Required<ClockSpec>;
  port: Port;
  /** Time of its next rising edge. */
  nextRise: number;
  /** Time of its next falling edge. */
  nextFall: number;
  rises: number;
  handlers: EdgeHandlers[];
}

export class ClockSet {
  /** Picoseconds since the scheduler started. */
  time = 0;
  private readonly clocks: ClockState[];
  private readonly byPort = new Map<string, ClockState>();

  constructor(
    private readonly sim: Simulation<object>,
    specs: readonly ClockSpec[],
  ) {
    if (specs.length === 0) throw new RangeError('ClockSet: give at least one clock');
    this.clocks = specs.map((s) => {
      if (!Number.isInteger(s.period) || s.period < 2 || s.period % 2 !== 0) {
        throw new RangeError(`ClockSet: clock ${s.port} has period ${s.period}; a period is an even whole number of picoseconds >= 2`);
      }
      const phase = s.phase ?? s.period / 2;
      if (!Number.isInteger(phase) || phase < 0)
        throw new RangeError(`ClockSet: clock ${s.port} has phase ${phase}; use a whole number >= 0`);
      const port = sim.port(s.port);
      if (port.dir !== 'input' || port.width !== 1) throw new Error(`ClockSet: ${sim.top}.${s.port} is not a 1-bit input`);
      if (this.byPort.has(s.port)) throw new Error(`ClockSet: clock ${s.port} is given twice`);
      port.set(0);
      const c: ClockState = {
        spec: { port: s.port, period: s.period, phase },
        port,
        nextRise: phase,
        nextFall: phase + s.period / 2,
        rises: 0,
        handlers: [],
      };
      this.byPort.set(s.port, c);
      return c;
    });
    sim.settle();
  }

  private clock(port: string): ClockState {
    const c = this.byPort.get(port);
    if (!c) throw new Error(`ClockSet: no clock ${port}; the clocks are ${[...this.byPort.keys()].join(', ')}`);
    return c;
  }

  /** Adds handlers to a clock's rising edges (see EdgeHandlers); returns a function that removes them. */
  on(port: string, handlers: EdgeHandlers): () => void {
    const c = this.clock(port);
    c.handlers.push(handlers);
    return () => {
      c.handlers = c.handlers.filter((h) => h !== handlers);
    };
  }

  /** Rising edges of `port` so far. */
  edges(port: string): number {
    return this.clock(port).rises;
  }

  /** Runs the next instant that has an edge; returns the clocks that rose there. */
  step(): string[] {
    let t = Number.POSITIVE_INFINITY;
    for (const c of this.clocks) t = Math.min(t, c.nextRise, c.nextFall);
    const rising = this.clocks.filter((c) => c.nextRise === t);
    for (const c of rising) for (const h of c.handlers) h.sample?.();
    for (const c of this.clocks) {
      if (c.nextRise === t) {
        c.port.set(1);
        c.nextRise += c.spec.period;
      } else if (c.nextFall === t) {
        c.port.set(0);
        c.nextFall += c.spec.period;
      }
    }
    this.time = t;
    this.sim.settle();
    if (rising.length) {
      for (const c of rising) {
        c.rises++;
        for (const h of c.handlers) h.drive?.();
      }
      this.sim.settle();
    }
    return rising.map((c) => c.spec.port);
  }

  /** Runs until `done()` holds after an instant, or throws once `limit` picoseconds have passed. */
  runUntil(done: () => boolean, limit: number): void {
    const end = this.time + limit;
    while (!done()) {
      if (this.time >= end) throw new Error(`ClockSet: the condition did not hold within ${limit} ps (at ${this.time} ps)`);
      this.step();
    }
  }

  /** Runs `ps` picoseconds. */
  runFor(ps: number): void {
    const end = this.time + ps;
    while (this.nextInstant() <= end) this.step();
  }

  /** Runs until `port` has risen `n` more times. */
  runEdges(port: string, n: number): void {
    const c = this.clock(port);
    const target = c.rises + n;
    while (c.rises < target) this.step();
  }

  private nextInstant(): number {
    let t = Number.POSITIVE_INFINITY;
    for (const c of this.clocks) t = Math.min(t, c.nextRise, c.nextFall);
    return t;
  }

  /**
   * Holds the given resets active (low for names like `rst_n`) until every clock has risen `edges`
   * times, then releases them all at once.
   */
  reset(ports: readonly string[], edges = 3): void {
    const handles = ports.map((name) => ({ port: this.sim.port(name), low: activeLowName(name) }));
    for (const h of handles) h.port.set(h.low ? 0 : 1);
    this.sim.settle();
    const target = this.clocks.map((c) => c.rises + edges);
    while (this.clocks.some((c, i) => c.rises < (target[i] as number))) this.step();
    for (const h of handles) h.port.set(h.low ? 1 : 0);
    this.sim.settle();
  }
}
