// Exporter diversity (issue 15): models onnxruntime optimized (written with
// optimizedModelFilePath), made at test time, and the four ways every
// exported model is pruned through the CLI, each result checked in
// onnxruntime (output shapes, size, equivalence with its masked twin).
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyChannelMask, applyPlan, cloneModel, deserializePlan, fillUniform, inferShapes, normalizeModel, type Model, type NamedTensor, type RemoveChannelsAction } from '@shears/core';
import { readModel } from '@shears/onnx';
import { createRuntime } from '@shears/runtime';
import { expect } from 'vitest';
import { shears } from './run-cli.js';

const here = dirname(fileURLToPath(import.meta.url));

interface OrtModule {
  InferenceSession: {
    create(path: string, opts: Record<string, unknown>): Promise<{ release(): Promise<void> }>;
  };
}

/** onnxruntime-node, as @shears/runtime (a dependency of the CLI) resolves it. */
function ort(): OrtModule {
  const req = createRequire(join(here, '..', 'node_modules', '@shears', 'runtime', 'package.json'));
  return req('onnxruntime-node') as OrtModule;
}

/**
 * Let onnxruntime optimize `src` and write the graph it runs to `out`.
 * 'extended' is what users ship (com.microsoft FusedConv, FusedGemm,
 * FusedMatMul, …). 'all' also fuses Conv+Add(+Relu) into a FusedConv with
 * the residual "Z" input; its NCHWc layout pass is turned off, because the
 * com.microsoft.nchwc ops it writes depend on the machine's vector width.
 */
export async function ortOptimize(src: string, out: string, level: 'extended' | 'all' = 'extended'): Promise<string> {
  const opts: Record<string, unknown> = { graphOptimizationLevel: level, optimizedModelFilePath: out, logSeverityLevel: 3 };
  if (level === 'all') opts.extra = { optimization: { disable_specified_optimizers: 'NchwcTransformer' } };
  const s = await ort().InferenceSession.create(src, opts);
  await s.release();
  return out;
}

