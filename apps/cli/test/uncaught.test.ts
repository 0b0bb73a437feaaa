// Errors nothing awaited in plugin code (a throw in a timer, a stray
// rejection) end the run the CLI's way: one line and the CLI's exit code,
// also after tfjs-backend-wasm has started (its Emscripten glue used to turn
// them into exit 7 with a trace inside tf-backend-wasm.node.js).
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');
const req = createRequire(import.meta.url);
const url = (pkg: string) => JSON.stringify(pathToFileURL(req.resolve(pkg)).href);

/** A strategy module whose plan() runs `body` and then waits, so the stray error lands mid-step. */
function strategy(dir: string, body: string): string {
  const file = join(dir, 'stray.mjs');
  writeFileSync(
    file,
    `const { ShearsError } = await import(${url('@shears/core')});
const { initBackend } = await import(${url('@shears/finetune')});
export default () => ({
  name: 'stray',
  kind: 'strategy',
  async plan() {
    ${body}
    await new Promise((r) => setTimeout(r, 300));
    return { version: 1, strategy: 'stray', actions: [], skipped: [] };
  },
});
`,
  );
  return file;
}

describe('uncaught errors in plugin code', () => {
  it('after the wasm backend started: a throw in a timer exits 1 with our one line, no trace in tf-backend-wasm', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-uncaught-'));
    const plugin = strategy(dir, `await initBackend('wasm'); setTimeout(() => { throw new Error('bug in a timer'); }, 0);`);
    const r = shears(['prune', tiny, '-o', join(dir, 'out', 'o.onnx'), '--strategy', plugin]);
    expect(r.stderr).not.toMatch(/tf-backend-wasm/);
    expect(r.stderr.split('\n')[0]).toBe('shears: error: internal error: bug in a timer');
    expect(r.status).toBe(1);
    expect(readdirSync(dir)).toEqual(['stray.mjs']);
  }, 60_000);

  it("a stray rejection with a rethrowing handler installed (as Emscripten's glue does) gets the ShearsError's exit code", () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-uncaught-'));
    const plugin = strategy(
      dir,
      `process.on('uncaughtException', (e) => { throw e; }); process.on('unhandledRejection', (e) => { throw e; });
    Promise.reject(new ShearsError('E_DATA', 'stray.npz: not what it should be'));`,
    );
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', plugin, '--json']);
    expect(r.stderr).toBe('shears: error: stray.npz: not what it should be\n');
    expect(r.status).toBe(3);
    expect(r.json().error).toMatchObject({ code: 'E_DATA', message: 'stray.npz: not what it should be' });
  }, 60_000);
});
