/**
 * `cdna fuzz merge <files or folders...>`: joins the results files of a campaign's shards (written by
 * `cdna fuzz --runs R --shard k/n`) into one report: totals, the failures with the command that
 * repeats each, the runs no file held; prints it and writes the merged JSON and JUnit XML.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildRoot } from '../sim/paths.js';
import { type CampaignResults, findResultsFiles, formatResults, mergeResults, readResults } from '../testbench/system/campaign-results.js';
import { junitXml } from '../testbench/system/junit.js';

export interface MergeOptions {
  out?: string;
}

/** Merges, prints, writes `<out>/campaign-<C>-merged.json` and `.xml`; exit code 1 on a failure or a missing run. */
export async function runMerge(inputs: string[], opts: MergeOptions): Promise<CampaignResults> {
  const files = await findResultsFiles(inputs);
  const items = [];
  for (const file of files) items.push({ file, results: await readResults(file) });
  const { results, notes } = mergeResults(items);
  const outDir = path.resolve(opts.out ?? path.join(buildRoot(), 'fuzz', `campaign-${results.campaign.seed}`));
  await mkdir(outDir, { recursive: true });
  const base = path.join(outDir, `campaign-${results.campaign.seed}-merged`);
  await writeFile(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(`${base}.xml`, junitXml(results));
  process.stdout.write(`cdna fuzz merge: ${files.length} file(s)\n`);
  for (const n of notes) process.stdout.write(`  note: ${n}\n`);
  for (const line of formatResults(results)) process.stdout.write(`${line}\n`);
  process.stdout.write(`Merged: ${base}.json\n        ${base}.xml (JUnit)\n`);
  if (results.totals.failed > 0 || results.missing.length > 0) process.exitCode = 1;
  return results;
}
