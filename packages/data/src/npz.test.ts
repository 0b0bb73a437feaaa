import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { encodeNpy } from './npy.js';
import { parseNpzArchive, readNpz, toNpz, writeNpz } from './npz.js';
import { openDataset } from './open.js';
import { crc32 } from './zip.js';
import { collect, concatX, concatY, expectDataError, numpyMissing, python, tmpDir } from './test-helpers.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

/** A hand-built zip: deflated and/or zip64 (64-bit sizes in extra fields, zip64 end records). */
function buildZip(entries: { name: string; data: Uint8Array }[], o: { deflate?: boolean; zip64?: boolean }): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const body = o.deflate ? deflateRawSync(e.data) : Buffer.from(e.data);
    const crc = crc32(e.data);
    const z64 = Buffer.alloc(20);
    z64.writeUInt16LE(1, 0);
    z64.writeUInt16LE(16, 2);
    z64.writeBigUInt64LE(BigInt(e.data.length), 4);
    z64.writeBigUInt64LE(BigInt(body.length), 12);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(o.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(o.zip64 ? 0xffffffff : body.length, 18);
    local.writeUInt32LE(o.zip64 ? 0xffffffff : e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(o.zip64 ? z64.length : 0, 28);
    parts.push(local, name, ...(o.zip64 ? [z64] : []), body);
    const cz64 = Buffer.alloc(28);
    cz64.writeUInt16LE(1, 0);
    cz64.writeUInt16LE(24, 2);
    cz64.writeBigUInt64LE(BigInt(e.data.length), 4);
    cz64.writeBigUInt64LE(BigInt(body.length), 12);
    cz64.writeBigUInt64LE(BigInt(offset), 20);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(0x02014b50, 0);
    cen.writeUInt16LE(45, 4);
    cen.writeUInt16LE(45, 6);
    cen.writeUInt16LE(o.deflate ? 8 : 0, 10);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(o.zip64 ? 0xffffffff : body.length, 20);
    cen.writeUInt32LE(o.zip64 ? 0xffffffff : e.data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt16LE(o.zip64 ? cz64.length : 0, 30);
    cen.writeUInt32LE(o.zip64 ? 0xffffffff : offset, 42);
    central.push(cen, name, ...(o.zip64 ? [cz64] : []));
    offset += local.length + name.length + (o.zip64 ? z64.length : 0) + body.length;
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (o.zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(o.zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(o.zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(o.zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(o.zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...parts, cd, ...tail, eocd]);
}

const X = { data: Float32Array.from({ length: 5 * 2 * 3 }, (_, i) => i / 10), shape: [5, 2, 3] };
const Y = Int32Array.from([0, 1, 2, 1, 0]);

describe('npz', () => {
  test('toNpz / parse round trip, several arrays', () => {
    const z = parseNpzArchive(toNpz({ x: X, y: Y, extra: BigInt64Array.from([1n]) }), 'mem.npz');
    expect(z.names).toEqual(['x', 'y', 'extra']);
    expect(z.get('x').shape).toEqual([5, 2, 3]);
    expect([...z.get('y').data]).toEqual([...Y]);
    expect(z.get('extra').dtype).toBe('int64');
  });

  test('compress: deflated entries, smaller for redundant data, same arrays back; numpy reads them', () => {
    const big = { data: new Uint8Array(4096).map((_, i) => i % 7), shape: [64, 64] };
    const stored = toNpz({ x: big, y: Y });
    const packed = toNpz({ x: big, y: Y }, { compress: true });
    expect(packed.length).toBeLessThan(stored.length / 4);
    const z = parseNpzArchive(packed, 'mem.npz');
    expect([...z.get('x').data]).toEqual([...big.data]);
    expect([...z.get('y').data]).toEqual([...Y]);
    writeNpz(join(tmp.dir, 'c.npz'), { x: big }, { compress: true });
    if (numpyMissing) return;
    // numpy reads it back: the check raises (and python() throws) on a mismatch.
    python(`import numpy; a = numpy.load('c.npz')['x']; assert a.shape == (64, 64) and int(a.sum()) == ${big.data.reduce((a, b) => a + b, 0)}`, tmp.dir);
  });

  test('writeNpz → openDataset: x and labels, batches, shuffle determinism, limit', async () => {
    const f = join(tmp.dir, 'd.npz');
    writeNpz(f, { x: X, y: Y });
    const ds = await openDataset(f);
    expect(ds).toMatchObject({ name: f, size: 5, sampleShape: [2, 3], numClasses: 3 });
    const b = await collect(ds, 2);
    expect(b.map((t) => t.dims)).toEqual([[2, 2, 3], [2, 2, 3], [1, 2, 3]]);
    expect([...concatX(b)]).toEqual([...X.data]);
    expect(concatY(b)).toEqual([...Y]);
    // shuffle: same seed → same order; a permutation; x and y stay paired
    const s1 = await collect(ds, 2, { shuffle: true, seed: 42 });
    const s2 = await collect(ds, 3, { shuffle: true, seed: 42 });
    const s3 = await collect(ds, 2, { shuffle: true, seed: 7 });
    expect([...concatX(s1)]).toEqual([...concatX(s2)]);
    expect(concatY(s1)).toEqual(concatY(s2));
    const first = (bs: typeof s1) => [...concatX(bs)].filter((_, i) => i % 6 === 0).map((v) => Math.round(v * 10) / 6);
    expect([...first(s1)].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(first(s1)).not.toEqual(first(s3));
    expect(concatY(s1)).toEqual(first(s1).map((i) => Y[i]));
    // limit after shuffle; dropLast
    expect((await collect(ds, 2, { limit: 3 })).map((t) => t.dims[0])).toEqual([2, 1]);
    expect((await collect(ds, 2, { dropLast: true })).map((t) => t.dims[0])).toEqual([2, 2]);
    expect(concatY(await collect(ds, 4, { shuffle: true, seed: 42, limit: 2 }))).toEqual(concatY(s1).slice(0, 2));
  });

  test('deflated entries', async () => {
    const f = join(tmp.dir, 'deflated.npz');
    writeFileSync(f, buildZip([{ name: 'x.npy', data: encodeNpy(X) }, { name: 'y.npy', data: encodeNpy(Y) }], { deflate: true }));
    const a = readNpz(f);
    expect([...a.x!.data]).toEqual([...X.data]);
    expect([...a.y!.data]).toEqual([...Y]);
  });

  test('zip64 records and extra fields, stored and deflated', async () => {
    for (const deflate of [false, true]) {
      const f = join(tmp.dir, `zip64-${deflate}.npz`);
      writeFileSync(f, buildZip([{ name: 'x.npy', data: encodeNpy(X) }, { name: 'y.npy', data: encodeNpy(Y) }], { deflate, zip64: true }));
      const ds = await openDataset(f);
      expect(ds.size).toBe(5);
      expect(concatY(await collect(ds, 10))).toEqual([...Y]);
    }
  });

  test('positional arrays (np.savez(f, x, y)) and a lone array', async () => {
    const f = join(tmp.dir, 'pos.npz');
    writeNpz(f, { arr_0: X, arr_1: Y });
    const ds = await openDataset(f);
    expect(ds.labels && [...ds.labels]).toEqual([...Y]);
    const g = join(tmp.dir, 'lone.npz');
    writeNpz(g, { images: X });
    expect((await openDataset(g)).labels).toBeUndefined();
  });

  test('float labels that are integral are accepted; [n,1] labels too', async () => {
    const f = join(tmp.dir, 'fy.npz');
    writeNpz(f, { x: X, y: { data: Float32Array.from([0, 1, 2, 1, 0]), shape: [5, 1] } });
    expect([...(await openDataset(f)).labels!]).toEqual([...Y]);
  });
});

describe('npz errors', () => {
  const good = () => Buffer.from(toNpz({ x: X, y: Y }));
  test('missing file', async () => {
    const f = join(tmp.dir, 'missing.npz');
    await expectDataError(() => openDataset(f), f, 'no such file or directory');
  });
  test('not a zip', async () => {
    const f = join(tmp.dir, 'bad.npz');
    writeFileSync(f, 'definitely not a zip file '.repeat(4));
    await expectDataError(() => openDataset(f), f, 'not an .npz file (wrong magic');
  });
  test('truncated', async () => {
    const f = join(tmp.dir, 'trunc.npz');
    writeFileSync(f, good().subarray(0, 200));
    await expectDataError(() => openDataset(f), f, 'truncated .npz');
  });
  test('corrupt entry (CRC)', async () => {
    const f = join(tmp.dir, 'crc.npz');
    const b = good();
    b[200] ^= 0xff; // inside x.npy's data
    writeFileSync(f, b);
    await expectDataError(() => openDataset(f), f, 'entry x.npy fails its CRC check');
  });
  test('no x array', async () => {
    const f = join(tmp.dir, 'nox.npz');
    writeNpz(f, { a: X, b: Y });
    await expectDataError(() => openDataset(f), f, "no array 'x' in the .npz (it has a, b)");
  });
  test('x/y length mismatch', async () => {
    const f = join(tmp.dir, 'mismatch.npz');
    writeNpz(f, { x: X, y: Int32Array.from([1, 2, 3]) });
    await expectDataError(() => openDataset(f), f, 'x has 5 samples but y has 3 labels');
  });
  test('one-hot or fractional labels', async () => {
    const f = join(tmp.dir, 'onehot.npz');
    writeNpz(f, { x: X, y: { data: new Float32Array(15), shape: [5, 3] } });
    await expectDataError(() => openDataset(f), f, 'y has shape 5x3; expected 5 integer labels');
    const g = join(tmp.dir, 'frac.npz');
    writeNpz(g, { x: X, y: Float32Array.from([0, 1, 0.5, 1, 0]) });
    await expectDataError(() => openDataset(g), g, 'y[2] = 0.5 is not an integer class label');
  });
  test('unsupported dtype inside an npz names the entry', async () => {
    const f = join(tmp.dir, 'c8.npz');
    const npy = encodeNpy(new Float32Array(10));
    const text = Buffer.from(npy).toString('latin1').replace("'<f4'", "'<c8'");
    writeFileSync(f, buildZip([{ name: 'x.npy', data: Buffer.from(text, 'latin1') }], {}));
    await expectDataError(() => openDataset(f), f, "x.npy: unsupported dtype '<c8'");
  });
});

describe.skipIf(numpyMissing !== null)(`numpy-written .npz files${numpyMissing ? ` (skipped: ${numpyMissing})` : ''}`, () => {
  test('np.savez and np.savez_compressed (deflated)', async () => {
    python(
      `
import numpy as np
rng = np.random.default_rng(0)
x = rng.integers(0, 256, size=(37, 1, 4, 4), dtype=np.uint8)
y = rng.integers(0, 10, size=37).astype(np.int64)
np.savez('plain.npz', x=x, y=y)
np.savez_compressed('comp.npz', x=x.astype(np.float32) / 255, y=y)
np.save('expect_x.npy', x.astype(np.float32) / 255)
np.save('expect_y.npy', y.astype(np.int32))
`,
      tmp.dir,
    );
    const ex = (await collect(await openDataset(join(tmp.dir, 'expect_x.npy')), 64))[0]!.x;
    const ey = [...readNpz(join(tmp.dir, 'comp.npz')).y!.data].map(Number);
    for (const name of ['plain.npz', 'comp.npz']) {
      const ds = await openDataset(join(tmp.dir, name));
      expect(ds.size).toBe(37);
      expect(ds.sampleShape).toEqual([1, 4, 4]);
      const b = await collect(ds, 16);
      expect(b.map((t) => t.dims[0])).toEqual([16, 16, 5]);
      const x = concatX(b);
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - ex[i]!)).toBeLessThan(1e-6);
      expect(concatY(b)).toEqual(ey);
    }
    // the compressed file really is deflated
    const buf = readFileSync(join(tmp.dir, 'comp.npz'));
    expect(buf.readUInt16LE(8)).toBe(8);
  });

  test('numpy loads what writeNpz writes', () => {
    writeNpz(join(tmp.dir, 'ours.npz'), { x: X, y: Y });
    python(
      `
import numpy as np
d = np.load('ours.npz')
assert sorted(d.files) == ['x', 'y'], d.files
assert d['x'].shape == (5, 2, 3) and d['x'].dtype == np.float32
assert list(d['y']) == [0, 1, 2, 1, 0]
`,
      tmp.dir,
    );
  });
});
