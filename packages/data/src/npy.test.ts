import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { encodeNpy, parseNpy, readNpy, writeNpy, type NpyData } from './npy.js';
import { openDataset } from './open.js';
import { collect, concatX, expectDataError, numpyMissing, python, tmpDir } from './test-helpers.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

/** A .npy with a hand-made header of the given format version. */
function npyWithVersion(major: number, descr: string, shape: string, data: Uint8Array, fortran = false): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let dict = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = new Uint8Array(total + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  out.set(Buffer.from(dict, 'latin1'), pre);
  out.set(data, total);
  return out;
}

describe('npy round trip', () => {
  const cases: [string, NpyData][] = [
    ['float32', Float32Array.from([1.5, -2, 3.25, 0, 1e-30, -7])],
    ['float64', Float64Array.from([Math.PI, -1, 2, 3, 4, 5])],
    ['uint8', Uint8Array.from([0, 1, 127, 128, 254, 255])],
    ['int32', Int32Array.from([-2147483648, -1, 0, 1, 2, 2147483647])],
    ['int64', BigInt64Array.from([-5n, 0n, 1n, 2n, 3n, 9007199254740993n])],
    ['int8', Int8Array.from([-128, -1, 0, 1, 2, 127])],
    ['uint16', Uint16Array.from([0, 1, 2, 3, 4, 65535])],
  ];
  for (const [dtype, data] of cases) {
    test(dtype, () => {
      const bytes = encodeNpy({ data, shape: [2, 3] });
      // header + padding is a multiple of 64, as numpy writes it
      expect((bytes.length - data.byteLength) % 64).toBe(0);
      const a = parseNpy(bytes, 'mem.npy');
      expect(a.dtype).toBe(dtype);
      expect(a.shape).toEqual([2, 3]);
      expect([...a.data]).toEqual([...data]);
    });
  }

  test('1-D typed array input, scalar and empty shapes', () => {
    expect(parseNpy(encodeNpy(Float32Array.from([1, 2, 3])), 'a.npy').shape).toEqual([3]);
    expect(parseNpy(encodeNpy({ data: Float32Array.from([7]), shape: [] }), 'a.npy').shape).toEqual([]);
    const e = parseNpy(encodeNpy({ data: new Float32Array(0), shape: [0, 4] }), 'a.npy');
    expect(e.shape).toEqual([0, 4]);
    expect(e.data.length).toBe(0);
  });

  test('writeNpy writes atomically (no temp file left) and reads back', () => {
    const f = join(tmp.dir, 'w.npy');
    writeNpy(f, { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] });
    writeNpy(f, { data: Float32Array.from([5, 6, 7, 8]), shape: [4, 1] });
    const a = readNpy(f);
    expect(a.shape).toEqual([4, 1]);
    expect([...a.data]).toEqual([5, 6, 7, 8]);
    expect(readdirSync(tmp.dir).filter((n) => n.includes('.tmp'))).toEqual([]);
  });

  test('format versions 2 and 3', () => {
    const data = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
    for (const v of [1, 2, 3]) {
      const a = parseNpy(npyWithVersion(v, '<f4', '(3, 2)', data), `v${v}.npy`);
      expect(a.shape).toEqual([3, 2]);
      expect([...a.data]).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  test('unaligned data is copied, aligned data is a view', () => {
    const bytes = encodeNpy({ data: Float32Array.from([1, 2, 3]), shape: [3] });
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const a = parseNpy(shifted.subarray(1), 'u.npy');
    expect([...a.data]).toEqual([1, 2, 3]);
    const b = parseNpy(bytes, 'v.npy');
    expect(b.data.buffer).toBe(bytes.buffer);
  });

  test('.npy dataset: uint8 samples scale to [0,1], float64 converts', async () => {
    const f = join(tmp.dir, 'u8.npy');
    writeNpy(f, { data: Uint8Array.from([0, 51, 255, 102]), shape: [2, 2] });
    const ds = await openDataset(f);
    expect(ds.size).toBe(2);
    expect(ds.sampleShape).toEqual([2]);
    expect(ds.labels).toBeUndefined();
    const x = concatX(await collect(ds, 5));
    expect([...x]).toEqual([0, 0.2, 1, 0.4].map(Math.fround));
    const g = join(tmp.dir, 'f8.npy');
    writeNpy(g, { data: Float64Array.from([0.5, 1.5, 2.5]), shape: [3] });
    const b = await collect(await openDataset(g), 2);
    expect(b.map((x) => x.dims)).toEqual([[2], [1]]);
    expect([...concatX(b)]).toEqual([0.5, 1.5, 2.5]);
  });
});

describe('npy errors', () => {
  test('missing file', async () => {
    const f = join(tmp.dir, 'nope.npy');
    await expectDataError(() => readNpy(f), f, 'no such file');
    await expectDataError(() => openDataset(f), f, 'no such file');
  });
  test('wrong magic', async () => {
    const f = join(tmp.dir, 'text.npy');
    writeFileSync(f, 'hello, this is not numpy');
    await expectDataError(() => openDataset(f), f, 'not a .npy file (wrong magic');
  });
  test('empty file', async () => {
    const f = join(tmp.dir, 'empty.npy');
    writeFileSync(f, '');
    await expectDataError(() => readNpy(f), f, 'empty file');
  });
  test('truncated data', async () => {
    const f = join(tmp.dir, 'trunc.npy');
    const bytes = encodeNpy({ data: new Float32Array(100), shape: [10, 10] });
    writeFileSync(f, bytes.subarray(0, bytes.length - 10));
    await expectDataError(() => readNpy(f), f, 'truncated .npy: 10x10 float32 needs 400 bytes of data but the file has 390');
  });
  test('truncated header', async () => {
    const f = join(tmp.dir, 'trunchead.npy');
    writeFileSync(f, encodeNpy(new Float32Array(4)).subarray(0, 40));
    await expectDataError(() => readNpy(f), f, /truncated \.npy: header of \d+ bytes/);
  });
  test('unsupported dtypes and layouts', async () => {
    const d = new Uint8Array(16);
    await expectDataError(() => parseNpy(npyWithVersion(1, '<c8', '(2,)', d), 'c.npy'), 'c.npy', "unsupported dtype '<c8'");
    await expectDataError(() => parseNpy(npyWithVersion(1, '<f2', '(2,)', d), 'h.npy'), 'h.npy', "unsupported dtype '<f2'");
    await expectDataError(() => parseNpy(npyWithVersion(1, '>f4', '(2,)', d), 'be.npy'), 'be.npy', 'big-endian');
    await expectDataError(() => parseNpy(npyWithVersion(1, '<f4', '(2, 2)', d, true), 'f.npy'), 'f.npy', 'Fortran-order');
    await expectDataError(() => parseNpy(npyWithVersion(9, '<f4', '(2,)', d), 'v.npy'), 'v.npy', 'unsupported .npy format version 9.0');
  });
  test('a scalar .npy is not a dataset', async () => {
    const f = join(tmp.dir, 'scalar.npy');
    writeNpy(f, { data: Float32Array.from([1]), shape: [] });
    await expectDataError(() => openDataset(f), f, 'x is a scalar');
  });
});

describe.skipIf(numpyMissing !== null)(`numpy-written .npy files${numpyMissing ? ` (skipped: ${numpyMissing})` : ''}`, () => {
  test('float32/float64/uint8/int64/int32, v1 and v3 headers', () => {
    python(
      `
import numpy as np
from numpy.lib import format as fmt
np.save('f32.npy', np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7)
np.save('f64.npy', np.linspace(-1, 1, 10))
np.save('u8.npy', np.arange(256, dtype=np.uint8).reshape(16, 16))
np.save('i64.npy', np.array([-(2**40), -1, 0, 7], dtype=np.int64))
np.save('i32.npy', np.array([[1, 2], [3, 4]], dtype=np.int32))
a = np.arange(6, dtype=np.float32).reshape(3, 2)
with open('v3.npy', 'wb') as f:
    fmt.write_array(f, a, version=(3, 0))
with open('v2.npy', 'wb') as f:
    fmt.write_array(f, a, version=(2, 0))
np.save('fort.npy', np.asfortranarray(np.ones((3, 2), dtype=np.float32)))
`,
      tmp.dir,
    );
    const f32 = readNpy(join(tmp.dir, 'f32.npy'));
    expect(f32.shape).toEqual([2, 3, 4]);
    expect(f32.data[10]).toBeCloseTo(10 / 7, 6);
    const f64 = readNpy(join(tmp.dir, 'f64.npy'));
    expect(f64.dtype).toBe('float64');
    expect(f64.data[9]).toBe(1);
    const u8 = readNpy(join(tmp.dir, 'u8.npy'));
    expect(u8.shape).toEqual([16, 16]);
    expect(u8.data[255]).toBe(255);
    expect([...readNpy(join(tmp.dir, 'i64.npy')).data]).toEqual([-(2n ** 40n), -1n, 0n, 7n]);
    expect([...readNpy(join(tmp.dir, 'i32.npy')).data]).toEqual([1, 2, 3, 4]);
    for (const v of ['v2', 'v3']) {
      const a = readNpy(join(tmp.dir, `${v}.npy`));
      expect(a.shape).toEqual([3, 2]);
      expect([...a.data]).toEqual([0, 1, 2, 3, 4, 5]);
    }
    const fort = join(tmp.dir, 'fort.npy');
    return expectDataError(() => readNpy(fort), fort, 'Fortran-order');
  });

  test('numpy reads what writeNpy writes', () => {
    writeNpy(join(tmp.dir, 'ours.npy'), { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] });
    writeNpy(join(tmp.dir, 'ours64.npy'), { data: BigInt64Array.from([5n, -6n]), shape: [2] });
    python(
      `
import numpy as np
a = np.load('ours.npy')
assert a.dtype == np.float32 and a.shape == (2, 3) and a[1, 2] == 6, a
b = np.load('ours64.npy')
assert b.dtype == np.int64 and list(b) == [5, -6], b
`,
      tmp.dir,
    );
    expect(readFileSync(join(tmp.dir, 'ours.npy')).subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  });
});
