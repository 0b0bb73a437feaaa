import { ShearsError, isShearsError } from '../errors.js';
import { Model } from '../ir/model.js';
import { applyPlan, type ChannelApplier } from '../plugin/apply-plan.js';
import { StateBag, silentLogger, silentProgress, stateKey, type Logger, type ModelRuntime, type PluginContext, type ProgressReporter } from '../plugin/context.js';
import { definePlugin } from '../plugin/define.js';
import type { PruningPlan } from '../plugin/plan.js';
import type { CriterionPlugin, PipelineInput, Plugin } from '../plugin/types.js';
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
      runtime: opts.runtime,
      outputs: stager,
      dryRun: opts.dryRun ?? false,
    };
    const steps: StepRecord[] = [];
    let model: Model | undefined = input instanceof Model ? input : undefined;
    try {
      for (const [i, plugin] of this.#plugins.entries()) {
        if (ctx.signal.aborted) throw new ShearsError('E_ABORTED', `pipeline aborted before ${plugin.name}`, { plugin: plugin.name });
        opts.onStep?.(i, this.#plugins.length, plugin);
        const t0 = performance.now();
        const record = await this.#step(plugin, model, input, ctx, opts.channelApplier);
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

  async #step(plugin: Plugin, model: Model | undefined, input: PipelineInput, ctx: PluginContext, channelApplier?: ChannelApplier): Promise<{ model: Model | undefined; step: Omit<StepRecord, 'seconds'> }> {
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
    let out: { model: Model | undefined; step: Omit<StepRecord, 'seconds'> };
    switch (plugin.kind) {
      case 'pass': {
        const r = await call(plugin, 'run', () => plugin.run(m, ctx));
        out = { model: r.model, step: { ...base, modified: r.modified, details: r.details } };
        break;
      }
      case 'finetuner': {
        // A dry run plans; training the unpruned model would be wasted work.
        if (ctx.dryRun) {
          out = { model: m, step: { ...base, modified: false, details: { skipped: 'dry run' } } };
          break;
        }
        const r = await call(plugin, 'finetune', () => plugin.finetune(m, ctx));
        out = { model: r.model, step: { ...base, modified: r.modified, details: r.details } };
        break;
      }
      case 'strategy': {
        const plan = await call(plugin, 'plan', () => plugin.plan(m, ctx));
        ctx.state.require(PLANS).push(plan);
        if (ctx.dryRun) {
          out = { model: m, step: { ...base, modified: false, plan } };
        } else {
          const r = await call(plugin, 'apply', async () => applyPlan(m, plan, { ctx, channelApplier }));
          out = { model: r.model, step: { ...base, modified: r.modified, details: r.details, plan } };
        }
        break;
      }
      case 'exporter': {
        if (ctx.dryRun) {
          out = { model: m, step: { ...base, modified: false, details: { skipped: 'dry run' } } };
          break;
        }
        const r = await call(plugin, 'export', () => plugin.export(m, ctx));
        out = { model: m, step: { ...base, modified: false, details: r.details, files: r.files } };
        break;
      }
    }
    if (plugin.ensures) await call(plugin, 'ensures', () => plugin.ensures!(out.model!, ctx));
    return out;
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
