import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axisSpec, connect, defineModule, UInt } from '../../generator/index.js';
import { withGmiiMac } from '../../hdl/nic/gmiiTop.js';
import { BUILD_TIMEOUT, prebuild } from '../fixtures/prebuild.js';
import { withSeed } from '../models/seeded.js';
import { MacBench, txBursts } from './macBench.js';

/**
 * A stand-in for the NIC core with its stream ports: what it is given on `s_axis_tx` it sends on
 * `m_axis_tx`, what it receives on `s_axis_rx` it hands out on `m_axis_rx`, and `irq` follows
 * `doorbell` a cycle later. Wrapped with the MAC, the bench drives it like the MAC alone.
 */
function passCore(streamW: number) {
  return defineModule('pass_core', { STREAM_W: streamW }, (m) => {
    const inTx = m.slave('s_axis_tx', axisSpec({ dataWidth: streamW }));
    const outTx = m.master('m_axis_tx', axisSpec({ dataWidth: streamW }));
    const inRx = m.slave('s_axis_rx', axisSpec({ dataWidth: streamW, user: 1 }));
    const outRx = m.master('m_axis_rx', axisSpec({ dataWidth: streamW, user: 1 }));
    const doorbell = m.input('doorbell', UInt(3));
    const irq = m.output('irq');
    connect(inTx, outTx);
    connect(inRx, outRx);
    const r = m.reg('irq_r', UInt(1), { reset: 0 });
    r.set(doorbell.orR());
    irq.set(r);
    return { inTx, outTx, inRx, outRx, doorbell, irq };
  });
}

const benches: MacBench[] = [];
afterAll(() => {
  for (const b of benches) b.close();
});
beforeAll(
  () =>
    prebuild(
      withGmiiMac(passCore(32), 'pass_core_gmii'),
      withGmiiMac(passCore(64), 'pass_core_gmii_fifo'),
      withGmiiMac(passCore(64), 'pass_core_gmii_nofifo', { txFifoBytes: 0 }),
    ),
  BUILD_TIMEOUT,
);

describe('withGmiiMac (the wrapper of cdna_nic_gmii) around a stand-in core', () => {
  it('wires the core streams to the MAC and passes every other core port through by name', async () => {
    const top = withGmiiMac(passCore(32), 'pass_core_gmii');
    const names = top.builder.ports.map((p) => p.name);
    for (const n of [
      'doorbell',
      'irq',
      'gmii_txd',
      'gmii_tx_en',
      'gmii_tx_er',
      'gmii_rxd',
      'gmii_rx_dv',
      'gmii_rx_er',
      's_axis_tx_tdata',
      'm_axis_rx_tuser',
    ]) {
      expect(names).toContain(n);
    }
    expect(names.filter((n) => n.startsWith('m_axis_tx_') || n.startsWith('s_axis_rx_'))).toEqual([]);
    const b = await MacBench.create(32, top);
    benches.push(b);
    b.loopback = true;
    await withSeed((rng) => {
      const frames = Array.from({ length: 10 }, () => Uint8Array.from({ length: rng.int(60, 200) }, () => rng.int(0, 255)));
      for (const f of frames) b.send({ data: f });
      b.drain();
      expect(b.rx.map((r) => Buffer.from(r.data).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
      expect(b.rx.every((r) => !r.bad)).toBe(true);
      // Through the transmit FIFO, frames queued back to back still leave at line rate.
      expect(
        txBursts(b.tx)
          .slice(1)
          .map((x) => x.idleBefore),
      ).toEqual(frames.slice(1).map(() => 12));
    });
    b.sim.ports.doorbell = 4;
    b.sim.tick();
    b.sim.tick();
    expect(b.sim.ports.irq).toBe(1);
  });

  it('holds each frame in the transmit FIFO until its last beat is in: a stalling source causes no underrun', async () => {
    const top = withGmiiMac(passCore(64), 'pass_core_gmii_fifo');
    const b = await MacBench.create(64, top);
    benches.push(b);
    b.loopback = true;
    const frames = Array.from({ length: 6 }, (_, i) => new Uint8Array(100 + 50 * i).map((_, j) => (i * 37 + j) & 0xff));
    frames.forEach((f, i) => {
      b.send({ data: f, stallAtBeat: 3 + i, stallCycles: 40 + 10 * i });
    });
    let lastAccepted = -1;
    let firstTx = -1;
    b.runUntil(() => {
      const s = b.sim.sampled;
      if (lastAccepted < 0 && s.s_axis_tx_tvalid === 1 && s.s_axis_tx_tready === 1 && s.s_axis_tx_tlast === 1) lastAccepted = b.cycle;
      if (firstTx < 0 && b.tx[b.tx.length - 1]?.en) firstTx = b.cycle;
      return firstTx >= 0;
    }, 5000);
    // The first frame went on the wire only after its last beat had been taken.
    expect(lastAccepted).toBeGreaterThan(0);
    expect(firstTx).toBeGreaterThan(lastAccepted);
    b.drain();
    expect(b.underruns).toEqual([]);
    expect(b.rx.map((r) => Buffer.from(r.data).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')));
    expect(b.rx.every((r) => !r.bad)).toBe(true);
  });

  it('without the FIFO (txFifoBytes 0) the same stall cuts the frame short with tx_er', async () => {
    const top = withGmiiMac(passCore(64), 'pass_core_gmii_nofifo', { txFifoBytes: 0 });
    const b = await MacBench.create(64, top);
    benches.push(b);
    b.loopback = true;
    b.send({ data: new Uint8Array(300).fill(7), stallAtBeat: 10, stallCycles: 40 });
    b.drain();
    expect(b.underruns.length).toBe(1);
    expect(b.rx.map((r) => r.bad)).toEqual([true]);
  });

  it('refuses a core without the NIC stream ports, naming the missing port', () => {
    const bare = defineModule('bare_core', {}, (m) => {
      const a = m.input('a');
      const y = m.output('y');
      y.set(a);
      return { a, y };
    });
    expect(() => withGmiiMac(bare, 'bare_gmii')).toThrow(/no port m_axis_tx_tdata/);
  });
});
