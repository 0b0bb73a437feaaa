// Data parallelism for the pure-JS backends, which run one thread under
// Node: a worker thread computes the gradients of the second half of each
// batch while the main thread computes the first half's; the main thread
// averages them (weighted by rows), applies the optimizer and the masks, and
// sends the new weights with the next step. BatchNorm running statistics
// follow the main thread's half (as data-parallel training without synced
// BatchNorm keeps one replica's).

import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ShearsError, workerExecArgv, workerScript, type Model } from '@shears/core';
import { encodeModel } from '@shears/onnx';
import type { BackendName } from './backend.js';
import type { LossOptions } from './step.js';
import type { TeacherOutputs } from './teacher.js';

export interface WorkerInit {
  model: Uint8Array;
  backend: BackendName;
  bn?: 'train' | 'freeze';
  freeze?: { source: string; flags: string };
  /** Element counts of the main thread's trainable weights, in order (checked by the worker). */
  sizes: number[];
}

export interface StepRequest {
  weights: Float32Array[];
  x: Float32Array;
  dims: number[];
  y?: Int32Array;
  teacher?: TeacherOutputs;
  loss: LossOptions;
}

export interface StepReply {
  loss?: number;
  correct?: number;
  grads?: Float32Array[];
  ready?: boolean;
  error?: string;
}

const workerPath = () => workerScript(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url), '@shears/finetune');

/** The rows [from, to) of a batch-major array of `rows` rows. */
const rowsOf = (data: Float32Array, rows: number, from: number, to: number) => {
  const per = data.length / rows;
  return data.slice(from * per, to * per);
};

/** The teacher's outputs for rows [from, to) of its batch. */
export function teacherRows(t: TeacherOutputs, rows: number, from: number, to: number): TeacherOutputs {
  const cut = (o: { dims: number[]; data: Float32Array }) => ({ dims: [to - from, ...o.dims.slice(1)], data: rowsOf(o.data, rows, from, to) });
  const out: TeacherOutputs = { logits: cut(t.logits), features: Object.fromEntries(Object.entries(t.features).map(([k, v]) => [k, cut(v)])) };
  if (t.outputs) out.outputs = Object.fromEntries(Object.entries(t.outputs).map(([k, v]) => [k, cut(v)]));
  return out;
}

export class StepWorker {
  readonly #worker: Worker;
  #pending?: { resolve: (r: StepReply) => void; reject: (e: Error) => void };
  #failed?: Error;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (r: StepReply) => {
      const p = this.#pending;
      this.#pending = undefined;
      if (r.error) p?.reject(new ShearsError('E_RUNTIME', `finetune worker: ${r.error}`));
      else p?.resolve(r);
    });
    worker.on('error', (e) => this.#fail(new ShearsError('E_RUNTIME', `finetune worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => this.#fail(new ShearsError('E_RUNTIME', `finetune worker exited with code ${code}`)));
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    this.#pending?.reject(e);
    this.#pending = undefined;
  }

  #request(msg: StepRequest | undefined, transfer: ArrayBuffer[] = []): Promise<StepReply> {
    if (this.#failed) return Promise.reject(this.#failed);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      if (msg) this.#worker.postMessage(msg, transfer);
    });
  }

  /** Starts a worker with its own copy of `model` (current weights) on `backend`; resolves once it is ready. */
  static async start(model: Model, init: Omit<WorkerInit, 'model'>): Promise<StepWorker> {
    const w = new StepWorker(new Worker(workerPath(), { execArgv: workerExecArgv(), workerData: { ...init, model: encodeModel(model) } satisfies WorkerInit }));
    await w.#request(undefined);
    return w;
  }

  /** The gradients of one share of the batch, at `weights` (copied; the caller keeps its arrays). */
  step(req: StepRequest): Promise<Required<Pick<StepReply, 'loss' | 'correct' | 'grads'>>> {
    return this.#request(req, [req.x.buffer as ArrayBuffer]) as Promise<Required<Pick<StepReply, 'loss' | 'correct' | 'grads'>>>;
  }

  async close(): Promise<void> {
    this.#worker.removeAllListeners('exit');
    await this.#worker.terminate();
  }
}
