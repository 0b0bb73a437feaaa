import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  constTensorOf,
  definePlugin,
  definePluginFactory,
  dynamicInputs,
  listSome,
  Node,
  parseOptions,
  ShearsError,
  Tensor,
  type ExporterPlugin,
  type Model,
  type PluginContext,
} from '@shears/core';
import { prepareDeployModel, writeChecked } from '@shears/export-onnx';
import { z } from 'zod';
import { enforce24, sparsityReport, type SparsityReport } from './sparsity.js';
import { DEFAULT_OPSET, IMPLICIT_INT8_OPS, LEFTOVER_WARNINGS, INT32_OK_INPUTS, QDQ_ZERO_POINT, REWRITES, TRT_OPS_SINCE, TRT_OPSETS, TRT_RESTRICTIONS, TRT_SUPPORTED_OPS } from './table.js';

const shape = z.array(z.number().int().positive());
export const tensorrtOptionsSchema = z
  .object({
    /** Output directory: model.onnx, model.layers.json and README.md land there. */
    out: z.string().min(1),
    /** File name of the model inside `out`. */
    modelName: z.string().regex(/\.onnx$/).default('model.onnx'),
    /** Target opset (default 17). */
    opset: z.number().int().default(DEFAULT_OPSET),
    /** TensorRT release the parser range is checked against. */
    trtVersion: z.enum(['10.0', '10.15']).default('10.0'),
    /** 2:4 magnitude pruning of eligible layers that are not yet compliant. */
    enforce2of4: z.boolean().default(false),
    /** Channels below which sparse kernels do not pay (default 256). */
    minChannels: z.number().int().positive().default(256),
    /** Precision flag for trtexec (weights stay float32; TensorRT converts). */
    precision: z.enum(['fp32', 'fp16', 'int8']).default('fp16'),
    /** Static input shapes, by input name. */
    inputShapes: z.record(z.string(), shape).optional(),
    /** Symbolic dims fixed by name ({batch: 1}). */
    dims: z.record(z.string(), z.number().int().positive()).optional(),
    /** Optimization profiles for dynamic inputs: {input: {min, opt, max}}. */
    profiles: z.record(z.string(), z.object({ min: shape, opt: shape, max: shape }).strict()).optional(),
    officialCheck: z.enum(['off', 'auto', 'require']).default('off'),
  })
  .strict();

export type TensorrtOptions = z.input<typeof tensorrtOptionsSchema>;
type Opts = z.output<typeof tensorrtOptionsSchema>;

export interface TrtIssue {
  rule: string;
  node?: string;
  message: string;
  /** What to do about it. */
  fix: string;
}

const err = (issues: TrtIssue[]) =>
  new ShearsError('E_GRAPH', `not TensorRT-ready: ${listSome(issues.map((i) => `${i.node ? `node ${i.node}: ` : ''}${i.message} (${i.fix})`), 3, '; ')}`, { node: issues[0]?.node, op: issues[0]?.rule });

/** Refuse implicitly quantized int8 models (integer ops, no Q/DQ) before anything else. */
export function checkInt8(model: Model): TrtIssue[] {
  const nodes = [...model.graph.allNodes()];
  const hasQdq = nodes.some((n) => n.opType in QDQ_ZERO_POINT);
  const implicit = nodes.filter((n) => IMPLICIT_INT8_OPS.has(n.opType));
  if (hasQdq || implicit.length === 0) return [];
  return implicit.map((n) => ({
    rule: 'int8-without-qdq',
    node: n.label,
    message: `${n.opType} is int8 arithmetic without QuantizeLinear/DequantizeLinear`,
    fix: 'TensorRT takes int8 only as explicit Q/DQ: re-quantize to QDQ format (symmetric, zero-point 0), or export the float model and build with --int8 calibration',
  }));
}