/** Op counts by domain::type, for what an exporter wrote. */
export async function opCounts(file: string): Promise<Map<string, number>> {
  const m = await readModel(file);
  const out = new Map<string, number>();
  for (const n of m.graph.nodes) {
    const k = `${n.domain ? `${n.domain}::` : ''}${n.opType}${n.domain && n.inputs.length > 3 ? `/${n.inputs.length}` : ''}`;
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

export interface Way {
  name: string;
  args: string[];
  structured: boolean;
  /** Needs concrete sizes (MACs, calibration): --input-shape is given for a dynamic model. */
  sizes: boolean;
}

/** The four ways of issue 15's coverage goal. */
export const WAYS: Way[] = [
  { name: 'unstructured 0.5', args: ['--strategy', 'unstructured', '--amount', '0.5'], structured: false, sizes: false },
  { name: 'filter 0.3', args: ['--strategy', 'filter', '--amount', '0.3'], structured: true, sizes: false },
  { name: 'filter macs 0.5', args: ['--strategy', 'filter', '--target-macs', '0.5'], structured: true, sizes: true },
  { name: 'channel 0.5 random:64', args: ['--strategy', 'channel', '--amount', '0.5', '--calib', 'random:64'], structured: true, sizes: true },
];

export interface WayResult {
  model: string;
  way: string;
  /** after / before; null when the CLI could not count MACs. */
  macs: number | null;
  params: number;
  nonzero: number;
  /** Masked twin vs removed: max |a − b| / max |a| over all outputs (structured ways). */
  rel?: number;
  /**
   * The same without the plan's refit weights (set-tensor actions of the
   * channel strategy): mask vs removal alone. Refits fitted on random data can
   * grow weights tenfold and more, and float32 rounding with them.
   */
  relNoRefit?: number;
  groups?: number;
}

const runtime = createRuntime({ threads: 2 });

/** The model's real inputs (IR < 4 files also list their initializers as inputs). */
function dataInputs(m: Model) {
  return m.graph.inputs.filter((v) => !m.graph.initializers.has(v.name));
}

/** Seeded uniform feeds for every real input, at `shapes` or the model's own static shape. */
export function seededFeeds(m: Model, shapes: Record<string, number[]> = {}): Record<string, NamedTensor> {
  const feeds: Record<string, NamedTensor> = {};
  dataInputs(m).forEach((v, i) => {
    const dims = shapes[v.name] ?? v.shape?.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    if (!dims) throw new Error(`input ${v.name} has no shape: give one`);
    feeds[v.name] = { dims, data: fillUniform(new Float32Array(dims.reduce((a, b) => a * b, 1)), 101 + i) };
  });
  return feeds;
}

/** max |a − b| / max |a| over the outputs of two runs (by output name). */
export function relDiff(a: Record<string, NamedTensor>, b: Record<string, NamedTensor>): number {
  let maxAbs = 0;
  let maxRef = 0;
  for (const [k, x] of Object.entries(a)) {
    const y = b[k]!;
    for (let i = 0; i < x.data.length; i++) {
      const d = Math.abs(Number(x.data[i]) - Number(y.data[i]));
      maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
      maxRef = Math.max(maxRef, Math.abs(Number(x.data[i])));
    }
  }
  return maxRef > 0 ? maxAbs / maxRef : maxAbs;
}

export const shapeArg = (shapes: Record<string, number[]>) => Object.entries(shapes).flatMap(([k, v]) => ['--input-shape', `${k}:${v.join('x')}`]);

/**
 * Prune `src` one way through the CLI and check the result in onnxruntime:
 * it runs with the input's output shapes; a structured result is smaller
 * and computes what its masked twin (the same channels zeroed in the
 * consumers, nothing removed; reconstructed weights set) computes.
 */
export async function pruneOneWay(label: string, src: string, way: Way, dir: string, inputShapes?: Record<string, number[]>): Promise<WayResult> {
  const tag = `${label}-${way.name}`.replace(/[^\w.-]+/g, '_');
  const out = join(dir, `${tag}.onnx`);
  const planFile = join(dir, `${tag}.plan.json`);
  const extra = inputShapes && way.sizes ? shapeArg(inputShapes) : [];
  const r = shears(['prune', src, '-o', out, ...way.args, ...extra, '--plan', planFile, '--json', '-q']);
  expect(r.status, `${label} ${way.name}: ${r.stderr}`).toBe(0);
  const j = r.json();
  const original = await readModel(src);
  const pruned = await readModel(out);
  const feeds = seededFeeds(original, inputShapes);
  const [a, b] = [await runtime.run(original, feeds), await runtime.run(pruned, feeds)];
  expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
  for (const k of Object.keys(a)) expect(b[k]!.dims, `${label} ${way.name}: output ${k}`).toEqual(a[k]!.dims);
  const res: WayResult = {
    model: label,
    way: way.name,
    macs: j.before.macs && j.after.macs !== null ? j.after.macs / j.before.macs : null,
    params: j.after.params / j.before.params,
    nonzero: j.after.nonzeroParams / j.before.nonzeroParams,
  };
  if (!way.structured) {
    // Over the layers it prunes (the first and the classifier stay dense by default).
    expect(Math.abs(j.achievedSparsity - 0.5), `${label}: unstructured 0.5 reached ${j.achievedSparsity}`).toBeLessThanOrEqual(0.02);
    return res;
  }
  expect(j.after.params, `${label} ${way.name}: nothing removed`).toBeLessThan(j.before.params);
  expect(statSync(out).size).toBeLessThan(statSync(src).size);
  const plan = deserializePlan(readFileSync(planFile, 'utf8'));
  const removals = plan.actions.filter((x): x is RemoveChannelsAction => x.type === 'remove-channels');
  const others = plan.actions.filter((x) => x.type !== 'remove-channels');
  res.groups = new Set(removals.map((x) => x.group)).size;
  // The model the CLI pruned: the input, normalized after import (on the sizes the plan was made with).
  const normalized = cloneModel(original);
  normalizeModel(normalized);
  const masked = (withOthers: boolean) => {
    const twin = cloneModel(normalized);
    if (inputShapes) inferShapes(twin, { inputShapes });
    applyPlan(twin, withOthers ? plan : { ...plan, actions: removals }, { channelApplier: applyChannelMask });
    return twin;
  };
  res.rel = relDiff(await runtime.run(masked(true), feeds), b);
  if (others.length === 0) {
    expect(res.rel, `${label} ${way.name}: masked twin vs removed`).toBeLessThanOrEqual(1e-5);
    return res;
  }
  // With refit weights: the removal alone must equal its mask exactly, and the CLI file be this plan applied.
  const removedOnly = cloneModel(normalized);
  applyPlan(removedOnly, { ...plan, actions: removals });
  res.relNoRefit = relDiff(await runtime.run(masked(false), feeds), await runtime.run(removedOnly, feeds));
  expect(res.relNoRefit, `${label} ${way.name}: masked twin vs removed, without the refit`).toBeLessThanOrEqual(1e-5);
  const applied = cloneModel(normalized);
  applyPlan(applied, plan);
  expect(relDiff(await runtime.run(applied, feeds), b), `${label} ${way.name}: the file is the plan applied`).toBeLessThanOrEqual(1e-6);
  expect(res.rel, `${label} ${way.name}: masked twin vs removed, refit weights set in both`).toBeLessThanOrEqual(1e-3);
  return res;
}

/** The figures as a table for the test log. */
export function table(rows: WayResult[]): string {
  const f = (x: number | null | undefined, d = 3) => (x === null || x === undefined ? '-' : x.toFixed(d));
  const e = (x: number | undefined) => (x === undefined ? '-' : x.toExponential(1));
  return rows.map((r) => `${r.model.padEnd(34)} ${r.way.padEnd(22)} macs ${f(r.macs)}  params ${f(r.params)}  nonzero ${f(r.nonzero)}  rel ${e(r.rel)}  rel-no-refit ${e(r.relNoRefit)}`).join('\n');
}
