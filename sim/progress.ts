/**
 * Build progress on stderr: a bar on a terminal, one line per phase otherwise (test runners, CI).
 * Quiet with CDNA_QUIET=1.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  phase(name: string): void;
  done(summary: string): void;
  fail(): void;
}

export function buildProgress(what: string, phases: number): Progress {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
  if (process.env.CDNA_QUIET === '1') return { phase() {}, done() {}, fail() {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: `sim: ${what} [{bar}] {value}/{total} {phase}`, clearOnComplete: true, hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let n = 0;
    bar.start(phases, 0, { phase: '' });
    return {
      phase(name) {
        bar.update(n++, { phase: name });
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
    done(summary) {
      process.stderr.write(`sim: ${what}: ${summary} in ${elapsed()}\n`);
    },
    fail() {},
  };
}
