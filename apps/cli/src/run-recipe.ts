// One function runs a recipe the same from code as from `shears run`: the
// steps, calibration data for data-aware steps, evaluation of the input and
// every model output, and the HTML report.
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import {
  CALIBRATION,
  isShearsError,
  loadRecipe,
  Pipeline,
  pipelineFromRecipe,
  samePath,
  ShearsError,
  silentProgress,
  StateBag,
  type Logger,
  type Model,
  type ModelRuntime,
  type OpRegistry,
  type PipelineResult,
  type Plugin,
  type ProgressReporter,
  type Recipe,
} from '@shears/core';
import { onnxImport, readModel } from '@shears/onnx';
import { loadBuiltins } from './builtins.js';
import { pluginExists, unknownPlugin } from './plugin-name.js';
import { datasetFor } from './commands/shared.js';
import type { EvalSource, Variant, VariantItem } from './variants.js';

export interface RunRecipeOptions {
  /** Plan every strategy step but apply and write nothing (no evaluation, no report). */
  dryRun?: boolean;
  /** Write the HTML report here (overrides the recipe's `report:`). */
  report?: string;
  logger?: Logger;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  onStep?(index: number, total: number, plugin: Plugin): void;
  /** The runtime data-aware steps and evaluation use (default: onnxruntime-node through @shears/runtime). */
  runtime?: ModelRuntime;
  /** The op table of the run (default: the built-in one, extended by the plugins' `ops`). */
  registry?: OpRegistry;
  /** Run the normalize pass right after import (default: the recipe's `normalize:`, else true). */
  normalize?: boolean;
}

export interface RecipeRun {
  recipe: string;
  input: string;
  seconds: number;
  result: PipelineResult;
  /** The input, every `snapshot` step and every .onnx/.tflite output, measured alike (with `evaluate:`). */
  variants: Variant[];
  report?: { path: string; bytes: number };
}

/**
 * Run a recipe file: its steps (an onnxImport first when the recipe names no
 * importer), with `calibration:` opened into the run state, `evaluate:`
 * measured on the input and every model output, and `report:` written.
 * Relative paths in the recipe resolve against its folder (the working
 * directory is that folder while the recipe runs, and restored after).
 */
export async function runRecipe(file: string, opts: RunRecipeOptions = {}): Promise<RecipeRun> {
  const recipe = await loadRecipe(file);
  if (!recipe.input) throw new ShearsError('E_RECIPE', `${file}: input: the recipe needs an input model`, { file, option: 'input' });
  const input = recipe.input;
  const dryRun = opts.dryRun ?? false;
  const reportPath = opts.report ? resolve(opts.report) : recipe.report ? resolve(recipe.baseDir, recipe.report) : undefined;
  if (reportPath && [input, file].some((f) => samePath(f, reportPath)))
    throw new ShearsError('E_IO', `${reportPath}: refusing to write the report over an input file`, { file: reportPath, option: 'report' });
  const cwd = process.cwd();
  process.chdir(recipe.baseDir);
  try {
    const steps = await recipeSteps(opts.normalize === undefined ? recipe : { ...recipe, normalize: opts.normalize }, file);
    checkEvaluate(recipe, file, opts.logger);
    const t0 = performance.now();
    const data = await openRecipeData(recipe, input, file, { dryRun, needDense: !!reportPath });
    const runtime = opts.runtime ?? (await import('@shears/runtime')).createRuntime();
    const state = new StateBag();
    if (data.calibration) state.set(CALIBRATION, data.calibration);
    const result = await steps.run(input, { logger: opts.logger, progress: opts.progress, runtime, registry: opts.registry, dryRun, protect: [file], signal: opts.signal, onStep: opts.onStep, state });
    const seconds = (performance.now() - t0) / 1000;
    const variants = data.evaluation && recipe.evaluate ? await measureOutputs(recipe, input, result, data.evaluation, opts) : [];
    let report: RecipeRun['report'];
    if (reportPath && !dryRun) {
      const [{ runReportData }, { writeReport }] = await Promise.all([import('./run-report.js'), import('@shears/report')]);
      report = writeReport(runReportData(result, { dense: data.dense, title: `Shears run: ${file}`, input, variants, evaluate: recipe.evaluate }), reportPath);
    }
    return { recipe: file, input, seconds, result, variants, report };
  } finally {
    process.chdir(cwd);
  }
}

