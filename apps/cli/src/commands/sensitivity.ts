import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { RunStager, ShearsError } from '@shears/core';
import { buildReportData, renderReport } from '@shears/report';
import { proposeAmount, scanSensitivity, type SensitivityResult, type SensitivityStrategy } from '@shears/sensitivity';
import { needOne, numberOption, parse, parseInputShapes } from '../args.js';
import { pct } from '../format.js';
import { createLogger, createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel, NO_NORMALIZE_HELP } from '../load.js';
import { datasetFor, shapesFromData } from './shared.js';
import type { Command } from './types.js';

const DEFAULT_AMOUNTS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const NAME = 'sensitivity';

const bad = (option: string, detail: string): never => {
  throw new ShearsError('E_OPTION', `${NAME}: option --${option}: ${detail}`, { option });
};

/** `0.1,0.2,0.5` → sorted, distinct amounts in [0, 1). */
export function parseAmounts(raw: string | undefined): number[] {
  if (raw === undefined) return DEFAULT_AMOUNTS;
  const parts = raw.split(',').map((s) => s.trim());
  if (!parts.length || parts.some((s) => s === '')) bad('amounts', `expected comma-separated numbers in [0, 1), e.g. 0.1,0.3,0.5 (got '${raw}')`);
  const amounts = parts.map(Number);
  for (const [i, a] of amounts.entries()) if (!(Number.isFinite(a) && a >= 0 && a < 1)) bad('amounts', `every amount must be in [0, 1) (got ${parts[i]})`);
  return [...new Set(amounts)].sort((a, b) => a - b);
}

const colour = (io: CliIO, code: number, s: string) => (io.tty ? `\x1b[${code}m${s}\x1b[0m` : s);

/** Layer × amount accuracy table; on a terminal, green within tolerance, yellow within 5×, red beyond. */
export function sensitivityTable(r: SensitivityResult, io: CliIO): string {
  const proposed = r.curves.map((c) => proposeAmount(c.points, r.baseline, r.tolerance));
  const headers = ['layer', ...r.amounts.map((a) => pct(a, 0)), 'proposed'];
  const rows = r.curves.map((c, i) => [c.layer, ...c.points.map((p) => pct(p.accuracy, 1)), pct(proposed[i] ?? 0, 0)]);
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[], paint?: (j: number, s: string) => string) =>
    cells
      .map((c, j) => {
        const s = j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!);
        return paint ? paint(j, s) : s;
      })
      .join('  ')
      .trimEnd();
  const paintRow = (i: number) => (j: number, s: string) => {
    if (j === 0 || j > r.amounts.length) return s;
    const drop = r.baseline - r.curves[i]!.points[j - 1]!.accuracy;
    return colour(io, drop <= r.tolerance + 1e-12 ? 32 : drop <= 5 * r.tolerance ? 33 : 31, s);
  };
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((row, i) => line(row, paintRow(i)))].join('\n');
}

