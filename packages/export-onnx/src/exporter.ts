import { statSync } from 'node:fs';
import {
  analyzeModel,
  cloneModel,
  countParams,
  dynamicInputs,
  definePlugin,
  definePluginFactory,
  INPUT_PATH,
  parseOptions,
  PLANS,
  ShearsError,
  suggestInputShape,
  type ExporterPlugin,
  type Model,
  type OpRegistry,
  type PluginContext,
} from '@shears/core';
import { readModel, writeModel } from '@shears/onnx';
import { z } from 'zod';
import { convertOpset, type OpsetReport } from './opset.js';
import { dedupeInitializersPass, fixDimsPass, float16Pass, foldBatchNormPass, foldConstantsPass, removeDeadPass, stripTrainingPass } from './passes.js';
import type { PassReport } from './pass-kit.js';
import { runOfficialChecker, validateModel, type CheckerResult } from './validate.js';

export const deployOptionsSchema = z
  .object({
    /** Target opset of the default domain (converted where an op's form changed). */
    opset: z.number().int().min(9).max(21).optional(),
    /** Convert float32 weights and activations to float16. */
    fp16: z.boolean().default(false),
    /** With fp16: 'cast' keeps float32 I/O behind Cast nodes; 'fp16' makes the I/O float16. */
    fp16Io: z.enum(['cast', 'fp16']).default('cast'),
    /** Fix dynamic input dims: static shapes by input name. */
    inputShapes: z.record(z.string(), z.array(z.number().int().nonnegative())).optional(),
    /** Fix symbolic dims by name ({batch: 1}). */
    dims: z.record(z.string(), z.number().int().nonnegative()).optional(),
    /** Turn single passes off (all on by default). */
    passes: z
      .object({
        stripTraining: z.boolean().default(true),
        foldBatchNorm: z.boolean().default(true),
        foldConstants: z.boolean().default(true),
        removeDead: z.boolean().default(true),
        dedupeInitializers: z.boolean().default(true),
      })
      .strict()
      .default({ stripTraining: true, foldBatchNorm: true, foldConstants: true, removeDead: true, dedupeInitializers: true }),
    /** Run the official ONNX checker (Python onnx) on the written file; 'auto' runs it when available. */
    officialCheck: z.enum(['off', 'auto', 'require']).default('off'),
    /** Extra metadata_props to record. */
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .strict();

export type DeployOptions = z.input<typeof deployOptionsSchema>;
type Deploy = z.output<typeof deployOptionsSchema>;

/**
 * Totals of a model. MACs need static shapes: a dynamic batch dim alone is
 * taken as `macsBatch` (1: MACs per sample); any other dynamic dim leaves MACs
 * (and non-zeros) unknown (null), with the inputs named in `dynamicInputs`.
 */
export interface ModelCounts {
  params: number;
  nonzeroParams: number | null;
  macs: number | null;
  nodes: number;
  /** MACs are for a batch of this many samples (the model's batch dim is dynamic). */
  macsBatch?: number;
  /** Inputs whose dynamic dims left MACs unknown, e.g. `input[N,3,H,W]`. */
  dynamicInputs?: string[];
  /** A realistic static shape per input of `dynamicInputs` (core's suggestInputShape), e.g. `{ input: [1, 3, 224, 224] }`. */
  exampleShapes?: Record<string, number[]>;
}

export interface DeployReport {
  passes: Record<string, PassReport>;
  opset?: OpsetReport;
  before: ModelCounts;
  after: ModelCounts;
  metadata: Record<string, string>;
}

function stats(m: Model, registry?: OpRegistry): ModelCounts {
  const nodes = m.graph.nodes.length;
  try {
    const a = analyzeModel(m, { registry });
    return { params: a.params, nonzeroParams: a.nonzeroParams, macs: a.macs, nodes, ...(a.assumedBatch ? { macsBatch: a.assumedBatch.batch } : {}) };
  } catch {
    // Never a false 0: what needs shapes is unknown, and the report says which inputs lack them.
    const found = dynamicInputs(m);
    const dyn = found.map((d) => `${d.name}[${(d.shape ?? ['?']).map((x) => x ?? '?').join(',')}]`);
    const exampleShapes = Object.fromEntries(found.map((d) => [d.name, suggestInputShape(d.shape)]));
    return { params: countParams(m), nonzeroParams: null, macs: null, nodes, ...(dyn.length ? { dynamicInputs: dyn, exampleShapes } : {}) };
  }
}

/**
 * Make a deployable copy of `model`: the deployment passes in order, opset
 * conversion, fp16, metadata, and the TypeScript validator. The input model
 * is not changed.
 */
export async function prepareDeployModel(input: Model, options: DeployOptions = {}, ctx?: PluginContext): Promise<{ model: Model; report: DeployReport }> {
  const opts: Deploy = parseOptions('onnx-export', deployOptionsSchema, options);
  const model = cloneModel(input);
  const before = stats(model, ctx?.ops);
  const passes: Record<string, PassReport> = {};
  const run = (name: string, on: boolean, fn: () => PassReport) => {
    if (on) passes[name] = fn();
  };
  const p = opts.passes;
  run('strip-training', p.stripTraining, () => stripTrainingPass.apply(model, {}, ctx));
  if (opts.inputShapes || opts.dims) passes['fix-dims'] = fixDimsPass.apply(model, { inputShapes: opts.inputShapes ?? {}, dims: opts.dims ?? {} }, ctx);
  run('fold-constants', p.foldConstants, () => foldConstantsPass.apply(model, { maxElements: 1 << 20 }, ctx));
  run('remove-dead', p.removeDead, () => removeDeadPass.apply(model, {}, ctx));
  run('fold-batchnorm', p.foldBatchNorm, () => foldBatchNormPass.apply(model, {}, ctx));
  run('dedupe-initializers', p.dedupeInitializers, () => dedupeInitializersPass.apply(model, {}, ctx));
  run('remove-dead', p.removeDead, () => mergeReports(passes['remove-dead'], removeDeadPass.apply(model, {}, ctx)));
  const opset = opts.opset !== undefined ? convertOpset(model, opts.opset, ctx?.ops) : undefined;
  if (opts.fp16) passes.float16 = float16Pass.apply(model, { io: opts.fp16Io }, ctx);
  const after = stats(model, ctx?.ops);
  const metadata = await shearsMetadata(input, ctx, before, after, passes, opset, opts);
  for (const [k, v] of Object.entries(metadata)) model.setMetadata(k, v);
  const issues = validateModel(model, ctx?.ops);
  if (issues.length)
    throw new ShearsError('E_GRAPH', `exported model is not valid: ${issues.slice(0, 3).map((i) => `${i.node ? `${i.node}: ` : ''}${i.message}`).join('; ')}`, { node: issues[0]!.node });
  return { model, report: { passes, opset, before, after, metadata } };
}

function mergeReports(a: PassReport | undefined, b: PassReport): PassReport {
  if (!a) return b;
  const out: PassReport = { ...a };
  for (const [k, v] of Object.entries(b)) if (typeof v === 'number') out[k] = ((a[k] as number) ?? 0) + v;
  return out;
}

async function shearsMetadata(
  input: Model,
  ctx: PluginContext | undefined,
  before: DeployReport['before'],
  after: DeployReport['after'],
  passes: Record<string, PassReport>,
  opset: OpsetReport | undefined,
  opts: Deploy,
): Promise<Record<string, string>> {
  const md: Record<string, string> = {};
  const plans = ctx?.state.get(PLANS) ?? [];
  if (plans.length) {
    md['shears.strategy'] = plans.map((p) => p.strategy).join(',');
    md['shears.criterion'] = plans.map((p) => p.criterion ?? '').filter(Boolean).join(',');
    md['shears.amounts'] = JSON.stringify(plans.map((p) => p.options?.amount ?? p.options?.sparsity ?? null));
    md['shears.plan_options'] = JSON.stringify(plans.map((p) => p.options ?? {}));
  } else if (input.getMetadata('shears.strategy')) {
    md['shears.strategy'] = input.getMetadata('shears.strategy')!;
  }
  // MACs before pruning: the pipeline's input file, when there is one.
  let original = before;
  const path = ctx?.state.get(INPUT_PATH);
  if (path) {
    try {
      original = stats(await readModel(path));
    } catch {
      /* keep the export input's numbers */
    }
  }
  // Unknown numbers (dynamic dims) are left out rather than written as 0.
  if (original.macs !== null) md['shears.macs_before'] = String(original.macs);
  if (after.macs !== null) md['shears.macs_after'] = String(after.macs);
  md['shears.params_before'] = String(original.params);
  md['shears.params_after'] = String(after.params);
  if (after.nonzeroParams !== null) md['shears.sparsity'] = (after.params ? 1 - after.nonzeroParams / after.params : 0).toFixed(4);
  md['shears.export_passes'] = Object.entries(passes)
    .map(([k, r]) => `${k}:${r.changed}`)
    .join(',');
  if (opset) md['shears.opset'] = `${opset.from}->${opset.to}`;
  if (opts.fp16) md['shears.precision'] = `fp16 (io ${opts.fp16Io})`;
  for (const [k, v] of Object.entries(opts.metadata ?? {})) md[k] = v;
  return md;
}

export const exportOptionsSchema = deployOptionsSchema.extend({ out: z.string().min(1) }).strict();
export type OnnxExportOptions = z.input<typeof exportOptionsSchema>;

/** Write a prepared model to a staged path and run the official checker when asked. */
export async function writeChecked(model: Model, out: string, ctx: PluginContext, officialCheck: 'off' | 'auto' | 'require'): Promise<{ bytes: number; checker?: CheckerResult }> {
  const tmp = ctx.outputs.stage(out);
  await writeModel(model, tmp);
  let checker: CheckerResult | undefined;
  if (officialCheck !== 'off') {
    checker = runOfficialChecker(tmp);
    if (!checker.available && officialCheck === 'require') throw new ShearsError('E_PLUGIN', `official ONNX checker requested but ${checker.message}`, { option: 'officialCheck' });
    if (checker.available && !checker.ok) throw new ShearsError('E_GRAPH', `${out}: the official ONNX checker rejected the export: ${checker.message}`, { file: out });
    if (!checker.available) ctx.logger.warn(`onnx-export: official checker ${checker.message}`);
  }
  return { bytes: statSync(tmp).size, checker };
}

/**
 * Exporter plugin: a deployable ONNX file (deployment passes, optional opset
 * conversion and fp16, metadata of what Shears did). Does not change the
 * pipeline's model.
 */
export const onnxExport = definePluginFactory(
  { name: 'onnx-export', kind: 'exporter', description: 'deployable ONNX: strip, fold BN and constants, dedupe, opset conversion, fp16, metadata' },
  (options?: OnnxExportOptions): ExporterPlugin => {
    const opts = parseOptions('onnx-export', exportOptionsSchema, options);
    return definePlugin({
      name: 'onnx-export',
      kind: 'exporter',
      version: '0.1.0',
      mutates: false,
      options: { ...opts },
      async export(model, ctx) {
        const { out, ...deploy } = opts;
        const { model: m, report } = await prepareDeployModel(model, deploy, ctx);
        const w = await writeChecked(m, out, ctx, opts.officialCheck);
        return { files: [out], details: { ...report, bytes: w.bytes, checker: w.checker } };
      },
    });
  },
);
