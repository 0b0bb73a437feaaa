// Round trips of the committed small fixtures (fixtures/, see fixtures/README.md):
// read -> write -> read gives the same IR, the bytes are identical, onnxruntime
// gives bit-identical outputs, and Python's checker accepts the rewritten file.
import { smallFixture } from '@shears/fixtures';
import { ShearsError } from '@shears/core';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { fixedInput, manifest, runOrt } from './ort-utils.js';
import { readModel, readModelSync } from './read.js';
import { hasPythonOnnx, modelDigest, pythonCheck, readF32, spelledDefaults } from './test-utils.js';
import { writeModel } from './write.js';

const dir = dirname(smallFixture('tiny-cnn.onnx'));
const present = existsSync(join(dir, 'tiny-cnn.onnx'));
const entries = manifest(dir);
const models = ['tiny-cnn', 'tiny-mlp', 'shape-subgraph', 'typed-fields', 'int8-weights', 'if-subgraph', 'function', 'unknown-op', 'explicit-empty'];
const tmp = mkdtempSync(join(tmpdir(), 'shears-onnx-fixtures-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!present)('small fixtures', () => {
  for (const name of models) {
    it(`${name}: write(read(x)) is byte-identical and re-reads to the same IR`, async () => {
      const path = smallFixture(`${name}.onnx`);
      const m = await readModel(path);
      const out = join(tmp, `${name}.onnx`);
      await writeModel(m, out);
      expect(Buffer.compare(readFileSync(out), readFileSync(path))).toBe(0);
      expect(modelDigest(readModelSync(out))).toEqual(modelDigest(m));
    });
  }

  for (const e of entries) {
    it(`${e.name}: onnxruntime outputs are bit-identical after a round trip`, async () => {
      const path = smallFixture(e.file);
      const input = fixedInput(path, e.inputShape);
      const before = await runOrt(path, input, e.inputShape);
      const rewritten = encodeModel(await readModel(path)); // external data comes back inline
      const after = await runOrt(rewritten, input, e.inputShape);
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [k, v] of before) expect(Buffer.compare(Buffer.from(after.get(k)!), Buffer.from(v))).toBe(0);
    });
  }

  it('externaldata: writes external data again and onnxruntime agrees', async () => {
    const path = smallFixture('externaldata.onnx');
    const m = await readModel(path);
    expect(m.graph.initializers.size).toBeGreaterThan(0);
    for (const v of m.graph.initializers.values()) expect(v.constValue!.external?.location).toBe('externaldata.onnx.data');
    const out = join(tmp, 'ext-out.onnx');
    await writeModel(m, out, { externalData: { location: 'ext-out.onnx.data', sizeThreshold: 0 } });
    expect(readFileSync(out).length).toBeLessThan(8000);
    const e = entries.find((x) => x.name === 'externaldata')!;
    const input = fixedInput(path, e.inputShape);
    const before = await runOrt(path, input, e.inputShape);
    const after = await runOrt(out, input, e.inputShape);
    for (const [k, v] of before) expect(Buffer.compare(Buffer.from(after.get(k)!), Buffer.from(v))).toBe(0);
    expect(modelDigest(await readModel(out))).toEqual(modelDigest(m));
  });

  it.skipIf(!hasPythonOnnx())('rewritten models pass onnx.checker (full_check)', async () => {
    for (const name of [...models, 'externaldata']) {
      const out = join(tmp, `checked-${name}.onnx`);
      const opts = name === 'externaldata' ? { externalData: { location: `checked-${name}.data` } } : {};
      await writeModel(await readModel(smallFixture(`${name}.onnx`)), out, opts);
      expect(() => pythonCheck(out), name).not.toThrow();
    }
  });
  if (!hasPythonOnnx()) it.skip('onnx.checker: skipped, /usr/bin/python3 cannot import onnx', () => {});

  it('truncated.onnx and not-onnx.onnx fail with E_PARSE naming the file', async () => {
    for (const name of ['truncated.onnx', 'not-onnx.onnx']) {
      const path = smallFixture(name);
      const err = await readModel(path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShearsError);
      expect((err as ShearsError).code).toBe('E_PARSE');
      expect((err as ShearsError).message.startsWith(`${path}: not a valid ONNX model`)).toBe(true);
    }
  });

  it('unknown-op keeps the custom domain and attribute', () => {
    const m = decodeModel(readFileSync(smallFixture('unknown-op.onnx')));
    const fancy = m.graph.nodes.find((n) => n.opType === 'FancyOp')!;
    expect(fancy.domain).toBe('com.example');
    expect(fancy.attr('alpha')).toBeDefined();
  });

  it('explicit-empty: every node named "" and the other spelled-out defaults come back byte for byte', async () => {
    const bytes = readFileSync(smallFixture('explicit-empty.onnx'));
    const m = decodeModel(bytes);
    const nodes = [...m.graph.allNodes(), ...m.functions.flatMap((f) => [...f.body.allNodes()])];
    expect(nodes).toHaveLength(11);
    expect(nodes.every((n) => n.name === '' && n.docString === '')).toBe(true);
    expect([m.producerName, m.producerVersion, m.domain, m.modelVersion, m.docString]).toEqual(['', '', '', 0, '']);
    // 11 node names, 10 default node domains, 6 data_location DEFAULT, the Constant's tensor name, 2 default opset domains.
    expect(spelledDefaults(m)).toBe(30);
    const rewritten = encodeModel(m);
    expect(Buffer.compare(Buffer.from(rewritten), bytes)).toBe(0);
    // onnxruntime runs the rewritten file and gives numpy's reference output.
    const e = entries.find((x) => x.name === 'explicit-empty')!;
    const y = new Float32Array((await runOrt(rewritten, fixedInput(smallFixture(e.file), e.inputShape), e.inputShape)).get('output')!.slice().buffer);
    const want = readF32(smallFixture('explicit-empty.output.bin'));
    expect(y.length).toBe(want.length);
    y.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[i]!))));
  });

  it('if-subgraph: branches read the outer initializer W and the outer input', () => {
    const m = readModelSync(smallFixture('if-subgraph.onnx'));
    const ifNode = m.graph.nodes.find((n) => n.opType === 'If')!;
    const W = [...m.graph.initializers.values()][0]!;
    const users = W.uses().map((u) => u.node);
    for (const g of ifNode.subgraphs()) expect(users.some((n) => n.graph === g)).toBe(true);
    expect(m.graph.inputs[0]!.uses().some((u) => u.node.graph !== m.graph)).toBe(true);
  });

  it('typed-fields: float_data / int64_data initializers and the Constant stay typed', () => {
    const m = readModelSync(smallFixture('typed-fields.onnx'));
    const typed = [...m.graph.initializers.values()].map((v) => v.constValue!);
    expect(typed.length).toBeGreaterThan(0);
    for (const t of typed) expect(t.storage).toBe('typed');
    const constant = m.graph.nodes.find((n) => n.opType === 'Constant')!;
    expect(constant.attrTensor('value')!.storage).toBe('typed');
  });
});

if (!present) describe.skip('small fixtures: skipped, fixtures/*.onnx not found (run scripts/make_small_fixtures.py)', () => {});
