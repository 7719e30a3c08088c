/**
 * The DMA monitor's check under bus faults: no failed transfer is reported to a guest as a success.
 * A NIC is played by hand here (reads, writes and failed accesses on the monitor), so each case is
 * exactly the one named.
 */
import { describe, expect, it } from 'vitest';
import { DESC_FLAGS, encodeDescriptor } from '../../hdl/descriptors.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { DmaMonitor, grantRegion } from '../../testbench/host/dma-monitor.js';
import { HostMemory } from '../../testbench/host/memory.js';

const TX_RING = 0x10_000n;
const RX_RING = 0x11_000n;
const TX_BUF = 0x20_000n;
const RX_BUF = 0x21_000n;

function setup() {
  const mem = new HostMemory();
  mem.setPage(0x20n, 1, 'normal');
  mem.setPage(0x21n, 1, 'normal');
  const mon = new DmaMonitor(mem);
  mon.grant(TX_RING, 16 * 16, 'read-write', 'ctx 3 TX ring');
  mon.grant(RX_RING, 16 * 16, 'read-write', 'ctx 3 RX ring');
  return { mem, mon };
}

/** What the VMM does for one TX frame of `frame` cut in `parts` descriptors from seq `first`. */
function enqueueTx(mem: HostMemory, mon: DmaMonitor, frame: Uint8Array, first: number, parts = 1) {
  const chunk = Math.ceil(frame.length / parts);
  for (let i = 0; i < parts; i++) {
    const seq = first + i;
    const addr = TX_BUF + BigInt(i * 0x400);
    const part = frame.subarray(i * chunk, Math.min(frame.length, (i + 1) * chunk));
    mem.write(addr, part);
    mon.grant(addr, part.length, 'read', `ctx 3 TX buffer seq ${seq}`);
    const flags = i === parts - 1 ? DESC_FLAGS.EOP : 0;
    mem.write(TX_RING + BigInt(seq * 16), encodeDescriptor({ addr, len: part.length, flags, seq }));
  }
}

describe('DMA monitor: failed transfers are never reported as successes', () => {
  it('parses the VMM grant purposes into regions', () => {
    const g = (purpose: string) => grantRegion({ id: 1, addr: 0n, len: 8, access: 'write', purpose });
    expect(g('ctx 2 TX buffer seq 5')).toMatchObject({ kind: 'tx-buffer', ctx: 2, seq: 5 });
    expect(g('ctx 0 RX ring')).toMatchObject({ kind: 'rx-ring', ctx: 0 });
    expect(g('ctx 7 completion record')).toMatchObject({ kind: 'record', ctx: 7 });
    expect(g('interrupt ring')).toMatchObject({ kind: 'intr-ring', ctx: null });
    expect(g('something else')).toBeUndefined();
  });

  it('an RX descriptor written back with DONE although its payload write failed is reported with context, seq and address', () => {
    const { mem, mon } = setup();
    mon.grant(RX_BUF, 2048, 'write', 'ctx 3 RX buffer seq 4');
    mem.write(RX_RING + 4n * 16n, encodeDescriptor({ addr: RX_BUF, len: 2048, flags: 0, seq: 4 }));
    mon.dmaWrite(RX_BUF, new Uint8Array(64).fill(1));
    mon.dmaFailed('write', RX_BUF + 64n, 8);
    expect(mon.failedAccesses).toBe(1);
    // A write-back with ERR and without DONE is the contract: no report.
    mon.dmaWrite(RX_RING + 4n * 16n + 8n, Uint8Array.of(0, 0, 0, DESC_FLAGS.ERR >> 8));
    expect(mon.falseSuccesses).toEqual([]);
    // DONE and the length: the guest would take the old contents of its buffer as a frame.
    mon.dmaWrite(RX_RING + 4n * 16n + 8n, Uint8Array.of(200, 0, DESC_FLAGS.EOP, DESC_FLAGS.DONE >> 8));
    expect(mon.falseSuccesses).toHaveLength(1);
    const f = mon.falseSuccesses[0];
    expect(f).toMatchObject({ ctx: 3, direction: 'rx', seqs: [4], failedAt: RX_BUF + 64n, how: 'done-without-err' });
    expect(f.message).toMatch(
      /ctx 3 RX descriptor seq 4 .* written back with DONE and without ERR .*payload write of seq 4 at 0x000021040 failed/,
    );
    expect(() => mon.assertClean()).toThrow(/1 failed transfer\(s\) reported as success/);
    expect(mon.violations).toEqual([]);
  });

  it('a TX frame with a failed fragment: DONE without ERR on any of its descriptors is reported', () => {
    const { mem, mon } = setup();
    const frame = testFrame(localMac(9), localMac(4), { ctx: 3, seq: 0 }, 300).data;
    enqueueTx(mem, mon, frame, 1, 2);
    mon.dmaRead(TX_BUF, 150);
    mon.dmaFailed('read', TX_BUF + 0x400n + 64n, 8);
    // The first descriptor is written back with DONE only: that reports the frame as sent.
    mon.dmaWrite(TX_RING + 16n + 11n, Uint8Array.of(DESC_FLAGS.DONE >> 8));
    expect(mon.takeFalseSuccesses()).toEqual([expect.objectContaining({ ctx: 3, direction: 'tx', seqs: [1, 2], how: 'done-without-err' })]);
  });

  it('a good frame on the wire built from a failed TX read is reported; with tuser high (corrupted) it is not', () => {
    const { mem, mon } = setup();
    const frame = testFrame(localMac(9), localMac(4), { ctx: 3, seq: 0 }, 200).data;
    enqueueTx(mem, mon, frame, 1);
    mon.dmaRead(TX_BUF, 64);
    mon.dmaFailed('read', TX_BUF + 64n, 64);
    mon.dmaRead(TX_BUF + 128n, 72);
    // What a NIC that ignores the error sends: the frame with those bytes zeroed.
    const sent = frame.slice();
    sent.fill(0, 64, 128);
    mon.checkWireFrame(sent, true);
    expect(mon.falseSuccesses).toEqual([]);
    mon.checkWireFrame(testFrame(localMac(9), localMac(4), { ctx: 3, seq: 1 }, 200).data);
    expect(mon.falseSuccesses).toEqual([]);
    mon.checkWireFrame(sent);
    expect(mon.takeFalseSuccesses()).toEqual([expect.objectContaining({ ctx: 3, seqs: [1], how: 'good-frame-on-wire' })]);
    // Once per frame.
    mon.checkWireFrame(sent);
    expect(mon.falseSuccesses).toEqual([]);
  });

  it('a failed access outside the grants is still a violation: the NIC issued it', () => {
    const { mon } = setup();
    mon.dmaFailed('write', 0x30_000n, 8);
    expect(mon.violations).toHaveLength(1);
    expect(mon.violations[0].message).toMatch(/DMA write of 8 byte\(s\) at 0x000030000 touches ungranted bytes/);
  });
});
