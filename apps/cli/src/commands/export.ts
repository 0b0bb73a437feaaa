import { basename, extname, join } from 'node:path';
import { INPUT_PATH, pipeline, ShearsError, StateBag, type ExporterPlugin, type Model } from '@shears/core';
import type { ModelCounts } from '@shears/export-onnx';
import { needOne, numberOption, parse, parseInputShapes, type Parsed } from '../args.js';
import { si } from '../format.js';
import { createLogger, createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel, NO_NORMALIZE_HELP } from '../load.js';
import type { Command } from './types.js';
import { inputShapeFlags } from '../input-shape-hint.js';

/** What one format needs from the command line. */
export interface ExportContext {
  file: string;
  output: string;
  values: Parsed['values'];
}

export interface ExportFormat {
  description: string;
  /** Build the exporter plugin from the command line (loaded on demand). */
  exporter(ctx: ExportContext): Promise<ExporterPlugin>;
  /** The JSON report of this format from the exporter's details. */
  report?(details: Record<string, unknown>, files: string[]): Record<string, unknown>;
  /** One human-readable summary line. */
  summary?(details: Record<string, unknown>, files: string[]): string;
  /**
   * Whether to refuse ops unknown to the IR while loading (default true). A
   * format that reports every node it cannot export in one error says false.
   */
  checkOps?: boolean;
}

const opset = (v: Parsed['values']) => numberOption('export', 'opset', v.opset, (n) => (Number.isInteger(n) ? undefined : 'must be an integer'));

/** Output file for single-file formats: -o may name the file or a directory. */
const fileIn = (output: string, file: string, ext: string) => (extname(output) === ext ? output : join(output, `${basename(file, extname(file))}${ext}`));

/** What is known of a model's MACs: per sample when the batch dim is dynamic, `?` (naming the dynamic inputs) when other dims are. */
export function macsText(c: Pick<ModelCounts, 'macs' | 'macsBatch' | 'dynamicInputs' | 'exampleShapes'>): string {
  if (c.macs === null) return `MACs ? (${c.dynamicInputs?.length ? `dynamic dims: ${c.dynamicInputs.join(', ')}; give your real sizes, e.g. ${inputShapeFlags(c.exampleShapes ?? {})}` : 'shapes could not be inferred'})`;
  return `MACs ${si(c.macs)}${c.macsBatch !== undefined ? (c.macsBatch === 1 ? ' per sample' : ` per batch of ${c.macsBatch}`) : ''}`;
}

