import type { Model } from '../ir/model.js';
import type { OpRegistry } from '../ops/registry.js';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface ProgressTask {
  /** Advance by `n` units (default 1); `note` is a short status like "loss 0.31". */
  tick(n?: number, note?: string): void;
  done(note?: string): void;
}

export interface ProgressReporter {
  start(label: string, total?: number): ProgressTask;
}

/** A typed key into the shared state bag. */
export interface StateKey<T> {
  readonly id: symbol;
  readonly name: string;
  /** Phantom field carrying T. */
  readonly __type?: T;
}

/**
 * A state key. Its symbol comes from the global registry
 * (`Symbol.for('shears:' + name)`), so a plugin that loaded its own copy of
 * @shears/core (another version, or CJS beside ESM) reads and writes the same
 * entries as the pipeline. Names are therefore global: prefix yours with your
 * package name.
 */
export function stateKey<T>(name: string): StateKey<T> {
  return { id: Symbol.for(`shears:${name}`), name };
}

/** Per-run state shared between plugins, keyed by typed keys (never module globals). */
export class StateBag {
  #map = new Map<symbol, unknown>();
  get<T>(key: StateKey<T>): T | undefined {
    return this.#map.get(key.id) as T | undefined;
  }
  require<T>(key: StateKey<T>): T {
    if (!this.#map.has(key.id)) throw new Error(`state ${key.name} is not set`);
    return this.#map.get(key.id) as T;
  }
  set<T>(key: StateKey<T>, value: T): void {
    this.#map.set(key.id, value);
  }
  has(key: StateKey<unknown>): boolean {
    return this.#map.has(key.id);
  }
}

/** Float tensors by name, for feeds and results. */
export interface NamedTensor {
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
}

/** How a runtime session runs: intra-op threads and graph optimization level. */
export interface RuntimeSessionOptions {
  /** Intra-op threads; default: the runtime's own `threads`. */
  threads?: number;
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** A model loaded once and run many times (calibration, Gram matrices, evaluation). */
export interface RuntimeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly threads: number;
  /**
   * Run once; `outputs` names the values to fetch (default: the graph
   * outputs). `opts.into` gives preallocated outputs (exact dims and type)
   * that the runtime may write in place and returns as given.
   */
  run(feeds: Record<string, NamedTensor>, outputs?: string[], opts?: { into?: Record<string, NamedTensor> }): Promise<Record<string, NamedTensor>>;
  release(): Promise<void>;
}

/**
 * What a runtime does for plugins. @shears/runtime implements it over
 * onnxruntime-node (`createRuntime()`); core only knows the interface, so
 * strategies and criteria reach a runtime through `ctx.runtime` and install
 * without one. Capturing intermediate values is `captureSession()` (core),
 * built on `session()`.
 */
export interface ModelRuntime {
  readonly name: string;
  /** Intra-op threads sessions use unless told otherwise. */
  readonly threads: number;
  /** Load a model (IR or ONNX bytes) for repeated runs. */
  session(model: Model | Uint8Array, opts?: RuntimeSessionOptions): Promise<RuntimeSession>;
  /** Load, run once, release. */
  run(model: Model, feeds: Record<string, NamedTensor>, opts?: { outputs?: string[] }): Promise<Record<string, NamedTensor>>;
}

/** Stages output files so a failed run leaves nothing half-written behind. */
export interface OutputStager {
  /** A temp path to write to; it is renamed to `finalPath` when the run succeeds. */
  stage(finalPath: string): string;
}

export interface PluginContext {
  logger: Logger;
  progress: ProgressReporter;
  signal: AbortSignal;
  state: StateBag;
  /**
   * The run's op table: per-op knowledge every strategy, criterion, pass,
   * exporter and analysis reads (set from `RunOptions.registry`; the default
   * table otherwise). Extend it with `registry.extend([spec])` and pass the
   * result as `registry`, and every step sees the new op.
   */
  ops: OpRegistry;
  /** The runtime data-aware steps run models on; `requireRuntime(ctx, who)` to get it or fail clearly. */
  runtime?: ModelRuntime;
  outputs: OutputStager;
  /** Plan only: strategies' plans are recorded but not applied, fine-tuners and exporters are skipped, and nothing staged is written. */
  dryRun: boolean;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export const silentProgress: ProgressReporter = {
  start: () => ({ tick() {}, done() {} }),
};
