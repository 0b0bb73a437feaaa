import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShearsError } from '../errors.js';
import { definePlugin } from '../plugin/define.js';
import type { Plugin } from '../plugin/types.js';
import { tinyModel } from '../testing/tiny-model.js';
import { CURRENT_CRITERION, PLANS, pipeline } from './pipeline.js';
import { workerExecArgv } from './worker-threads.js';

const tag = (name: string, log: string[]): Plugin =>
  definePlugin({ name, kind: 'pass', mutates: true, async run(model) { log.push(name); model.setMetadata(name, '1'); return { model, modified: true }; } });

describe('pipeline', () => {
  it('runs plugins in use() order and records each step', async () => {
    const log: string[] = [];
    const r = await pipeline().use(tag('a', log)).use(tag('b', log), tag('c', log)).run(tinyModel());
    expect(log).toEqual(['a', 'b', 'c']);
    expect(r.steps.map((s) => s.plugin)).toEqual(['a', 'b', 'c']);
    expect(r.steps.every((s) => s.modified && s.seconds >= 0)).toBe(true);
    expect(r.model.getMetadata('c')).toBe('1');
  });

  it('announces each step before it runs (onStep)', async () => {
    const log: string[] = [];
    await pipeline()
      .use(tag('a', log), tag('b', log))
      .run(tinyModel(), { onStep: (i, n, p) => log.push(`step ${i + 1}/${n} ${p.name}`) });
    expect(log).toEqual(['step 1/2 a', 'a', 'step 2/2 b', 'b']);
  });

  it('freezes on first run', async () => {
    const p = pipeline().use(tag('a', []));
    await p.run(tinyModel());
    expect(p.frozen).toBe(true);
    expect(() => p.use(tag('b', []))).toThrow(/already run/);
  });

  it('attributes a failure to the plugin and hook', async () => {
    const bad = definePlugin({ name: 'boom', kind: 'pass', async run() { throw new Error('kaput'); } });
    const err = await pipeline().use(tag('a', []), bad).run(tinyModel()).catch((e) => e);
    expect(err).toBeInstanceOf(ShearsError);
    expect(err).toMatchObject({ code: 'E_PLUGIN', plugin: 'boom', hook: 'run' });
    expect(err.message).toContain('boom (run) failed: kaput');
  });

  it('keeps a ShearsError code and adds plugin context', async () => {
    const bad = definePlugin({ name: 'picky', kind: 'pass', async run() { throw new ShearsError('E_DTYPE', 'int8 weights'); } });
    await expect(pipeline(bad).run(tinyModel())).rejects.toMatchObject({ code: 'E_DTYPE', plugin: 'picky', hook: 'run' });
  });

  it('strategies plan; the shared applier applies, or not in dry runs', async () => {
    const strategy = definePlugin({
      name: 'zero-first',
      kind: 'strategy',
      async plan() { return { version: 1 as const, strategy: 'zero-first', actions: [{ type: 'mask' as const, tensor: 'conv1.weight', prune: Uint32Array.of(0, 1, 2) }], skipped: [] }; },
    });
    const dry = await pipeline(strategy).run(tinyModel(), { dryRun: true });
    expect(dry.model.graph.initializer('conv1.weight')!.floats()[0]).not.toBe(0);
    expect(dry.state.get(PLANS)).toHaveLength(1);
    const wet = await pipeline(strategy).run(tinyModel());
    const w = wet.model.graph.initializer('conv1.weight')!.floats();
    expect([w[0], w[1], w[2]]).toEqual([0, 0, 0]);
    expect(w[3]).not.toBe(0);
    expect(Array.from(wet.model.graph.initializers.get('conv1.weight')!.mask!.subarray(0, 4))).toEqual([0, 0, 0, 1]);
  });

  it('a dry run skips fine-tuners and exporters and writes nothing a plugin staged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-dry-'));
    const ran: string[] = [];
    const stagingPass = definePlugin({
      name: 'stager',
      kind: 'pass',
      async run(model, ctx) {
        writeFileSync(ctx.outputs.stage(join(dir, 'pass.txt')), 'x');
        return { model, modified: false };
      },
    });
    const tuner = definePlugin({ name: 'tuner', kind: 'finetuner', async finetune(model) { ran.push('tuner'); return { model, modified: true }; } });
    const exporter = definePlugin({
      name: 'exp',
      kind: 'exporter',
      async export(_m, ctx) {
        ran.push('exp');
        writeFileSync(ctx.outputs.stage(join(dir, 'out.bin')), 'y');
        return { files: [join(dir, 'out.bin')] };
      },
    });
    const dry = await pipeline(stagingPass, tuner, exporter).run(tinyModel(), { dryRun: true });
    expect(ran).toEqual([]);
    expect(dry.files).toEqual([]);
    expect(dry.steps.map((s) => s.details?.skipped ?? 'ran')).toEqual(['ran', 'dry run', 'dry run']);
    expect(readdirSync(dir)).toEqual([]);
    const wet = await pipeline(stagingPass, tuner, exporter).run(tinyModel());
    expect(ran).toEqual(['tuner', 'exp']);
    expect(readdirSync(dir).sort()).toEqual(['out.bin', 'pass.txt']);
    expect(wet.files.length).toBe(2);
  });

  it('hands the current criterion to later strategies', async () => {
    const crit = definePlugin({ name: 'ones', kind: 'criterion', async score(t) { return new Float32Array(t.weight.size).fill(1); } });
    let seen = '';
    const s = definePlugin({ name: 's', kind: 'strategy', async plan(_m, ctx) { seen = ctx.state.get(CURRENT_CRITERION)?.name ?? ''; return { version: 1 as const, strategy: 's', actions: [], skipped: [] }; } });
    await pipeline(crit, s).run(tinyModel());
    expect(seen).toBe('ones');
  });

  it('a failing step leaves no output file behind, and earlier outputs are not committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-pipe-'));
    const out = join(dir, 'out.bin');
    const writer = definePlugin({ name: 'w', kind: 'exporter', async export(_m, ctx) { const tmp = ctx.outputs.stage(out); writeFileSync(tmp, 'half'); return { files: [out] }; } });
    const bad = definePlugin({ name: 'late-fail', kind: 'pass', async run() { throw new Error('no'); } });
    await expect(pipeline(writer, bad).run(tinyModel())).rejects.toThrow(/late-fail/);
    expect(readdirSync(dir)).toEqual([]);
    const ok = await pipeline(writer).run(tinyModel());
    expect(ok.files).toEqual([out]);
    expect(existsSync(out)).toBe(true);
  });

  it('refuses to write over the input file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-pipe-'));
    const input = join(dir, 'in.onnx');
    writeFileSync(input, 'x');
    const importer = definePlugin({ name: 'imp', kind: 'importer', async import() { return tinyModel(); } });
    const writer = definePlugin({ name: 'w', kind: 'exporter', async export(_m, ctx) { ctx.outputs.stage(input); return { files: [input] }; } });
    await expect(pipeline(importer, writer).run(input)).rejects.toMatchObject({ code: 'E_IO', plugin: 'w' });
  });

  it('needs an importer for file input', async () => {
    await expect(pipeline(tag('a', [])).run('model.onnx')).rejects.toThrow(/importer/);
  });

  it('stops between steps when aborted', async () => {
    const ac = new AbortController();
    const stopper = definePlugin({ name: 'stop', kind: 'pass', async run(model) { ac.abort(); return { model, modified: false }; } });
    await expect(pipeline(stopper, tag('never', [])).run(tinyModel(), { signal: ac.signal })).rejects.toMatchObject({ code: 'E_ABORTED' });
  });

  it('rejects non-plugins at use()', () => {
    expect(() => pipeline().use({ name: 'x', kind: 'pass' } as unknown as Plugin)).toThrow(/needs a 'run' hook/);
    expect(() => pipeline().use({ name: 'x', kind: 'magic', run() {} } as unknown as Plugin)).toThrow(/'kind' must be one of/);
  });
});

describe('workerExecArgv', () => {
  it("keeps the parent's flags but not --input-type or the code of -e/--eval/-p", () => {
    expect(workerExecArgv(['--expose-gc', '--input-type=module', '-e', 'console.log(1)', '--max-old-space-size=4096'])).toEqual(['--expose-gc', '--max-old-space-size=4096']);
    expect(workerExecArgv(['--eval', 'x', '--print=1', '--input-type', '--trace-deopt'])).toEqual(['--trace-deopt']);
  });
});
