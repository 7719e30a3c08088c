/**
 * The scenario's report as text: traffic per guest, fairness, drops by reason, what the hostile guest
 * tried and what became of it, the bus faults injected and how each was contained, interrupts, the
 * hypervisor's work, and whether RTL and model agreed.
 */
import { formatMac } from '../ethernet/mac.js';
import { tallyOf } from '../guest/hostile.js';
import { OPERATION_KINDS, protectionOperations } from '../vmm/operations.js';
import type { ScenarioResult } from './scenario.js';

const n = (v: number) => v.toLocaleString('en-US');

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')}`.trimEnd());
}

/**
 * True when the run found nothing wrong: RTL and model agree, no DMA got through, no failed transfer
 * was reported as a success, every recovery ended, no end-to-end problem.
 */
export function scenarioPassed(r: ScenarioResult): boolean {
  return (
    r.agreement.mismatches.length === 0 &&
    r.protection.violations.length === 0 &&
    r.protection.faults.length === 0 &&
    (r.faults?.falseSuccesses.length ?? 0) === 0 &&
    (r.faults?.quiesceTimeouts ?? 0) === 0 &&
    r.problems.length === 0
  );
}

const KIND_WORDS: Record<string, string> = {
  'desc-fetch': 'descriptor fetch',
  'payload-read': 'TX payload read',
  'payload-write': 'RX payload write',
  writeback: 'descriptor write-back',
  record: 'completion record',
  'intr-entry': 'interrupt entry',
  other: 'other',
};

/** How the NIC contains a fault of each kind (docs/faults.md). */
const CONTAINED: Record<string, string> = {
  'desc-fetch': 'context idle until its next doorbell, no payload DMA',
  'payload-read': 'frame not sent (or spoiled with tuser), descriptors DONE|ERR',
  'payload-write': 'descriptor ERR without DONE, buffer reposted by the guest',
  writeback: 'context FAULT, recovered by the VMM',
  record: 'context FAULT, recovered by the VMM',
  'intr-entry': 'INTR_FAULT, bits kept, ring re-armed by the VMM',
  other: '-',
};

function faultLines(r: ScenarioResult): string[] {
  const f = r.faults;
  if (!f) return [];
  const out: string[] = [];
  const kinds = [...new Set(f.rounds.map((x) => x.target))];
  out.push(
    `Bus faults: ${f.rounds.length} fault round(s) of ${r.rounds} (${kinds.join(', ') || 'none'}), ${n(f.failedBursts)} burst(s) failed on the bus`,
  );
  const byKind = new Map<string, Map<string, number>>();
  for (const x of f.injected) {
    const m = byKind.get(x.kind) ?? new Map<string, number>();
    const who = x.ctx === null ? 'global' : `ctx ${x.ctx}`;
    m.set(who, (m.get(who) ?? 0) + x.count);
    byKind.set(x.kind, m);
  }
  if (byKind.size === 0) out.push('  no fault was hit (the rules matched no transfer the NIC made)');
  for (const [kind, m] of byKind) {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const where = [...m].map(([w, c]) => `${w} ${n(c)}`).join(', ');
    out.push(`  ${(KIND_WORDS[kind] ?? kind).padEnd(22)} ${n(total).padStart(6)} failed beat(s) (${where}): ${CONTAINED[kind] ?? ''}`);
  }
  out.push(
    `  contained: ERR completions TX ${n(f.errCompletions.tx)} / RX ${n(f.errCompletions.rx)}; ${n(f.corruptedOnWire)} frame(s) ended with tuser ` +
      `(corrupted, not delivered); ${n(f.faultedContexts)} FAULT(s), ${n(f.recoveries)} recover(ies)` +
      `${f.quiesceTimeouts ? `, ${f.quiesceTimeouts} quiesce timeout(s) <-- FAIL` : ''}; ${n(f.intrRearms)} interrupt-ring re-arm(s); ` +
      `dropped at link down TX ${n(f.droppedAtLinkDown.tx)} / RX ${n(f.droppedAtLinkDown.rx)}`,
  );
  out.push(
    `  DMA errors counted by the NIC: TX ${n(f.dmaErrCounted.tx)}, RX ${n(f.dmaErrCounted.rx)} ` +
      `(every failed burst of its context but stale descriptor fetches; ${n(f.failedFetches)} of the failed bursts were fetches)`,
  );
  const fs = f.falseSuccesses.length;
  out.push(`  failed transfers reported to a guest as a success: ${fs}${fs ? ' <-- FAIL' : ''}`);
  for (const x of f.falseSuccesses.slice(0, 5)) out.push(`    ${x.message}`);
  out.push('');
  return out;
}

