import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { CALIBRATION, CURRENT_CRITERION, maskCount, pipeline, resolvePlugin, RunStager, samePath, serializePlan, ShearsError, StateBag, type CriterionPlugin, type Model, type PruningPlan, type StrategyPlugin } from '@shears/core';
import { onnxWrite } from '@shears/onnx';
import { needOne, numberOption, parse, parseInputShapes } from '../args.js';
import { loadBuiltins } from '../builtins.js';
import { checkPluginKind, checkPluginOption } from '../plugin-name.js';
import { pct, si } from '../format.js';
import { createLogger, createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel, NO_NORMALIZE_HELP, withFile } from '../load.js';
import type { ModelRuntime } from '@shears/core';
import { stats, unknownMacsNote } from './stats.js';
import type { Command } from './types.js';

/** Flags passed to the strategy as options (camelCased), when given. */
const STRATEGY_FLAGS = ['amount', 'scope', 'allocation', 'pattern', 'target-macs', 'target-params', 'round-to', 'exclude', 'max-layer-amount', 'selection', 'calib-samples', 'positions-per-image'] as const;
const NUMERIC = new Set(['amount', 'target-macs', 'target-params', 'round-to', 'max-layer-amount', 'calib-samples', 'positions-per-image']);

const camel = (s: string) => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

