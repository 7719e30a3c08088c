/**
 * Campaign results as JUnit XML, the format CI dashboards (GitHub, GitLab, Jenkins) and cocotb's
 * results.xml readers take: one <testsuite> per campaign (shard), one <testcase> per seed run, a
 * <failure> with the finding and the command that repeats the run, <skipped/> for runs not finished.
 */
import { hostname } from 'node:os';
import type { CampaignResults, RunRecord } from './campaign-results.js';

/** Text for XML: the five special characters escaped, characters XML 1.0 cannot hold dropped. */
export function xmlEscape(s: string): string {
  return (
    s
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the control characters XML 1.0 forbids
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

/** The test case's name: the run's index and seed. */
export function testcaseName(r: Pick<RunRecord, 'index' | 'seed'>): string {
  return `run ${r.index} seed ${r.seed}`;
}

function testcase(r: RunRecord, classname: string): string[] {
  const head = `    <testcase${attrs({ name: testcaseName(r), classname, time: r.wallSeconds.toFixed(3) })}`;
  const out = `      <system-out>${xmlEscape(
    `seed ${r.seed}, ${r.cycles} cycles, ${r.rounds} rounds, ${r.cyclesPerSecond} cycles/s, ` +
      `hostile attempts ${r.attacks.tried}, faults injected ${r.faults?.injected ?? 0}${r.log ? `, log ${r.log}` : ''}\n` +
      `repeat with: ${r.command}`,
  )}</system-out>`;
  if (r.status === 'passed') return [`${head}>`, out, '    </testcase>'];
  if (r.status === 'skipped') {
    return [`${head}>`, `      <skipped${attrs({ message: r.failure?.message ?? 'not run to its end' })}/>`, out, '    </testcase>'];
  }
  const message = r.failure?.message ?? 'failed';
  return [
    `${head}>`,
    `      <failure${attrs({ message: `${message} (repeat with: ${r.command})`, type: r.failure?.kind ?? 'failure' })}>${xmlEscape(
      `${message}\nrepeat with: ${r.command}`,
    )}</failure>`,
    out,
    '    </testcase>',
  ];
}

/** The results as a JUnit XML document. */
export function junitXml(res: CampaignResults): string {
  const c = res.campaign;
  const t = res.totals;
  const classname = `cdna.fuzz.campaign-${c.seed}`;
  const where = res.merged ? 'merged' : `shard ${res.shards[0]?.index ?? 0}/${res.shards[0]?.count ?? 1}`;
  const time = res.runs.reduce((a, r) => a + r.wallSeconds, 0).toFixed(3);
  const counts = { tests: t.runs, failures: t.failed, errors: 0, skipped: t.skipped, time };
  const props: Record<string, string | number> = {
    'campaign-seed': c.seed,
    runs: c.runs,
    'cycles-per-run': c.cyclesPerRun,
    profile: c.profile,
    timing: c.timing,
    faults: c.faults === null ? 'off' : c.faults || 'on',
    shards: res.shards.map((s) => `${s.index}/${s.count}`).join(' '),
    ...(res.command ? { command: res.command } : {}),
    ...(res.missing.length ? { missing: res.missing.join(' ') } : {}),
  };
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({ name: 'cdna fuzz', ...counts })}>`,
    `  <testsuite${attrs({ name: `cdna fuzz campaign ${c.seed} (${where})`, ...counts, timestamp: res.startedAt, hostname: res.host || hostname() })}>`,
    '    <properties>',
    ...Object.entries(props).map(([name, value]) => `      <property${attrs({ name, value })}/>`),
    '    </properties>',
    ...res.runs.flatMap((r) => testcase(r, classname)),
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
