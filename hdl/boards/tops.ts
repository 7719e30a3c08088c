/**
 * The board tops with real clock domains (docs/boards.md): the core of a parameter set wrapped by
 * withClockedMac. `cdna_nic_gmii_clocked`: GMII, the core on `clk`/`rst`; `cdna_nic_rgmii`: RGMII, the
 * core on `clk`/`rst`; `cdna_nic_rgmii_axi`: RGMII, the core on a PCIe bridge's `axi_aclk`/`axi_aresetn`.
 */
import type { ModuleDef } from '../../generator/index.js';
import { cdnaNic } from '../nic/top.js';
import type { NicParams } from '../params.js';
import { type ClockedMacOptions, withClockedMac } from './clockedMac.js';

export type BoardTopOptions = Pick<ClockedMacOptions, 'rxFifoBytes' | 'txFifoBytes'>;

/** The board designs of the CLI: name, top module, PHY and core clock. */
export const boardDesigns = {
  nic_gmii_clocked: { top: 'cdna_nic_gmii_clocked', phy: 'gmii', coreClock: 'clk' },
  nic_rgmii: { top: 'cdna_nic_rgmii', phy: 'rgmii', coreClock: 'clk' },
  nic_rgmii_axi: { top: 'cdna_nic_rgmii_axi', phy: 'rgmii', coreClock: 'axi' },
} as const satisfies Record<string, { top: string } & Pick<ClockedMacOptions, 'phy' | 'coreClock'>>;

export type BoardDesign = keyof typeof boardDesigns;

export function isBoardDesign(name: string): name is BoardDesign {
  return Object.hasOwn(boardDesigns, name);
}

/** A board top of the NIC with these parameters. */
export function boardTop(design: BoardDesign, params: NicParams, o: BoardTopOptions = {}): ModuleDef<unknown> {
  const d = boardDesigns[design];
  return withClockedMac(cdnaNic(params), d.top, { ...o, phy: d.phy, coreClock: d.coreClock });
}
