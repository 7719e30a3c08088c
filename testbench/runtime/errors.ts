/** Errors the testbench runtime raises; each names what was waited for and for how long. */

/** A wait, task or test ran past its cycle budget. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Every task waits on something that only another waiting task could provide. */
export class DeadlockError extends Error {
  override name = 'DeadlockError';
}

/** The clock ran for a long stretch without any task making progress (a wait that can never end). */
export class StallError extends Error {
  override name = 'StallError';
}

/** A bus rule was broken (raised by the protocol checkers). */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}
