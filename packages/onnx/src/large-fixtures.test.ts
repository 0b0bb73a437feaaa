// Round trips of the generated torchvision fixtures (`node scripts/fixtures.mjs`).
// Skipped, with a note, when they have not been generated.
import { fixture, fixturesDir } from '@shears/fixtures';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeModel } from './encode-model.js';
import { fixedInput, manifest, runOrt } from './ort-utils.js';
import { readModel, readModelSync } from './read.js';
import { hasPythonOnnx, modelDigest, pythonCheck } from './test-utils.js';
import { writeModel } from './write.js';

const dir = fixturesDir();
const entries = dir ? manifest(dir) : [];
/** Cheap models whose outputs are also compared in onnxruntime (identical bytes already imply identical outputs). */
const RUN = new Set(['resnet18', 'mobilenet_v2', 'lraspp_mobilenet_v3_large', 'tiny_unet', 'squeezenet1_1']);
const tmp = mkdtempSync(join(tmpdir(), 'shears-onnx-large-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!dir)('torchvision fixtures', () => {
  for (const e of entries) {
    it(`${e.name}: read -> write is byte-identical and re-reads to the same IR`, async () => {
      const path = join(dir!, e.file);
      const m = await readModel(path);
      const out = join(tmp, e.file);
      await writeModel(m, out);
      expect(Buffer.compare(readFileSync(out), readFileSync(path))).toBe(0);
      expect(modelDigest(readModelSync(out))).toEqual(modelDigest(m));
      rmSync(out);
    });
  }

  for (const e of entries.filter((x) => RUN.has(x.name))) {
    it(`${e.name}: onnxruntime outputs are bit-identical (inline and with external data)`, async () => {
      const path = join(dir!, e.file);
      const input = fixedInput(path, e.inputShape);
      const before = await runOrt(path, input, e.inputShape);
      const m = await readModel(path);
      const after = await runOrt(encodeModel(m), input, e.inputShape);
      const ext = join(tmp, `${e.name}-ext.onnx`);
      await writeModel(m, ext, { externalData: { location: `${e.name}-ext.onnx.data` } });
      const afterExt = await runOrt(ext, input, e.inputShape);
      for (const [k, v] of before) {
        expect(Buffer.compare(Buffer.from(after.get(k)!), Buffer.from(v))).toBe(0);
        expect(Buffer.compare(Buffer.from(afterExt.get(k)!), Buffer.from(v))).toBe(0);
      }
    });
  }

  it.skipIf(!hasPythonOnnx() || !fixture('resnet18'))('resnet18 rewritten with external data passes onnx.checker', async () => {
    const out = join(tmp, 'r18-checked.onnx');
    await writeModel(await readModel(fixture('resnet18')!), out, { externalData: { location: 'r18-checked.data' } });
    expect(() => pythonCheck(out)).not.toThrow();
  });
});

if (!dir) describe.skip('torchvision fixtures: skipped, not generated (run `node scripts/fixtures.mjs`)', () => {});
