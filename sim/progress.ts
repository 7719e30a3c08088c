/**
 * Build progress on stderr: a bar on a terminal, one line per phase otherwise (test runners, CI).
 * Quiet with CDNA_QUIET=1.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  phase(name: string): void;
  /** Progress within the current phase (shown on the bar; printed as a line otherwise). */
  detail(text: string): void;
  done(summary: string): void;
  fail(): void;
}

export function buildProgress(what: string, phases: number): Progress {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  if (process.env.CDNA_QUIET === '1') return { phase() {}, detail() {}, done() {}, fail() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `sim: ${what} [{bar}] {value}/{total} {phase}`, clearOnComplete: true, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let n = 0;
    let current = '';
    bar.start(phases, 0, { phase: '' });
    return {
      phase(name) {
        current = name;
        bar.update(n++, { phase: name });
      },
      detail(text) {
        bar.update({ phase: `${current}: ${text}` });
      },
      done(summary) {
        bar.update(phases, { phase: '' });
        bar.stop();
        process.stderr.write(`sim: ${what}: ${summary} in ${elapsed()}\n`);
      },
      fail() {
        bar.stop();
      },
    };
  }
  return {
    phase(name) {
      process.stderr.write(`sim: ${what}: ${name} (${elapsed()})\n`);
    },
    detail(text) {
      process.stderr.write(`sim: ${what}: ${text} (${elapsed()})\n`);
    },
    done(summary) {
      process.stderr.write(`sim: ${what}: ${summary} in ${elapsed()}\n`);
    },
    fail() {},
  };
}
