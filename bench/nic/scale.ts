/**
 * How the NIC scales with N_CTX:
 * - area: Yosys' generic synthesis (memories kept as memories, so block-RAM state is counted as bits
 *   rather than turned into flip-flops). Synthesis takes minutes, and its result depends only on the
 *   Verilog, so results are cached under build/bench/area/ by a hash of the Verilog text.
 * - pick cycles: on an idle NIC, from a doorbell accepted on BAR0 to the transmit engine's first
 *   descriptor read for that context (the scheduler's pick plus the fixed stages around it). Taken
 *   for the lowest and the highest context; the figure is the larger.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { synthesize } from '../../fpga/synth.js';
import type { ModuleDef } from '../../generator/index.js';
import { CLIENT_ID_W, DMA_CLIENTS } from '../../hdl/nic/interfaces.js';
import type { NicParams } from '../../hdl/params.js';
import { type PortValue, type Simulation, verilogOf } from '../../sim/index.js';
import { buildRoot } from '../../sim/paths.js';
import { type HostTiming, NicRig } from './rig.js';

type Ports = { [name: string]: PortValue };

export interface AreaFigures {
  ff: number;
  logic: number;
  bram_bits: number;
  /** Seconds Yosys took, or 0 when the figures came from the cache. */
  seconds: number;
  cached: boolean;
}

export async function nicArea(def: ModuleDef<unknown>): Promise<AreaFigures> {
  const hash = createHash('sha256');
  for (const t of verilogOf(def)) hash.update(t.name).update('\0').update(t.text).update('\0');
  const key = hash.digest('hex').slice(0, 16);
  const dir = path.join(buildRoot(), 'bench', 'area');
  const file = path.join(dir, `${def.verilogName}-${key}.json`);
  try {
    const hit = JSON.parse(await readFile(file, 'utf8')) as AreaFigures;
    return { ...hit, cached: true };
  } catch {
    // Not synthesized yet.
  }
  const t0 = performance.now();
  const r = await synthesize(def, { target: 'generic', keepMemories: true, dir: path.join(dir, `${def.verilogName}-${key}`) });
  const figures: AreaFigures = {
    ff: r.design.flipFlops,
    logic: r.design.logicCells,
    bram_bits: r.memoryBits,
    seconds: (performance.now() - t0) / 1000,
    cached: false,
  };
  await mkdir(dir, { recursive: true });
  await writeFile(file, `${JSON.stringify(figures, null, 2)}\n`);
  return figures;
}

export interface PickFigures {
  cycles: number;
  /** Context -> cycles. */
  byContext: Record<number, number>;
}

export async function doorbellToPick(sim: Simulation<Ports>, p: NicParams, timing: HostTiming): Promise<PickFigures> {
  const byContext: Record<number, number> = {};
  for (const c of [0, p.N_CTX - 1]) {
    const rig = await NicRig.open(sim, p, timing, { watchReads: true });
    try {
      await rig.enable([c], 4);
      rig.postTx(c, rig.txFrame(c, 0, 60));
      await rig.tb.cycles(200);
      const before = rig.reads.length;
      await rig.txDoorbell(c);
      const rung = (rig.bar0Writes.at(-1) as { cycle: number }).cycle;
      // The interconnect puts the client number above the engine's own ID bits.
      const tx = DMA_CLIENTS.indexOf('tx');
      const first = () => rig.reads.slice(before).find((r) => r.id >> CLIENT_ID_W === tx);
      await rig.tb.until(() => first() !== undefined, { timeout: 2000, what: `the descriptor read of context ${c}` });
      byContext[c] = (first() as { cycle: number }).cycle - rung;
    } finally {
      rig.close();
    }
  }
  return { cycles: Math.max(...Object.values(byContext)), byContext };
}
