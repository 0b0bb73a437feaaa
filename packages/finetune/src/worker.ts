// The data-parallel step worker: its own tfjs backend and copy of the graph;
// per step it takes the main thread's current weights and its share of the
// batch, and returns the loss, the correct count and the gradients.

import { parentPort, workerData } from 'node:worker_threads';
import { decodeModel } from '@shears/onnx';
import { initBackend } from './backend.js';
import { TfGraph } from './graph/graph.js';
import type { StepRequest, StepReply, WorkerInit } from './parallel.js';
import { trainStep } from './step.js';

const init = workerData as WorkerInit;
const port = parentPort!;

async function main(): Promise<void> {
  const backend = await initBackend(init.backend);
  const model = decodeModel(init.model);
  const freeze = init.freeze ? new RegExp(init.freeze.source, init.freeze.flags) : undefined;
  // Masks are the main thread's business: it masks the combined gradients and sends masked weights.
  const graph = TfGraph.build(model, { backend, masks: 'none', bn: init.bn, freeze: freeze ? (n) => freeze.test(n) : undefined });
  const params = graph.trainable();
  const vars = params.map((p) => p.variable);
  const sizes = vars.map((v) => v.size);
  if (sizes.length !== init.sizes.length || sizes.some((n, i) => n !== init.sizes[i]))
    throw new Error(`the worker's trainable weights (${sizes.length}) do not match the main thread's (${init.sizes.length})`);
  const tf = backend.tf;
  port.on('message', (req: StepRequest) => {
    try {
      tf.tidy(() => {
        for (const [i, v] of vars.entries()) v.assign(tf.tensor(req.weights[i]!, v.shape, 'float32'));
      });
      const r = trainStep(graph, params, vars, { x: req.x, dims: req.dims, y: req.y }, req.teacher, req.loss);
      for (const s of r.stats) s.value.dispose(); // running statistics follow the main thread's share
      const grads = r.grads.map((g) => g.dataSync() as Float32Array);
      for (const g of r.grads) g.dispose();
      const reply: StepReply = { loss: r.loss, correct: r.correct, grads };
      port.postMessage(reply, grads.map((g) => g.buffer as ArrayBuffer));
    } catch (e) {
      port.postMessage({ error: e instanceof Error ? e.message : String(e) } satisfies StepReply);
    }
  });
  port.postMessage({ ready: true });
}

main().catch((e) => port.postMessage({ error: e instanceof Error ? e.message : String(e) }));
