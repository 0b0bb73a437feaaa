// Worker thread: receives the dataset once (shared memory), then ONNX model
// bytes one job at a time, and answers with the number of correct samples.
import { parentPort, workerData } from 'node:worker_threads';
import { countTop1, type EvalArrays, type InputSpec } from './top1.js';

export interface Job {
  id: number;
  bytes: Uint8Array;
}

export type Reply = { id: number; correct: number } | { id: number; error: { code: string; message: string } };

const data = workerData as EvalArrays & { input: InputSpec };
const port = parentPort;
// Jobs run one after another: one session (one thread) per worker at a time.
let chain: Promise<void> = Promise.resolve();
port?.on('message', (job: Job) => {
  chain = chain.then(async () => {
    try {
      const correct = await countTop1(job.bytes, data.input, data);
      port.postMessage({ id: job.id, correct } satisfies Reply);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      port.postMessage({ id: job.id, error: { code: err.code ?? 'E_RUNTIME', message: err.message ?? String(e) } } satisfies Reply);
    }
  });
});
