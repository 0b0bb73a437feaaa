import { dynamicShapeError, isStaticShape, quantile, resolveInputShapes, type Model, type NamedTensor } from '@shears/core';
import { Session, type RuntimeOptions } from './session.js';

export interface BenchOptions extends RuntimeOptions {
  runs?: number;
  warmup?: number;
  /** Inputs to time with; default: seeded random data of each input's static shape. */
  feeds?: Record<string, NamedTensor>;
}

export interface BenchResult {
  latencyMs: { median: number; p90: number; mean: number; min: number };
  runs: number;
  threads: number;
  /** The input shapes timed (a dynamic batch dim is timed at 1 unless feeds say otherwise). */
  inputs: Record<string, number[]>;
}

export { quantile };

/**
 * Random feeds for every graph input (float32 normal, int64 zeros): static
 * shapes as they are; dynamic ones as the model sizes them (resolveInputShapes:
 * a dynamic batch dim alone taken as 1, as exported models usually have, dims
 * bound by other inputs, metadata); any other dynamic dim is an
 * E_DYNAMIC_SHAPE error with a realistic example shape.
 */
export function randomFeeds(model: Model, seed = 1): Record<string, NamedTensor> {
  const known = resolveInputShapes(model, undefined);
  const feeds: Record<string, NamedTensor> = {};
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
  for (const v of model.graph.inputs) {
    if (model.graph.initializers.has(v.name)) continue;
    const shape = isStaticShape(v.shape) ? [...v.shape] : known.shapes[v.name];
    if (!shape) throw dynamicShapeError(known.unresolved, 'random inputs');
    const n = shape.reduce((a, b) => a * b, 1);
    if (v.dtype === 'int64') feeds[v.name] = { dims: shape, data: new BigInt64Array(n) };
    else {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = Math.sqrt(-2 * Math.log(rnd())) * Math.cos(2 * Math.PI * rnd());
      feeds[v.name] = { dims: shape, data };
    }
  }
  return feeds;
}

/** Latency over warm runs: median and p90, measured with one session. */
export async function bench(model: Model, opts: BenchOptions = {}): Promise<BenchResult> {
  const runs = opts.runs ?? 30;
  const warmup = opts.warmup ?? 5;
  const feeds = opts.feeds ?? randomFeeds(model);
  const session = await Session.create(model, opts);
  try {
    for (let i = 0; i < warmup; i++) await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return {
      latencyMs: { median: quantile(times, 0.5), p90: quantile(times, 0.9), mean: times.reduce((a, b) => a + b, 0) / runs, min: times[0]! },
      runs,
      threads: session.threads,
      inputs: Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, [...f.dims]])),
    };
  } finally {
    await session.release();
  }
}
