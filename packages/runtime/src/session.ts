import { cpus } from 'node:os';
import { ShearsError, type Model, type ModelRuntime, type NamedTensor, type RuntimeSession, type RuntimeSessionOptions } from '@shears/core';
import { encodeModel } from '@shears/onnx';
import * as ort from 'onnxruntime-node';

export type GraphOptimization = 'disabled' | 'basic' | 'extended' | 'all';

export interface RuntimeOptions {
  /** Intra-op threads; default: all cores. */
  threads?: number;
  graphOptimization?: GraphOptimization;
}

export function defaultThreads(): number {
  return Math.max(1, cpus().length);
}

/** A loaded model, ready to run repeatedly. */
export class Session implements RuntimeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly threads: number;
  readonly #session: ort.InferenceSession;

  private constructor(session: ort.InferenceSession, threads: number) {
    this.#session = session;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.threads = threads;
  }

  static async create(model: Model | Uint8Array, opts: RuntimeOptions = {}): Promise<Session> {
    const bytes = model instanceof Uint8Array ? model : encodeModel(model);
    const threads = opts.threads ?? defaultThreads();
    try {
      const s = await ort.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: opts.graphOptimization ?? 'all',
      });
      return new Session(s, threads);
    } catch (e) {
      throw new ShearsError('E_RUNTIME', `onnxruntime could not load the model: ${firstLine(e)}`, { cause: e });
    }
  }

  /**
   * Run once. `opts.into` gives preallocated outputs (exact dims and type)
   * that onnxruntime writes in place; they are returned as given. Reusing
   * them saves allocating (and first touching) large results on every run.
   */
  async run(feeds: Record<string, NamedTensor>, outputs?: string[], opts: { into?: Record<string, NamedTensor> } = {}): Promise<Record<string, NamedTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) ortFeeds[name] = toOrt(t);
    let res: ort.InferenceSession.ReturnType;
    try {
      if (opts.into) {
        const fetches: Record<string, ort.Tensor | null> = {};
        for (const name of outputs ?? this.outputNames) fetches[name] = null;
        for (const [name, t] of Object.entries(opts.into)) fetches[name] = toOrt(t);
        res = await this.#session.run(ortFeeds, fetches);
      } else res = outputs ? await this.#session.run(ortFeeds, outputs) : await this.#session.run(ortFeeds);
    } catch (e) {
      throw new ShearsError('E_RUNTIME', `onnxruntime run failed: ${firstLine(e)}`, { cause: e });
    }
    const out: Record<string, NamedTensor> = {};
    for (const [name, t] of Object.entries(res)) out[name] = opts.into?.[name] ?? { dims: [...t.dims], data: t.data as NamedTensor['data'] };
    return out;
  }

  async release(): Promise<void> {
    await this.#session.release();
  }
}

function toOrt(t: NamedTensor): ort.Tensor {
  if (t.data instanceof Float32Array) return new ort.Tensor('float32', t.data, t.dims);
  if (t.data instanceof Float64Array) return new ort.Tensor('float64', t.data, t.dims);
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, t.dims);
  if (t.data instanceof Int32Array) return new ort.Tensor('int32', t.data, t.dims);
  return new ort.Tensor('uint8', t.data, t.dims);
}

export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

/** The ModelRuntime that plugins see in their context (`ctx.runtime`). */
export class OrtRuntime implements ModelRuntime {
  readonly name = 'onnxruntime-node';
  readonly options: RuntimeOptions;
  readonly threads: number;

  constructor(options: RuntimeOptions = {}) {
    this.options = options;
    this.threads = options.threads ?? defaultThreads();
  }

  session(model: Model | Uint8Array, opts: RuntimeSessionOptions = {}): Promise<Session> {
    return Session.create(model, { ...this.options, threads: this.threads, ...stripUndefined(opts) });
  }

  async run(model: Model, feeds: Record<string, NamedTensor>, opts: { outputs?: string[] } = {}): Promise<Record<string, NamedTensor>> {
    const s = await this.session(model);
    try {
      return await s.run(feeds, opts.outputs);
    } finally {
      await s.release();
    }
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function createRuntime(options: RuntimeOptions = {}): OrtRuntime {
  return new OrtRuntime(options);
}
