import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModuleDef } from '../dsl/module.js';
import { emitDesign } from './emit.js';

export interface WrittenDesign {
  top: string;
  dir: string;
  /** Verilog files, children first (the order a tool should read them in). */
  files: string[];
  /** A file list (one path per line) that Verilator, yosys, Vivado and Quartus read. */
  fileList: string;
}

/** Writes a design's Verilog into `dir`, leaving files whose content did not change untouched. */
export async function writeDesign(top: ModuleDef<unknown>, dir: string): Promise<WrittenDesign> {
  const modules = emitDesign(top);
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const m of modules) {
    const file = path.join(dir, m.fileName);
    const old = await readFile(file, 'utf8').catch(() => null);
    if (old !== m.text) await writeFile(file, m.text);
    files.push(file);
  }
  const fileList = path.join(dir, 'files.f');
  const list = `${modules.map((m) => m.fileName).join('\n')}\n`;
  if ((await readFile(fileList, 'utf8').catch(() => null)) !== list) await writeFile(fileList, list);
  return { top: top.verilogName, dir, files, fileList };
}
