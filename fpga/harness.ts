/**
 * A place-and-route harness: a top with four pins (clk, rst, din, dout) that keeps all of a core's
 * ports inside the chip. The core has several hundred port bits, more than an iCE40 has I/O pins, and
 * a real board connects most of them to on-chip logic (a PCIe bridge, a MAC) anyway.
 *
 * - Every input bit of the core comes from one long shift register fed by `din`, so inputs start at
 *   flip-flops, as they would from a registered bridge, and no input is a constant synthesis could
 *   propagate into the core.
 * - Every output bit goes into an XOR tree, four bits per LUT-sized node and a register after each
 *   level, ending in `dout`: no output can be optimized away, and the tree adds one LUT after a core
 *   output, the same as a consumer of that output would.
 *
 * The harness adds about one flip-flop per input bit and 1.3 per output bit; the report states it.
 */
import { Bool, cat, defineModule, type Expr, type InstanceInput, InstanceOutput, type ModuleDef, UInt } from '../generator/index.js';

/** How many harness bits surround the core. */
export interface HarnessInfo {
  inputBits: number;
  outputBits: number;
  /** Flip-flops the harness itself adds (shift register and XOR tree registers). */
  harnessFlipFlops: number;
}

export interface Harness {
  def: ModuleDef<unknown>;
  info: HarnessInfo;
}

const XOR_FAN_IN = 4;

export function synthHarness(core: ModuleDef<unknown>): Harness {
  const def = defineModule('fpga_harness', { CORE: core.verilogName }, (m) => {
    const din = m.input('din');
    const dout = m.output('dout');
    const u = m.instance('u_core', core);
    const inputs: InstanceInput[] = [];
    const outputs: InstanceOutput[] = [];
    for (const p of u.ports.values()) {
      if (p instanceof InstanceOutput) outputs.push(p);
      else inputs.push(p);
    }
    const inputBits = inputs.reduce((n, p) => n + p.width, 0);
    if (inputBits > 0) {
      const chain = m.reg('stimulus', UInt(inputBits), { reset: 0 });
      chain.set(inputBits === 1 ? din : cat(chain.bits(inputBits - 2, 0), din));
      let at = 0;
      for (const p of inputs) {
        p.set(chain.bits(at + p.width - 1, at));
        at += p.width;
      }
    }
    const outputBits = outputs.reduce((n, p) => n + p.width, 0);
    if (outputBits === 0) dout.set(din);
    else {
      // Each level XORs groups of four into registers until one bit is left.
      let level: Expr = cat(...outputs);
      let depth = 0;
      do {
        const groups = Math.ceil(level.width / XOR_FAN_IN);
        const r = m.reg(`xor_l${depth}`, UInt(groups), { reset: 0 });
        const bits: Expr[] = [];
        for (let g = groups - 1; g >= 0; g--) {
          const lo = g * XOR_FAN_IN;
          const hi = Math.min(level.width, lo + XOR_FAN_IN) - 1;
          bits.push(level.bits(hi, lo).xorR());
        }
        r.set(cat(...bits));
        level = r;
        depth++;
      } while (level.width > 1);
      const out = m.reg('dout_r', Bool, { reset: 0 });
      out.set(level);
      dout.set(out);
    }
    return { din, dout };
  });
  return { def: def as ModuleDef<unknown>, info: countHarness(core) };
}

function countHarness(core: ModuleDef<unknown>): HarnessInfo {
  let inputBits = 0;
  let outputBits = 0;
  for (const p of core.builder.ports) {
    if (p.kind === 'input') inputBits += p.width;
    else outputBits += p.width;
  }
  let flops = inputBits;
  let w = outputBits;
  if (w > 0) {
    do {
      w = Math.ceil(w / XOR_FAN_IN);
      flops += w;
    } while (w > 1);
    flops += 1;
  }
  return { inputBits, outputBits, harnessFlipFlops: flops };
}
