import { resolve } from 'node:path';
import { CALIBRATION, loadRecipe, Pipeline, pipelineFromRecipe, samePath, ShearsError, StateBag, type Model } from '@shears/core';
import { onnxImport, readModel } from '@shears/onnx';
import { createRuntime } from '@shears/runtime';
import { needOne, parse } from '../args.js';
import { loadBuiltins } from '../builtins.js';
import { pluginExists, unknownPlugin } from '../plugin-name.js';
import { bytes, pct, si, table } from '../format.js';
import { bold, createLogger, dim, createProgress, out, printJson, type CliIO } from '../io.js';
import { datasetFor } from './shared.js';
import type { Command } from './types.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a pipeline recipe (YAML or JSON): import, prune, fine-tune, export, evaluate, report',
  usage: 'shears run <recipe.yaml> [--report out.html] [--dry-run] [--json]',
  help: [
    ['--report <file.html>', "write the run's HTML report here (overrides the recipe's report:)"],
    ['--dry-run', 'plan every strategy step but apply and write nothing'],
  ],
  examples: ['shears run examples/demo/recipe.yaml', 'shears run recipe.json --report run.html --json'],
  options: { 'dry-run': { type: 'boolean' }, report: { type: 'string' } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('run', argv, this.options);
    const file = needOne('run', positionals, 'recipe file');
    const recipe = await loadRecipe(file);
    if (!recipe.input) throw new ShearsError('E_RECIPE', `${file}: input: the recipe needs an input model`, { file, option: 'input' });
    const dryRun = Boolean(values['dry-run']);
    const reportPath = values.report ? resolve(String(values.report)) : recipe.report ? resolve(recipe.baseDir, recipe.report) : undefined;
    if (reportPath && [recipe.input, file].some((f) => samePath(f, reportPath)))
      throw new ShearsError('E_IO', `${reportPath}: refusing to write the report over an input file`, { file: reportPath, option: 'report' });
    const cwd = process.cwd();
    // Relative paths in a recipe (data, outputs) are relative to the recipe, as its input is.
    process.chdir(recipe.baseDir);
    try {
      // Only the packages of the plugins the recipe names load.
      const map = await loadBuiltins(recipe.steps.map((st) => st.use));
      // A step naming no plugin is a recipe error (exit 2), not a plugin failure.
      for (const [i, st] of recipe.steps.entries())
        if (!pluginExists(st.use, map, recipe.baseDir)) throw new ShearsError('E_RECIPE', `${file}: steps[${i}].use: ${unknownPlugin(st.use, map)}`, { file, option: `steps[${i}].use`, plugin: st.use });
      const p = await pipelineFromRecipe(recipe, { builtins: map });
      // Recipes may leave the importer implicit.
      const steps = p.plugins[0]?.kind === 'importer' ? p : new Pipeline().use(onnxImport({ inputShape: recipe.inputShape }), ...p.plugins);
      const logger = createLogger(io);
      const progress = createProgress(io);
      const t0 = performance.now();
      // Open the evaluation data first: a bad path fails before any work.
      let dense: Model | undefined;
      let evalData: Awaited<ReturnType<typeof datasetFor>> | undefined;
      if ((recipe.evaluate || reportPath) && !dryRun) dense = await readModel(recipe.input);
      if (recipe.evaluate && !dryRun) evalData = await datasetFor(dense!, resolve(recipe.evaluate.data));
      // Calibration data for data-aware steps (planning needs it too, so also on dry runs).
      const state = new StateBag();
      if (recipe.calibration) {
        dense ??= await readModel(recipe.input);
        state.set(CALIBRATION, await datasetFor(dense, recipe.calibration.data));
      }
      // Step announcements are for people; --json keeps stderr for warnings and errors.
      const onStep = io.json ? undefined : (i: number, n: number, pl: { name: string; kind: string }) => logger.info(dim(io, `step ${i + 1}/${n}: ${pl.name} (${pl.kind})`));
      const r = await steps.run(recipe.input, { logger, progress, runtime: createRuntime(), dryRun, protect: [file], signal: io.signal, onStep, state });
      const seconds = (performance.now() - t0) / 1000;

      // Measure the input and every model output alike, then write the report.
      const { measurableFiles, measureVariants, variantName } = await import('../variants.js');
      let variants: Awaited<ReturnType<typeof measureVariants>> = [];
      if (recipe.evaluate && evalData) {
        const items = [{ name: 'input (dense)', file: recipe.input }];
        for (const s of r.steps) for (const f of measurableFiles((s.files ?? []).map((x) => resolve(x)))) items.push({ name: variantName(s.plugin, f), file: f });
        variants = await measureVariants(items, evalData, recipe.evaluate, { progress, signal: io.signal, tfliteSource: r.model });
      }
      let report: { path: string; bytes: number } | undefined;
      if (reportPath && !dryRun) {
        const [{ runReportData }, { writeReport }] = await Promise.all([import('../run-report.js'), import('@shears/report')]);
        const data = runReportData(r, { dense, title: `Shears run: ${file}`, input: recipe.input, variants, evaluate: recipe.evaluate });
        report = writeReport(data, reportPath);
      }
      const summary = {
        recipe: file,
        input: recipe.input,
        seconds,
        steps: r.steps.map((s) => ({ plugin: s.plugin, kind: s.kind, seconds: s.seconds, modified: s.modified, files: s.files ?? [], details: s.details ?? null, skipped: s.plan?.skipped ?? [] })),
        files: r.files,
        variants,
        report: report?.path ?? null,
      };
      if (io.json) return printJson(io, summary);
      for (const s of summary.steps) out(io, `${s.plugin.padEnd(20)} ${s.kind.padEnd(10)} ${s.seconds.toFixed(2)}s${s.modified ? '  modified' : ''}`);
      for (const f of r.files) out(io, `wrote ${f}`);
      if (variants.length) {
        out(io, '');
        out(io, bold(io, 'before / after'));
        out(io, variantTable(variants));
      }
      if (report) out(io, `\nreport ${report.path}`);
    } finally {
      process.chdir(cwd);
    }
  },
};

/** One row per model file, with ratios against the first (the dense input). Params are all float parameters; non-zero the ones not pruned to zero. */
export function variantTable(variants: Awaited<ReturnType<typeof import('../variants.js')['measureVariants']>>): string {
  const base = variants[0]!;
  const ratio = (a: number | undefined, b: number | undefined) => (a && b ? `${(b / a).toFixed(2)}×` : '-');
  return table(
    ['model', 'accuracy', 'Δ acc', 'params', 'non-zero', 'MACs', 'size', 'latency', 'speed-up', 'runtime'],
    variants.map((v) => [
      v.name,
      v.accuracy === undefined ? '-' : pct(v.accuracy, 2),
      v === base || v.accuracy === undefined || base.accuracy === undefined ? '-' : `${((v.accuracy - base.accuracy) * 100).toFixed(2)} pt`,
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
