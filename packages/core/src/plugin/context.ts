import type { Model } from '../ir/model.js';

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

export function stateKey<T>(name: string): StateKey<T> {
  return { id: Symbol(name), name };
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

/**
 * What a runtime can do for plugins (implemented by @shears/runtime over
 * onnxruntime-node). Core only knows the interface.
 */
export interface ModelRuntime {
  readonly name: string;
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
  runtime?: ModelRuntime;
  outputs: OutputStager;
  /** Plan only: strategies' plans are recorded but not applied, fine-tuners and exporters are skipped, and nothing staged is written. */
  dryRun: boolean;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export const silentProgress: ProgressReporter = {
  start: () => ({ tick() {}, done() {} }),
};
