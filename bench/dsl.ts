/**
 * DSL benchmark: elaborates and emits a synthetic design shaped like a NIC's per-context state
 * (N contexts, each a register with a when/elseWhen update, a priority mux over all of them, an OR
 * reduction) and reports the time per phase. Run: node --import tsx bench/dsl.ts [contexts]
 */
import { any, clearDefinitions, defineModule, type Expr, emitDesign, mux, UInt } from '../generator/index.js';

function design(n: number) {
  return defineModule('bench_contexts', { N: n }, (m) => {
    const sel = m.input('sel', UInt(16));
    const din = m.input('din', UInt(32));
    const we = m.input('we');
    const regs = m.regVec('ctx', n, UInt(32), { reset: 0 });
    for (let i = 0; i < n; i++) {
      const r = regs.at(i);
      const hit = sel.eq(i);
      m.when(we.and(hit), () => r.set(din.addWrap(i))).elseWhen(hit, () => r.set(r.addWrap(1)));
    }
    let acc: Expr = regs.at(0);
    for (let i = 1; i < n; i++) acc = mux(sel.eq(i), regs.at(i), acc);
    m.output('out', UInt(32)).set(acc);
    m.output('busy').set(any(...[...regs].map((r) => r.orR())));
    return {};
  });
}

const n = Number(process.argv[2] ?? 4096);
for (let run = 0; run < 3; run++) {
  clearDefinitions();
  const t0 = performance.now();
  const def = design(n);
  const t1 = performance.now();
  const texts = emitDesign(def);
  const t2 = performance.now();
  const chars = texts.reduce((s, t) => s + t.text.length, 0);
  console.log(
    `contexts ${n}: elaborate ${(t1 - t0).toFixed(0)} ms, emit ${(t2 - t1).toFixed(0)} ms, ${(chars / 1e6).toFixed(1)} MB of Verilog`,
  );
}
