import { describe, expect, it } from 'vitest';
import { ShearsError } from '../errors.js';
import { definePlugin, definePluginFactory } from '../plugin/define.js';
import type { Plugin, PluginFactory } from '../plugin/types.js';
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
