/**
 * The library of blocks written in the DSL: FIFO, skid buffer, round-robin arbiter, priority encoder,
 * counters, and the clock-domain crossing blocks (synchronizers, asynchronous and packet FIFOs). Each is a function from parameters to a ModuleDef (memoized per parameter set).
 */
import type { ModuleDef } from '../dsl/module.js';
import { asyncFifo, handshakeSync, packetFifo, pulseSync, syncBit } from './cdc.js';
import { saturatingCounter, upCounter } from './counters.js';
import { priorityEncoder } from './priorityEncoder.js';
import { rrArbiter } from './rrArbiter.js';
import { skidBuffer } from './skidBuffer.js';
import { syncFifo } from './syncFifo.js';

export { allSetByCarry, anySetByCarry } from './carryTests.js';
export type {
  AsyncFifoIO,
  AsyncFifoOptions,
  CdcResetOptions,
  HandshakeSyncIO,
  HandshakeSyncOptions,
  PacketFifoIO,
  PacketFifoOptions,
  PulseSyncIO,
  PulseSyncOptions,
  SyncBitIO,
  SyncBitOptions,
} from './cdc.js';
export { asyncFifo, handshakeSync, packetFifo, pulseSync, syncBit } from './cdc.js';
export type { SaturatingCounterIO, SaturatingCounterOptions, UpCounterIO, UpCounterOptions } from './counters.js';
export { saturatingCounter, upCounter } from './counters.js';
export { requireInt } from './params.js';
export type { LowestSetBit, PriorityEncoderIO, PriorityEncoderOptions } from './priorityEncoder.js';
export { lowestSetBit, priorityEncoder } from './priorityEncoder.js';
export type { RrArbiterIO, RrArbiterOptions } from './rrArbiter.js';
export { rrArbiter } from './rrArbiter.js';
export type { SkidBufferIO, SkidBufferOptions } from './skidBuffer.js';
export { skidBuffer } from './skidBuffer.js';
export { dataStreamSpec } from './stream.js';
export type { FifoStorage, SyncFifoIO, SyncFifoOptions } from './syncFifo.js';
export { blockRamMinDepth, countFlags, countNext, syncFifo } from './syncFifo.js';

/**
 * Each library block with example parameterizations (small and large, power-of-two and not, every
 * storage kind): what `cdna generate lib` writes and what the lint and synthesis tests cover.
 */
export const libraryBlocks: Readonly<Record<string, () => ModuleDef<unknown>[]>> = {
  sync_fifo: () => [
    syncFifo({ width: 8, depth: 1 }),
    syncFifo({ width: 8, depth: 4 }),
    syncFifo({ width: 32, depth: 12 }),
    syncFifo({ width: 64, depth: 512 }),
    syncFifo({ width: 16, depth: 48, storage: 'block' }),
    syncFifo({ width: 8, depth: 64, storage: 'flops' }),
  ],
  skid_buffer: () => [skidBuffer({ width: 1 }), skidBuffer({ width: 64 })],
  rr_arbiter: () => [rrArbiter({ n: 1 }), rrArbiter({ n: 4 }), rrArbiter({ n: 5 }), rrArbiter({ n: 100 }), rrArbiter({ n: 1024 })],
  priority_encoder: () => [priorityEncoder({ n: 1 }), priorityEncoder({ n: 8 }), priorityEncoder({ n: 13 }), priorityEncoder({ n: 64 })],
  up_counter: () => [upCounter({ width: 1 }), upCounter({ width: 8 }), upCounter({ width: 4, max: 9 })],
  saturating_counter: () => [saturatingCounter({ width: 4 }), saturatingCounter({ width: 32, stepWidth: 16 })],
  sync_bit: () => [syncBit(), syncBit({ width: 5, stages: 3, reset: 'none' }), syncBit({ reset: 'async', resetActive: 'low' })],
  pulse_sync: () => [pulseSync(), pulseSync({ stages: 3, reset: 'async', resetActive: 'low' })],
  handshake_sync: () => [handshakeSync({ width: 1 }), handshakeSync({ width: 32, reset: 'async' })],
  async_fifo: () => [
    asyncFifo({ width: 8, depth: 2 }),
    asyncFifo({ width: 8, depth: 16 }),
    asyncFifo({ width: 36, depth: 512, reset: 'async', resetActive: 'low' }),
  ],
  packet_fifo: () => [
    packetFifo({ width: 8, depth: 16 }),
    packetFifo({ width: 8, depth: 4, clocks: 'sync' }),
    packetFifo({ width: 32, depth: 256, reset: 'async' }),
  ],
};