export const prune: Command = {
  name: 'prune',
  summary: 'Prune a model with a strategy plugin (built-in name, module path or package)',
  usage: 'shears prune <model.onnx> -o <out.onnx> --strategy <name|module> [--amount 0.5] [--criterion <name|module>] [--calib <data>] [--json]',
  help: [
    ['-o, --output <file>', 'pruned model (never the input; written atomically)'],
    ['--strategy <name|module>', 'a built-in strategy (see shears plugins), a module path, or a package name'],
    ['--criterion <name|module>', 'importance criterion plugin for the strategy'],
    ['--amount <x>', 'fraction to prune, in [0, 1)'],
    ['--scope <global|layer>', 'one threshold across layers, or the same amount per layer'],
    ['--allocation <uniform|erk|lamp>', 'unstructured, scope layer: how the amount spreads over layers'],
    ['--pattern <N:M>', 'semi-structured N:M sparsity, e.g. 2:4'],
    ['--target-macs <ratio>', 'structured: prune until MACs are ratio × original (within ±0.02 where reachable; says why when not)'],
    ['--target-params <ratio>', 'structured: prune until parameters are ratio × original (within ±0.02 where reachable)'],
    ['--round-to <n>', 'structured: keep channel counts multiples of n (default 8; --round-to 1 for the finest steps)'],
    ['--exclude <regex>', 'leave matching layers dense'],
    ['--max-layer-amount <x>', 'cap any one layer at this fraction'],
    ['--amount-table <file|json>', 'unstructured and filter: per-layer amounts {"layerNameOrRegex": amount}, e.g. from shears sensitivity -o; others get --amount, or stay whole'],
    ['--set <key=value>', 'any other strategy option (value parsed as JSON when it can be); repeatable'],
    ['--calib <data>', 'calibration data for data-aware criteria and the channel strategy (npz, IDX, image folder, random:N)'],
    ['--selection <greedy|lasso|l1>', 'channel strategy: how input channels are chosen'],
    ['--calib-samples <n>', 'calibration images to use'],
    ['--positions-per-image <n>', 'channel strategy: output positions sampled per image and layer'],
    ['--no-reconstruct', 'channel strategy: only remove the chosen channels, do not refit the consumers by least squares'],
    ['--sparse-format', 'store pruned weights as ONNX sparse initializers where that is smaller (under 1/3 non-zero)'],
    ['--plan <file>', 'also write the pruning plan as JSON'],
    ['--report <file.html>', 'also write an HTML report: before/after, per-layer sparsity and channels, the plan'],
    ['--dry-run', 'plan only; write nothing but --plan'],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
    NO_NORMALIZE_HELP,
  ],
  examples: [
    'shears prune resnet50.onnx -o sparse.onnx --strategy unstructured --amount 0.5 --scope global',
    'shears prune model.onnx -o out.onnx --strategy ./my-strategy.mjs --set threshold=0.01',
    'shears prune model.onnx -o out.onnx --strategy filter --target-macs 0.5 --json',
    'shears prune model.onnx -o out.onnx --strategy filter --amount-table table.json --round-to 1',
    'shears prune model.onnx -o out.onnx --strategy channel --calib data.npz --amount 0.5 --selection greedy',
    'shears prune model.onnx -o out.onnx --strategy channel --calib data.npz --target-macs 0.5 --no-reconstruct',
  ],
  options: {
    output: { type: 'string', short: 'o' },
    strategy: { type: 'string' },
    criterion: { type: 'string' },
    ...Object.fromEntries(STRATEGY_FLAGS.map((f) => [f, { type: 'string' as const }])),
    'amount-table': { type: 'string' },
    set: { type: 'string', multiple: true },
    calib: { type: 'string' },
    plan: { type: 'string' },
    'dry-run': { type: 'boolean' },
    'no-reconstruct': { type: 'boolean' },
    'sparse-format': { type: 'boolean' },
    'input-shape': { type: 'string', multiple: true },
    report: { type: 'string' },
    'no-normalize': { type: 'boolean' },
  },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('prune', argv, this.options);
    const file = needOne('prune', positionals, 'model file');
    const strategyName = values.strategy as string | undefined;
    if (!strategyName) throw new ShearsError('E_OPTION', 'prune: option --strategy is required (see shears plugins)', { option: 'strategy' });
    const output = values.output as string | undefined;
    const dryRun = Boolean(values['dry-run']);
    if (!output && !dryRun) throw new ShearsError('E_OPTION', 'prune: option -o/--output is required', { option: 'output' });
    if (values.report && [file, output].some((f) => f && samePath(f, String(values.report))))
      throw new ShearsError('E_IO', `${values.report}: refusing to write the report over an input file`, { file: String(values.report), option: 'report' });
    const options = strategyOptions(values, strategyName);
    const t0 = performance.now();
    const logger = createLogger(io);
    const model = await loadModel(file, { inputShapes: parseInputShapes(values['input-shape'] as string[] | undefined), normalize: !values['no-normalize'], logger });
    // The strategy reads every weight anyway: load (align) them now, so the
    // non-zero count runs over float32 arrays, not over misaligned bytes.
    for (const v of model.graph.initializers.values()) if (v.constValue?.dtype === 'float32') void v.constValue.values;
    const before = await withFile(file, () => stats(model));
    // Only the packages of the plugins named here load (not tfjs, LiteRT.js, the other strategies…).
    const map = await loadBuiltins([strategyName, values.criterion as string | undefined], { warn: logger.warn });
    // A name that is no plugin, or a plugin of the wrong kind, is bad usage (exit 2).
    checkPluginOption('prune', 'strategy', strategyName, 'strategy', map);
    if (values.criterion) checkPluginOption('prune', 'criterion', String(values.criterion), 'criterion', map);
    const strategy = await resolvePlugin(strategyName, options, { builtins: map });
    checkPluginKind('prune', 'strategy', strategyName, 'strategy', strategy.kind);
    const state = new StateBag();
    if (values.criterion) {
      const crit = await resolvePlugin(values.criterion as string, undefined, { builtins: map });
      checkPluginKind('prune', 'criterion', String(values.criterion), 'criterion', crit.kind);
      state.set(CURRENT_CRITERION, crit as CriterionPlugin);
    }
    if (values.calib) state.set(CALIBRATION, await (await import('./shared.js')).datasetFor(model, values.calib as string));
    const p = pipeline(strategy as StrategyPlugin);
    if (output && !dryRun) p.use(values['sparse-format'] ? (await import('@shears/prune-unstructured')).onnxSparseWrite({ out: output }) : onnxWrite({ out: output }));
    const result = await p.run(model, { logger, progress: createProgress(io), runtime: lazyRuntime(), dryRun, protect: [file], state, signal: io.signal });
    const plan = result.steps[0]!.plan!;
    if (values.plan) writePlan(values.plan as string, plan, file);
    const reportFile = values.report && !dryRun ? await (await import('../run-report.js')).writeRunReport(String(values.report), result, { input: file, title: `shears prune ${file}`, protect: [output!] }) : null;
    const after = stats(result.model);
    const report = {
      input: file,
      output: dryRun ? null : output,
      strategy: strategy.name,
      criterion: (values.criterion as string | undefined) ?? plan.criterion ?? null,
      dryRun,
      before: pick(before),
      after: pick(after),
      // Why MACs are null: input dims stay unknown (with an --input-shape example).
      ...(before.dynamic ? { macsUnknown: unknownMacsNote(before.dynamic) } : {}),
      seconds: (performance.now() - t0) / 1000,
      // Of the weights the plan masked (the tensors it names), the fraction pruned: what --amount asks for.
      achievedSparsity: maskedFraction(plan, result.model, result.steps[0]!.details?.masked as Record<string, number> | undefined),
      // Zeros among all float parameters (biases, norms and layers left dense included).
      modelSparsity: 1 - after.nonzeroParams / Math.max(1, after.params),
      skipped: plan.skipped,
      // A MACs or params target: the goal, the ratio reached, and why not when it missed.
      target: (plan.details?.target as Record<string, unknown> | undefined) ?? null,
      // Structured plans: channels removed per group (from the applier).
      channels: (result.steps[0]!.details?.channels as { groups: number; channels: number } | undefined) ?? null,
      layers: layerDiff(before.layers, after.layers),
      // Strategies that refit weights (channel) report each layer's reconstruction error.
      ...(Array.isArray(plan.details?.layers) ? { reconstruction: plan.details.layers } : {}),
      // …and the consumers they could not refit (whose groups they left unpruned), with the reason.
      ...(Array.isArray(plan.details?.notRefit) ? { notRefit: plan.details.notRefit } : {}),
      report: reportFile,
    };
    if (io.json) return printJson(io, report);
    const s = (x: typeof report.before) => `params ${si(x.params)}  non-zero ${si(x.nonzeroParams)}  MACs ${x.macs === null ? '?' : si(x.macs)}`;
    const macsRatio = report.before.macs === null || report.after.macs === null ? '?' : (report.after.macs / Math.max(1, report.before.macs)).toFixed(3);
    out(io, `before  ${s(report.before)}`);
    out(io, `after   ${s(report.after)}  (sparsity ${pct(report.modelSparsity)}, MACs ×${macsRatio})`);
    if (report.macsUnknown) logger.info(report.macsUnknown);
    const tg = report.target as { metric: string; goal: number; achieved: number; reached: boolean } | null;
    if (tg) out(io, `target  ${tg.metric === 'macs' ? 'MACs' : 'params'} ${tg.goal}: reached ${tg.achieved.toFixed(3)}${tg.reached ? '' : ' (not within ±0.02; see the warning)'}`);
    if (report.achievedSparsity !== null) out(io, `pruned  ${pct(report.achievedSparsity)} of the weights the plan masks`);
    if (report.channels) out(io, `removed ${report.channels.channels} channels in ${report.channels.groups} groups (params ×${(report.after.params / Math.max(1, report.before.params)).toFixed(3)})`);
    // The first two skip notes of groups (the model's own were warnings; a model with every group pinned has one per group); --json lists them all.
    const groupNotes = plan.skipped.filter((sk) => sk.target !== 'model');
    for (const sk of groupNotes.slice(0, 2)) logger.info(`skipped ${sk.target}: ${sk.reason}`);
    if (groupNotes.length > 2) logger.info(`skipped ${groupNotes.length - 2} more (--json or --plan lists them all)`);
    out(io, dryRun ? `dry run: nothing written${values.plan ? `; plan in ${values.plan}` : ''}` : `wrote ${output} in ${report.seconds.toFixed(2)}s`);
    if (reportFile) out(io, `report ${reportFile}`);
  },
};

