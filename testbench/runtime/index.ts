/** The testbench runtime: coroutines, async tasks, queues, timeouts and seeded randomness on one clock. */
export { Clock } from './clock.js';
export { DeadlockError, ProtocolError, StallError, TimeoutError } from './errors.js';
export { Event, Queue } from './queue.js';
export { Rng, testSeed } from './random.js';
export type { Coroutine, TaskState, Wait } from './task.js';
export { Task } from './task.js';
export type { ForkOptions, Settle, TestbenchOptions, WaitOptions } from './testbench.js';
export { Testbench } from './testbench.js';
