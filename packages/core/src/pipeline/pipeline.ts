import { ShearsError, isShearsError } from '../errors.js';
import { isModel, type Model } from '../ir/model.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import { applyPlan, type ChannelApplier } from '../plugin/apply-plan.js';
import { StateBag, silentLogger, silentProgress, stateKey, type Logger, type ModelRuntime, type PluginContext, type ProgressReporter } from '../plugin/context.js';
import { definePlugin } from '../plugin/define.js';
import type { PruningPlan } from '../plugin/plan.js';
import type { CriterionPlugin, ImporterPlugin, PipelineInput, Plugin } from '../plugin/types.js';
import { sameSnapshot, snapshotModel, type ModelSnapshot } from './fingerprint.js';
import { RunStager } from './staging.js';

/** The criterion most recently `use`d before a strategy; strategies that accept criteria read it. */
export const CURRENT_CRITERION = stateKey<CriterionPlugin>('shears.criterion');
/** Plans made so far in this run, in order. */
export const PLANS = stateKey<PruningPlan[]>('shears.plans');
/** Path the model was imported from, when it came from a file. */
export const INPUT_PATH = stateKey<string>('shears.inputPath');

export interface RunOptions {
  logger?: Logger;
  progress?: ProgressReporter;
  signal?: AbortSignal;
  runtime?: ModelRuntime;
  /** The op table every step reads as `ctx.ops` (default: `defaultOpRegistry()`); pass `defaultOpRegistry().extend([spec])` to teach Shears an op. */
  registry?: OpRegistry;
  /**
   * How the pipeline holds plugins to their word that they leave their input
   * model alone (strategies' `plan`, exporters, and passes and fine-tuners that
   * declare `mutates: false`): 'structure' (default) compares nodes, wiring,
   * attributes and initializer identities before and after the hook, O(nodes);
   * 'full' also hashes every weight (debug; `SHEARS_DEBUG=1` turns it on);
   * 'off' skips the check.
   */
  checkMutation?: 'structure' | 'full' | 'off';
  /** Plan only: strategies' plans are recorded, not applied. */
  dryRun?: boolean;
  /** Applies structured (remove-channels) plans instead of core's structural applier. */
  channelApplier?: ChannelApplier;
  /** Extra files that must never be overwritten. */
  protect?: string[];
  state?: StateBag;
  /** Called before each step (index from 0), e.g. to print "step 3/8: filter". */
  onStep?(index: number, total: number, plugin: Plugin): void;
}

export interface StepRecord {
  plugin: string;
  kind: Plugin['kind'];
  seconds: number;
  modified: boolean;
  details?: Record<string, unknown>;
  plan?: PruningPlan;
  files?: string[];
}

export interface PipelineResult {
  model: Model;
  steps: StepRecord[];
  /** Output files written (committed after every step succeeded). */
  files: string[];
  state: StateBag;
}

/**
 * An ordered list of plugins. `use` adds; the first `run` freezes it, so a
 * pipeline that ran once always means the same thing (as unified does).
 */
export class Pipeline {
  #plugins: Plugin[] = [];
  #frozen = false;

