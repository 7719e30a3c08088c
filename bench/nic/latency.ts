/**
 * Latencies on an idle NIC, in cycles:
 * - TX: from the cycle the doorbell write is accepted on BAR0 to the first beat of the frame on the
 *   TX stream (the descriptor and the payload each cost one host read latency).
 * - RX: from the last beat of a frame on the RX stream to the write of the completion record that
 *   covers it (the frame is stored whole first, then written to host memory, then the record).
 * Each is taken over a few frames with the NIC idle in between; the figure is the largest.
 */
import type { NicParams } from '../../hdl/params.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { FIRST_SEQ, type HostTiming, macOfCtx, NicRig, PEER_MAC } from './rig.js';

type Ports = { [name: string]: PortValue };

const SAMPLES = 3;
/** Idle cycles between samples: every engine has drained. */
const IDLE = 1500;

export interface TxLatency {
  cycles: number;
  samples: number[];
}

export async function txDoorbellToWire(sim: Simulation<Ports>, p: NicParams, timing: HostTiming, size = 60): Promise<TxLatency> {
  const rig = await NicRig.open(sim, p, timing);
  try {
    const c = p.N_CTX - 1;
    await rig.enable([c], 4);
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      await rig.tb.cycles(IDLE);
      rig.postTx(c, rig.txFrame(c, i, size));
      const before = rig.txMac.frames.length;
      await rig.txDoorbell(c);
      const rung = (rig.bar0Writes.at(-1) as { cycle: number }).cycle;
      await rig.tb.until(() => rig.txMac.frames.length > before, { timeout: 20 * timing.readLatency + 5000, what: 'the TX frame' });
      samples.push((rig.txMac.frames[before] as { firstCycle: number }).firstCycle - rung);
    }
    return { cycles: Math.max(...samples), samples };
  } finally {
    rig.close();
  }
}

export interface RxLatency {
  /** Frame size -> cycles (largest of the samples). */
  bySize: Record<number, number>;
}

export async function rxLastByteToCompletion(
  sim: Simulation<Ports>,
  p: NicParams,
  timing: HostTiming,
  sizes: readonly number[],
): Promise<RxLatency> {
  const rig = await NicRig.open(sim, p, timing);
  try {
    const c = p.N_CTX - 1;
    await rig.enable([c], 6);
    rig.postRx(c, sizes.length * SAMPLES + 4);
    await rig.rxDoorbell(c);
    const bySize: Record<number, number> = {};
    let n = 0;
    for (const size of sizes) {
      let worst = 0;
      for (let i = 0; i < SAMPLES; i++, n++) {
        await rig.tb.cycles(IDLE);
        rig.rxMac.schedule([{ data: testFrame(macOfCtx(c), PEER_MAC, { ctx: c, seq: n }, size).data, ctx: c }]);
        const seq = FIRST_SEQ + n;
        const written = () => rig.mem.doneWrites.find((w) => w.dir === 'rx' && w.ctx === c && w.seq >= seq);
        await rig.tb.until(() => written() !== undefined, {
          timeout: 20 * timing.readLatency + 5000,
          what: `the RX completion of seq ${seq}`,
        });
        const last = (rig.rxMac.sent[n] as { lastCycle: number }).lastCycle;
        worst = Math.max(worst, (written() as { cycle: number }).cycle - last);
      }
      bySize[size] = worst;
    }
    return { bySize };
  } finally {
    rig.close();
  }
}
