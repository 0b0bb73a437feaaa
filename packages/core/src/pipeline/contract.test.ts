// The v0.2 contract as the pipeline keeps it: one op table (ctx.ops), the
// runtime only through ctx.runtime, declared mutation enforced, importers
// chosen by accepts(), and run state that two copies of core share.
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CALIBRATION } from '../data/dataset.js';
import { ShearsError } from '../errors.js';
import { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { Kit } from '../shape/test-kit.js';
import { defaultOpRegistry } from '../ops/registry.js';
import type { OpSpec } from '../ops/types.js';
import type { ModelRuntime, PluginContext } from '../plugin/context.js';
import { definePlugin } from '../plugin/define.js';
import type { CriterionPlugin, Plugin } from '../plugin/types.js';
import { requireRuntime } from '../runtime/runtime.js';
import { tinyModel } from '../testing/tiny-model.js';
import { CURRENT_CRITERION, pipeline } from './pipeline.js';

const swish: OpSpec = { opType: 'Swish9', domain: 'com.example', since: 1, channel: 'unary', zeroPreserving: true, infer: (c) => [c.type(0)] };
const noPlan = { version: 1 as const, strategy: 's', actions: [], skipped: [] };

describe('ctx.ops: one op table for every step', () => {
  it('is the default table, RunOptions.registry, or the table extended with the ops plugins teach', async () => {
    const seen: Record<string, boolean> = {};
    const look = (who: string) => (ctx: PluginContext) => void (seen[who] = ctx.ops.lookup('Swish9', 'com.example', 1) !== undefined);
    const pass = definePlugin({ name: 'p', kind: 'pass', async run(model, ctx) { look('pass')(ctx); return { model, modified: false }; } });
    const strategy = definePlugin({ name: 's', kind: 'strategy', async plan(_m, ctx) { look('strategy')(ctx); return noPlan; } });
    const exporter = definePlugin({ name: 'e', kind: 'exporter', async export(_m, ctx) { look('exporter')(ctx); return { files: [] }; } });
    await pipeline(pass, strategy, exporter).run(tinyModel());
    expect(seen).toEqual({ pass: false, strategy: false, exporter: false });
    await pipeline(pass, strategy, exporter).run(tinyModel(), { registry: defaultOpRegistry().extend([swish]) });
    expect(seen).toEqual({ pass: true, strategy: true, exporter: true });
    const teacher = definePlugin({ name: 'teach', kind: 'pass', ops: [swish], async run(model) { return { model, modified: false }; } });
    // Taught by a later plugin, still seen by the steps before it: the table is fixed for the whole run.
    await pipeline(pass, strategy, teacher, exporter).run(tinyModel());
    expect(seen).toEqual({ pass: true, strategy: true, exporter: true });
  });

  it('refuses a plugin whose ops are not op specs', () => {
    expect(() => definePlugin({ name: 'x', kind: 'pass', ops: [{ since: 1 }] as never, async run(model) { return { model, modified: false }; } })).toThrow(/'ops' must be an array of op specs/);
  });
});

describe('declared mutation is enforced by the pipeline', () => {
  const addInit = (model: ReturnType<typeof tinyModel>) => model.graph.addInitializer(new Tensor({ name: 'sneaky', dtype: 'float32', dims: [1], data: Float32Array.of(1) }));

  it('a pass that says mutates: false and edits its input fails, naming itself', async () => {
    const liar = definePlugin({ name: 'liar', kind: 'pass', mutates: false, async run(model) { addInit(model); return { model, modified: true }; } });
    const err = await pipeline(liar).run(tinyModel()).catch((e) => e);
    expect(err).toBeInstanceOf(ShearsError);
    expect(err.message).toBe('liar changed its input model, but it declares mutates: false; return an edited copy instead');
    // Declaring mutation makes the same edit legal.
    const honest = definePlugin({ ...liar, name: 'honest', mutates: true });
    await expect(pipeline(honest).run(tinyModel())).resolves.toMatchObject({ steps: [{ plugin: 'honest', modified: true }] });
  });

  it('a strategy that edits the model in plan() fails; weights edited in place are caught in full mode', async () => {
    const editor = definePlugin({ name: 'editor', kind: 'strategy', async plan(model) { addInit(model); return noPlan; } });
    await expect(pipeline(editor).run(tinyModel())).rejects.toThrow('editor changed its input model, but a strategy only plans (plan() must not edit the model)');
    const zeroer = definePlugin({ name: 'zeroer', kind: 'strategy', async plan(model) { model.graph.initializer('conv1.weight')!.floats()[0] = 0; return noPlan; } });
    // The default check is structural (O(nodes)); 'full' (or SHEARS_DEBUG=1) also hashes the weights.
    await expect(pipeline(zeroer).run(tinyModel())).resolves.toBeDefined();
    await expect(pipeline(zeroer).run(tinyModel(), { checkMutation: 'full' })).rejects.toThrow(/zeroer changed its input model/);
    await expect(pipeline(editor).run(tinyModel(), { checkMutation: 'off' })).resolves.toBeDefined();
  });

  it('an exporter that edits the model it writes fails', async () => {
    const bad = definePlugin({ name: 'bad-export', kind: 'exporter', async export(model) { addInit(model); return { files: [] }; } });
    await expect(pipeline(bad).run(tinyModel())).rejects.toThrow(/bad-export changed its input model, but an exporter must not edit the model it writes/);
  });
});

describe('mutation checks on models with subgraphs', () => {
  it('an If branch is part of the snapshot: an untouched model passes, an edited branch is caught', async () => {
    const k = new Kit();
    const x = k.input('x', ['N', 4]);
    const branch = (op: string) => {
      const g = new Graph(op);
      g.outputs.push(g.appendNode(new Node({ opType: op, inputs: [x], outputs: [`${op}_out`] })).outputs[0]!);
      return g;
    };
    const then = branch('Relu');
    k.one('If', [k.input('c', [], 'bool')], { then_branch: { type: 'graph', value: then }, else_branch: { type: 'graph', value: branch('Neg') } });
    const reader = definePlugin({ name: 'reader', kind: 'pass', mutates: false, async run(model) { return { model, modified: false }; } });
    await expect(pipeline(reader).run(k.model)).resolves.toBeDefined();
    const sneaky = definePlugin({ name: 'sneaky', kind: 'pass', mutates: false, async run(model) { then.nodes[0]!.opType = 'Sigmoid'; return { model, modified: false }; } });
    await expect(pipeline(sneaky).run(k.model)).rejects.toThrow(/sneaky changed its input model/);
  });
});

describe('importers are chosen by accepts()', () => {
  const importer = (name: string, ext: string, log: string[]): Plugin =>
    definePlugin({ name, kind: 'importer', accepts: (i) => typeof i === 'string' && i.endsWith(ext), async import(i) { log.push(`${name}:${String(i)}`); return tinyModel(); } });

  it('the first leading importer that accepts the input reads it; the others are dropped', async () => {
    const log: string[] = [];
    const p = () => pipeline(importer('tfl', '.tflite', log), importer('onnx', '.onnx', log), definePlugin({ name: 'p', kind: 'pass', async run(model) { return { model, modified: false }; } }));
    const r = await p().run('m.onnx');
    expect(log).toEqual(['onnx:m.onnx']);
    expect(r.steps.map((s) => s.plugin)).toEqual(['onnx', 'p']);
    await expect(p().run('m.pb')).rejects.toThrow('no importer accepts m.pb (tried tfl, onnx)');
    // A model input needs no importer.
    expect((await p().run(tinyModel())).steps.map((s) => s.plugin)).toEqual(['p']);
  });
});

describe('requireRuntime', () => {
  it('returns the run runtime, or fails in one line naming the package to install', () => {
    const rt = { name: 'fake', threads: 1 } as unknown as ModelRuntime;
    expect(requireRuntime({ runtime: rt }, 'wanda')).toBe(rt);
    let err: ShearsError | undefined;
    try {
      requireRuntime({}, 'wanda');
    } catch (e) {
      err = e as ShearsError;
    }
    expect(err).toMatchObject({ code: 'E_NO_RUNTIME', plugin: 'wanda' });
    expect(err!.message).toContain('npm install @shears/runtime');
    expect(err!.message.split('\n')).toHaveLength(1);
  });
});

// Plugins may load their own copy of @shears/core (another version, or the CJS
// build under an ESM pipeline). Copy the built package next to this one (so
// zod and yaml still resolve) and load it both ways.
const pkgRoot = join(import.meta.dirname, '..', '..');
const built = existsSync(join(pkgRoot, 'dist', 'index.js')) && existsSync(join(pkgRoot, 'dist', 'index.cjs'));
const copies: string[] = [];
afterAll(() => {
  for (const c of copies) rmSync(c, { recursive: true, force: true });
});

function secondCore(): string {
  const dir = mkdtempSync(join(pkgRoot, '.second-core-'));
  copies.push(dir);
  cpSync(join(pkgRoot, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(pkgRoot, 'package.json'), join(dir, 'package.json'));
  writeFileSync(join(dir, 'README.md'), 'a second copy of @shears/core for contract.test.ts\n');
  return dir;
}

type CoreModule = typeof import('../index.js');

describe.skipIf(!built)('run state survives two copies of core (ESM and CJS)', () => {
  for (const format of ['esm', 'cjs'] as const) {
    it(`a plugin built on a ${format} copy sees the criterion, the calibration data and the op table`, async () => {
      const dir = secondCore();
      const other: CoreModule = format === 'esm' ? await import(pathToFileURL(join(dir, 'dist', 'index.js')).href) : createRequire(import.meta.url)(join(dir, 'dist', 'index.cjs'));
      expect(other.CURRENT_CRITERION).not.toBe(CURRENT_CRITERION); // really another module instance
      const criterion: CriterionPlugin = definePlugin({ name: 'random', kind: 'criterion', async score(t) { return new Float32Array(t.weight.size); } });
      const data = { name: 'calib', size: 1, sampleShape: [1], async *batches() {} };
      const seen: Record<string, unknown> = {};
      const strategy = other.definePlugin({
        name: 'foreign',
        kind: 'strategy',
        async plan(model, ctx) {
          seen.criterion = ctx.state.get(other.CURRENT_CRITERION)?.name;
          seen.calibration = ctx.state.get(other.CALIBRATION)?.name;
          seen.swish = ctx.ops.lookup('Swish9', 'com.example', 1)?.opType;
          seen.isModel = other.isModel(model);
          return { version: 1 as const, strategy: 'foreign', actions: [], skipped: [] };
        },
      });
      const state = new (await import('../plugin/context.js')).StateBag();
      state.set(CALIBRATION, data);
      await pipeline(criterion, strategy).run(tinyModel(), { state, registry: defaultOpRegistry().extend([swish]) });
      expect(seen).toEqual({ criterion: 'random', calibration: 'calib', swish: 'Swish9', isModel: true });
      // And the other way round: the copy's pipeline takes this copy's model as a model, not as a path.
      const r = await other.pipeline(other.definePlugin({ name: 'p', kind: 'pass', async run(model) { return { model, modified: false }; } })).run(tinyModel() as never);
      expect(r.steps.map((s) => s.plugin)).toEqual(['p']);
      // Errors keep their identity too.
      expect(other.isShearsError(new ShearsError('E_DATA', 'x'))).toBe(true);
    });
  }
});