  use(...plugins: (Plugin | Plugin[])[]): this {
    if (this.#frozen) throw new ShearsError('E_PLUGIN', 'cannot use() a plugin on a pipeline that has already run; create a new pipeline()');
    for (const p of plugins.flat()) this.#plugins.push(definePlugin(p));
    return this;
  }

  get plugins(): readonly Plugin[] {
    return this.#plugins;
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  freeze(): this {
    this.#frozen = true;
    return this;
  }

  async run(input: PipelineInput, opts: RunOptions = {}): Promise<PipelineResult> {
    this.freeze();
    const state = opts.state ?? new StateBag();
    state.set(PLANS, []);
    const inputPath = typeof input === 'string' ? input : undefined;
    if (inputPath) state.set(INPUT_PATH, inputPath);
    const stager = new RunStager([...(inputPath ? [inputPath] : []), ...(opts.protect ?? [])]);
    const ctx: PluginContext = {
      logger: opts.logger ?? silentLogger,
      progress: opts.progress ?? silentProgress,
      signal: opts.signal ?? new AbortController().signal,
      state,
      ops: runOps(opts.registry ?? defaultOpRegistry(), this.#plugins),
      runtime: opts.runtime,
      outputs: stager,
      dryRun: opts.dryRun ?? false,
    };
    const check = opts.checkMutation ?? (process.env.SHEARS_DEBUG ? 'full' : 'structure');
    const steps: StepRecord[] = [];
    const plugins = this.#chooseImporter(input);
    let model: Model | undefined = isModel(input) ? input : undefined;
    try {
      for (const [i, plugin] of plugins.entries()) {
        if (ctx.signal.aborted) throw new ShearsError('E_ABORTED', `pipeline aborted before ${plugin.name}`, { plugin: plugin.name });
        opts.onStep?.(i, plugins.length, plugin);
        const t0 = performance.now();
        const record = await this.#step(plugin, model, input, ctx, { channelApplier: opts.channelApplier, check });
        model = record.model;
        steps.push({ ...record.step, seconds: (performance.now() - t0) / 1000 });
      }
      if (!model) throw new ShearsError('E_PLUGIN', 'the pipeline has no importer, so it never had a model; add an importer such as onnxImport()');
      // A dry run writes nothing, whatever a plugin staged.
      const files = ctx.dryRun ? (stager.discard(), []) : stager.commit();
      return { model, steps, files, state };
    } catch (e) {
      stager.discard();
      throw e;
    }
  }

  /**
   * The leading importers are alternatives: the first whose `accepts(input)`
   * is not false reads the input, the others are dropped. A model input needs
   * none of them.
   */
  #chooseImporter(input: PipelineInput): Plugin[] {
    const lead: ImporterPlugin[] = [];
    for (const p of this.#plugins) {
      if (p.kind !== 'importer') break;
      lead.push(p);
    }
    const rest = this.#plugins.slice(lead.length);
    if (lead.length === 0 || isModel(input)) return rest;
    const chosen = lead.find((p) => p.accepts?.(input) !== false);
    if (!chosen) {
      const what = typeof input === 'string' ? input : `${input.byteLength} bytes`;
      throw new ShearsError('E_PLUGIN', `no importer accepts ${what} (tried ${lead.map((p) => p.name).join(', ')})`, { file: typeof input === 'string' ? input : undefined, plugin: lead[0]!.name, hook: 'accepts' });
    }
    return [chosen, ...rest];
  }

  async #step(plugin: Plugin, model: Model | undefined, input: PipelineInput, ctx: PluginContext, how: { channelApplier?: ChannelApplier; check: 'structure' | 'full' | 'off' }): Promise<{ model: Model | undefined; step: Omit<StepRecord, 'seconds'> }> {
    const base = { plugin: plugin.name, kind: plugin.kind };
    if (plugin.kind === 'importer') {
      if (model) throw new ShearsError('E_PLUGIN', `${plugin.name}: an importer must come first, and the pipeline already has a model`, { plugin: plugin.name, hook: 'import' });
      const m = await call(plugin, 'import', () => plugin.import(input as Exclude<PipelineInput, Model>, ctx));
      return { model: m, step: { ...base, modified: true } };
    }
    if (plugin.kind === 'criterion') {
      ctx.state.set(CURRENT_CRITERION, plugin);
      return { model, step: { ...base, modified: false } };
    }
    if (!model) throw new ShearsError('E_PLUGIN', `${plugin.name}: no model yet; the pipeline input is a file, so start with an importer such as onnxImport()`, { plugin: plugin.name });
    const m: Model = model;
    if (plugin.requires) await call(plugin, 'requires', () => plugin.requires!(m, ctx));
    // Skipped on dry runs: training the unpruned model or writing files would be wasted work.
    if (ctx.dryRun && (plugin.kind === 'finetuner' || plugin.kind === 'exporter')) return { model: m, step: { ...base, modified: false, details: { skipped: 'dry run' } } };
    const weights = how.check === 'full';
    const guard = keepsInput(plugin) && how.check !== 'off' ? snapshotModel(m, { weights }) : undefined;
    const out = await runHook(plugin, m, ctx);
    if (guard) checkUnchanged(plugin, m, guard, weights);
    const plan = out.step.plan;
    if (!plan || ctx.dryRun) return out;
    // Plan, then apply: the one applier edits the model, never the strategy.
    const r = await call(plugin, 'apply', async () => applyPlan(m, plan, { ctx, channelApplier: how.channelApplier }));
    return { model: r.model, step: { ...out.step, modified: r.modified, details: r.details } };
  }
}

/** The run's op table: the given one, extended with the ops the pipeline's plugins teach. */
function runOps(base: OpRegistry, plugins: readonly Plugin[]): OpRegistry {
  const taught = plugins.flatMap((p) => p.ops ?? []);
  return taught.length ? base.extend(taught) : base;
}

/** Does the plugin promise to leave its input model as it was? */
function keepsInput(plugin: Plugin): boolean {
  if (plugin.kind === 'strategy' || plugin.kind === 'exporter') return true;
  return (plugin.kind === 'pass' || plugin.kind === 'finetuner') && plugin.mutates === false;
}

function checkUnchanged(plugin: Plugin, model: Model, before: ModelSnapshot, weights: boolean): void {
  if (sameSnapshot(before, snapshotModel(model, { weights }))) return;
  const promise = plugin.kind === 'strategy' ? 'a strategy only plans (plan() must not edit the model)' : plugin.kind === 'exporter' ? 'an exporter must not edit the model it writes' : 'it declares mutates: false';
  throw new ShearsError('E_PLUGIN', `${plugin.name} changed its input model, but ${promise}; return an edited copy instead`, { plugin: plugin.name });
}

/** The hook of a plugin that edits, plans or writes a model (not importers or criteria). */
async function runHook(plugin: Plugin, m: Model, ctx: PluginContext): Promise<{ model: Model; step: Omit<StepRecord, 'seconds'> }> {
  const base = { plugin: plugin.name, kind: plugin.kind };
  switch (plugin.kind) {
    case 'pass': {
      const r = await call(plugin, 'run', () => plugin.run(m, ctx));
      return { model: r.model, step: { ...base, modified: r.modified, details: r.details } };
    }
    case 'finetuner': {
      const r = await call(plugin, 'finetune', () => plugin.finetune(m, ctx));
      return { model: r.model, step: { ...base, modified: r.modified, details: r.details } };
    }
    case 'strategy': {
      const plan = await call(plugin, 'plan', () => plugin.plan(m, ctx));
      ctx.state.require(PLANS).push(plan);
      return { model: m, step: { ...base, modified: false, plan } };
    }
    case 'exporter': {
      const r = await call(plugin, 'export', () => plugin.export(m, ctx));
      return { model: m, step: { ...base, modified: false, details: r.details, files: r.files } };
    }
    default:
      throw new ShearsError('E_INTERNAL', `${plugin.name}: no hook for kind ${plugin.kind}`);
  }
}

/** Run one hook, attributing any failure to the plugin and hook. */
async function call<T>(plugin: Plugin, hook: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isShearsError(e)) return Promise.reject(e.plugin ? (e.hook ? e : e.with({ hook })) : e.with({ plugin: plugin.name, hook }));
    const msg = e instanceof Error ? e.message : String(e);
    throw new ShearsError('E_PLUGIN', `${plugin.name} (${hook}) failed: ${msg}`, { plugin: plugin.name, hook, cause: e });
  }
}

export function pipeline(...plugins: Plugin[]): Pipeline {
  return new Pipeline().use(...plugins);
}
