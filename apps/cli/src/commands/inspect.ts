import { statSync } from 'node:fs';
import { analyzeModel, formatShape } from '@shears/core';
import { needOne, parse, parseInputShapes } from '../args.js';
import { bytes, pct, si, table } from '../format.js';
import { bold, out, printJson, type CliIO } from '../io.js';
import { loadModel, withFile } from '../load.js';
import { unknownMacsNote } from './stats.js';
import type { Command } from './types.js';

export const inspect: Command = {
  name: 'inspect',
  summary: 'Show a model: inputs, outputs, per-layer params, MACs and sparsity, totals',
  usage: 'shears inspect <model.onnx> [--input-shape name:1x3x224x224] [--json]',
  help: [['--input-shape <name:AxBxC>', 'static size for a dynamic input (repeatable)']],
  examples: ['shears inspect resnet50.onnx', 'shears inspect model.onnx --input-shape input:1x3x224x224 --json'],
  options: { 'input-shape': { type: 'string', multiple: true } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('inspect', argv, this.options);
    const file = needOne('inspect', positionals, 'model file');
    const model = await loadModel(file, { inputShapes: parseInputShapes(values['input-shape'] as string[] | undefined) });
    // Without sizes for every dim, MACs are unknown (null) and a note says which --input-shape gives them.
    const a = await withFile(file, () => analyzeModel(model, { dynamic: 'unknown' }));
    const io_ = (vs: typeof model.graph.inputs) =>
      vs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => ({ name: v.name, shape: v.shape ?? null, dtype: v.dtype ?? null }));
    const summary = {
      file,
      opset: model.opset('') ?? null,
      irVersion: model.irVersion,
      producer: [model.producerName, model.producerVersion].filter(Boolean).join(' ') || null,
      inputs: io_(model.graph.inputs),
      outputs: io_(model.graph.outputs),
      nodes: model.graph.nodes.length,
      params: a.params,
      nonzeroParams: a.nonzeroParams,
      sparsity: a.params ? 1 - a.nonzeroParams / a.params : 0,
      macs: a.macs,
      /** Set when a dynamic batch dim was counted as 1 sample (MACs per sample). */
      assumedBatch: a.assumedBatch ?? null,
      /** Set when MACs are unknown: which input dims are dynamic, and an --input-shape example. */
      macsUnknown: a.dynamicDetails ? unknownMacsNote(a.dynamicDetails) : null,
      bytes: a.bytes,
      fileBytes: statSync(file).size,
      layers: a.layers.map((l) => ({ name: l.name, op: l.op, params: l.params, nonzero: l.nonzero, macs: l.macs, outputShape: l.outputShape ?? null })),
    };
    if (io.json) return printJson(io, summary);
    out(io, `${bold(io, file)}  opset ${summary.opset}  ir ${summary.irVersion}${summary.producer ? `  from ${summary.producer}` : ''}  ${summary.nodes} nodes`);
    for (const v of summary.inputs) out(io, `  input   ${v.name}  ${v.dtype} ${formatShape(v.shape ?? undefined)}`);
    for (const v of summary.outputs) out(io, `  output  ${v.name}  ${v.dtype} ${formatShape(v.shape ?? undefined)}`);
    out(io, '');
    out(
      io,
      table(
        ['layer', 'op', 'output', 'params', 'MACs', 'sparsity'],
        a.layers.map((l) => [l.name, l.op, formatShape(l.outputShape), si(l.params), l.macs === null ? '?' : si(l.macs), l.params ? pct(1 - l.nonzero / l.params) : '-']),
      ),
    );
    out(io, '');
    out(io, `total  params ${si(a.params)} (${a.params})  non-zero ${si(a.nonzeroParams)} (sparsity ${pct(summary.sparsity)})  MACs ${a.macs === null ? '?' : si(a.macs)}  weights ${bytes(a.bytes)}  file ${bytes(summary.fileBytes)}`);
    if (summary.macsUnknown) out(io, summary.macsUnknown);
    if (a.assumedBatch) out(io, `(MACs per sample: the dynamic batch dim of ${a.assumedBatch.inputs.join(', ')} counted as 1; --input-shape sets it)`);
  },
};
