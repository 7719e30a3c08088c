/** Run by cache.test.ts in a separate process: builds the design named on the command line and prints the result. */
import { buildModel, loadModel } from '../../sim/index.js';

const [file, top] = process.argv.slice(2);
const built = await buildModel({ top, files: [file] });
const sim = loadModel(built);
sim.ports.a = 5;
sim.tick();
process.stdout.write(`${JSON.stringify({ dir: built.dir, cached: built.cached, q: sim.ports.q })}\n`);
sim.close();
