import { needOne, parse } from '../args.js';
import { bytes, pct, si, table } from '../format.js';
import { bold, createLogger, dim, createProgress, out, printJson, type CliIO } from '../io.js';
import { runRecipe } from '../run-recipe.js';
import type { Variant } from '../variants.js';
import type { Command } from './types.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a pipeline recipe (YAML or JSON): import, prune, fine-tune, export, evaluate, report',
  usage: 'shears run <recipe.yaml> [--report out.html] [--dry-run] [--json]',
  help: [
    ['--report <file.html>', "write the run's HTML report here (overrides the recipe's report:)"],
    ['--dry-run', 'plan every strategy step but apply and write nothing'],
    ['--no-normalize', "do not run the normalize pass after import (as the recipe's normalize: false)"],
  ],
  examples: ['shears run examples/demo/recipe.yaml', 'shears run recipe.json --report run.html --json'],
  options: { 'dry-run': { type: 'boolean' }, report: { type: 'string' }, 'no-normalize': { type: 'boolean' } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('run', argv, this.options);
    const file = needOne('run', positionals, 'recipe file');
    const logger = createLogger(io);
    // Step announcements are for people; --json keeps stderr for warnings and errors.
    const onStep = io.json ? undefined : (i: number, n: number, pl: { name: string; kind: string }) => logger.info(dim(io, `step ${i + 1}/${n}: ${pl.name} (${pl.kind})`));
    const run = await runRecipe(file, {
      dryRun: Boolean(values['dry-run']),
      ...(values['no-normalize'] ? { normalize: false } : {}),
      report: values.report ? String(values.report) : undefined,
      logger,
      progress: createProgress(io),
      signal: io.signal,
      onStep,
    });
    const r = run.result;
    const summary = {
      recipe: file,
      input: run.input,
      seconds: run.seconds,
      steps: r.steps.map((s) => ({ plugin: s.plugin, kind: s.kind, seconds: s.seconds, modified: s.modified, files: s.files ?? [], details: s.details ?? null, skipped: s.plan?.skipped ?? [] })),
      files: r.files,
      variants: run.variants,
      report: run.report?.path ?? null,
    };
    if (io.json) return printJson(io, summary);
    for (const s of summary.steps) out(io, `${s.plugin.padEnd(20)} ${s.kind.padEnd(10)} ${s.seconds.toFixed(2)}s${s.modified ? '  modified' : ''}`);
    for (const f of r.files) out(io, `wrote ${f}`);
    if (run.variants.length) {
      out(io, '');
      out(io, bold(io, 'before / after'));
      out(io, variantTable(run.variants));
    }
    if (run.report) out(io, `\nreport ${run.report.path}`);
  },
};

/** One row per model file, with ratios against the first (the dense input). Params are all float parameters; non-zero the ones not pruned to zero. Detectors show mAP@0.5 and mAP@0.5:0.95 in place of accuracy. */
export function variantTable(variants: Variant[]): string {
  const base = variants[0]!;
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(b / a).toFixed(2)}×` : '-');
  const detect = variants.some((v) => v.map !== undefined);
  const delta = (v: Variant, k: 'accuracy' | 'map') => (v === base || v[k] === undefined || base[k] === undefined ? '-' : `${((v[k]! - base[k]!) * 100).toFixed(2)} pt`);
  const quality = (v: Variant) =>
    detect ? [v.map50 === undefined ? '-' : pct(v.map50, 2), v.map === undefined ? '-' : pct(v.map, 2), delta(v, 'map')] : [v.accuracy === undefined ? '-' : pct(v.accuracy, 2), delta(v, 'accuracy')];
  return table(
    ['model', ...(detect ? ['mAP@.5', 'mAP@.5:.95', 'Δ mAP'] : ['accuracy', 'Δ acc']), 'params', 'non-zero', 'MACs', 'size', 'latency', 'speed-up', 'runtime'],
    variants.map((v) => [
      v.name,
      ...quality(v),
      si(v.params),
      si(v.nonzeroParams),
      si(v.macs),
      bytes(v.bytes),
      v.latencyMs === undefined ? '-' : `${v.latencyMs.toFixed(3)} ms`,
      v.runtime === base.runtime ? ratio(v.latencyMs, base.latencyMs) : '-',
      `${v.runtime} b${v.batch ?? 1}`,
    ]),
  );
}
