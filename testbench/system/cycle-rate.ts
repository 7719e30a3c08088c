/**
 * Simulation speed of a run: cycles per second of process CPU time (what a shared machine does not
 * inflate: the figure docs/performance.md compares) and of wall time.
 */
export class CycleRate {
  private readonly cpu0 = process.cpuUsage();
  private readonly wall0 = performance.now();

  /** Cycles per CPU second since this was made. */
  perCpuSecond(cycles: number): number {
    const c = process.cpuUsage(this.cpu0);
    return cycles / Math.max((c.user + c.system) / 1e6, 1e-6);
  }

  /** Cycles per wall-clock second since this was made. */
  perWallSecond(cycles: number): number {
    return cycles / Math.max((performance.now() - this.wall0) / 1000, 1e-6);
  }

  /** "41.2k cycles/s (CPU time; 20.5k by wall time)". */
  format(cycles: number): string {
    return `${short(this.perCpuSecond(cycles))} cycles/s (CPU time; ${short(this.perWallSecond(cycles))} by wall time)`;
  }
}

function short(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`;
}
