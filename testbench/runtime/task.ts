/** A forked activity: a coroutine (synchronous generator) or an async function. */

/** What a coroutine may yield: nothing (next edge), a cycle count, a condition, or a task to join. */
export type Wait = undefined | number | (() => boolean) | Task<unknown>;

/** A cycle-level coroutine: `yield` waits for the next rising edge. */
export type Coroutine<T = void> = Generator<Wait, T, void>;

export type TaskState = 'running' | 'done' | 'failed' | 'cancelled';

export interface Joiner<T> {
  resolve(value: T | undefined): void;
  reject(error: unknown): void;
}

export class Task<T = unknown> {
  state: TaskState = 'running';
  result: T | undefined = undefined;
  error: unknown = undefined;
  /** @internal resolved when the task ends */
  readonly joiners: Joiner<T>[] = [];
  /** @internal set by the scheduler */
  cancelHook: (() => void) | null = null;
  /** @internal the scheduler's join implementation */
  joinHook: (() => Promise<T | undefined>) | null = null;

  constructor(
    readonly name: string,
    readonly kind: 'coroutine' | 'async' | 'callback',
  ) {}

  get done(): boolean {
    return this.state !== 'running';
  }

  /** Resolves with the task's result when it ends (undefined if it was cancelled). */
  join(): Promise<T | undefined> {
    if (!this.joinHook) throw new Error(`task ${this.name} is not attached to a testbench`);
    return this.joinHook();
  }

  /** Stops a coroutine or a per-edge callback at once. Async tasks cannot be stopped from outside. */
  cancel(): void {
    if (this.done) return;
    if (!this.cancelHook) {
      throw new Error(`task ${this.name} is an async function and cannot be cancelled; fork a coroutine, or have it check a stop flag`);
    }
    this.cancelHook();
  }

  /** @internal */
  finish(state: TaskState, result: T | undefined, error: unknown): void {
    if (this.done) return;
    this.state = state;
    this.result = result;
    this.error = error;
    const joiners = this.joiners.splice(0);
    for (const j of joiners) {
      if (state === 'failed') j.reject(error);
      else j.resolve(result);
    }
  }
}
