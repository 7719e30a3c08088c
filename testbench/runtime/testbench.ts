/**
 * The testbench scheduler: coroutines, per-edge callbacks and async tasks on one clock.
 *
 * After every rising edge the scheduler runs, in this order: coroutines and callbacks (in the order they
 * were forked), then async waits that are due (their code resumes in microtasks, still before the next
 * edge). The clock only advances when every live async task (the test's main line plus forked async
 * functions) is waiting on the testbench (an edge, cycles, a condition, a queue or a join), so an
 * `await` of anything else simply holds the clock. Coroutines cost no Promise per edge; async code costs
 * one Promise per wait.
 */
import type { PortValues, SampleWatch, Simulation } from '../../sim/index.js';
import { activeLowName, type ResetOptions, resetNames } from '../../sim/simulation.js';
import { Clock } from './clock.js';
import { DeadlockError, StallError, TimeoutError } from './errors.js';
import { type Deadline, DeadlineHeap } from './heap.js';
import { type Coroutine, Task, type Wait } from './task.js';

export interface TestbenchOptions {
  /** Fail the test if it runs longer than this many cycles (default: no limit). */
  maxCycles?: number;
  /**
   * Fail if the clock runs this many cycles while every task waits on a condition, queue or join
   * and nothing resolves (default 1,000,000; 0 turns the check off).
   */
  stallCycles?: number;
}

export interface ForkOptions {
  name?: string;
  /** Fail the test if the task has not finished within this many cycles. */
  timeout?: number;
}

export interface WaitOptions {
  /** Reject with a TimeoutError after this many cycles. */
  timeout?: number;
  /** Names the wait in timeout, stall and deadlock messages. */
  what?: string;
}

export interface UntilOptions extends WaitOptions {
  /**
   * For quiet stretches (see `QuietHooks`): the number of quiet edges after which the condition may
   * first hold, a lower bound (Infinity: only a non-quiet edge can make it hold). The condition must
   * read only state that callbacks change (not ports, not the cycle). Without it an `until` makes
   * every edge run every callback.
   */
  horizon?: () => number;
}

/**
 * How a per-edge callback lets quiet stretches run without it. While every live callback and
 * coroutine is idle, no edge waiter is pending and every `until` has a horizon, the scheduler runs the
 * model up to the nearest of their bounds and the next deadline in one go, stopping early at the first
 * edge where a `wake` port is sampled nonzero (that edge runs every callback as usual).
 */
export interface QuietHooks {
  /**
   * How many of the next edges this callback would do nothing at, provided its own wake ports (`wake`,
   * `wakeNow`) stay 0 at them (0: it must run at the next edge; Infinity: until woken). Also used to
   * leave the callback out of single edges that run the others.
   */
  idle(): number;
  /** Told that `edges` edges went by without this callback (they were all quiet). */
  skip?(edges: number): void;
  /** Ports (outputs or inputs) whose sample being nonzero at an edge makes that edge run normally. */
  wake?: readonly string[];
  /** More wake ports for the callback's present state (a master waiting for a READY); asked before each stretch. */
  wakeNow?(): readonly string[];
}

/** A pending async wait: a class, so a wait makes no closures of its own (there is one per AXI access). */
class Pending<T> {
  settled = false;
  /** The promise the wait returned (marked as handled when the simulation closes under it). */
  promise?: Promise<T>;
  onResolve: (value: T) => void = ignore;
  onReject: (error: unknown) => void = ignore;

  constructor(
    readonly what: string,
    private readonly unblock: (p: Pending<unknown>) => void,
  ) {}

  resolve(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.unblock(this as Pending<unknown>);
    this.onResolve(value);
  }

  reject(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.unblock(this as Pending<unknown>);
    this.onReject(error);
  }
}

/** Settles a wait created with `Testbench.wait`. */
export interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  /** True once resolved or rejected. */
  readonly settled: boolean;
}

