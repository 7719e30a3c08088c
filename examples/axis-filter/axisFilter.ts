/**
 * An AXI4-Stream frame filter, written outside hdl/ as a user of the toolkit would: it imports only
 * the package (`cdna-nic`). Frames whose first byte equals `drop_type` are dropped whole (while
 * `enable` is high); the others pass through a skid buffer, one cycle late, at one beat per cycle.
 * Two saturating counters count the frames passed and dropped.
 *
 *   npx cdna generate --design examples/axis-filter/axisFilter.ts --lint
 *   npx cdna synth --design examples/axis-filter/axisFilter.ts --target generic
 *   npx vitest run --root examples/axis-filter
 */
import { axisSpec, Bool, cat, defineModule, type ModuleDef, mux, requireInt, saturatingCounter, skidBuffer, UInt } from 'cdna-nic';

export interface AxisFilterOptions {
  /** tdata width in bits, a whole number of bytes (default 32). */
  dataWidth?: number;
  /** Width of the frame counters (default 16). */
  countWidth?: number;
}

export function axisFilter(opts: AxisFilterOptions = {}): ModuleDef<unknown> {
  const dataWidth = opts.dataWidth ?? 32;
  const countWidth = opts.countWidth ?? 16;
  requireInt('axisFilter', 'dataWidth', dataWidth, 8, 1024);
  requireInt('axisFilter', 'countWidth', countWidth, 1, 64);
  const keepWidth = dataWidth / 8;
  return defineModule('axis_filter', { DATA_W: dataWidth, COUNT_W: countWidth }, (m) => {
    const s = m.slave('s_axis', axisSpec({ dataWidth }));
    const o = m.master('m_axis', axisSpec({ dataWidth }));
    const enable = m.input('enable');
    const dropType = m.input('drop_type', UInt(8));
    const passed = m.output('passed', UInt(countWidth));
    const dropped = m.output('dropped', UInt(countWidth));

    // Between the first and the last beat of a frame the decision taken at its first beat holds.
    const inFrame = m.reg('in_frame', Bool, { reset: 0 });
    const dropping = m.reg('dropping', Bool, { reset: 0 });
    const dropFirst = m.named('drop_first', enable.and(s.tdata.bits(7, 0).eq(dropType)));
    const drop = m.named('drop', mux(inFrame, dropping, dropFirst));

    // The passed beats go through a skid buffer that carries {tlast, tkeep, tdata}: every output is a register.
    const stage = m.instance('u_out', skidBuffer({ width: 1 + keepWidth + dataWidth }));
    stage.io.in.valid.set(s.tvalid.and(drop.not()));
    stage.io.in.data.set(cat(s.tlast, s.tkeep, s.tdata));
    s.tready.set(drop.or(stage.io.in.ready));
    const take = m.named('take', s.tvalid.and(s.tready));
    m.when(take, () => {
      inFrame.set(s.tlast.not());
      dropping.set(drop);
    });

    const out = stage.io.out;
    out.ready.set(o.tready);
    o.tvalid.set(out.valid);
    o.tdata.set(out.data.bits(dataWidth - 1, 0));
    o.tkeep.set(out.data.bits(dataWidth + keepWidth - 1, dataWidth));
    o.tlast.set(out.data.bit(dataWidth + keepWidth));

    // A frame is counted at its last beat.
    const frameEnd = m.named('frame_end', take.and(s.tlast));
    const nPassed = m.instance('u_passed', saturatingCounter({ width: countWidth }));
    nPassed.io.inc.set(frameEnd.and(drop.not()));
    nPassed.io.clear.set(0);
    passed.set(nPassed.io.count);
    const nDropped = m.instance('u_dropped', saturatingCounter({ width: countWidth }));
    nDropped.io.inc.set(frameEnd.and(drop));
    nDropped.io.clear.set(0);
    dropped.set(nDropped.io.count);
    return { s_axis: s, m_axis: o, enable, drop_type: dropType, passed, dropped };
  });
}

/** What `cdna generate --design` and `cdna synth --design` take without --top: the default parameters. */
export default axisFilter();
