import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { definePlugin } from '../plugin/define.js';
import { tinyModel } from '../testing/tiny-model.js';
import { pipelineFromRecipe, resolvePlugin, type PluginMap } from './resolve-plugin.js';

const builtins: PluginMap = {
  meta: (o?: { key?: string }) =>
    definePlugin({ name: 'meta', kind: 'pass', mutates: true, async run(model) { model.setMetadata(o?.key ?? 'k', 'v'); return { model, modified: true }; } }),
};

describe('resolvePlugin', () => {
  it('finds built-ins by name and passes options', async () => {
    const p = await resolvePlugin('meta', { key: 'z' }, { builtins });
    expect(p.name).toBe('meta');
  });

  it('loads a factory from a module path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-plug-'));
    writeFileSync(join(dir, 'mine.mjs'), "export default (o) => ({ name: 'mine', kind: 'pass', options: o, async run(model) { return { model, modified: false }; } });\n");
    const p = await resolvePlugin('./mine.mjs', { a: 1 }, { baseDir: dir });
    expect(p).toMatchObject({ name: 'mine', kind: 'pass', options: { a: 1 } });
  });

  it('says why a module is not a plugin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-plug-'));
    writeFileSync(join(dir, 'notplug.mjs'), 'export default { hello: 1 };\n');
    writeFileSync(join(dir, 'nohook.mjs'), "export default { name: 'n', kind: 'strategy' };\n");
    await expect(resolvePlugin('./notplug.mjs', undefined, { baseDir: dir })).rejects.toThrow("module './notplug.mjs' is not a Shears plugin: its default export missing string 'name'");
    await expect(resolvePlugin('./nohook.mjs', undefined, { baseDir: dir })).rejects.toThrow("needs a 'plan' hook");
  });

  it('names an unknown plugin and lists the built-ins', async () => {
    await expect(resolvePlugin('filterr', undefined, { builtins })).rejects.toMatchObject({ code: 'E_PLUGIN', plugin: 'filterr', message: expect.stringContaining("unknown plugin 'filterr': not a built-in (meta)") });
  });

  it('builds a pipeline from a recipe and prefixes errors with the step', async () => {
    const p = await pipelineFromRecipe({ steps: [{ use: 'meta', with: { key: 'x' } }] }, { builtins });
    const r = await p.run(tinyModel());
    expect(r.model.getMetadata('x')).toBe('v');
    await expect(pipelineFromRecipe({ steps: [{ use: 'meta' }, { use: 'nope' }] }, { builtins })).rejects.toThrow(/^steps\[1\] \(nope\): unknown plugin/);
  });

  it('runs normalize right after import unless the recipe says normalize: false', async () => {
    const importer = definePlugin({ name: 'imp', kind: 'importer', async import() { return tinyModel(); } });
    const map: PluginMap = { ...builtins, imp: () => importer };
    const names = async (r: Parameters<typeof pipelineFromRecipe>[0]) => (await pipelineFromRecipe(r, { builtins: map })).plugins.map((x) => x.name);
    expect(await names({ steps: [{ use: 'imp' }, { use: 'meta' }] })).toEqual(['imp', 'normalize', 'meta']);
    expect(await names({ steps: [{ use: 'meta' }] })).toEqual(['normalize', 'meta']);
    expect(await names({ steps: [{ use: 'imp' }, { use: 'meta' }], normalize: false })).toEqual(['imp', 'meta']);
  });
});