/** format -> exporter. Each format's package loads only when it is used. */
export const FORMATS: Record<string, ExportFormat> = {
  onnx: {
    description: 'deployable ONNX: strip, fold BN and constants, dedupe, opset conversion, fp16, metadata',
    async exporter({ file, output, values }) {
      const { onnxExport } = await import('@shears/export-onnx');
      return onnxExport({ out: fileIn(output, file, '.onnx'), opset: opset(values), fp16: Boolean(values.fp16), officialCheck: 'auto' });
    },
    report: (d, files) => ({ output: files[0], opset: d.opset ?? null, before: d.before, after: d.after, passes: d.passes, metadata: d.metadata, checker: d.checker ?? null }),
    summary: (d, files) => {
      const a = d.after as ModelCounts;
      const b = d.before as ModelCounts;
      return `wrote ${files[0]}: nodes ${b.nodes} -> ${a.nodes}, ${macsText(a)}`;
    },
  },
  tensorrt: {
    description: 'TensorRT-ready ONNX + 2:4 layer report + README with the trtexec command',
    async exporter({ output, values }) {
      const { tensorrtExport } = await import('@shears/export-tensorrt');
      return tensorrtExport({
        out: output,
        opset: opset(values),
        enforce2of4: Boolean(values['enforce-2of4']),
        precision: values.int8 ? 'int8' : values.fp16 ? 'fp16' : 'fp32',
        officialCheck: 'auto',
      });
    },
    report: (d, files) => ({
      output: files[0],
      files,
      opset: d.opset,
      layers: (d.layers as { name: string; eligible: boolean; compliant: boolean; reason: string | null }[]).map(({ name, eligible, compliant, reason }) => ({ name, eligible, compliant, reason })),
      compliantFraction: d.compliantFraction,
      warnings: d.warnings,
      trtexec: d.trtexec,
    }),
    summary: (d, files) => `wrote ${files.join(', ')}: ${d.compliant}/${d.eligible} eligible layers 2:4 compliant`,
  },
  tflite: {
    description: 'TFLite flatbuffer (NHWC, fused activations, fp16/sparse weights), checked in LiteRT.js against onnxruntime',
    checkOps: false,
    async exporter({ file, output, values }) {
      const { exportTflite } = await import('@shears/export-tflite');
      return exportTflite({
        out: fileIn(output, file, '.tflite'),
        fp16: Boolean(values.fp16),
        sparse: Boolean(values.sparse),
        nhwcIo: Boolean(values['nhwc-io']),
        verify: !values['no-verify'],
        ...(values['grouped-conv'] ? { groupedConv: values['grouped-conv'] as 'split' | 'native' } : {}),
      });
    },
    report: (d) => {
      const c = d.conversion as { inputs: unknown; outputs: unknown; sparse: unknown[]; fp16Tensors: number; rewrites: unknown; warnings: string[] };
      return { path: d.path, bytes: d.bytes, ops: d.ops, maxAbsDiff: d.maxAbsDiff, maxRelDiff: d.maxRelDiff, sizes: d.sizes, inputs: c.inputs, outputs: c.outputs, fp16Tensors: c.fp16Tensors, sparseTensors: c.sparse.length, rewrites: c.rewrites, warnings: c.warnings };
    },
    summary: (d) => {
      const ops = Object.values(d.ops as Record<string, number>).reduce((a, b) => a + b, 0);
      const diff = d.maxAbsDiff === null ? 'not verified' : `max |diff| vs onnxruntime ${(d.maxAbsDiff as number).toExponential(2)}`;
      return `wrote ${d.path} (${d.bytes} bytes, ${ops} ops): ${diff}`;
    },
  },
};

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export a model for deployment (onnx, tensorrt, tflite)',
  usage: 'shears export <model.onnx> --format <format> -o <out> [--opset N] [--fp16] [--enforce-2of4] [--sparse] [--nhwc-io] [--no-verify] [--json]',
  help: [
    ['-f, --format <format>', `one of: ${Object.keys(FORMATS).join(', ')}`],
    ['-o, --output <path>', 'output file (onnx, tflite) or directory (tensorrt)'],
    ['--opset <N>', 'target opset (tensorrt: 9-20, default 17)'],
    ['--fp16', 'onnx: float16 weights (Cast at I/O); tensorrt: build with --fp16; tflite: float16 weights + DEQUANTIZE'],
    ['--int8', 'tensorrt: build with --int8 (the model needs Q/DQ)'],
    ['--enforce-2of4', 'tensorrt: 2:4 magnitude pruning of eligible layers (fine-tune afterwards)'],
    ['--sparse', 'tflite: sparse weights (XNNPACK rules: 1x1 convs with >= 2/3 zeros) + DENSIFY'],
    ['--nhwc-io', 'tflite: rank-4 inputs/outputs NHWC (default: NCHW, as in the ONNX model)'],
    ['--grouped-conv <split|native>', 'tflite: grouped convs as SPLIT+CONV_2D+CONCATENATION (default) or one grouped CONV_2D'],
    ['--no-verify', 'tflite: skip running the file in LiteRT.js against onnxruntime'],
    ['--input-shape <name:AxBxC>', 'fix dynamic input dims (repeatable)'],
    NO_NORMALIZE_HELP,
  ],
  examples: [
    'shears export model.onnx --format onnx -o deploy.onnx --opset 13',
    'shears export model.onnx --format tensorrt -o trt/ --fp16 --enforce-2of4',
    'shears export model.onnx --format tflite -o model.tflite --fp16 --json',
  ],
  options: {
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    opset: { type: 'string' },
    fp16: { type: 'boolean' },
    int8: { type: 'boolean' },
    'enforce-2of4': { type: 'boolean' },
    sparse: { type: 'boolean' },
    'nhwc-io': { type: 'boolean' },
    'grouped-conv': { type: 'string' },
    'no-verify': { type: 'boolean' },
    'input-shape': { type: 'string', multiple: true },
    'no-normalize': { type: 'boolean' },
  },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('export', argv, this.options);
    const file = needOne('export', positionals, 'model file');
    const name = values.format as string | undefined;
    const format = name ? FORMATS[name] : undefined;
    if (!format) throw new ShearsError('E_OPTION', `export: option --format must be one of ${Object.keys(FORMATS).join(', ')}${name ? ` (got ${name})` : ''}`, { option: 'format' });
    const output = values.output as string | undefined;
    if (!output) throw new ShearsError('E_OPTION', 'export: option -o/--output is required', { option: 'output' });
    const inputShapes = parseInputShapes(values['input-shape'] as string[] | undefined);
    const t0 = performance.now();
    const model: Model = await loadModel(file, { inputShapes, checkOps: format.checkOps ?? true, normalize: !values['no-normalize'], logger: createLogger(io) });
    // loadModel already fixed the --input-shape dims on the model.
    const exporter = await format.exporter({ file, output, values });
    const state = new StateBag();
    state.set(INPUT_PATH, file);
    const result = await pipeline(exporter).run(model, { logger: createLogger(io), progress: createProgress(io), protect: [file], state, signal: io.signal });
    const step = result.steps[0]!;
    const details = (step.details ?? {}) as Record<string, unknown>;
    const files = result.files;
    if (io.json) return printJson(io, { input: file, format: name, ...(format.report?.(details, files) ?? { files, details }), seconds: (performance.now() - t0) / 1000 });
    out(io, format.summary?.(details, files) ?? `wrote ${files.join(', ')}`);
  },
};