interface Activity {
  readonly task: Task<unknown>;
  edge(cycle: number): void;
  /** Null: the activity runs at every edge (no quiet stretch while it lives). */
  readonly quiet: QuietHooks | null;
  /** Its own wake ports, for leaving it out of a busy edge (built on first use). */
  ownWatch?: SampleWatch;
}

/** The longest quiet stretch run in one go (the scheduler's time checks run between stretches). */
const maxQuietStretch = 1 << 16;

type Body<T> = (() => Coroutine<T> | Promise<T>) | Coroutine<T>;

function isGenerator(x: unknown): x is Coroutine<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as Coroutine<unknown>).next === 'function' && Symbol.iterator in x;
}

const settled = Promise.resolve();
const ignore = (): void => {};

/** The testbench attached to each simulation. */
const owners = new WeakMap<object, Testbench<object>>();

/** A macrotask yield every so often lets timers (test timeouts) and I/O run during long simulations. */
const yieldEveryMs = 25;

export class Testbench<P extends object = PortValues> {
  readonly sim: Simulation<P>;
  /** The first failure (a thrown error in a task, a protocol violation, a timeout), or null. */
  failure: unknown = null;
  /** The clock, cocotb style: `await tb.clk.rising()`. */
  readonly clk: Clock;

  private readonly maxCycles: number;
  private readonly stallLimit: number;
  private readonly startCycle: number;
  private readonly activities: Activity[] = [];
  private doneActivities = 0;
  private readonly heap = new DeadlineHeap();
  private readonly pending = new Set<Pending<unknown>>();
  /** The wait behind each promise `wait()` returned, so a timeout can abandon it. */
  private readonly pendingOf = new WeakMap<Promise<unknown>, Pending<unknown>>();
  private untils: { cond: () => boolean; p: Pending<void>; horizon: (() => number) | null }[] = [];
  /** The wake ports of the live activities, rebuilt when activities come or go. */
  private watch: SampleWatch | null = null;
  /** Watches with the state-dependent wake ports added, by their port list. */
  private readonly watches = new Map<readonly string[] | string, SampleWatch>();
  /** One port's watch, by its name (for `idleAtEdge`). */
  private readonly portWatches = new Map<string, SampleWatch>();
  private edgePromise: Promise<void> | null = null;
  private edgeResolve: (() => void) | null = null;
  private edgeReject: ((e: unknown) => void) | null = null;
  private edgeWaiters = 0;
  /** Pending waits that the clock itself will end (edges, cycle counts, deadlines). */
  private clockWaits = 0;
  /** Async tasks alive: the test's main line plus running async forks. */
  private live = 1;
  /** Async waits outstanding. */
  private blocked = 0;
  private stepQueued = false;
  private resolvedThisStep = false;
  private idleCycles = 0;
  private stepsSinceCheck = 0;
  private lastYield = performance.now();
  private closed = false;
  private taskCount = 0;
  private readonly offSimClose: () => void;

  constructor(sim: Simulation<P>, opts: TestbenchOptions = {}) {
    // A test that failed before closing its testbench must not break the next one: take over.
    owners.get(sim)?.close();
    if (sim.afterEdge !== null) throw new Error(`${sim.top} has an edge hook that is not a testbench's; clear sim.afterEdge first`);
    if (sim.clock === null) throw new Error(`${sim.top} has no clock; a testbench needs one (build it with { clock: '<port>' })`);
    this.sim = sim;
    this.maxCycles = opts.maxCycles ?? Number.POSITIVE_INFINITY;
    this.stallLimit = opts.stallCycles === 0 ? Number.POSITIVE_INFINITY : (opts.stallCycles ?? 1_000_000);
    this.startCycle = sim.cycle;
    this.clk = new Clock(this as Testbench<object>);
    sim.afterEdge = this.edgeHook;
    owners.set(sim, this as Testbench<object>);
    this.offSimClose = sim.onClose(() => this.simClosed());
  }

  /** The simulation's ports (write inputs, read outputs). */
  get ports(): P {
    return this.sim.ports;
  }

  /** Port values at the last rising edge. */
  get sampled(): Readonly<P> {
    return this.sim.sampled;
  }

