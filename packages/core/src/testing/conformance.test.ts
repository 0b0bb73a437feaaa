import { describe, expect, it } from 'vitest';
import { ShearsError } from '../errors.js';
import { definePlugin, definePluginFactory } from '../plugin/define.js';
import type { Plugin, PluginFactory } from '../plugin/types.js';
import type { ModelRuntime, PluginContext } from '../plugin/context.js';
import { requireRuntime } from '../runtime/runtime.js';
import { runConformance } from './conformance.js';

const good = definePluginFactory({ name: 'good', kind: 'pass' }, (o?: { n?: number }) => {
  if (o?.n !== undefined && o.n < 0) throw new ShearsError('E_OPTION', 'good: option n: must be >= 0', { plugin: 'good', option: 'n' });
  return definePlugin({ name: 'good', kind: 'pass', mutates: false, options: { ...o }, async run(model) { return { model, modified: false }; } });
});

describe('conformance kit', () => {
  it('passes a well-behaved plugin', async () => {
    const r = await runConformance({ factory: good, badOptions: [{ n: -1 }] });
    expect(r.failures).toEqual([]);
    expect(r.passed.length).toBeGreaterThanOrEqual(4);
  });

  it('catches a singleton factory, a lying mutates flag and accepted bad options', async () => {
    const shared = definePlugin({
      name: 'liar', kind: 'pass', mutates: false,
      async run(model) { model.graph.initializer('fc.bias')!.floats()[0] = 42; return { model, modified: true }; },
    }) as Plugin;
    const factory: PluginFactory = () => shared;
    const r = await runConformance({ factory, badOptions: [{ n: -1 }] });
    const failed = r.failures.map((f) => f.check);
    expect(failed).toContain('factory returns a fresh object each call');
    expect(failed).toContain('pass contract: returns {model, modified} and declares mutation truthfully');
    expect(failed).toContain('bad options #0 are refused with E_OPTION');
  });

  it('catches a strategy that edits the model in plan()', async () => {
    const factory: PluginFactory = () => definePlugin({
      name: 'sneaky', kind: 'strategy',
      async plan(model) { model.graph.initializer('fc.bias')!.floats()[0] = 1; return { version: 1 as const, strategy: 'sneaky', actions: [], skipped: [] }; },
    });
    const r = await runConformance({ factory });
    expect(r.failures.map((f) => f.check)).toContain('strategy plans without editing the model');
  });

  it('catches a criterion with wrong-length scores', async () => {
    const factory: PluginFactory = () => definePlugin({ name: 'short', kind: 'criterion', async score() { return new Float32Array(1); } });
    const r = await runConformance({ factory });
    expect(r.failures[0]!.message).toMatch(/expected Float32Array/);
  });
});

describe('conformance kit: data-aware plugins without a runtime', () => {
  // The plugins below only check that a runtime is there; none runs a model.
  const runtime: ModelRuntime = {
    name: 'present',
    threads: 1,
    session: () => Promise.reject(new Error('not used')),
    run: () => Promise.reject(new Error('not used')),
  };
  const abs = (w: Float32Array) => Float32Array.from(w, Math.abs);
  const criterion = (name: string, score: (ctx: PluginContext, w: Float32Array) => Float32Array): PluginFactory =>
    () => definePlugin({ name, kind: 'criterion', needsData: true, async score(t, ctx) { return score(ctx, t.granularity.kind === 'element' ? t.weight.floats() : new Float32Array(t.weight.dims[t.granularity.axis]!)); } });
  const NO_RUNTIME = 'without a runtime the hook fails with E_NO_RUNTIME';

  it('passes a criterion that asks requireRuntime, and runs the check only when a runtime is given', async () => {
    const factory = criterion('asks', (ctx, w) => (requireRuntime(ctx, 'asks'), abs(w)));
    const r = await runConformance({ factory, context: { runtime } });
    expect(r.failures).toEqual([]);
    expect(r.passed).toContain(NO_RUNTIME);
    expect((await runConformance({ factory: criterion('asks', (_ctx, w) => abs(w)) })).passed).not.toContain(NO_RUNTIME);
  });

  it('fails one that crashes on the missing runtime, and one that runs without it', async () => {
    const crashes = await runConformance({ factory: criterion('crashes', (ctx, w) => (ctx.runtime!.threads, abs(w))), context: { runtime } });
    expect(crashes.failures).toEqual([{ check: NO_RUNTIME, message: expect.stringMatching(/^threw TypeError: .* expected a ShearsError E_NO_RUNTIME/) }]);
    const ignores = await runConformance({ factory: criterion('ignores', (_ctx, w) => abs(w)), context: { runtime } });
    expect(ignores.failures).toEqual([{ check: NO_RUNTIME, message: 'the plugin declares needsData but ran without a runtime' }]);
  });

  it('checks a strategy that declares needsData through requires() and plan()', async () => {
    const strategy = (name: string, needs: (ctx: PluginContext) => void): PluginFactory =>
      () => definePlugin({ name, kind: 'strategy', needsData: true, async plan(_m, ctx) { needs(ctx); return { version: 1 as const, strategy: name, actions: [], skipped: [] }; } } as Plugin);
    expect((await runConformance({ factory: strategy('s', (ctx) => requireRuntime(ctx, 's')), context: { runtime } })).failures).toEqual([]);
    const wrong = await runConformance({ factory: strategy('t', (ctx) => { if (!ctx.runtime) throw new ShearsError('E_DATA', 't: no data'); }), context: { runtime } });
    expect(wrong.failures.map((f) => f.check)).toEqual([NO_RUNTIME]);
  });
});

describe('conformance kit: declared elementMagnitude', () => {
  const magnitude = (name: string, score: (w: Float32Array) => Float32Array): PluginFactory =>
    () => definePlugin({ name, kind: 'criterion', capabilities: { elementMagnitude: true }, async score(t) { return t.granularity.kind === 'element' ? score(t.weight.floats()) : new Float32Array(t.weight.dims[t.granularity.axis]!); } });
  const CHECK = 'declares elementMagnitude: element scores are |w| bit for bit';

  it('holds a criterion to it: |w| passes, w² fails', async () => {
    expect((await runConformance({ factory: magnitude('abs', (w) => Float32Array.from(w, Math.abs)) })).passed).toContain(CHECK);
    const squared = await runConformance({ factory: magnitude('squared', (w) => Float32Array.from(w, (x) => x * x)) });
    expect(squared.failures).toEqual([{ check: CHECK, message: expect.stringMatching(/^conv1: score .* at 0 is not \|/) }]);
  });
});
