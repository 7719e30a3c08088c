import { describe, expect, it } from 'vitest';
import { formatStats, synthesize } from '../../fpga/synth.js';
import { asyncFifo, packetFifo } from '../../generator/lib/index.js';

describe('yosys synthesis of the CDC FIFOs for iCE40', () => {
  for (const def of [asyncFifo({ width: 16, depth: 256 }), packetFifo({ width: 15, depth: 256 })]) {
    it(`${def.verilogName}: the storage is a dual-clock block RAM, with no latch`, async () => {
      const r = await synthesize(def, { target: 'ice40' });
      console.log(`${def.verilogName} on ice40: ${formatStats(r.design)}`);
      expect(r.latches).toEqual([]);
      expect(r.design.bramCells).toBeGreaterThanOrEqual(1);
      expect(r.design.bramBits).toBeGreaterThanOrEqual(r.memoryBits);
      // Pointers (binary and Gray, 9 bits each), their synchronizers and a few flags; no data in flip-flops.
      expect(r.design.flipFlops).toBeLessThanOrEqual(100);
    });
  }
});
