import { compare } from '@shears/runtime';
import { numberOption, parse, parseInputShapes } from '../args.js';
import { out, printJson, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { ShearsError } from '@shears/core';
import { datasetFor } from './shared.js';
import type { Command } from './types.js';

export const compareCommand: Command = {
  name: 'compare',
  summary: 'Run two models on the same inputs: max abs difference and cosine similarity of outputs',
  usage: 'shears compare <a.onnx> <b.onnx> [--data <data>] [--limit 64] [--json]',
  help: [
    ['--data <spec>', 'inputs to use (default: one seeded random batch)'],
    ['--limit <n>', 'at most n samples from --data (default 64)'],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
  ],
  examples: ['shears compare dense.onnx pruned.onnx', 'shears compare a.onnx b.onnx --data val.npz --json'],
  options: { data: { type: 'string' }, limit: { type: 'string' }, 'input-shape': { type: 'string', multiple: true } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('compare', argv, this.options);
    if (positionals.length !== 2) throw new ShearsError('E_OPTION', `compare: expected two model files, got ${positionals.length}`, { option: 'models' });
    const inputShapes = parseInputShapes(values['input-shape'] as string[] | undefined);
    const [a, b] = [await loadModel(positionals[0]!, { inputShapes }), await loadModel(positionals[1]!, { inputShapes })];
    const data = values.data ? await datasetFor(a, values.data as string) : undefined;
    const limit = numberOption('compare', 'limit', values.limit, (n) => (Number.isInteger(n) && n > 0 ? undefined : 'must be a positive integer'));
    const r = await compare(a, b, { data, limit });
    if (io.json) return printJson(io, r);
    out(io, `max |a-b| ${r.maxAbsDiff.toExponential(3)}  (relative ${r.maxRelDiff.toExponential(3)})  cosine ${r.cosine.toFixed(6)}  on ${r.samples} samples`);
  },
};
