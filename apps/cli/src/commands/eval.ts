import { ShearsError } from '@shears/core';
import { evaluate } from '@shears/runtime';
import { needOne, numberOption, parse, parseInputShapes } from '../args.js';
import { pct } from '../format.js';
import { createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { datasetFor } from './shared.js';
import type { Command } from './types.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Top-1 and top-5 accuracy of a classifier on labelled data',
  usage: 'shears eval <model.onnx> --data <data> [--limit N] [--json]',
  help: [
    ['--data <spec>', 'labelled data: file.npz (x, y), MNIST-style IDX, or an image folder with class sub-folders'],
    ['--limit <n>', 'evaluate at most n samples'],
    ['--batch-size <n>', 'samples per run (a fixed model batch wins)'],
    ['--threads <n>', 'onnxruntime intra-op threads'],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
  ],
  examples: ['shears eval model.onnx --data val.npz', 'shears eval mnist.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --json'],
  options: { data: { type: 'string' }, limit: { type: 'string' }, 'batch-size': { type: 'string' }, threads: { type: 'string' }, 'input-shape': { type: 'string', multiple: true } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('eval', argv, this.options);
    const file = needOne('eval', positionals, 'model file');
    if (!values.data) throw new ShearsError('E_OPTION', 'eval: option --data is required (labelled samples to score)', { option: 'data' });
    const positive = (n: number) => (Number.isInteger(n) && n > 0 ? undefined : 'must be a positive integer');
    const limit = numberOption('eval', 'limit', values.limit, positive);
    const batchSize = numberOption('eval', 'batch-size', values['batch-size'], positive);
    const threads = numberOption('eval', 'threads', values.threads, positive);
    const model = await loadModel(file, { inputShapes: parseInputShapes(values['input-shape'] as string[] | undefined) });
    const data = await datasetFor(model, values.data as string);
    const task = createProgress(io).start('eval', Math.min(data.size, limit ?? Infinity));
    let last = 0;
    const r = await evaluate(model, data, { limit, batchSize, threads, onProgress: (done) => (task.tick(done - last), (last = done)) });
    task.done();
    if (io.json) return printJson(io, r);
    out(io, `accuracy ${pct(r.accuracy, 2)}  top-5 ${pct(r.top5, 2)}  on ${r.samples} samples`);
  },
};
