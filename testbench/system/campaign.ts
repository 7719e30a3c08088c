/**
 * A fuzz campaign: a list of seed runs derived from one campaign seed, and the slices (shards) of it
 * that separate machines run. Everything here is a pure function of its arguments, so every shard of
 * a CI matrix or a Slurm array computes the same list and takes a disjoint part of it.
 *
 *   run index i (0 .. runs-1) has the seed  seed(C, i) = the first 4 bytes (big-endian) of
 *   SHA-256("cdna-fuzz-campaign <C> <i>"), an unsigned 32-bit number;
 *   shard k of n (k counts from 0) runs the indices i with i mod n = k.
 */
import { createHash } from 'node:crypto';

/** What defines a campaign: the same values give the same runs on any machine. */
export interface CampaignSpec {
  /** The campaign seed C. */
  seed: number;
  /** Number of seed runs R in the whole campaign (over all shards). */
  runs: number;
  /** Clock cycles of each run. */
  cyclesPerRun: number;
  profile: string;
  timing: 'random' | 'fixed' | 'slow';
  /** `--faults` as given: null without, '' for `--faults` alone, else its mix. */
  faults: string | null;
}

/** Shard `index` of `count`, `index` counting from 0. */
export interface Shard {
  index: number;
  count: number;
}

/** One run of the campaign: its index in the campaign and its seed. */
export interface CampaignRun {
  index: number;
  seed: number;
}

/** The seed of run `index` of campaign `campaignSeed`. */
export function runSeed(campaignSeed: number, index: number): number {
  return createHash('sha256').update(`cdna-fuzz-campaign ${campaignSeed} ${index}`).digest().readUInt32BE(0);
}

/**
 * Parses `--shard k/n`: n shards, k from 0 to n-1. With a 1-based array index (Slurm's
 * `--array=1-N`), pass `$((SLURM_ARRAY_TASK_ID - 1))/N`.
 */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) {
    throw new Error(
      `--shard ${text}: write k/n, the shard's index k (counting from 0) and the number of shards n, for example --shard 0/4 up to --shard 3/4`,
    );
  }
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`--shard ${text}: the number of shards must be at least 1`);
  if (index >= count) {
    throw new Error(
      `--shard ${text}: shard indices count from 0, so with ${count} shard(s) use 0/${count} up to ${count - 1}/${count}` +
        ' (from a 1-based array index, pass $((ID - 1))/N)',
    );
  }
  return { index, count };
}

/** The runs shard `shard` of a campaign of `runs` runs takes: the indices i with i mod count = index. */
export function shardRuns(campaignSeed: number, runs: number, shard: Shard = { index: 0, count: 1 }): CampaignRun[] {
  const out: CampaignRun[] = [];
  for (let i = shard.index; i < runs; i += shard.count) out.push({ index: i, seed: runSeed(campaignSeed, i) });
  return out;
}

/** A shell word: left bare when it is plain, single-quoted otherwise. */
function shellWord(s: string): string {
  return /^[\w.,=+:/@%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The `--faults` option as written on a command line (`faults` as in CampaignSpec). */
export function faultsArg(faults: string | null): string {
  if (faults === null) return '';
  return faults === '' ? ' --faults' : ` --faults ${shellWord(faults)}`;
}

/** The one command that repeats a single run: the same seed, cycles, profile, timing and faults. */
export function repeatCommand(run: {
  seed: number;
  cycles: number | string;
  profile: string;
  timing: string;
  faults: string | null;
}): string {
  return (
    `npx cdna fuzz --seed ${run.seed} --cycles ${shellWord(String(run.cycles))} --profile ${shellWord(run.profile)} ` +
    `--timing ${shellWord(run.timing)}${faultsArg(run.faults)}`
  );
}

/** The command that runs a campaign (or one shard of it) again. */
export function campaignCommand(spec: CampaignSpec, shard: Shard | null, jobs?: number): string {
  return (
    `npx cdna fuzz --campaign-seed ${spec.seed} --runs ${spec.runs} --cycles-per-run ${spec.cyclesPerRun} ` +
    `--profile ${shellWord(spec.profile)} --timing ${spec.timing}${faultsArg(spec.faults)}` +
    `${shard && shard.count > 1 ? ` --shard ${shard.index}/${shard.count}` : ''}${jobs && jobs > 1 ? ` --jobs ${jobs}` : ''}`
  );
}
