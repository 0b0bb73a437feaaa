import { basename, extname, join } from 'node:path';
import { INPUT_PATH, pipeline, ShearsError, StateBag, type ExporterPlugin, type Model } from '@shears/core';
import { needOne, numberOption, parse, parseInputShapes, type Parsed } from '../args.js';
import { createLogger, createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import type { Command } from './types.js';

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
}

const opset = (v: Parsed['values']) => numberOption('export', 'opset', v.opset, (n) => (Number.isInteger(n) ? undefined : 'must be an integer'));

/** Output file for single-file formats: -o may name the file or a directory. */
const fileIn = (output: string, file: string, ext: string) => (extname(output) === ext ? output : join(output, `${basename(file, extname(file))}${ext}`));

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
      const a = d.after as { nodes: number; macs: number };
      const b = d.before as { nodes: number; macs: number };
      return `wrote ${files[0]}: nodes ${b.nodes} -> ${a.nodes}, MACs ${a.macs}`;
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
};

export const exportCommand: Command = {
  name: 'export',
  summary: 'Export a model for deployment (onnx, tensorrt, …)',
  usage: 'shears export <model.onnx> --format <format> -o <out> [--opset N] [--fp16] [--enforce-2of4] [--json]',
  help: [
    ['-f, --format <format>', `one of: ${Object.keys(FORMATS).join(', ')}`],
    ['-o, --output <path>', 'output file (onnx) or directory (tensorrt)'],
    ['--opset <N>', 'target opset (tensorrt: 9-20, default 17)'],
    ['--fp16', 'onnx: float16 weights (Cast at I/O); tensorrt: build with --fp16'],
    ['--int8', 'tensorrt: build with --int8 (the model needs Q/DQ)'],
    ['--enforce-2of4', 'tensorrt: 2:4 magnitude pruning of eligible layers (fine-tune afterwards)'],
    ['--input-shape <name:AxBxC>', 'fix dynamic input dims (repeatable)'],
  ],
  examples: ['shears export model.onnx --format onnx -o deploy.onnx --opset 13', 'shears export model.onnx --format tensorrt -o trt/ --fp16 --enforce-2of4'],
  options: {
    format: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    opset: { type: 'string' },
    fp16: { type: 'boolean' },
    int8: { type: 'boolean' },
    'enforce-2of4': { type: 'boolean' },
    'input-shape': { type: 'string', multiple: true },
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
    const model: Model = await loadModel(file, { inputShapes });
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