export const sensitivityCommand: Command = {
  name: NAME,
  summary: 'Accuracy with each layer pruned alone at each amount; proposes a per-layer amount table',
  usage: 'shears sensitivity <model.onnx> --data <data> [--strategy filter|unstructured] [--amounts 0.1,0.2,...] [--tolerance 0.01] [-o table.json] [--report out.html] [--json]',
  help: [
    ['--data <spec>', 'labelled data: file.npz (x, y), MNIST-style IDX (dir:split), or an image folder with class sub-folders'],
    ['--strategy <filter|unstructured>', 'what "pruning a layer" means: removing filters of its channel group, or masking weights (default filter)'],
    ['--amounts <list>', 'comma-separated amounts in [0, 1) (default 0.1,0.2,...,0.9)'],
    ['--tolerance <x>', 'largest accuracy drop the proposal accepts, as a fraction (default 0.01 = 1 point)'],
    ['--layers <regex>', 'only layers (labels, group ids, layer or weight names) matching this'],
    ['--workers <n>', 'evaluation worker threads, one onnxruntime thread each (default: available cores; 0 = this thread)'],
    ['--limit <n>', 'evaluate on the first n samples only'],
    ['--batch-size <n>', 'samples per run (a fixed model batch wins)'],
    ['--round-to <n>', 'filter: kept channel counts stay multiples of n (default 8; give prune the same)'],
    ['-o, --output <file>', 'write the proposed {layer: amount} table as JSON, for prune --amount-table (atomically)'],
    ['--report <file>', 'write an HTML report with the sensitivity curves (atomically)'],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
    NO_NORMALIZE_HELP,
  ],
  examples: [
    'shears sensitivity model.onnx --data val.npz -o table.json',
    'shears sensitivity fmnist.onnx --data /usr/share/datasets/fashion-mnist:t10k --limit 500 --amounts 0.25,0.5,0.75 --round-to 1 --report sens.html',
    'shears sensitivity model.onnx --data val.npz --strategy unstructured --tolerance 0.005 --json',
    'shears prune model.onnx -o slim.onnx --strategy filter --amount-table table.json   # then use the table',
    'Exit codes: 2 bad option (--amounts, --strategy, missing --data), 3 bad model or data, 4 onnxruntime failure, 130 interrupted',
  ],
  options: {
    data: { type: 'string' },
    strategy: { type: 'string' },
    amounts: { type: 'string' },
    tolerance: { type: 'string' },
    layers: { type: 'string' },
    workers: { type: 'string' },
    limit: { type: 'string' },
    'batch-size': { type: 'string' },
    'round-to': { type: 'string' },
    output: { type: 'string', short: 'o' },
    report: { type: 'string' },
    'input-shape': { type: 'string', multiple: true },
    'no-normalize': { type: 'boolean' },
  },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse(NAME, argv, this.options);
    const file = needOne(NAME, positionals, 'model file');
    if (!values.data) throw new ShearsError('E_OPTION', `${NAME}: option --data is required (labelled samples to score, e.g. val.npz or an IDX dir:split)`, { option: 'data' });
    const strategy = (values.strategy as string | undefined) ?? 'filter';
    if (strategy !== 'filter' && strategy !== 'unstructured') bad('strategy', `must be filter or unstructured (got '${strategy}')`);
    const amounts = parseAmounts(values.amounts as string | undefined);
    const whole = (min: number) => (n: number) => (Number.isInteger(n) && n >= min ? undefined : `must be a whole number ≥ ${min}`);
    const tolerance = numberOption(NAME, 'tolerance', values.tolerance, (n) => (n >= 0 && n <= 1 ? undefined : 'must be in [0, 1]'));
    const workers = numberOption(NAME, 'workers', values.workers, whole(0));
    const limit = numberOption(NAME, 'limit', values.limit, whole(1));
    const batchSize = numberOption(NAME, 'batch-size', values['batch-size'], whole(1));
    const roundTo = numberOption(NAME, 'round-to', values['round-to'], whole(1));
    if (roundTo !== undefined && strategy !== 'filter') bad('round-to', 'applies to the filter strategy only');
    const layers = values.layers as string | undefined;
    if (layers !== undefined)
      try {
        new RegExp(layers);
      } catch (e) {
        bad('layers', `not a regular expression (${(e as Error).message})`);
      }
    const output = values.output as string | undefined;
    const reportPath = values.report as string | undefined;
    const stager = new RunStager([file]);
    // Refuse bad targets (the input itself) before the long scan.
    const tableTmp = output ? stager.stage(output) : undefined;
    const reportTmp = reportPath ? stager.stage(reportPath) : undefined;
    try {
      const inputShapes = parseInputShapes(values['input-shape'] as string[] | undefined);
      const model = await loadModel(file, { inputShapes, normalize: !values['no-normalize'], logger: createLogger(io) });
      const samples = await datasetFor(model, values.data as string);
      let task: ReturnType<ReturnType<typeof createProgress>['start']> | undefined;
      const r = await scanSensitivity({
        model,
        data: samples,
        strategy: strategy as SensitivityStrategy,
        amounts,
        tolerance,
        workers,
        limit,
        batchSize,
        layers,
        inputShapes,
        strategyOptions: roundTo !== undefined ? { roundTo } : undefined,
        signal: io.signal,
        onProgress: (done, total) => {
          task ??= createProgress(io).start(`${NAME} (${strategy})`, total);
          task.tick();
          if (done === total) task.done();
        },
      });
      if (tableTmp) writeFileSync(tableTmp, `${JSON.stringify(r.proposal, null, 2)}\n`);
      if (reportTmp) {
        // Dims the model leaves open take the data's sample size (batch 1): the report's MACs need them.
        const reportShapes = shapesFromData(model, samples, inputShapes);
        const data = buildReportData(model, { title: `Sensitivity of ${basename(file)} (${strategy})`, model: basename(file), inputShapes: reportShapes });
        data.sensitivity = r.curves;
        data.notes = [
          `Baseline top-1 accuracy ${pct(r.baseline, 2)} on ${r.samples} samples; each curve prunes one layer alone with the ${strategy} strategy.`,
          `Proposed amounts (accuracy drop ≤ ${pct(r.tolerance, 1)}): ${Object.entries(r.proposal)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        ];
        writeFileSync(reportTmp, renderReport(data));
      }
      stager.commit();
      if (io.json) return printJson(io, { input: file, ...r, output: output ?? null, report: reportPath ?? null });
      out(io, `baseline ${pct(r.baseline, 2)} on ${r.samples} samples; ${r.curves.length} layers × ${r.amounts.length} amounts (${strategy}), ${r.evaluations} evaluations in ${r.seconds.toFixed(1)}s`);
      out(io, sensitivityTable(r, io));
      out(io, `proposed: the largest amount per layer within ${pct(r.tolerance, 1)} of the baseline`);
      if (output) out(io, `wrote ${output} (use: shears prune ${file} -o out.onnx --strategy ${strategy} --amount-table ${output}${roundTo !== undefined ? ` --round-to ${roundTo}` : ''})`);
      if (reportPath) out(io, `wrote ${reportPath}`);
    } catch (e) {
      stager.discard();
      throw e;
    }
  },
};