  /** Rising edges since the simulation started. */
  get cycle(): number {
    return this.sim.cycle;
  }

  // ---- async waits ----

  /** Resolves after the next rising edge. */
  rising(): Promise<void> {
    if (this.failure !== null || this.closed) return this.refused();
    this.blocked++;
    this.clockWaits++;
    this.edgeWaiters++;
    let p = this.edgePromise;
    if (p === null) {
      p = new Promise<void>((resolve, reject) => {
        this.edgeResolve = resolve;
        this.edgeReject = reject;
      });
      this.edgePromise = p;
    }
    if (!this.stepQueued && this.blocked >= this.live) this.queueStep();
    return p;
  }

  /** Resolves after `n` rising edges (n = 0 resolves at once). */
  cycles(n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 0) return Promise.reject(new RangeError(`cycles(${n}): needs a whole number >= 0`));
    if (n === 0) return this.failure !== null ? Promise.reject(this.failure) : Promise.resolve();
    if (n === 1) return this.rising();
    return this.wait<void>(`cycles(${n})`, (s) => {
      this.clockWaits++;
      this.heap.push(this.sim.cycle + n, () => {
        this.clockWaits--;
        s.resolve();
      });
    });
  }

  /**
   * Resolves once `cond()` holds: at once if it holds now, else after the first edge where it does.
   * Conditions are checked after the coroutines of that edge ran.
   */
  until(cond: () => boolean, opts: UntilOptions = {}): Promise<void> {
    if (this.failure !== null || this.closed) return this.refused();
    if (cond()) return Promise.resolve();
    const what = opts.what ?? `until(${cond.toString().slice(0, 60)})`;
    const horizon = opts.horizon ?? null;
    const p = this.wait<void>(what, (s) => {
      this.untils.push({ cond, p: s as Pending<void>, horizon });
    });
    return opts.timeout === undefined ? p : this.withTimeout(p, opts.timeout, what);
  }

  /**
   * Rejects with a TimeoutError if `p` has not settled within `cycles` edges. The deadline does not
   * hold the clock back, and a timed-out wait is dropped (it no longer counts as blocking).
   */
  withTimeout<T>(p: Promise<T> | Task<T>, cycles: number, what = 'wait'): Promise<T | undefined> {
    const promise = p instanceof Task ? p.join() : p;
    if (!Number.isInteger(cycles) || cycles < 1)
      return Promise.reject(new RangeError(`withTimeout: ${cycles} cycles; needs a whole number >= 1`));
    const started = this.sim.cycle;
    const outer = new Promise<T | undefined>((resolve, reject) => {
      let done = false;
      this.clockWaits++;
      const d = this.heap.push(started + cycles, () => {
        if (done) return;
        done = true;
        this.clockWaits--;
        this.abandon(promise);
        reject(new TimeoutError(`${what} did not finish within ${cycles} cycles (started at cycle ${started}, now ${this.sim.cycle})`));
      });
      promise.then(
        (v) => {
          if (done) return;
          done = true;
          this.cancelDeadline(d);
          resolve(v);
        },
        (e) => {
          if (done) return;
          done = true;
          this.cancelDeadline(d);
          // The simulation was closed under the wait: whoever gave up on it must not see an unhandled rejection.
          if (this.closed) outer.catch(ignore);
          reject(e);
        },
      );
    });
    return outer;
  }

  /** Waits for every task; rejects with the first failure. */
  async join(...tasks: Task<unknown>[]): Promise<void> {
    for (const t of tasks) await t.join();
  }

  /** Holds the reset port active for `cycles` edges, then releases it (seen by the next edge). */
  async reset(opts: ResetOptions = {}): Promise<void> {
    const name = opts.port ?? resetNames.find((n) => this.sim.has(n) && this.sim.port(n).dir === 'input');
    if (!name) throw new Error(`${this.sim.top} has no reset port named ${resetNames.join(', ')}; pass reset({ port: '<name>' })`);
    const port = this.sim.port(name);
    const activeLow = opts.activeLow ?? activeLowName(name);
    port.set(activeLow ? 0 : 1);
    await this.cycles(opts.cycles ?? 2);
    port.set(activeLow ? 1 : 0);
  }

  /**
   * A wait on a testbench primitive (queues and events use this): the clock may advance while it is
   * pending. Call `settle.resolve` / `settle.reject` to end it.
   */
  wait<T>(what: string, register: (settle: Settle<T>) => void): Promise<T> {
    if (this.failure !== null || this.closed) return this.refused();
    const p = new Pending<T>(what, this.unblockWait);
    const promise = new Promise<T>((resolve, reject) => {
      p.onResolve = resolve;
      p.onReject = reject;
    });
    this.blocked++;
    this.pending.add(p as Pending<unknown>);
    register(p);
    if (!p.settled) {
      p.promise = promise;
      this.pendingOf.set(promise, p as Pending<unknown>);
      if (!this.stepQueued && this.blocked >= this.live) this.queueStep();
    }
    return promise;
  }

  /** Gives up a wait (after a timeout): it no longer holds the clock and never settles. */
  private abandon(promise: Promise<unknown>): void {
    const p = this.pendingOf.get(promise);
    if (!p || p.settled) return;
    p.settled = true;
    this.blocked--;
    this.pending.delete(p);
  }

  // ---- tasks ----

  /**
   * Starts a concurrent activity and runs it until its first wait:
   * - a generator function (coroutine): `yield` waits one edge, `yield n` n edges, `yield () => cond`
   *   until cond holds, `yield task` until the task ends; it costs no Promise per edge;
   * - an async function: awaits `rising()`, `cycles(n)`, `until()`, queues, joins.
   */
  fork<T>(body: Body<T>, opts: ForkOptions = {}): Task<T> {
    this.checkOpen();
    const name = opts.name ?? (typeof body === 'function' && body.name ? body.name : `task${++this.taskCount}`);
    let started: Coroutine<T> | Promise<T>;
    if (isGenerator(body)) started = body;
    else {
      this.live++;
      try {
        started = (body as () => Coroutine<T> | Promise<T>)();
      } catch (e) {
        this.live--;
        throw e;
      }
      if (isGenerator(started)) this.live--;
    }
    const task = isGenerator(started) ? this.startCoroutine(name, started) : this.startAsync(name, started);
    if (opts.timeout !== undefined) {
      const limit = opts.timeout;
      const at = this.sim.cycle;
      this.heap.push(at + limit, () => {
        if (!task.done) this.fail(new TimeoutError(`task ${name} did not finish within ${limit} cycles (started at cycle ${at})`));
      });
    }
    return task;
  }

  /**
   * Calls `fn(cycle)` after every rising edge (before coroutines forked later) until it returns false
   * or the returned task is cancelled.
   */
  onEdge(fn: (cycle: number) => unknown, opts: { name?: string; quiet?: QuietHooks } = {}): Task<void> {
    this.checkOpen();
    const task = new Task<void>(opts.name ?? (fn.name || `callback${++this.taskCount}`), 'callback');
    task.joinHook = () => this.joinTask(task);
    const act: Activity = {
      task: task as Task<unknown>,
      edge: (cycle) => {
        try {
          if (fn(cycle) === false) this.endActivity(task, 'done', undefined);
        } catch (e) {
          this.endActivity(task, 'failed', undefined, e);
          this.fail(e);
        }
      },
      quiet: opts.quiet ?? null,
    };
    task.cancelHook = () => this.endActivity(task, 'cancelled', undefined);
    this.activities.push(act);
    this.activitiesChanged();
    return task;
  }

  /**
   * Runs `n` cycles synchronously: coroutines and callbacks run at full speed, no Promise per edge.
   * Async code cannot run inside, so this refuses while async tasks wait on the clock.
   */
  run(n: number): void {
    this.checkOpen();
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`run(${n}): needs a whole number of cycles >= 0`);
    if (this.edgeWaiters > 0 || this.untils.length > 0 || this.clockWaits > 0) {
      throw new Error(
        `run(${n}) is synchronous, but ${this.describeWaits()} wait on the clock and could not resume inside it; use await tb.cycles(${n})`,
      );
    }
    if (this.failure !== null) throw this.failure;
    for (let i = 0; i < n; i++) {
      this.sim.tick(1);
      if (this.failure !== null) throw this.failure;
    }
  }

  /** Records a failure: every pending wait rejects with it and the clock stops. The first one wins. */
  fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error ?? new Error('testbench failure');
    this.rejectAll(this.failure);
  }

  /** Throws the recorded failure, if any. Call at the end of a test that only used run(). */
  check(): void {
    if (this.failure !== null) throw this.failure;
  }

  /** Stops everything and detaches from the simulation (the simulation stays usable). */
  close(): void {
    if (this.closed) return;
    for (const a of this.activities) if (!a.task.done) a.task.finish('cancelled', undefined, undefined);
    // Pending waits are dropped, not rejected: after the test nobody awaits them, and rejections
    // would surface as unhandled errors.
    for (const p of this.pending) p.settled = true;
    this.pending.clear();
    this.untils = [];
    this.heap.clear();
    this.edgePromise = null;
    this.edgeResolve = null;
    this.edgeReject = null;
    this.closed = true;
    this.offSimClose();
    if (this.sim.afterEdge === this.edgeHook) this.sim.afterEdge = null;
  }

  /**
   * The simulation was closed under this testbench (e.g. by an afterAll while a timed-out test's body
   * still waits): every pending wait rejects with one error, marked as handled first since nobody may
   * await it any more; coroutines end and the scheduler stops, so nothing runs on the freed model.
   */
  private simClosed(): void {
    if (this.closed) return;
    const error = new Error(`${this.sim.top}: the simulation was closed under its testbench (waiting: ${this.describeWaits()})`);
    for (const p of this.pending) p.promise?.catch(ignore);
    this.edgePromise?.catch(ignore);
    this.fail(error);
    this.close();
  }

  // ---- internals ----

  /** A wait after a failure (rejects with it) or after close(). */
  private refused<T>(): Promise<T> {
    return Promise.reject(this.failure ?? new Error('this testbench was closed; create a new one'));
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('this testbench was closed');
  }

  private startCoroutine<T>(name: string, gen: Coroutine<T>): Task<T> {
    const task = new Task<T>(name, 'coroutine');
    task.joinHook = () => this.joinTask(task);
    let wakeAt = 0;
    let cond: (() => boolean) | null = null;
    let waitFor: Task<unknown> | null = null;
    const resume = (): void => {
      // Loop while the yielded wait is already satisfied (a condition that holds, a finished task).
      for (;;) {
        let r: IteratorResult<Wait, T>;
        try {
          r = gen.next();
        } catch (e) {
          this.endActivity(task, 'failed', undefined, e);
          this.fail(e);
          return;
        }
        if (r.done) {
          this.endActivity(task, 'done', r.value);
          return;
        }
        const w = r.value;
        cond = null;
        waitFor = null;
        if (w === undefined) {
          wakeAt = this.sim.cycle + 1;
          return;
        }
        if (typeof w === 'number') {
          if (!Number.isInteger(w) || w < 1) {
            const e = new RangeError(`coroutine ${name} yielded ${w}; yield a whole number of cycles >= 1`);
            this.endActivity(task, 'failed', undefined, e);
            this.fail(e);
            return;
          }
          wakeAt = this.sim.cycle + w;
          return;
        }
        if (typeof w === 'function') {
          if (w()) continue;
          cond = w;
          return;
        }
        if (w instanceof Task) {
          if (w.done) continue;
          waitFor = w;
          return;
        }
        const e = new TypeError(`coroutine ${name} yielded ${String(w)}; yield nothing, a cycle count, a condition or a task`);
        this.endActivity(task, 'failed', undefined, e);
        this.fail(e);
        return;
      }
    };
    const act: Activity = {
      task: task as Task<unknown>,
      edge: (cycle) => {
        if (cond !== null) {
          if (!cond()) return;
        } else if (waitFor !== null) {
          if (!waitFor.done) return;
        } else if (cycle < wakeAt) return;
        resume();
      },
      // A coroutine waiting a cycle count sleeps until then; one waiting on a condition or a task runs every edge.
      quiet: { idle: () => (cond !== null || waitFor !== null ? 0 : wakeAt - this.sim.cycle - 1) },
    };
    task.cancelHook = () => {
      this.endActivity(task, 'cancelled', undefined);
      try {
        gen.return(undefined as T);
      } catch {
        // A finally block that throws while cancelled: nothing left to report to.
      }
    };
    this.activities.push(act);
    resume();
    return task;
  }

  private startAsync<T>(name: string, p: Promise<T>): Task<T> {
    const task = new Task<T>(name, 'async');
    task.joinHook = () => this.joinTask(task);
    p.then(
      (v) => {
        this.live--;
        task.finish('done', v, undefined);
        this.afterProgress();
      },
      (e) => {
        this.live--;
        task.finish('failed', undefined, e);
        this.fail(e);
      },
    );
    return task;
  }

  private joinTask<T>(t: Task<T>): Promise<T | undefined> {
    if (t.state === 'done' || t.state === 'cancelled') return Promise.resolve(t.result);
    if (t.state === 'failed') return Promise.reject(t.error);
    return this.wait<T | undefined>(`join(${t.name})`, (s) => {
      t.joiners.push({ resolve: (v) => s.resolve(v), reject: (e) => s.reject(e) });
    });
  }

  private endActivity<T>(task: Task<T>, state: 'done' | 'failed' | 'cancelled', value: T | undefined, error?: unknown): void {
    if (task.done) return;
    this.doneActivities++;
    this.activitiesChanged();
    task.finish(state, value, error);
  }

  /**
   * Whether a callback can be left out of this edge although others run: it is idle beyond this edge
   * (idle() >= 2 counts from the edge before, its state being what that edge and the code after it
   * left) and none of its own wake ports is sampled high. Callbacks that count skipped edges always run.
   */
  private idleAtEdge(a: Activity): boolean {
    const q = a.quiet;
    if (q === null || q.skip !== undefined || q.idle() < 2) return false;
    const sim = this.sim;
    a.ownWatch ??= sim.sampleWatch(q.wake ?? []);
    if (sim.sampledAny(a.ownWatch)) return false;
    if (q.wakeNow) {
      const now = q.wakeNow();
      for (let i = 0; i < now.length; i++) {
        let w = this.portWatches.get(now[i]);
        if (w === undefined) {
          w = sim.sampleWatch([now[i]]);
          this.portWatches.set(now[i], w);
        }
        if (sim.sampledAny(w)) return false;
      }
    }
    return true;
  }

  /** The wake ports depend on the live activities. */
  private activitiesChanged(): void {
    this.watch = null;
    this.watches.clear();
  }

  private readonly unblockWait = (p: Pending<unknown>): void => this.unblock(p);

  private unblock(p: Pending<unknown>): void {
    this.blocked--;
    this.pending.delete(p);
    this.resolvedThisStep = true;
    this.idleCycles = 0;
  }

  private afterProgress(): void {
    this.resolvedThisStep = true;
    this.idleCycles = 0;
    if (!this.stepQueued && this.blocked >= this.live && this.blocked > 0) this.queueStep();
  }

  private cancelDeadline(d: Deadline): void {
    if (d.cancelled) return;
    d.cancelled = true;
    this.clockWaits--;
  }

  private queueStep(): void {
    if (this.failure !== null || this.closed) return;
    this.stepQueued = true;
    if (++this.stepsSinceCheck >= 1024) {
      this.stepsSinceCheck = 0;
      const now = performance.now();
      if (now - this.lastYield > yieldEveryMs) {
        this.lastYield = now;
        setImmediate(this.stepper);
        return;
      }
    }
    // A reaction on a settled promise is a plain V8 microtask; Node's queueMicrotask adds an async-context wrapper.
    settled.then(this.stepper);
  }

  private readonly stepper = (): void => {
    this.stepQueued = false;
    let spins = 0;
    while (this.failure === null && !this.closed && this.blocked >= this.live) {
      if (!this.hasClockWork()) {
        this.fail(new DeadlockError(`deadlock at cycle ${this.sim.cycle}: ${this.describeWaits()} wait, and nothing runs on the clock`));
        return;
      }
      this.resolvedThisStep = false;
      this.advance();
      if (this.resolvedThisStep) {
        // Let the resumed code run first; if every task is still blocked afterwards (one of several
        // waits of a Promise.all ended), the re-queued step goes on.
        this.queueStep();
        return;
      }
      if (this.idleCycles >= this.stallLimit && this.heap.size === 0 && this.edgeWaiters === 0) {
        this.fail(
          new StallError(
            `no wait ended in ${this.idleCycles} cycles (now cycle ${this.sim.cycle}): ${this.describeWaits()}. ` +
              'Add a timeout, or raise stallCycles if this is expected.',
          ),
        );
        return;
      }
      if (++spins >= 4096) {
        spins = 0;
        const now = performance.now();
        if (now - this.lastYield > yieldEveryMs) {
          this.lastYield = now;
          this.stepQueued = true;
          setImmediate(this.stepper);
          return;
        }
      }
    }
  };

  private hasClockWork(): boolean {
    return this.edgeWaiters > 0 || this.heap.size > 0 || this.untils.length > 0 || this.activities.length > this.doneActivities;
  }

  /** One cycle, or an idle stretch up to the next deadline when nothing watches the edges in between. */
  private advance(): void {
    const sim = this.sim;
    if (this.edgeWaiters === 0 && this.untils.length === 0 && this.activities.length === this.doneActivities && this.heap.size > 0) {
      const next = Math.min(this.heap.peek(), this.startCycle + this.maxCycles);
      const idle = next - sim.cycle - 1;
      if (idle > 0) {
        sim.afterEdge = null;
        sim.tick(idle);
        sim.afterEdge = this.edgeHook;
        this.idleCycles += idle;
      }
    } else if (this.edgeWaiters === 0 && this.quietStretch()) {
      this.idleCycles++;
      return;
    }
    sim.tick(1);
    this.idleCycles++;
  }

  /**
   * Runs a quiet stretch (see `QuietHooks`) when every activity and wait allows one. Returns true when
   * it ended at an edge a wake port hit (that edge's callbacks have run), false when the caller is to
   * run the next edge as usual.
   */
  private quietStretch(): boolean {
    const sim = this.sim;
    const cycle = sim.cycle;
    let n = Math.min(maxQuietStretch, this.startCycle + this.maxCycles - cycle - 1, this.stallLimit - this.idleCycles - 1);
    if (this.heap.size > 0) n = Math.min(n, this.heap.peek() - cycle - 1);
    if (n < 2) return false;
    const untils = this.untils;
    for (let i = 0; i < untils.length; i++) {
      const u = untils[i];
      if (u.p.settled) continue;
      if (u.horizon === null) return false;
      n = Math.min(n, u.horizon() - 1);
      if (n < 2) return false;
    }
    const acts = this.activities;
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i];
      if (a.task.done) continue;
      if (a.quiet === null) return false;
      n = Math.min(n, a.quiet.idle());
      if (n < 2) return false;
    }
    this.watch ??= sim.sampleWatch(acts.flatMap((a) => (a.task.done ? [] : (a.quiet?.wake ?? []))));
    let watch = this.watch;
    // State-dependent wakes: one list (the usual case) is looked up by itself, several by their names.
    let extra: readonly string[] | null = null;
    let more: string[] | null = null;
    for (let i = 0; i < acts.length; i++) {
      const q = acts[i].quiet;
      if (acts[i].task.done || !q?.wakeNow) continue;
      const w = q.wakeNow();
      if (w.length === 0) continue;
      if (extra === null) extra = w;
      else {
        more ??= [...extra];
        more.push(...w);
      }
    }
    if (extra !== null) {
      const key: readonly string[] | string = more === null ? extra : more.join(',');
      let w = this.watches.get(key);
      if (w === undefined) {
        // Bounded: a wakeNow() that makes a new array per call would otherwise add one per stretch.
        if (this.watches.size >= 64) this.watches.clear();
        w = sim.sampleWatch([...watch.names, ...(more ?? extra)]);
        this.watches.set(key, w);
      }
      watch = w;
    }
    const ran = sim.runQuiet(n, watch);
    const woke = sim.woke;
    const skipped = woke ? ran - 1 : ran;
    this.idleCycles += skipped;
    if (skipped > 0) {
      for (let i = 0; i < acts.length; i++) {
        const a = acts[i];
        if (!a.task.done) a.quiet?.skip?.(skipped);
      }
    }
    if (woke) this.edgeHook();
    return woke;
  }

  private readonly edgeHook = (): void => {
    const cycle = this.sim.cycle;
    const acts = this.activities;
    for (let i = 0; i < acts.length; i++) {
      const a = acts[i];
      if (!a.task.done && !this.idleAtEdge(a)) a.edge(cycle);
    }
    if (this.doneActivities > 0 && this.doneActivities * 2 >= acts.length) this.compactActivities();
    if (this.edgeResolve !== null) {
      const resolve = this.edgeResolve;
      this.blocked -= this.edgeWaiters;
      this.clockWaits -= this.edgeWaiters;
      this.edgeWaiters = 0;
      this.edgePromise = null;
      this.edgeResolve = null;
      this.edgeReject = null;
      this.resolvedThisStep = true;
      this.idleCycles = 0;
      resolve();
    }
    while (this.heap.peek() <= cycle) {
      const d = this.heap.pop() as Deadline;
      if (!d.cancelled) d.fire();
    }
    if (this.untils.length > 0) {
      let kept = 0;
      const list = this.untils;
      for (let i = 0; i < list.length; i++) {
        const u = list[i];
        if (u.p.settled) continue;
        let hit = false;
        try {
          hit = u.cond();
        } catch (e) {
          u.p.reject(e);
          continue;
        }
        if (hit) u.p.resolve();
        else list[kept++] = u;
      }
      list.length = kept;
    }
    if (cycle - this.startCycle >= this.maxCycles && this.failure === null) {
      this.fail(new TimeoutError(`the test ran ${this.maxCycles} cycles (maxCycles) without finishing: ${this.describeWaits()}`));
    }
  };

  private compactActivities(): void {
    const kept = this.activities.filter((a) => !a.task.done);
    this.activities.length = 0;
    this.activities.push(...kept);
    this.doneActivities = 0;
  }

  private rejectAll(error: unknown): void {
    const pending = [...this.pending];
    this.pending.clear();
    for (const p of pending) p.reject(error);
    this.untils = [];
    if (this.edgeReject !== null) {
      const reject = this.edgeReject;
      this.blocked -= this.edgeWaiters;
      this.clockWaits -= this.edgeWaiters;
      this.edgeWaiters = 0;
      this.edgePromise = null;
      this.edgeResolve = null;
      this.edgeReject = null;
      reject(error);
    }
    for (const d of this.heap.clear()) d.fire = () => {};
    this.clockWaits = 0;
    for (const a of this.activities) {
      if (!a.task.done) {
        a.task.cancelHook?.();
      }
    }
  }

  private describeWaits(): string {
    const parts: string[] = [];
    if (this.edgeWaiters) parts.push(`${this.edgeWaiters} × rising()`);
    const counts = new Map<string, number>();
    for (const p of this.pending) counts.set(p.what, (counts.get(p.what) ?? 0) + 1);
    for (const [what, n] of counts) parts.push(n > 1 ? `${n} × ${what}` : what);
    const running = this.activities.filter((a) => !a.task.done).map((a) => a.task.name);
    if (running.length) parts.push(`coroutines/callbacks running: ${running.join(', ')}`);
    return parts.length ? parts.join('; ') : 'nothing';
  }
}
