/**
 * A worker process for one yosys run (yosys is WebAssembly on one thread, so runs in parallel need
 * processes): receives a top, sources and options, sends back log lines and the result.
 */
import { type SynthOptions, synthesizeSources } from './synth.js';

interface Job {
  top: string;
  sources: Record<string, string>;
  opts: Omit<SynthOptions, 'onLog' | 'inWorker'>;
}

process.once('message', (job: Job) => {
  const send = (m: unknown) => process.send?.(m);
  synthesizeSources(job.top, job.sources, { ...job.opts, onLog: (line) => send({ log: line }) }).then(
    (result) => send({ result }),
    (err: unknown) => send({ error: err instanceof Error ? err.message : String(err) }),
  );
});
