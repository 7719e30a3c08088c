/** `cdna generate --bundle`: beside the Verilog, what a board engineer needs to drop the core in. */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatParams, type NicParams, profileClockMHz } from '../hdl/params.js';
import { writeRegisterHeader } from '../hdl/registers/cHeader.js';
import { registersMarkdown } from '../hdl/registers/markdown.js';
import type { Generated } from './generate.js';

function xdc(top: string, mhz: number, gmii: boolean): string {
  const period = (1000 / mhz).toFixed(3);
  const lines = [
    `# Example constraints for ${top} (Vivado XDC).`,
    '# For out-of-context synthesis of the core alone. In a board design `clk` comes from the PCIe',
    '# bridge (e.g. XDMA axi_aclk) or a clocking wizard and is constrained there: keep only what applies.',
    `create_clock -name cdna_clk -period ${period} [get_ports clk]`,
    '# `rst` is synchronous and active high: drive it from a flop on clk (e.g. the inverted, registered',
    '# axi_aresetn of the bridge); it needs no false path.',
  ];
  if (gmii) {
    lines.push(
      '',
      '# GMII runs on clk: the board forwards clk as GTX_CLK (an ODDR) and feeds the PHY RX data into clk',
      '# (see docs/fpga.md, "Clocks and resets"). Pin and I/O standard lines depend on the board:',
      '# set_property -dict {PACKAGE_PIN <pin> IOSTANDARD LVCMOS25} [get_ports {gmii_txd[*] gmii_tx_en gmii_tx_er}]',
      '# set_property -dict {PACKAGE_PIN <pin> IOSTANDARD LVCMOS25} [get_ports {gmii_rxd[*] gmii_rx_dv gmii_rx_er}]',
      '# set_output_delay -clock cdna_clk 2.000 [get_ports {gmii_txd[*] gmii_tx_en gmii_tx_er}]',
      '# set_input_delay  -clock cdna_clk 2.000 [get_ports {gmii_rxd[*] gmii_rx_dv gmii_rx_er}]',
      '# The GMII outputs are flip-flops in the MAC; set IOB TRUE on them to pack them into the I/O tiles:',
      '# set_property IOB TRUE [get_ports {gmii_txd[*] gmii_tx_en gmii_tx_er}]',
    );
  }
  return `${lines.join('\n')}\n`;
}

function sdc(top: string, mhz: number): string {
  const period = (1000 / mhz).toFixed(3);
  return [
    `# Example timing constraints for ${top} (Quartus SDC). In a board design the clock comes from the`,
    '# PCIe IP (e.g. the coreclkout of the Avalon/AXI bridge) and is constrained there.',
    `create_clock -name cdna_clk -period ${period} [get_ports clk]`,
    'derive_clock_uncertainty',
    '',
  ].join('\n');
}

export async function writeBundle(g: Generated, params: NicParams, profile?: string): Promise<void> {
  const header = await writeRegisterHeader(params, g.dir);
  await writeFile(path.join(g.dir, 'registers.md'), registersMarkdown(params));
  const names = g.files.map((f) => path.basename(f));
  const about = `# ${g.top}: ${formatParams(params)}`;
  // One list per tool family: Verilator reads files.f (written with the design); Vivado, Quartus and
  // yosys read these. Paths are relative to the bundle, so it can be copied anywhere.
  await writeFile(
    path.join(g.dir, 'sources.tcl'),
    [
      about,
      '# Vivado: `source <bundle>/sources.tcl`, then `synth_design -top <your top>` (or add to a project).',
      'set cdna_dir [file dirname [file normalize [info script]]]',
      ...names.map((n) => `read_verilog [file join $cdna_dir ${n}]`),
      '# Out-of-context runs of the core alone: read_xdc [file join $cdna_dir constraints.xdc]',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(g.dir, 'sources.qsf'),
    [
      about,
      '# Quartus: paths are relative to the project directory; put the bundle there (or edit the paths).',
      ...names.map((n) => `set_global_assignment -name VERILOG_FILE ${n}`),
      '# set_global_assignment -name SDC_FILE constraints.sdc',
      '',
    ].join('\n'),
  );
  await writeFile(
    path.join(g.dir, 'sources.ys'),
    [
      about,
      '# yosys, from this directory: yosys -s sources.ys -p "synth_ecp5 -top <top> -json out.json"',
      ...names.map((n) => `read_verilog ${n}`),
      `hierarchy -check -top ${g.top}`,
      '',
    ].join('\n'),
  );
  const mhz = profileClockMHz(profile);
  const gmii = g.top === 'cdna_nic_gmii';
  await writeFile(path.join(g.dir, 'constraints.xdc'), xdc(g.top, mhz, gmii));
  await writeFile(path.join(g.dir, 'constraints.sdc'), sdc(g.top, mhz));
  process.stderr.write(
    `bundle: ${path.basename(header)}, registers.md, files.f, sources.tcl, sources.qsf, sources.ys, constraints.xdc, constraints.sdc in ${g.dir}\n`,
  );
}
