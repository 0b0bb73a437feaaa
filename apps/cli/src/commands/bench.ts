import { bench } from '@shears/runtime';
import { needOne, numberOption, parse, parseInputShapes } from '../args.js';
import { out, printJson, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import type { Command } from './types.js';

const LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'Measure inference latency (median and p90 over warm runs) in onnxruntime-node',
  usage: 'shears bench <model.onnx> [--runs 30] [--warmup 5] [--threads N] [--opt-level all] [--json]',
  help: [
    ['--runs <n>', 'timed runs (default 30)'],
    ['--warmup <n>', 'untimed runs first (default 5)'],
    ['--threads <n>', 'intra-op threads (default: all cores)'],
    ['--opt-level <level>', `graph optimization: ${LEVELS.join(', ')} (default all)`],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
  ],
  examples: ['shears bench resnet50.onnx', 'shears bench pruned.onnx --threads 1 --runs 100 --json'],
  options: { runs: { type: 'string' }, warmup: { type: 'string' }, threads: { type: 'string' }, 'opt-level': { type: 'string' }, 'input-shape': { type: 'string', multiple: true } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('bench', argv, this.options);
    const file = needOne('bench', positionals, 'model file');
    const positive = (n: number) => (Number.isInteger(n) && n > 0 ? undefined : 'must be a positive integer');
    const level = (values['opt-level'] as string | undefined) ?? 'all';
    if (!LEVELS.includes(level as (typeof LEVELS)[number]))
      numberOption('bench', 'opt-level', level, () => `must be one of ${LEVELS.join(', ')}`);
    const model = await loadModel(file, { inputShapes: parseInputShapes(values['input-shape'] as string[] | undefined) });
    const r = await bench(model, {
      runs: numberOption('bench', 'runs', values.runs, positive),
      warmup: numberOption('bench', 'warmup', values.warmup, (n) => (Number.isInteger(n) && n >= 0 ? undefined : 'must be a whole number')),
      threads: numberOption('bench', 'threads', values.threads, positive),
      graphOptimization: level as (typeof LEVELS)[number],
    });
    if (io.json) return printJson(io, { latencyMs: { median: r.latencyMs.median, p90: r.latencyMs.p90 }, threads: r.threads, runs: r.runs, inputs: r.inputs });
    const shapes = Object.entries(r.inputs).map(([name, dims]) => `${name} ${dims.join('x')}`).join(', ');
    out(io, `latency median ${r.latencyMs.median.toFixed(3)} ms  p90 ${r.latencyMs.p90.toFixed(3)} ms  (${r.runs} runs, ${r.threads} threads, ${shapes})`);
  },
};
