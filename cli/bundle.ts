/** `cdna generate --bundle`: beside the Verilog, what a board engineer needs to drop the core in. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatParams, type NicParams } from '../hdl/params.js';
import { writeRegisterHeader } from '../hdl/registers/cHeader.js';
import { registersMarkdown } from '../hdl/registers/markdown.js';
import type { Generated } from './generate.js';

export async function writeBundle(g: Generated, params: NicParams): Promise<void> {
  const header = await writeRegisterHeader(params, g.dir);
  await writeFile(path.join(g.dir, 'registers.md'), registersMarkdown(params));
  const names = g.files.map((f) => path.basename(f));
  // One list per tool family: Verilator/yosys read files.f (written with the design); Vivado and Quartus read these.
  await writeFile(path.join(g.dir, 'sources.tcl'), `# ${formatParams(params)}\n${names.map((n) => `read_verilog ${n}`).join('\n')}\n`);
  await writeFile(
    path.join(g.dir, 'sources.qsf'),
    `# ${formatParams(params)}\n${names.map((n) => `set_global_assignment -name VERILOG_FILE ${n}`).join('\n')}\n`,
  );
  process.stderr.write(`bundle: ${path.basename(header)}, registers.md, files.f, sources.tcl, sources.qsf in ${g.dir}\n`);
}