/** The model runtime for plugins, with onnxruntime-node loaded only when one runs a model (magnitude pruning never does). */
function lazyRuntime(): ModelRuntime {
  let rt: Promise<ModelRuntime> | undefined;
  const load = () => (rt ??= import('@shears/runtime').then((m) => m.createRuntime()));
  return {
    name: 'onnxruntime-node',
    threads: Math.max(1, availableParallelism()),
    async session(model, opts) {
      return (await load()).session(model, opts);
    },
    async run(model, feeds, opts) {
      return (await load()).run(model, feeds, opts);
    },
  };
}

/** Pruned fraction of the weights named by the plan's mask actions (null without any). */
function maskedFraction(plan: PruningPlan, model: Model, applied?: Record<string, number>): number | null {
  // The applier's per-tensor counts when it ran (a mask action may build its index list on each read).
  const pruned = new Map<string, number>(applied ? Object.entries(applied) : []);
  if (!applied) for (const a of plan.actions) if (a.type === 'mask') pruned.set(a.tensor, (pruned.get(a.tensor) ?? 0) + maskCount(a));
  let weights = 0;
  let count = 0;
  for (const [name, n] of pruned) {
    weights += model.graph.initializer(name)?.size ?? 0;
    count += n;
  }
  return weights ? count / weights : null;
}

