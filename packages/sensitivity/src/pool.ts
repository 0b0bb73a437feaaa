// A pool of worker threads, each evaluating ONNX model bytes on the same
// in-memory dataset with a one-thread onnxruntime session.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ShearsError, workerExecArgv, workerScript, type ErrorCode } from '@shears/core';
import type { EvalArrays, InputSpec } from './top1.js';
import type { Job, Reply } from './worker.js';

/** dist/worker.js beside this bundle (dist/worker.cjs from the CJS build; dist/ when running from src/ in tests). */
const workerPath = () => workerScript(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url), '@shears/sensitivity');

interface Pending {
  resolve: (correct: number) => void;
  reject: (e: Error) => void;
}

/** Copy a typed array into shared memory, so every worker reads the one copy. */
export function shared<T extends Float32Array | Int32Array>(a: T): T {
  const buf = new SharedArrayBuffer(a.byteLength);
  const out = (a instanceof Float32Array ? new Float32Array(buf) : new Int32Array(buf)) as T;
  out.set(a);
  return out;
}

export class EvalPool {
  readonly size: number;
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: { job: Job; pending: Pending }[] = [];
  #running = new Map<Worker, { id: number; pending: Pending }>();
  #nextId = 0;
  #closed = false;
  #reason?: Error;
  #drained?: () => void;

  constructor(size: number, data: EvalArrays, input: InputSpec) {
    this.size = size;
    const file = workerPath();
    const workerData = { ...data, x: data.x.buffer instanceof SharedArrayBuffer ? data.x : shared(data.x), y: data.y.buffer instanceof SharedArrayBuffer ? data.y : shared(data.y), input };
    for (let i = 0; i < size; i++) {
      const w = new Worker(file, { workerData, execArgv: workerExecArgv() });
      w.on('message', (r: Reply) => this.#done(w, r));
      w.on('error', (e) => this.#fail(w, new ShearsError('E_RUNTIME', `evaluation worker failed: ${e.message}`, { cause: e })));
      w.on('exit', (code) => {
        if (!this.#closed) this.#fail(w, new ShearsError('E_RUNTIME', `evaluation worker exited with code ${code}`));
      });
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  /** Correct top-1 samples of the model (ONNX bytes; their buffer is transferred when the view owns it). */
  evaluate(bytes: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new ShearsError('E_ABORTED', 'evaluation pool is closed'));
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ job: { id: this.#nextId++, bytes }, pending: { resolve, reject } });
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length && this.#queue.length) {
      const w = this.#idle.pop()!;
      const { job, pending } = this.#queue.shift()!;
      this.#running.set(w, { id: job.id, pending });
      const b = job.bytes;
      const owns = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
      const bytes = owns ? b : b.slice();
      w.postMessage({ id: job.id, bytes } satisfies Job, [bytes.buffer as ArrayBuffer]);
    }
  }

  #done(w: Worker, r: Reply): void {
    const run = this.#running.get(w);
    if (!run || run.id !== r.id) return;
    this.#running.delete(w);
    if (this.#closed) {
      // Terminating a worker inside an onnxruntime call can abort the process; it goes now, between jobs.
      run.pending.reject(this.#reason!);
      void w.terminate();
      if (!this.#running.size) this.#drained?.();
      return;
    }
    this.#idle.push(w);
    if ('error' in r) run.pending.reject(new ShearsError(r.error.code as ErrorCode, r.error.message));
    else run.pending.resolve(r.correct);
    this.#pump();
  }

  #fail(w: Worker, e: Error): void {
    const run = this.#running.get(w);
    this.#running.delete(w);
    this.#workers = this.#workers.filter((x) => x !== w);
    this.#idle = this.#idle.filter((x) => x !== w);
    run?.pending.reject(e);
    if (this.#closed && !this.#running.size) this.#drained?.();
    if (!this.#workers.length) {
      for (const q of this.#queue.splice(0)) q.pending.reject(e);
    }
  }

  /** Stop every worker; queued and running jobs reject with `reason`. */
  async close(reason?: Error): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const e = (this.#reason = reason ?? new ShearsError('E_ABORTED', 'evaluation pool closed'));
    for (const q of this.#queue.splice(0)) q.pending.reject(e);
    for (const r of this.#running.values()) r.pending.reject(e);
    // Idle workers go at once; busy ones when their current job ends.
    const drained = this.#running.size ? new Promise<void>((resolve) => (this.#drained = resolve)) : Promise.resolve();
    await Promise.all(this.#idle.map((w) => w.terminate()));
    this.#idle = [];
    await drained;
    this.#workers = [];
  }
}
