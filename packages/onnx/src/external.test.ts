import { Graph, Model, ShearsError, Tensor } from '@shears/core';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { readModel, readModelSync } from './read.js';
import { protoBytes } from './test-utils.js';

const tmp = mkdtempSync(join(tmpdir(), 'shears-onnx-ext-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const W = Float32Array.from([1, 2, 3, 4, 5, 6]);

/** A model whose initializer w (float32[6]) lives in `location` at `offset`. */
function externalModel(location: string, offset = 0, extra: [string, string][] = []): Uint8Array {
  return protoBytes({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      initializer: [
        {
          name: 'w',
          dims: [6],
          data_type: 1,
          data_location: 1,
          external_data: [
            { key: 'location', value: location },
            { key: 'offset', value: String(offset) },
            { key: 'length', value: '24' },
            ...extra.map(([key, value]) => ({ key, value })),
          ],
        },
      ],
      node: [{ op_type: 'Identity', input: ['w'], output: ['y'] }],
      output: [{ name: 'y' }],
    },
  });
}

function caught(f: () => unknown): ShearsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShearsError);
    return e as ShearsError;
  }
  throw new Error('expected an error');
}

describe('external data', () => {
  const dir = join(tmp, 'models');
  beforeAll(() => {
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const data = Buffer.alloc(8 + 24);
    Buffer.from(W.buffer).copy(data, 8);
    writeFileSync(join(dir, 'sub', 'w.bin'), data);
    writeFileSync(join(dir, 'ok.onnx'), externalModel('sub/w.bin', 8, [['checksum', 'abc'], ['custom', 'x']]));
    writeFileSync(join(dir, 'missing.onnx'), externalModel('nope.bin'));
    writeFileSync(join(dir, 'short.data'), Buffer.alloc(10));
    writeFileSync(join(dir, 'short.onnx'), externalModel('short.data'));
  });

  it('resolves locations against the model directory, whatever the cwd', async () => {
    const m = await readModel(join(dir, 'ok.onnx'));
    const t = m.graph.initializer('w')!;
    expect(t.loaded).toBe(true);
    expect(t.data).toEqual(W);
    expect(t.external).toMatchObject({ location: 'sub/w.bin', offset: 8, length: 24, checksum: 'abc', extra: [['custom', 'x']], baseDir: dir });
  });

  it('loads lazily when asked', () => {
    const m = readModelSync(join(dir, 'ok.onnx'), { loadExternal: false });
    const t = m.graph.initializer('w')!;
    expect(t.loaded).toBe(false);
    expect(t.data).toEqual(W);
  });

  it('a missing file fails at read time by default, at first use when lazy', async () => {
    const path = join(dir, 'missing.onnx');
    const e = (await readModel(path).catch((x: unknown) => x)) as ShearsError;
    expect(e).toBeInstanceOf(ShearsError);
    expect(e.code).toBe('E_EXTERNAL_DATA');
    expect(e.message).toBe(`${path}: tensor w: external data file ${join(dir, 'nope.bin')} missing`);
    const lazy = readModelSync(path, { loadExternal: false });
    const e2 = caught(() => lazy.graph.initializer('w')!.data);
    expect(e2.code).toBe('E_EXTERNAL_DATA');
    expect(e2.message).toBe(e.message);
  });

  it('a short file is E_EXTERNAL_DATA', () => {
    const path = join(dir, 'short.onnx');
    const e = caught(() => readModelSync(path));
    expect(e.code).toBe('E_EXTERNAL_DATA');
    expect(e.message).toBe(`${path}: tensor w: external data file ${join(dir, 'short.data')} is too short (needs bytes 0..24, has 10)`);
  });

  it('decodeModel takes baseDir and fileName', () => {
    const bytes = readFileSync(join(dir, 'ok.onnx'));
    expect(decodeModel(bytes, { baseDir: dir }).graph.initializer('w')!.data).toEqual(W);
    const e = caught(() => decodeModel(bytes, { baseDir: tmp, fileName: 'mem.onnx' }));
    expect(e.message).toMatch(/^mem\.onnx: tensor w: external data file .* missing$/);
  });

  it('bad external_data entries are E_PARSE', () => {
    const noLocation = protoBytes({
      ir_version: 8,
      graph: { name: 'g', initializer: [{ name: 'w', dims: [1], data_type: 1, data_location: 1, external_data: [{ key: 'offset', value: '0' }] }] },
    });
    expect(caught(() => decodeModel(noLocation, { fileName: 'x.onnx' })).message).toBe('x.onnx: not a valid ONNX model (tensor w: external data has no location)');
    const badOffset = externalModel('w.bin', 0, [['offset', '-5']]);
    expect(caught(() => decodeModel(badOffset)).message).toMatch(/external data offset -5 is not a byte count/);
  });

  it('unreadable model files are E_IO naming the file', async () => {
    const missing = join(dir, 'absent.onnx');
    const e = (await readModel(missing).catch((x: unknown) => x)) as ShearsError;
    expect([e.code, e.message]).toEqual(['E_IO', `${missing}: cannot read (no such file or directory)`]);
    expect(caught(() => readModelSync(dir)).message).toBe(`${dir}: cannot read (is a directory)`);
    expect(((await readModel(dir).catch((x: unknown) => x)) as Error).message).toBe(`${dir}: cannot read (is a directory)`);
  });

  it('reads big files in concurrent chunks to the same model as a plain read', async () => {
    const n = 5_000_001; // 20 MB of weights: over the chunked-read threshold, not a whole number of chunks
    const w = Float32Array.from({ length: n }, (_, i) => (i % 1013) - 506.5);
    const g = new Graph('big');
    g.addInitializer(Tensor.fromFloat32('a', [3], [1, 2, 3]));
    g.addInitializer(Tensor.fromFloat32('w', [n], w));
    const p = join(dir, 'big.onnx');
    writeFileSync(p, encodeModel(new Model({ graph: g, irVersion: 8, opsetImports: { '': 17 } })));
    const back = await readModel(p);
    expect(Buffer.compare(Buffer.from(back.graph.initializer('w')!.rawBytes()), Buffer.from(w.buffer))).toBe(0);
    expect([...(back.graph.initializer('a')!.data as Float32Array)]).toEqual([1, 2, 3]);
  });

  it('a file removed after a lazy read fails on use, not before', () => {
    const p = join(dir, 'gone.onnx');
    writeFileSync(join(dir, 'gone.bin'), Buffer.from(W.buffer));
    writeFileSync(p, externalModel('gone.bin'));
    const m = readModelSync(p, { loadExternal: false });
    truncateSync(join(dir, 'gone.bin'), 4);
    expect(caught(() => m.graph.initializer('w')!.data).message).toMatch(/is too short/);
    unlinkSync(join(dir, 'gone.bin'));
    expect(caught(() => m.graph.initializer('w')!.data).message).toMatch(/missing$/);
  });
});
