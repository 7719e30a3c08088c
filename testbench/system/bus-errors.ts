/**
 * The bursts the RTL's bus answered with an error, counted per context and engine as the NIC's
 * TX_DMA_ERR / RX_DMA_ERR must count them (one per failed burst, docs/faults.md). The engine is the
 * client number in the top bits of the AXI ID (interfaces.ts), the context the granted region the
 * failed beat lies in. This is what the bus saw, so it holds whatever the timing: speculative
 * descriptor fetches and retries included, which the reference model cannot know of.
 *
 * Failed descriptor fetches are counted apart: an engine does not count one that was already stale
 * (a speculative fetch issued before a rollback, dropped unread), and which are stale is timing. So
 * a DMA_ERR counter lies between the failed bursts that are not fetches and all failed bursts.
 */
import { CLIENT_ID_W, DMA_CLIENTS } from '../../hdl/nic/interfaces.js';
import type { ErrorBurst } from '../axi/axi4-slave-memory.js';
import type { DmaMonitor } from '../host/dma-monitor.js';

/** Failed bursts of one engine for one context: all of them, and the descriptor fetches among them. */
export interface FailedBursts {
  all: number;
  fetches: number;
}

export interface BusErrorTally {
  /** Failed bursts of the TX and RX engines per context. */
  tx: Map<number, FailedBursts>;
  rx: Map<number, FailedBursts>;
  /** Failed bursts of no context (the interrupt engine's, or outside every grant). */
  unattributed: number;
  total: number;
}

/** Counts one failed burst into `tally`. */
export function countBusErrors(tally: BusErrorTally, monitor: DmaMonitor, e: ErrorBurst): void {
  tally.total++;
  const client = DMA_CLIENTS[e.id >> CLIENT_ID_W];
  const region = monitor.regionsAt(BigInt(e.beatAddr), 1, e.direction, { recent: true }).find((r) => r.ctx !== null);
  if ((client !== 'tx' && client !== 'rx') || !region || region.ctx === null) {
    tally.unattributed++;
    return;
  }
  const m = tally[client];
  const t = m.get(region.ctx) ?? { all: 0, fetches: 0 };
  t.all++;
  // A read of a ring is a descriptor fetch (the engines write rings only for write-backs).
  if (e.direction === 'read' && (region.kind === 'tx-ring' || region.kind === 'rx-ring')) t.fetches++;
  m.set(region.ctx, t);
}

/** What a DMA_ERR counter may read: [failed bursts that are not fetches, all failed bursts]. */
export function dmaErrBounds(t: FailedBursts | undefined): [number, number] {
  return t ? [t.all - t.fetches, t.all] : [0, 0];
}
