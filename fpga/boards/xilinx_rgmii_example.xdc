## Example constraints for cdna_nic_rgmii_axi (or cdna_nic_rgmii / cdna_nic_gmii_clocked) on a Xilinx
## 7-series or UltraScale part, for the Xilinx integration kit (docs/fpga.md, "Connecting to a PCIe
## bridge"; docs/boards.md). An example, not a board file: the pins are placeholders (<pin>), and the
## clock sources are whatever the board top uses: a PCIe bridge's axi_aclk for the core, an MMCM for
## the 125 MHz gtx_clk, the PHY's rgmii_rxc from a pin. DDR registers: take the Verilog of
## ddr-xilinx/ (IDDR / ODDR) instead of the behavioural cdna_iddr_5.v, cdna_oddr_*.v of files.f.

## ---- clocks ----
## The core: the bridge's user clock (XDMA / QDMA / AXI Bridge for PCIe create it; when they do,
## keep their constraint and drop this one). 125 MHz for x1/x2 Gen2 bridges, 250 MHz for wider ones.
create_clock -name cdna_axi_aclk -period 8.000 [get_ports axi_aclk]
## MAC transmit: 125 MHz (from an MMCM: then it is a generated clock already, use its name below).
create_clock -name cdna_gtx_clk -period 8.000 [get_ports gtx_clk]
## MAC receive: the PHY's RX clock, 125 MHz at 1000 Mb/s.
create_clock -name cdna_rgmii_rxc -period 8.000 [get_ports rgmii_rxc]
## The forwarded transmit clock, for the output delays.
create_generated_clock -name cdna_rgmii_txc -source [get_ports gtx_clk] -multiply_by 1 [get_ports rgmii_txc]

## ---- the crossings ----
## The three clocks are unrelated; everything between them goes through the CDC blocks of
## generator/lib/cdc.ts (Gray-coded FIFO pointers and the drop counter into ASYNC_REG synchronizers,
## dual-clock block RAM), so no path between them is timed.
set_clock_groups -asynchronous -group [get_clocks cdna_axi_aclk] -group [get_clocks {cdna_gtx_clk cdna_rgmii_txc}] -group [get_clocks cdna_rgmii_rxc]
## The Gray-coded pointers must still reach their synchronizer within a period of the faster clock
## (so a pointer is never seen two steps apart); with set_clock_groups this needs a separate
## max delay on the synchronizers' first flops (Vivado: set_max_delay -datapath_only, which only
## works without set_clock_groups for the same pair; pick one):
# set_max_delay -datapath_only -from [get_clocks cdna_axi_aclk] -to [get_cells -hier -filter {NAME =~ */u_*_sync/sync_0_reg*}] 8.000

## ---- RGMII pins (placeholders) ----
# set_property -dict {PACKAGE_PIN <pin> IOSTANDARD LVCMOS25} [get_ports rgmii_rxc]
# set_property -dict {PACKAGE_PIN <pin> IOSTANDARD LVCMOS25} [get_ports {rgmii_rd[*] rgmii_rx_ctl}]
# set_property -dict {PACKAGE_PIN <pin> IOSTANDARD LVCMOS25 SLEW FAST} [get_ports {rgmii_txc rgmii_td[*] rgmii_tx_ctl}]
## With the PHY's internal delays on (RGMII-ID), the data window around each RXC edge (both edges):
# set_input_delay -clock cdna_rgmii_rxc -max 1.200 [get_ports {rgmii_rd[*] rgmii_rx_ctl}]
# set_input_delay -clock cdna_rgmii_rxc -min -1.200 [get_ports {rgmii_rd[*] rgmii_rx_ctl}]
# set_input_delay -clock cdna_rgmii_rxc -clock_fall -max 1.200 -add_delay [get_ports {rgmii_rd[*] rgmii_rx_ctl}]
# set_input_delay -clock cdna_rgmii_rxc -clock_fall -min -1.200 -add_delay [get_ports {rgmii_rd[*] rgmii_rx_ctl}]
# set_output_delay -clock cdna_rgmii_txc -max 1.000 [get_ports {rgmii_td[*] rgmii_tx_ctl}]
# set_output_delay -clock cdna_rgmii_txc -min -0.800 [get_ports {rgmii_td[*] rgmii_tx_ctl}]
# set_output_delay -clock cdna_rgmii_txc -clock_fall -max 1.000 -add_delay [get_ports {rgmii_td[*] rgmii_tx_ctl}]
# set_output_delay -clock cdna_rgmii_txc -clock_fall -min -0.800 -add_delay [get_ports {rgmii_td[*] rgmii_tx_ctl}]

## ---- resets ----
## rx_rst and tx_rst come from the board top's reset synchronizers (one per clock); the core's reset is
## axi_aresetn (synchronous to axi_aclk). No timing from the asynchronous board reset:
# set_false_path -from [get_ports <board_reset>]