function pick(s: { params: number; nonzeroParams: number; macs: number | null; bytes: number }) {
  return { params: s.params, nonzeroParams: s.nonzeroParams, macs: s.macs, bytes: s.bytes };
}

type Layer = ReturnType<typeof stats>['layers'][number];

function layerDiff(before: Layer[], after: Layer[]) {
  const byName = new Map(after.map((l) => [l.name, l]));
  return before.map((b) => {
    const a = byName.get(b.name);
    return {
      name: b.name,
      op: b.op,
      params: { before: b.params, after: a?.params ?? 0 },
      nonzero: { before: b.nonzero, after: a?.nonzero ?? 0 },
      macs: { before: b.macs, after: a?.macs ?? 0 },
      sparsity: a && a.params ? 1 - a.nonzero / a.params : 1,
    };
  });
}

function strategyOptions(values: Record<string, unknown>, strategy: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const f of STRATEGY_FLAGS) {
    const raw = values[f];
    if (raw === undefined) continue;
    options[camel(f)] = NUMERIC.has(f) ? numberOption('prune', f, raw) : raw;
  }
  // The channel strategy's `reconstruct: false`; other strategies reject the option by name.
  if (values['no-reconstruct']) options.reconstruct = false;
  // One way to say how much: a usage error naming the flags given.
  const amounts = ['amount', 'target-macs', 'target-params', 'amount-table'].filter((f) => values[f] !== undefined && !(f === 'amount' && values['amount-table'] !== undefined));
  if (amounts.length > 1)
    throw new ShearsError('E_OPTION', `prune: give one of --amount, --target-macs and --target-params, not ${amounts.map((f) => `--${f}`).join(' and ')}`, { option: camel(amounts[1]!) });
  if (options.amount !== undefined) {
    const a = options.amount as number;
    if (!(a >= 0 && a < 1)) throw new ShearsError('E_OPTION', `${strategy}: option --amount: must be in [0, 1) (got ${a})`, { option: 'amount', plugin: strategy });
  }
  const table = values['amount-table'] as string | undefined;
  if (table) options.amountTable = parseJsonOption('amount-table', existsSync(table) ? readFileSync(table, 'utf8') : table);
  for (const kv of (values.set as string[] | undefined) ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new ShearsError('E_OPTION', `prune: option --set: '${kv}' is not key=value`, { option: 'set' });
    const raw = kv.slice(i + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      /* plain string */
    }
    options[kv.slice(0, i)] = v;
  }
  return options;
}

function parseJsonOption(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ShearsError('E_OPTION', `prune: option --${option}: not JSON or a readable file (${(e as Error).message})`, { option });
  }
}

/** The plan as JSON, written atomically and never over the input. */
function writePlan(path: string, plan: PruningPlan, input: string): void {
  const stager = new RunStager([input]);
  writeFileSync(stager.stage(path), serializePlan(plan));
  stager.commit();
}

