/** Generic bus transactors and protocol checkers: AXI4-Lite, AXI4 and AXI4-Stream. */
export type { Axi4CheckerOptions } from './axi4-checker.js';
export { Axi4Checker } from './axi4-checker.js';
export type { Burst } from './axi4-rules.js';
export { BURST_FIXED, BURST_INCR, BURST_WRAP, beatLanes, burstViolation } from './axi4-rules.js';
export type { Axi4SlaveMemoryOptions, BeatResponses, ErrorBurst } from './axi4-slave-memory.js';
export { Axi4SlaveMemory } from './axi4-slave-memory.js';
export type { AxiLiteMasterOptions, AxiLiteRead } from './axilite.js';
export { AxiLiteChecker, AxiLiteMaster, RESP_DECERR, RESP_EXOKAY, RESP_OKAY, RESP_SLVERR } from './axilite.js';
export type { AxisBeat, AxisFrame, AxisSinkOptions, AxisSourceOptions } from './axis.js';
export { AxisMonitor, AxisSink, AxisSource, framesToBeats } from './axis.js';
export type { CheckerOptions, ViolationMode } from './checker-base.js';
export { ChannelRule, ViolationLog } from './checker-base.js';
export type { Pattern } from './patterns.js';
export { always, fromBits, never, periodic, randomly, stalls } from './patterns.js';
export { expectDir, optionalSignal, signal } from './signals.js';
export { SparseMemory } from './sparse-memory.js';
