import { Graph, Model, Node, ShearsError, Tensor, Value, tensorType } from '@shears/core';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { onnx } from './proto.js';
import { readModel, readModelSync } from './read.js';
import { modelDigest } from './test-utils.js';
import { writeModel, writeModelSync } from './write.js';

const tmp = mkdtempSync(join(tmpdir(), 'shears-onnx-write-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** x -> Add(x, w) -> y, with a float32 initializer of `n` elements. */
function small(n = 4, fill = (i: number) => i): Model {
  const g = new Graph('main');
  const x = g.addInput(new Value('x', tensorType('float32', [n])));
  const w = g.addInitializer(Tensor.fromFloat32('w', [n], Float32Array.from({ length: n }, (_, i) => fill(i))));
  const add = g.appendNode(new Node({ opType: 'Add', name: 'add', inputs: [x, w], outputs: ['y'] }));
  add.outputs[0]!.type = tensorType('float32', [n]);
  g.outputs.push(add.outputs[0]!);
  return new Model({ graph: g, irVersion: 8, opsetImports: { '': 17 }, producerName: 'test' });
}

function err(f: () => unknown): ShearsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ShearsError);
    return e as ShearsError;
  }
  throw new Error('expected an error');
}

describe('encodeModel', () => {
  it('round trips a model built in code; data defaults to raw_data', () => {
    const m = small();
    const bytes = encodeModel(m);
    const back = decodeModel(bytes);
    expect(modelDigest(back)).toEqual(modelDigest(m));
    const proto = onnx.ModelProto.decode(bytes);
    expect((proto.graph!.initializer![0] as unknown as { raw_data: Uint8Array }).raw_data.length).toBe(16);
  });

  it('writes ±2^63 (and beyond) as INT64_MAX / INT64_MIN', () => {
    const m = small();
    m.graph.nodes[0]!.setAttr('big', { type: 'ints', value: [2 ** 63, -(2 ** 63), 2 ** 60, Infinity] });
    const proto = onnx.ModelProto.decode(encodeModel(m));
    const ints = proto.graph!.node![0]!.attribute![0]!.ints!.map(String);
    // 2^60 is an exact double, so it is written exactly; ±2^63 and beyond saturate.
    expect(ints).toEqual(['9223372036854775807', '-9223372036854775808', '1152921504606846976', '9223372036854775807']);
  });

  it('rejects data that does not match the dims', () => {
    const m = small();
    m.graph.initializer('w')!.data = new Float32Array(3);
    expect(err(() => encodeModel(m)).message).toMatch(/tensor w: data has 12 bytes but float32\[4\] needs 16/);
  });

  it('refuses models over 2 GiB without loading their data', () => {
    const m = small();
    let loaded = false;
    const huge = new Tensor({
      name: 'huge',
      dtype: 'float32',
      dims: [600_000_000],
      load: () => {
        loaded = true;
        throw new Error('must not load');
      },
    });
    m.graph.addInitializer(huge);
    const e = err(() => encodeModel(m));
    expect(e.message).toMatch(/over protobuf's 2 GiB limit; write its weights to an external data file/);
    const e2 = err(() => writeModelSync(m, join(tmp, 'huge.onnx')));
    expect(e2.message).toMatch(/^.*huge\.onnx: model is 2\.24 GiB/);
    expect(loaded).toBe(false);
    expect(existsSync(join(tmp, 'huge.onnx'))).toBe(false);
  });
});

describe('writeModel', () => {
  it('writes atomically and leaves no temp files', async () => {
    const out = join(tmp, 'a.onnx');
    await writeModel(small(), out);
    writeModelSync(small(8), out); // replaces an existing file
    expect(modelDigest(readModelSync(out))).toEqual(modelDigest(small(8)));
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('removes the temp file when writing fails midway, keeping the old file', async () => {
    const out = join(tmp, 'fail.onnx');
    writeModelSync(small(), out);
    const before = readFileSync(out);
    const m = small();
    // Lazy data that fails while streaming.
    m.graph.addInitializer(new Tensor({ name: 'bad', dtype: 'float32', dims: [2], load: () => { throw new ShearsError('E_EXTERNAL_DATA', 'boom'); } }));
    await expect(writeModel(m, out)).rejects.toThrow('boom');
    expect(() => writeModelSync(m, out)).toThrow('boom');
    expect(readFileSync(out)).toEqual(before);
    expect(readdirSync(tmp).filter((f) => f.includes('fail.onnx') && f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses to overwrite the file the model was read from unless asked', async () => {
    const src = join(tmp, 'src.onnx');
    writeModelSync(small(), src);
    const m = await readModel(src);
    const e = await writeModel(m, src).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ShearsError);
    expect((e as ShearsError).message).toBe(`${src}: refusing to overwrite the model's input file (pass { overwrite: true } to replace it)`);
    // Through another spelling of the same file, too.
    const link = join(tmp, 'link.onnx');
    symlinkSync(src, link);
    expect(() => writeModelSync(m, link)).toThrow(/refusing to overwrite/);
    expect(() => writeModelSync(m, join(tmp, '.', 'src.onnx'))).toThrow(/refusing to overwrite/);
    // And through a hard link (one inode, two names): the error names both paths.
    const hard = join(tmp, 'hard.onnx');
    linkSync(src, hard);
    expect(() => writeModelSync(m, hard)).toThrow(`${hard}: refusing to overwrite the model's input file ${src} (the same file by another path or a hard link)`);
    // A model built in code, with inputPath naming the file to protect.
    expect(() => writeModelSync(small(), src, { inputPath: src })).toThrow(/refusing to overwrite/);
    m.graph.initializer('w')!.data = new Float32Array([9, 9, 9, 9]);
    await writeModel(m, src, { overwrite: true });
    expect(readModelSync(src).graph.initializer('w')!.data).toEqual(new Float32Array([9, 9, 9, 9]));
  });

  it('keeps the mode of a file it replaces', () => {
    const out = join(tmp, 'mode.onnx');
    writeModelSync(small(), out);
    chmodSync(out, 0o640);
    writeModelSync(small(), out);
    expect(statSync(out).mode & 0o777).toBe(0o640);
  });

  it('reports unwritable destinations as E_IO naming the file', () => {
    const out = join(tmp, 'no-such-dir', 'x.onnx');
    const e = err(() => writeModelSync(small(), out));
    expect(e.code).toBe('E_IO');
    expect(e.message).toBe(`${out}: cannot write (no such file or directory)`);
  });

  it('writes big initializers to one aligned external data file', async () => {
    const dir = join(tmp, 'ext');
    mkdirSync(dir);
    const m = small(300_000, (i) => i % 7); // 1.2 MB
    m.graph.addInitializer(Tensor.fromFloat32('tiny', [2], [1, 2]));
    m.graph.addInitializer(Tensor.fromFloat32('mid', [100], new Float32Array(100).fill(3)));
    const out = join(dir, 'm.onnx');
    await writeModel(m, out, { externalData: { location: 'm.onnx.data', sizeThreshold: 64 } });
    const proto = onnx.ModelProto.decode(readFileSync(out));
    const byName = new Map(proto.graph!.initializer!.map((t) => [t.name, t]));
    const loc = (n: string) => Object.fromEntries(byName.get(n)!.external_data!.map((e) => [e.key, e.value]));
    expect(byName.get('tiny')!.data_location ?? 0).toBe(0);
    expect(loc('w')).toEqual({ location: 'm.onnx.data', offset: '0', length: '1200000' });
    expect(Number(loc('mid').offset) % 64).toBe(0);
    expect(statSync(join(dir, 'm.onnx.data')).size).toBe(Number(loc('mid').offset) + 400);
    const back = await readModel(out);
    expect(back.graph.initializer('w')!.external?.location).toBe('m.onnx.data');
    expect(modelDigest(back)).toEqual(modelDigest(m));
  });

  it('reads source external data before replacing the same external file', async () => {
    const dir = join(tmp, 'ext2');
    mkdirSync(dir);
    const first = join(dir, 'a.onnx');
    writeModelSync(small(1000, (i) => i), first, { externalData: { location: 'w.data' } });
    const m = readModelSync(first, { loadExternal: false });
    expect(m.graph.initializer('w')!.loaded).toBe(false);
    const other = small(1000, (i) => -i);
    other.graph.replaceInitializer('w', m.graph.initializer('w')!); // share the lazy tensor
    other.graph.addInitializer(Tensor.fromFloat32('pad', [500], new Float32Array(500))); // shifts offsets
    writeModelSync(other, join(dir, 'b.onnx'), { externalData: { location: 'w.data', sizeThreshold: 0 } });
    expect(m.graph.initializer('w')!.data).toEqual(Float32Array.from({ length: 1000 }, (_, i) => i));
    expect(readModelSync(join(dir, 'b.onnx')).graph.initializer('w')!.data).toEqual(Float32Array.from({ length: 1000 }, (_, i) => i));
  });

  it('validates externalData options', () => {
    for (const location of ['', '/abs/x.data', '../x.data'])
      expect(err(() => writeModelSync(small(), join(tmp, 'o.onnx'), { externalData: { location } })).code).toBe('E_OPTION');
    expect(err(() => writeModelSync(small(), join(tmp, 'o.onnx'), { externalData: { location: 'x', sizeThreshold: -1 } })).code).toBe('E_OPTION');
  });

  it('streams lazily-read external tensors without caching them', async () => {
    const dir = join(tmp, 'ext3');
    mkdirSync(dir);
    writeModelSync(small(5000), join(dir, 'a.onnx'), { externalData: { location: 'a.data' } });
    const m = readModelSync(join(dir, 'a.onnx'), { loadExternal: false });
    writeModelSync(m, join(dir, 'inline.onnx'));
    expect(m.graph.initializer('w')!.loaded).toBe(false);
    expect(readModelSync(join(dir, 'inline.onnx')).graph.initializer('w')!.data).toEqual(Float32Array.from({ length: 5000 }, (_, i) => i));
  });
});
