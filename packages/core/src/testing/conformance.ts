import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isShearsError } from '../errors.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import { applyPlan } from '../plugin/apply-plan.js';
import type { PluginContext } from '../plugin/context.js';
import { testContext } from './context.js';
import { pluginProblem } from '../plugin/define.js';
import { deserializePlan, serializePlan } from '../plugin/plan.js';
import type { Plugin, PluginFactory, ScoreTarget } from '../plugin/types.js';
import { RunStager } from '../pipeline/staging.js';
import { modelFingerprint } from '../pipeline/fingerprint.js';
import { tinyModel } from './tiny-model.js';

export interface ConformanceOptions {
  factory: PluginFactory;
  /** Options for a valid instance; a function gets a temp folder for output paths. */
  options?: Record<string, unknown> | ((tmpDir: string) => Record<string, unknown>);
  /** Option sets that must be refused with an E_OPTION ShearsError naming the plugin. */
  badOptions?: Record<string, unknown>[];
  /** The model the hooks run on (default: tinyModel()). */
  model?: () => Model | Promise<Model>;
  /** Extra context (e.g. a runtime for data-aware plugins). */
  context?: Partial<PluginContext>;
}

export interface ConformanceReport {
  plugin: string;
  passed: string[];
  failures: { check: string; message: string }[];
}

/**
 * The conformance kit every plugin package runs on itself: shape, factory
 * hygiene, option errors, the pass contract (declared mutation is true),
 * serializable plans, and well-formed scores.
 */