/** Rewrite MatMul(A[M,K], constant W[K,N]) (+ Add of a constant [N]) to Gemm. */
export function rewriteForTensorRT(model: Model): { rewritten: string[]; narrowed: string[] } {
  const g = model.graph;
  const rewritten: string[] = [];
  const rw = REWRITES.matmulToGemm;
  for (const n of [...g.nodes]) {
    if (n.opType !== rw.op || n.domain !== '') continue;
    const a = n.input(0);
    const w = constTensorOf(n.input(1));
    if (!a || a.shape?.length !== 2 || !w || w.dims.length !== 2) continue;
    const y = n.outputs[0]!;
    const add = y.uses().length === 1 && !g.outputs.includes(y) ? y.uses()[0]!.node : undefined;
    const biasIdx = add && add.opType === rw.biasOp ? 1 - y.uses()[0]!.index : -1;
    const bias = add && biasIdx >= 0 ? constTensorOf(add.input(biasIdx)) : undefined;
    const useBias = bias && bias.size === w.dims[1] && bias.dims.length <= 2;
    const out = useBias ? add!.outputs[0]! : y;
    const inputs = [a, n.input(1), useBias ? add!.input(biasIdx) : null].filter((v, i) => v !== null || i < 2);
    const gemm = new Node({ opType: rw.to, name: n.name || `${y.name}_gemm`, inputs, outputs: [] });
    g.insertNode(gemm, { before: n });
    if (useBias) g.removeNode(add!, { force: true });
    g.removeNode(n, { force: true });
    out.producer = null;
    gemm.appendOutput(out);
    g.sortTopologically();
    rewritten.push(`${n.label} -> ${rw.to}${useBias ? ` (+ ${add!.label})` : ''}`);
  }
  // int64 indices that fit int32: TensorRT computes in int32.
  const narrowed: string[] = [];
  for (const n of g.nodes) {
    for (const i of INT32_OK_INPUTS[n.opType] ?? []) {
      const v = n.input(i);
      const t = v?.constValue;
      if (!v || !t || t.dtype !== 'int64') continue;
      const nums = t.toNumbers();
      if (nums.some((x) => x > 2147483647 || x < -2147483648)) continue;
      const name = `${v.name}_i32`;
      const nv = g.initializers.get(name) ?? g.addInitializer(new Tensor({ name, dtype: 'int32', dims: t.dims, data: Int32Array.from(nums) }));
      n.setInput(i, nv);
      if (v.uses().length === 0) g.removeInitializer(v.name);
      narrowed.push(`${n.label} input ${i}`);
    }
  }
  return { rewritten, narrowed };
}

/** '10.4' < '10.15': release numbers compare part by part, as numbers. */
function olderThan(a: string, b: string): boolean {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(x!.length, y!.length); i++) if ((x![i] ?? 0) !== (y![i] ?? 0)) return (x![i] ?? 0) < (y![i] ?? 0);
  return false;
}

/** Documented attribute-value and output restrictions (TRT_RESTRICTIONS) that a node breaks. */
export function restrictionIssues(n: Node): TrtIssue[] {
  const r = TRT_RESTRICTIONS[n.opType];
  if (!r) return [];
  const issues: TrtIssue[] = [];
  for (const [name, allowed] of Object.entries(r.attrs ?? {})) {
    const a = n.attr(name);
    const values = a?.type === 'int' || a?.type === 'string' ? [a.value] : a?.type === 'ints' ? a.value : [];
    const bad = values.filter((v) => !allowed.includes(v));
    if (bad.length)
      issues.push({
        rule: 'trt-restriction',
        node: n.label,
        message: `${n.opType} ${name} = ${a!.type === 'ints' ? `[${values.join(',')}]` : JSON.stringify(values[0])} is outside what onnx-tensorrt documents (${allowed.join(', ')})`,
        fix: 'the TensorRT parser may reject it: change the attribute or replace the node before export',
      });
  }
  if (r.firstOutputOnly) {
    const used = n.outputs.slice(1).filter((v) => v.uses().length > 0 || n.graph?.outputs.includes(v));
    if (used.length)
      issues.push({ rule: 'trt-restriction', node: n.label, message: `${n.opType} output ${used.map((v) => v.name).join(', ')} is used; onnx-tensorrt supports only the first output`, fix: 'compute it another way or drop its uses before export' });
  }
  return issues;
}