/** The recipe's steps as a pipeline; only the packages of the plugins it names load. */
async function recipeSteps(recipe: Recipe & { baseDir: string }, file: string): Promise<Pipeline> {
  const map = await loadBuiltins(recipe.steps.map((st) => st.use));
  // A step naming no plugin is a recipe error (exit 2), not a plugin failure.
  for (const [i, st] of recipe.steps.entries())
    if (!pluginExists(st.use, map, recipe.baseDir)) throw new ShearsError('E_RECIPE', `${file}: steps[${i}].use: ${unknownPlugin(st.use, map)}`, { file, option: `steps[${i}].use`, plugin: st.use });
  const p = await pipelineFromRecipe(recipe, { builtins: map });
  // Recipes may leave the importer implicit.
  return p.plugins[0]?.kind === 'importer' ? p : new Pipeline().use(onnxImport({ inputShape: recipe.inputShape }), ...p.plugins);
}

/** Phase: options of `evaluate:` that do not fit its task, and `snapshot` steps that nothing would measure. */
function checkEvaluate(recipe: Recipe, file: string, logger: Logger | undefined): void {
  const ev = recipe.evaluate;
  const bad = (option: string, msg: string) => new ShearsError('E_RECIPE', `${file}: evaluate.${option}: ${msg}`, { file, option: `evaluate.${option}` });
  if (ev && (ev.task ?? 'classify') === 'classify') for (const k of ['conf', 'iou'] as const) if (ev[k] !== undefined) throw bad(k, 'applies to task: detect only');
  if (ev?.task === 'detect' && (ev.bench?.batch ?? 1) !== 1) throw bad('bench.batch', 'detection latency is measured on one letterboxed image (batch 1); remove it or set 1');
  if (!ev && recipe.steps.some((st) => st.use === 'snapshot')) logger?.warn(`${file}: snapshot steps are measured only with evaluate: (none given)`);
}

/**
 * The dense model and the datasets the recipe names, opened before any work
 * so that a bad path fails first. Calibration data is opened on dry runs too
 * (planning needs it); evaluation data and the dense model only when used.
 */
async function openRecipeData(recipe: Recipe, input: string, file: string, how: { dryRun: boolean; needDense: boolean }) {
  let dense: Model | undefined;
  const model = async () => (dense ??= await readModel(input));
  const evaluation = recipe.evaluate && !how.dryRun ? await evalSource(recipe, file, model) : undefined;
  const calibration = recipe.calibration ? await datasetFor(await model(), recipe.calibration.data) : undefined;
  if (how.needDense && !how.dryRun) await model();
  return { dense, evaluation, calibration };
}

/** Phase: what `evaluate:` measures on; a YOLO folder is listed now, its errors naming the recipe and option. */
async function evalSource(recipe: Recipe, file: string, model: () => Promise<Model>): Promise<EvalSource> {
  const ev = recipe.evaluate!;
  if (ev.task !== 'detect') return { task: 'classify', data: await datasetFor(await model(), resolve(ev.data)) };
  const folder = resolve(ev.data);
  try {
    const { listYoloImages, parseYoloLabels } = await import('@shears/runtime');
    // Every label line is checked now (text only), not after the steps have run.
    for (const { label } of listYoloImages(folder)) if (existsSync(label)) parseYoloLabels(readFileSync(label, 'utf8'), relative(folder, label), 1, 1);
  } catch (e) {
    if (isShearsError(e)) throw new ShearsError(e.code, `${file}: evaluate.data: ${e.message}`, { ...e.context(), file, option: 'evaluate.data' });
    throw e;
  }
  return { task: 'detect', folder, inputShape: recipe.inputShape };
}

/** Measure the input, each `snapshot` and every model output alike, in step order. */
async function measureOutputs(recipe: Recipe, input: string, r: PipelineResult, src: EvalSource, opts: RunRecipeOptions): Promise<Variant[]> {
  const [{ measurableFiles, measureVariants, variantName }, { SNAPSHOTS }] = await Promise.all([import('./variants.js'), import('./snapshot.js')]);
  const snapshots = [...(r.state.get(SNAPSHOTS) ?? [])];
  const items: VariantItem[] = [{ name: 'input (dense)', file: input }];
  for (const s of r.steps) {
    if (s.plugin === 'snapshot' && snapshots.length) items.push(snapshots.shift()!);
    for (const f of measurableFiles((s.files ?? []).map((x) => resolve(x)))) items.push({ name: variantName(s.plugin, f), file: f });
  }
  return measureVariants(items, src, recipe.evaluate!, { progress: opts.progress ?? silentProgress, signal: opts.signal, tfliteSource: r.model });
}