export async function runConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const report: ConformanceReport = { plugin: '(unknown)', passed: [], failures: [] };
  const check = async (name: string, fn: () => unknown): Promise<void> => {
    try {
      await fn();
      report.passed.push(name);
    } catch (e) {
      report.failures.push({ check: name, message: e instanceof Error ? e.message : String(e) });
    }
  };
  const dir = mkdtempSync(join(tmpdir(), 'shears-conformance-'));
  try {
    return await runChecks(opts, report, check, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Check = (name: string, fn: () => unknown) => Promise<void>;

async function runChecks(opts: ConformanceOptions, report: ConformanceReport, check: Check, dir: string): Promise<ConformanceReport> {
  const options = typeof opts.options === 'function' ? opts.options(dir) : (opts.options ?? {});
  const make = () => opts.factory(options) as Plugin;
  let plugin: Plugin | undefined;
  await check('factory returns a valid plugin', () => {
    plugin = make();
    const problem = pluginProblem(plugin);
    if (problem) throw new Error(problem);
    report.plugin = plugin.name;
  });
  if (!plugin) return report;
  const p = plugin;

  await check('factory returns a fresh object each call', () => {
    const q = make();
    if (q === p) throw new Error('the factory returned the same object twice (shared mutable state)');
    if (q.name !== p.name || q.kind !== p.kind) throw new Error('name or kind differs between calls');
    if (p.options && q.options && p.options === q.options) throw new Error('two instances share one options object');
  });

  await check('factory metadata matches the plugin', () => {
    if (opts.factory.pluginName && opts.factory.pluginName !== p.name) throw new Error(`factory says '${opts.factory.pluginName}', plugin says '${p.name}'`);
    if (opts.factory.kind && opts.factory.kind !== p.kind) throw new Error(`factory says kind '${opts.factory.kind}', plugin says '${p.kind}'`);
  });

  for (const [i, bad] of (opts.badOptions ?? []).entries()) {
    await check(`bad options #${i} are refused with E_OPTION`, () => {
      try {
        opts.factory(bad);
      } catch (e) {
        if (!isShearsError(e) || e.code !== 'E_OPTION') throw new Error(`threw ${String(e)}, expected a ShearsError E_OPTION`);
        if (!e.message.includes(p.name)) throw new Error(`message does not name the plugin: ${e.message}`);
        if (!e.option) throw new Error(`error does not name the option: ${e.message}`);
        return;
      }
      throw new Error(`options ${JSON.stringify(bad)} were accepted`);
    });
  }

  const ctx = (): PluginContext => testContext(opts.context);
  const loadModel = async () => (opts.model ? await opts.model() : tinyModel());
  await checkHooks(p, ctx, loadModel, check);
  if (opts.context?.runtime && 'needsData' in p && p.needsData === true) {
    await check('without a runtime the hook fails with E_NO_RUNTIME', () => checkNoRuntime(p, { ...opts.context, runtime: undefined }, loadModel));
  }
  return report;
}

/**
 * A data-aware plugin run without `ctx.runtime` (its precondition, then its
 * hook) must refuse with `requireRuntime`'s E_NO_RUNTIME, one line naming the
 * plugin: not a TypeError deep inside, and not a silent result.
 */
async function checkNoRuntime(p: Plugin, context: Partial<PluginContext>, loadModel: () => Promise<Model>): Promise<void> {
  const model = await loadModel();
  const ctx = () => testContext(context);
  const run = async () => {
    await p.requires?.(model, ctx());
    if (p.kind === 'strategy') await p.plan(model, ctx());
    else if (p.kind === 'criterion') {
      const targets = weightTargets(model);
      await p.prepare?.(model, targets, ctx());
      for (const t of targets) {
        await p.score(t, ctx());
        if (p.reconstruct) await p.reconstruct(t, { count: Math.floor(t.weight.size / 2) }, ctx());
      }
    } else if (p.kind === 'pass') await p.run(model, ctx());
    else if (p.kind === 'finetuner') await p.finetune(model, ctx());
    else if (p.kind === 'exporter') await p.export(model, ctx());
  };
  try {
    await run();
  } catch (e) {
    if (!isShearsError(e) || e.code !== 'E_NO_RUNTIME') throw new Error(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, expected a ShearsError E_NO_RUNTIME (requireRuntime(ctx, '${p.name}'))`);
    if (e.message.includes('\n') || !e.message.includes(p.name)) throw new Error(`the error must be one line naming ${p.name}: ${e.message}`);
    return;
  }
  throw new Error('the plugin declares needsData but ran without a runtime');
}

async function checkHooks(p: Plugin, ctx: () => PluginContext, loadModel: () => Promise<Model>, check: Check): Promise<void> {
  if (p.kind === 'pass' || p.kind === 'finetuner') {
    await check('pass contract: returns {model, modified} and declares mutation truthfully', async () => {
      const model = await loadModel();
      const before = modelFingerprint(model);
      const r = p.kind === 'pass' ? await p.run(model, ctx()) : await p.finetune(model, ctx());
      if (!r || typeof r.modified !== 'boolean' || !r.model) throw new Error('hook must return {model, modified: boolean}');
      const inputAfter = modelFingerprint(model);
      if (p.mutates === false && inputAfter !== before) throw new Error('plugin says mutates: false but changed its input model');
      if (!r.modified && modelFingerprint(r.model) !== before) throw new Error('hook said modified: false but the model changed');
    });
  } else if (p.kind === 'strategy') {
    await check('strategy plans without editing the model', async () => {
      const model = await loadModel();
      const before = modelFingerprint(model);
      await p.plan(model, ctx());
      if (modelFingerprint(model) !== before) throw new Error('plan() edited the model; strategies must only return a plan');
    });
    await check('plan is serializable and round-trips', async () => {
      const plan = await p.plan(await loadModel(), ctx());
      if (plan.version !== 1 || !Array.isArray(plan.actions) || !Array.isArray(plan.skipped)) throw new Error('plan needs version 1, actions[] and skipped[]');
      if (plan.strategy !== p.name) throw new Error(`plan.strategy is '${plan.strategy}', expected '${p.name}'`);
      const text = serializePlan(plan);
      if (serializePlan(deserializePlan(text)) !== text) throw new Error('plan does not survive serialize → deserialize');
    });
    await check('the shared applier executes the plan', async () => {
      const model = await loadModel();
      const plan = await p.plan(model, ctx());
      applyPlan(cloneModel(model), deserializePlan(serializePlan(plan)));
    });
  } else if (p.kind === 'criterion') {
    await check('criterion gives finite scores of the right length', async () => {
      const model = await loadModel();
      const before = modelFingerprint(model);
      let scored = 0;
      for (const node of model.graph.nodes) {
        const w = node.inputs[1]?.constValue;
        if (!w || w.dtype !== 'float32' || w.dims.length < 2) continue;
        const el = await p.score({ model, node, input: 1, weight: w, granularity: { kind: 'element' } }, ctx());
        if (!(el instanceof Float32Array) || el.length !== w.size) throw new Error(`element scores for ${node.label}: expected Float32Array(${w.size})`);
        const ch = await p.score({ model, node, input: 1, weight: w, granularity: { kind: 'channel', axis: 0 } }, ctx());
        if (ch.length !== w.dims[0]) throw new Error(`channel scores for ${node.label}: expected ${w.dims[0]} scores, got ${ch.length}`);
        for (const s of [el, ch]) for (let i = 0; i < s.length; i++) if (!Number.isFinite(s[i]!)) throw new Error(`non-finite score at ${i} for ${node.label}`);
        scored++;
      }
      if (scored === 0) throw new Error('the model had no weight to score');
      if (modelFingerprint(model) !== before) throw new Error('score() changed the model');
    });
    if (p.capabilities?.elementMagnitude) {
      await check('declares elementMagnitude: element scores are |w| bit for bit', async () => {
        const model = await loadModel();
        for (const t of weightTargets(model)) {
          const w = t.weight.floats();
          const s = await p.score(t, ctx());
          const wb = new Uint32Array(w.buffer, w.byteOffset, w.length);
          const sb = new Uint32Array(s.buffer, s.byteOffset, s.length);
          for (let i = 0; i < w.length; i++) if (sb[i] !== (wb[i]! & 0x7fffffff)) throw new Error(`${t.node.label}: score ${s[i]} at ${i} is not |${w[i]}|; strategies would select from the weights instead of these scores`);
        }
      });
    }
    if (p.prepare) {
      await check('prepare() takes every target and leaves the model alone', async () => {
        const model = await loadModel();
        const before = modelFingerprint(model);
        const targets = weightTargets(model);
        await p.prepare!(model, targets, ctx());
        for (const t of targets) await p.score(t, ctx());
        if (modelFingerprint(model) !== before) throw new Error('prepare() changed the model');
      });
    }
    if (p.reconstruct) {
      await check('reconstruct() prunes exactly the budget and returns the whole tensor', async () => {
        const model = await loadModel();
        const before = modelFingerprint(model);
        for (const t of weightTargets(model)) {
          const count = Math.floor(t.weight.size / 2);
          const r = await p.reconstruct!(t, { count }, ctx());
          if (!(r.prune instanceof Uint32Array) || r.prune.length !== count) throw new Error(`${t.node.label}: expected Uint32Array(${count}) of pruned indices, got ${r.prune?.length}`);
          for (let i = 0; i < r.prune.length; i++) {
            if (r.prune[i]! >= t.weight.size || (i > 0 && r.prune[i]! <= r.prune[i - 1]!)) throw new Error(`${t.node.label}: pruned indices must be ascending, unique and in range`);
          }
          if (!(r.data instanceof Float32Array) || r.data.length !== t.weight.size) throw new Error(`${t.node.label}: data must be Float32Array(${t.weight.size})`);
          for (let i = 0; i < r.data.length; i++) if (!Number.isFinite(r.data[i]!)) throw new Error(`${t.node.label}: non-finite value at ${i}`);
          for (const i of r.prune) if (r.data[i] !== 0) throw new Error(`${t.node.label}: pruned element ${i} is ${r.data[i]}, not 0`);
        }
        if (modelFingerprint(model) !== before) throw new Error('reconstruct() changed the model');
      });
    }
  } else if (p.kind === 'exporter') {
    await check('exporter writes through the stager and leaves the model alone', async () => {
      const model = await loadModel();
      const before = modelFingerprint(model);
      const stager = new RunStager();
      const r = await p.export(model, { ...ctx(), outputs: stager });
      if (!r || !Array.isArray(r.files)) throw new Error('export() must return {files: string[]}');
      const written = stager.commit();
      if (r.files.length && written.length === 0) throw new Error('exporter reported files but staged none (write via ctx.outputs.stage)');
      if (modelFingerprint(model) !== before) throw new Error('export() changed the model');
    });
  }
}

/** Element score targets for every float weight (rank >= 2) on input 1, as the score check uses. */
function weightTargets(model: Model): ScoreTarget[] {
  const out: ScoreTarget[] = [];
  for (const node of model.graph.nodes) {
    const w = node.inputs[1]?.constValue;
    if (w && w.dtype === 'float32' && w.dims.length >= 2) out.push({ model, node, input: 1, weight: w, granularity: { kind: 'element' } });
  }
  return out;
}

/** Throw one error listing every failed check (for use inside a test). */
export async function assertConformance(opts: ConformanceOptions): Promise<ConformanceReport> {
  const r = await runConformance(opts);
  if (r.failures.length) throw new Error(`${r.plugin} fails conformance:\n${r.failures.map((f) => `  - ${f.check}: ${f.message}`).join('\n')}`);
  return r;
}