/** Everything checkable without TensorRT. Errors first (must fix), then warnings. */
export function checkTensorRT(model: Model, opts: Pick<Opts, 'trtVersion' | 'profiles'> = { trtVersion: '10.0' }): { errors: TrtIssue[]; warnings: TrtIssue[] } {
  const errors: TrtIssue[] = [...checkInt8(model)];
  const warnings: TrtIssue[] = [];
  const range = TRT_OPSETS[opts.trtVersion]!;
  const opset = model.opset('') ?? 0;
  if (opset < range.min || opset > range.max)
    errors.push({ rule: 'opset', message: `opset ${opset} is outside ${range.min}-${range.max} (TensorRT ${opts.trtVersion})`, fix: `export with --opset ${DEFAULT_OPSET}` });
  for (const n of model.graph.allNodes()) {
    if (n.domain !== '' || !TRT_SUPPORTED_OPS.has(n.opType)) {
      if (!errors.some((e) => e.node === n.label))
        errors.push({
          rule: 'unsupported-op',
          node: n.label,
          message: `${n.domain ? `${n.domain}::` : ''}${n.opType} is not in onnx-tensorrt's supported operators`,
          fix: 'replace it before export (e.g. with supported ops) or provide a TensorRT plugin for it',
        });
      continue;
    }
    const since = TRT_OPS_SINCE[n.opType];
    if (since && olderThan(opts.trtVersion, since)) {
      errors.push({ rule: 'unsupported-op', node: n.label, message: `${n.opType} is parsed only from TensorRT ${since} on (trtVersion ${opts.trtVersion})`, fix: "target a newer TensorRT (trtVersion '10.15') or replace it before export" });
      continue;
    }
    warnings.push(...restrictionIssues(n));
    const sparse = [...n.attributes.values()].some((a) => a.type === 'sparse_tensor' || a.type === 'sparse_tensors');
    if (sparse) errors.push({ rule: 'sparse-constant', node: n.label, message: 'holds a sparse_value constant', fix: 'densify it (the fold-constants pass turns Constant nodes into dense initializers)' });
    const zp = QDQ_ZERO_POINT[n.opType];
    if (zp !== undefined && n.input(zp)) {
      const t = constTensorOf(n.input(zp));
      if (!t || t.toNumbers().some((x) => x !== 0))
        errors.push({ rule: 'qdq-asymmetric', node: n.label, message: `${n.opType} has a non-zero (or non-constant) zero-point`, fix: 'quantize symmetrically with zero-point 0' });
    }
    const left = LEFTOVER_WARNINGS[n.opType];
    if (left) warnings.push({ ...left, node: n.label });
  }
  if (model.graph.sparseInitializers.length)
    errors.push({ rule: 'sparse-constant', message: `${model.graph.sparseInitializers.length} sparse initializer(s)`, fix: 'store them dense' });
  for (const d of dynamicInputs(model)) {
    if (opts.profiles?.[d.name]) continue;
    const consumer = model.graph.inputs.find((v) => v.name === d.name)?.uses()[0]?.node.label;
    errors.push({
      rule: 'dynamic-shape',
      node: consumer,
      message: `input ${d.name} has dynamic dims [${(d.shape ?? ['?']).map((x) => x ?? '?').join(',')}] and no optimization profile`,
      fix: `fix them (--input-shape ${d.name}:1x…) or give a min/opt/max profile for ${d.name}`,
    });
  }
  for (const v of model.graph.inputs)
    if (v.dtype === 'int64') warnings.push({ rule: 'int64', message: `input ${v.name} is int64`, fix: 'TensorRT computes in int32; feed int32 if values fit' });
  return { errors, warnings };
}

export interface TensorrtResult {
  model: Model;
  sparsity: SparsityReport;
  warnings: TrtIssue[];
  rewrites: { rewritten: string[]; narrowed: string[] };
  trtexec: string;
}

/** The full preparation, without writing: deploy passes, rewrites, checks, 2:4 report (and enforcement). */
export async function prepareTensorRT(input: Model, options: Omit<TensorrtOptions, 'out'> & { out?: string }, ctx?: PluginContext): Promise<TensorrtResult> {
  const opts = parseOptions('tensorrt-export', tensorrtOptionsSchema, { out: '.', ...options });
  const int8 = checkInt8(input);
  if (int8.length) throw err(int8);
  const { model } = await prepareDeployModel(input, { opset: opts.opset, inputShapes: opts.inputShapes, dims: opts.dims }, ctx);
  const rewrites = rewriteForTensorRT(model);
  const { errors, warnings } = checkTensorRT(model, opts);
  if (errors.length) throw err(errors);
  let sparsity = sparsityReport(model, { minChannels: opts.minChannels, registry: ctx?.ops });
  if (opts.enforce2of4) {
    sparsity = enforce24(model, { minChannels: opts.minChannels, registry: ctx?.ops });
    const n = sparsity.layers.filter((l) => l.enforced).length;
    if (n) ctx?.logger.warn(`tensorrt-export: 2:4 pruning changed ${n} layer(s); fine-tune to recover accuracy before deploying`);
  }
  model.setMetadata('shears.sparsity_2of4', JSON.stringify({ eligible: sparsity.eligible, compliant: sparsity.compliant, enforced: opts.enforce2of4 }));
  const hasQdq = [...model.graph.allNodes()].some((n) => n.opType in QDQ_ZERO_POINT);
  return { model, sparsity, warnings, rewrites, trtexec: trtexecCommand(model, opts, hasQdq) };
}

function dimsOf(s: number[]) {
  return s.join('x');
}

