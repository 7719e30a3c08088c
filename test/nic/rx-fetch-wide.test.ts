/**
 * RX descriptor reads on a 512-bit DMA bus (issue 16's 100G path): a 64-byte beat carries four
 * descriptors, and a read may start at any of them and end at any later one, in the same beat or a
 * later one. Every buffer posted is used once, in seq order, with no rx_nobuf and no seq miss but
 * the one each doorbell's read ends on (R-1, P-7: a wrong lane would hand the context a descriptor
 * whose seq does not match). Runs as soon as params allows DMA_W = 512.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DMA_WIDTHS } from '../../hdl/params.js';
import { testFrame } from '../../testbench/ethernet/frame.js';
import { localMac } from '../../testbench/ethernet/mac.js';
import { BUILD_TIMEOUT } from '../fixtures/prebuild.js';
import { closeSims, DONE_EOP, layout, RxBench } from './rx-fixture.js';

const PARAMS = { STREAM_W: 64, DMA_W: 512, SEQ_W: 8, MAX_RING_LOG2: 6 };
const BLOCKS = [2, 4] as const;
const SRC = localMac(0xabc);

let bench: RxBench | null = null;
afterEach(() => {
  bench?.close();
  bench = null;
});
afterAll(() => closeSims());

describe.skipIf(!DMA_WIDTHS.includes(512))('rxEngine descriptor reads, four descriptors per DMA beat', () => {
  beforeAll(() => RxBench.prepare(...BLOCKS.map((fetchBlock) => ({ params: PARAMS, rx: { fetchBlock } }))), BUILD_TIMEOUT);

  for (const fetchBlock of BLOCKS) {
    for (const lane of [0, 1, 2, 3]) {
      it(`R-1, P-7: ring base at lane ${lane} of a 64-byte beat, blocks of ${fetchBlock}, doorbells of 1 to 5 buffers: every buffer used once, in order`, async () => {
        const b = await RxBench.create({ params: PARAMS, rx: { fetchBlock } });
        bench = b;
        const ringLog2 = 4;
        const ringBase = layout.ring(0) + 16 * lane;
        await b.configure(0, { mac: localMac(0), ringBase, ringLog2, doneBase: layout.done(0) });
        // Reads start at every lane and span one, two or three beats; 22 buffers wrap the 16-entry ring.
        const posts = [1, 2, 3, 4, 1, 3, 5, 2, 1];
        const n = await b.refillRounds(0, posts, (s) => testFrame(localMac(0), SRC, { ctx: 0, seq: s }, 60 + s).data);
        expect(b.done.map((e) => e.seq)).toEqual(Array.from({ length: n }, (_, k) => k + 1));
        for (let s = 1; s <= n; s++) {
          expect(b.mem.read(layout.buffer(0, s), 60 + s)).toEqual(testFrame(localMac(0), SRC, { ctx: 0, seq: s }, 60 + s).data);
          expect(b.done.find((e) => e.seq === s)?.desc).toMatchObject({ len: 60 + s, flags: DONE_EOP, seq: s });
        }
        for (const r of b.ar) {
          expect(r.lo % 64).toBe(0);
          expect(Math.floor(r.lo / 4096)).toBe(Math.floor((r.hi - 1) / 4096));
        }
        // Each doorbell reads the whole window, so each read ends on the first slot not posted yet:
        // one miss per doorbell, and none from a descriptor taken from the wrong lane.
        expect(await b.counters(0)).toMatchObject({ frames: n, nobuf: 0, seqMiss: posts.length, tooSmall: 0, dmaErr: 0 });
      });
    }
  }
});
