/**
 * The bursts the RTL's bus answered with an error, counted per context and engine as the NIC's
 * TX_DMA_ERR / RX_DMA_ERR must count them (one per failed burst, docs/faults.md). The engine is the
 * client number in the top bits of the AXI ID (interfaces.ts), the context the granted region the
 * failed beat lies in. This is what the bus saw, so it holds whatever the timing: speculative
 * descriptor fetches and retries included, which the reference model cannot know of.
 */
import { CLIENT_ID_W, DMA_CLIENTS } from '../../hdl/nic/interfaces.js';
import type { ErrorBurst } from '../axi/axi4-slave-memory.js';
import type { DmaMonitor } from '../host/dma-monitor.js';

export interface BusErrorTally {
  /** Failed bursts of the TX and RX engines per context. */
  tx: Map<number, number>;
  rx: Map<number, number>;
  /** Failed bursts of no context (the interrupt engine's, or outside every grant). */
  unattributed: number;
  total: number;
}

/** Counts one failed burst into `tally`. */
export function countBusErrors(tally: BusErrorTally, monitor: DmaMonitor, e: ErrorBurst): void {
  tally.total++;
  const client = DMA_CLIENTS[e.id >> CLIENT_ID_W];
  const region = monitor.regionsAt(BigInt(e.beatAddr), 1, e.direction).find((r) => r.ctx !== null);
  if ((client !== 'tx' && client !== 'rx') || !region || region.ctx === null) {
    tally.unattributed++;
    return;
  }
  const m = tally[client];
  m.set(region.ctx, (m.get(region.ctx) ?? 0) + 1);
}