export function formatReport(r: ScenarioResult, opts: { pcap?: string; clockMHz?: number } = {}): string[] {
  const out: string[] = [];
  const p = r.params;
  const mhz = opts.clockMHz ?? 125;
  const good = r.guests.filter((g) => g.role === 'guest' && !g.tornDown);
  const hostile = r.guests.filter((g) => g.role === 'hostile');
  const torn = r.guests.filter((g) => g.tornDown).length;
  const handed =
    torn === 0 ? '' : torn === 1 ? ' (one context torn down and handed to a new guest midway)' : ` (${torn} teardowns and hand-overs)`;
  out.push(
    `Scenario: seed ${r.seed}, ${good.length} guest(s)${hostile.length ? ` + ${hostile.length} hostile` : ''}${handed} on N_CTX=${p.N_CTX} ` +
      `(SEQ_W=${p.SEQ_W}, MAX_RING_LOG2=${p.MAX_RING_LOG2}, STREAM_W=${p.STREAM_W}, DMA_W=${p.DMA_W}), ${r.rounds} rounds`,
  );
  out.push(
    `  ${n(r.cycles)} cycles (${((r.cycles / mhz) * 1e-3).toFixed(3)} ms at ${mhz} MHz) simulated in ${r.seconds.toFixed(1)} s ` +
      `(${n(Math.round(r.cycles / Math.max(r.seconds, 1e-3)))} cycles/s)`,
  );
  out.push('');
  out.push('Traffic per guest (frames the guest saw complete or arrive)');
  const faulty = r.faults !== undefined;
  const head = ['guest', 'ctx', 'MAC', 'TX frames', 'TX bytes', 'TX ERR', 'RX frames', 'RX bytes'];
  const rows = [[...head, ...(faulty ? ['RX ERR', 'dropped'] : []), 'virt. irqs', 'polls', 'hypercalls']];
  for (const g of r.guests) {
    const who = g.role === 'hostile' ? `${g.guest} (hostile)` : g.tornDown ? `${g.guest} (torn down)` : `${g.guest}`;
    rows.push([
      who,
      `${g.ctx}`,
      formatMac(g.mac),
      n(g.txFrames),
      n(g.txBytes),
      n(g.txErrors),
      n(g.rxFrames),
      n(g.rxBytes),
      ...(faulty ? [n(g.rxErrors), n(g.dropped)] : []),
      n(g.interrupts),
      n(g.polls),
      n(g.hypercalls),
    ]);
  }
  out.push(...table(rows));
  out.push(
    `  wire: ${n(r.wire.sent)} frames sent by the NIC (${n(r.wire.sentBytes)} bytes), ${n(r.wire.injected)} frames injected` +
      (opts.pcap ? `; capture of both directions: ${opts.pcap}` : ''),
  );
  out.push('');
  if (r.fairness) {
    const f = r.fairness;
    out.push(
      `Fairness (every guest saturated): ${f.frames} frames from ${f.senders} guests, Jain's index ${f.jain.toFixed(3)}, ` +
        `worst deviation in any window of ${f.senders * p.TX_QUANTUM} frames: ${f.maxWindowDeviation} (T-2 allows 1` +
        `${f.maxWindowDeviation > 1 ? '; over it: the known start-up issue of test/system/fairness.test.ts' : ''})`,
    );
    out.push('');
  }
  const drops = Object.entries(r.drops).filter(([, v]) => v > 0);
  out.push(`Drops by reason (NIC counters): ${drops.length ? drops.map(([k, v]) => `${k} ${n(v)}`).join(', ') : 'none'}`);
  out.push('');
  out.push('Protection');
  const t = tallyOf(r.protection.attemptCounts);
  out.push(
    `  hostile attempts: ${n(t.refused + t.faulted + t.issued)}; refused by the VMM ${n(t.refused)}, stopped by the MMU ${n(t.faulted)}, ` +
      `reached the NIC ${n(t.issued)}`,
  );
  for (const [action, c] of Object.entries(r.protection.attemptCounts)) {
    const parts = (['refused', 'faulted', 'issued'] as const).filter((o) => c[o] > 0).map((o) => `${n(c[o])} ${o}`);
    out.push(`    ${action}: ${parts.join(', ')}`);
  }
  const v = r.protection.violations.length;
  out.push(`  DMA outside the VMM's grants (attacks that got through): ${v}${v ? ' <-- FAIL' : ''}`);
  for (const x of r.protection.violations.slice(0, 5)) out.push(`    ${x.message}`);
  out.push(
    `  impossible done seqs reported (P-13): ${r.protection.faults.length}; pins left after teardown: ${r.protection.pinsLeftAfterTeardown}`,
  );
  out.push('');
  out.push(...faultLines(r));
  const i = r.interrupts;
  out.push(
    `Interrupts: ${n(i.irqs)} physical, ${n(i.entries)} ring entries, ${n(i.handlerRuns)} handler runs, ` +
      `${n(i.virtual)} virtual interrupts to guests, ${n(i.spurious)} spurious context bits`,
  );
  out.push('');
  const o = r.operations;
  out.push('Hypervisor operations during the traffic (one unit each; set-up not counted)');
  out.push(`  ${OPERATION_KINDS.map((k) => `${k} ${n(o.counts[k])}`).join(', ')}`);
  const prot = protectionOperations(o.counts);
  out.push(
    `  total ${n(o.total)} for ${n(o.frames)} frames (${(o.total / Math.max(1, o.frames)).toFixed(1)} per frame); ` +
      `validation and pinning ${n(prot)} (${((100 * prot) / Math.max(1, o.total)).toFixed(0)}%, what Q-2 saves)`,
  );
  const dd = o.driverDomain;
  out.push(
    `  driver domain: ${n(dd.configOperations)} configuration operations, ${n(dd.perPacketOperations)} per-packet operations, ` +
      `${n(dd.interrupts)} interrupts (Q-1)`,
  );
  out.push('');
  const mm = r.agreement.mismatches;
  if (mm.length === 0) out.push(`RTL vs reference model: agreed over ${r.agreement.windows} windows (0 mismatches)`);
  else {
    out.push(`RTL vs reference model: ${mm.length} MISMATCH(ES) over ${r.agreement.windows} windows <-- FAIL`);
    for (const m of mm.slice(0, 10)) out.push(`  [window ${m.window}, cycle ${m.cycle}] ${m.what}: ${m.detail}`);
  }
  if (r.problems.length) {
    out.push(`End-to-end problems: ${r.problems.length} <-- FAIL`);
    for (const x of r.problems.slice(0, 10)) out.push(`  ${x}`);
  }
  return out;
}
