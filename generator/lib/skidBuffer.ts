import type { MasterPorts, SlavePorts } from '../dsl/bundle.js';
import { mux } from '../dsl/expr.js';
import { defineModule, type ModuleDef } from '../dsl/module.js';
import { UInt } from '../dsl/types.js';
import { requireInt } from './params.js';
import { dataStreamSpec } from './stream.js';

export interface SkidBufferOptions {
  /** Data width in bits. */
  width: number;
}

type Stream = ReturnType<typeof dataStreamSpec>;

export interface SkidBufferIO {
  in: SlavePorts<Stream>;
  out: MasterPorts<Stream>;
}

/**
 * A registered pipeline stage for a valid/ready stream that still moves one word per cycle. Every
 * output is a register: `out_valid`/`out_data` come from the main register and `in_ready` means "the
 * skid register is empty", so neither the forward nor the ready path crosses the stage
 * combinationally. When `out_ready` drops while a word arrives, that word waits in the skid register.
 */
export function skidBuffer(opts: SkidBufferOptions): ModuleDef<SkidBufferIO> {
  requireInt('skidBuffer', 'width', opts.width, 1, 65536);
  const width = opts.width;
  return defineModule('skid_buffer', { WIDTH: width }, (m) => {
    const input = m.slave('in', dataStreamSpec(width));
    const output = m.master('out', dataStreamSpec(width));
    const mainValid = m.reg('main_valid', undefined, { reset: 0 });
    // Data registers reset too: a stage in front of an output port must show no X in a 4-state
    // simulator before its first word (F-7), and the reset costs no logic (flip-flops' own reset).
    const mainData = m.reg('main_data', UInt(width), { reset: 0 });
    const skidValid = m.reg('skid_valid', undefined, { reset: 0 });
    const skidData = m.reg('skid_data', UInt(width), { reset: 0 });

    input.ready.set(skidValid.not());
    output.valid.set(mainValid);
    output.data.set(mainData);
    const accept = m.named('accept', input.valid.and(skidValid.not()));
    // The main register is free when it is empty or its word leaves on this edge.
    const mainFree = m.named('main_free', mainValid.not().or(output.ready));
    m.when(mainFree, () => {
      // The skid register's word is older than any new one, so it goes first (in_ready was low).
      mainValid.set(skidValid.or(accept));
      m.when(skidValid.or(accept), () => mainData.set(mux(skidValid, skidData, input.data)));
      skidValid.set(0);
    }).otherwise(() => {
      m.when(accept, () => {
        skidValid.set(1);
        skidData.set(input.data);
      });
    });
    return { in: input, out: output };
  });
}