export function trtexecCommand(model: Model, opts: Pick<Opts, 'modelName' | 'precision' | 'profiles'>, hasQdq = false): string {
  const stem = opts.modelName.replace(/\.onnx$/, '');
  const args = [`trtexec --onnx=${opts.modelName}`, `--saveEngine=${stem}.engine`, '--sparsity=enable'];
  if (opts.precision === 'fp16' || opts.precision === 'int8') args.push('--fp16');
  if (opts.precision === 'int8' || hasQdq) args.push('--int8');
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const prof = opts.profiles ?? {};
  if (Object.keys(prof).length) {
    for (const k of ['min', 'opt', 'max'] as const) args.push(`--${k}Shapes=${Object.entries(prof).map(([n, p]) => `${n}:${dimsOf(p[k])}`).join(',')}`);
  } else if (inputs.every((v) => v.shape?.every((d) => typeof d === 'number'))) {
    args.push(`--shapes=${inputs.map((v) => `${v.name}:${dimsOf(v.shape as number[])}`).join(',')}`);
  }
  args.push(`--exportLayerInfo=${stem}.trt-layers.json`, '--profilingVerbosity=detailed', '--verbose');
  return args.join(' \\\n  ');
}

function readme(r: TensorrtResult, opts: Opts): string {
  const s = r.sparsity;
  const rows = s.layers.map((l) => `| ${l.name} | ${l.op} | ${l.inChannels}→${l.outChannels} | ${l.eligible ? 'yes' : 'no'} | ${l.compliant ? 'yes' : 'no'} | ${l.reason ?? ''} |`);
  return `# TensorRT build recipe

Written by Shears (\`@shears/export-tensorrt\`). \`${opts.modelName}\` passed every check that can be made
without TensorRT (opset ${r.model.opset('')}, supported ops only, BN and constant sub-graphs folded, static
shapes or profiles, symmetric Q/DQ). Build it on the target (Jetson / GPU box):

\`\`\`sh
${r.trtexec} 2>&1 | tee build.log
\`\`\`

## Confirm that sparse tactics were picked

With \`--sparsity=enable\` and \`--verbose\`, the build log lists
\`Layers eligible for sparse math: …\` and, for each layer where a sparse kernel won the timing,
\`TRT inference plan picked sparse implementation for layers: …\`:

\`\`\`sh
grep -E "eligible for sparse math|picked sparse implementation" build.log
\`\`\`

A layer can be 2:4 compliant and still run dense when the dense tactic is faster (small layers).
\`${opts.modelName.replace(/\.onnx$/, '')}.trt-layers.json\` (from \`--exportLayerInfo\`) shows the tactic of every layer.

## 2:4 sparsity (${s.compliant}/${s.eligible} eligible layers compliant, compliantFraction ${s.compliantFraction.toFixed(2)})
${opts.enforce2of4 ? '\n2:4 was enforced by magnitude pruning: **fine-tune the model to recover accuracy** before deploying.\n' : ''}
| layer | op | C→K | eligible | compliant | why not |
|---|---|---|---|---|---|
${rows.join('\n')}
${r.warnings.length ? `\n## Warnings\n\n${r.warnings.map((w) => `- ${w.node ? `${w.node}: ` : ''}${w.message} — ${w.fix}`).join('\n')}\n` : ''}`;
}

/**
 * Exporter plugin: TensorRT-ready ONNX in a directory, with a JSON layer
 * report (2:4 eligibility/compliance) and a README holding the trtexec command.
 */
export const tensorrtExport = definePluginFactory(
  { name: 'tensorrt-export', kind: 'exporter', description: 'TensorRT-ready ONNX with 2:4 sparsity report, trtexec recipe and optional 2:4 enforcement' },
  (options?: TensorrtOptions): ExporterPlugin => {
    const opts = parseOptions('tensorrt-export', tensorrtOptionsSchema, options);
    const range = TRT_OPSETS[opts.trtVersion]!;
    if (opts.opset < range.min || opts.opset > range.max)
      throw new ShearsError('E_OPTION', `tensorrt-export: option opset: ${opts.opset} is outside ${range.min}-${range.max} for TensorRT ${opts.trtVersion}`, { option: 'opset', plugin: 'tensorrt-export' });
    return definePlugin({
      name: 'tensorrt-export',
      kind: 'exporter',
      version: '0.1.0',
      mutates: false,
      options: { ...opts },
      async export(model, ctx) {
        const r = await prepareTensorRT(model, opts, ctx);
        const modelPath = join(opts.out, opts.modelName);
        const stem = opts.modelName.replace(/\.onnx$/, '');
        const reportPath = join(opts.out, `${stem}.layers.json`);
        const readmePath = join(opts.out, 'README.md');
        const w = await writeChecked(r.model, modelPath, ctx, opts.officialCheck);
        const report = { model: basename(modelPath), opset: r.model.opset(''), ...r.sparsity, warnings: r.warnings, rewrites: r.rewrites, trtexec: r.trtexec.replace(/ \\\n {2}/g, ' ') };
        writeFileSync(ctx.outputs.stage(reportPath), `${JSON.stringify(report, null, 2)}\n`);
        writeFileSync(ctx.outputs.stage(readmePath), readme(r, opts));
        return { files: [modelPath, reportPath, readmePath], details: { ...report, bytes: w.bytes, checker: w.checker } };
      },
    });
  },
);
