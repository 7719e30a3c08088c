/**
 * Transmit with one doorbell per frame, as a guest that sends each frame on its own would: every
 * frame is posted and its doorbell rung at line-rate pace, round robin over K contexts. The line-rate
 * points post everything before one doorbell per context; this shows what ringing per frame costs:
 * the ratio, and the descriptor reads per frame. The fetcher never reads past the doorbell's TX_PROD
 * (docs/tx-engine.md, *Fetching up to TX_PROD*), so this is 1 when each doorbell posts one frame;
 * before that bound it fetched ahead until a seq missed (about 12 reads per 1514-byte frame alone).
 */
import type { NicParams } from '../../hdl/params.js';
import type { PortValue, Simulation } from '../../sim/index.js';
import { wireBytes, wireCycles } from './ethernetTiming.js';
import { type HostTiming, NicRig } from './rig.js';

type Ports = { [name: string]: PortValue };

export interface DoorbellPerFrameOutcome {
  ratio: number;
  descReadsPerFrame: number;
  frames: number;
}

export async function runDoorbellPerFrame(
  sim: Simulation<Ports>,
  p: NicParams,
  timing: HostTiming,
  contexts: number,
  size: number,
  frames: number,
): Promise<DoorbellPerFrameOutcome> {
  const ctxs = Array.from({ length: contexts }, (_, i) => i);
  const rig = await NicRig.open(sim, p, timing, { watchReads: true });
  try {
    await rig.enable(ctxs, Math.min(p.MAX_RING_LOG2, Math.max(4, Math.ceil(Math.log2(frames / contexts + 1)))));
    const step = wireCycles(size, p.STREAM_W / 8);
    const t0 = rig.tb.cycle;
    const rung: Promise<void>[] = [];
    for (let i = 0; i < frames; i++) {
      const c = ctxs[i % contexts] as number;
      rig.postTx(c, rig.txFrame(c, i, size));
      rung.push(rig.txDoorbell(c));
      await rig.tb.cycles(Math.max(1, Math.round(t0 + (i + 1) * step) - rig.tb.cycle));
    }
    await Promise.all(rung);
    await rig.tb.until(() => rig.txMac.frames.length >= frames, {
      timeout: 20 * frames * step + 20 * timing.readLatency,
      what: 'the frames',
    });
    const f = rig.txMac.frames;
    const k0 = Math.floor(frames / 5);
    const k1 = frames - 1;
    const a = f[k0] as (typeof f)[number];
    const b = f[k1] as (typeof f)[number];
    return { ratio: ((k1 - k0) * wireBytes(size)) / (b.start - a.start), descReadsPerFrame: rig.descriptorReads('tx') / frames, frames };
  } finally {
    rig.close();
  }
}
