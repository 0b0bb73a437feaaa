import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ShearsError } from '@shears/core';
import { openDataset } from './open.js';
import { randomDataset } from './random.js';
import { arrayDataset } from './array.js';
import { checkFits, checkLabels, isSafeReshape } from './check.js';
import { writeNpz, toNpz } from './npz.js';
import { writeNpy } from './npy.js';
import { collect, concatX, concatY, expectDataError, tmpDir } from './test-helpers.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

describe('random:N', () => {
  test('shape from the model input, deterministic, independent of batching', async () => {
    const ds = await openDataset('random:10', { inputShape: [1, 3, 4, 4] });
    expect(ds).toMatchObject({ name: 'random:10', size: 10, sampleShape: [3, 4, 4] });
    expect(ds.labels).toBeUndefined();
    const a = await collect(ds, 4);
    expect(a.map((b) => b.dims)).toEqual([[4, 3, 4, 4], [4, 3, 4, 4], [2, 3, 4, 4]]);
    expect(a[0]!.y).toBeUndefined();
    const b = await collect(await openDataset('random:10', { inputShape: ['batch', 3, 4, 4] }), 3);
    expect([...concatX(a)]).toEqual([...concatX(b)]);
    // a limit is a prefix; another seed gives other data
    expect([...concatX(await collect(ds, 10, { limit: 3 }))]).toEqual([...concatX(a).subarray(0, 3 * 48)]);
    const c = await collect(await openDataset('random:10', { inputShape: [1, 3, 4, 4], seed: 1 }), 10);
    expect([...concatX(c)]).not.toEqual([...concatX(a)]);
  });

  test('standard normal', async () => {
    const x = concatX(await collect(randomDataset(64, [1000], 123), 64));
    let s = 0;
    let s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    const mean = s / x.length;
    const std = Math.sqrt(s2 / x.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(std - 1)).toBeLessThan(0.02);
    expect(x.every((v) => Number.isFinite(v))).toBe(true);
  });

  test('shuffled random samples are the same samples, reordered deterministically', async () => {
    const ds = randomDataset(6, [2], 9);
    const plain = concatX(await collect(ds, 6));
    const sh = concatX(await collect(ds, 4, { shuffle: true, seed: 2 }));
    const pairs = (x: Float32Array) => Array.from({ length: 6 }, (_, i) => `${x[2 * i]},${x[2 * i + 1]}`);
    expect(pairs(sh).sort()).toEqual(pairs(plain).sort());
    expect([...concatX(await collect(ds, 1, { shuffle: true, seed: 2 }))]).toEqual([...sh]);
  });

  test('errors', async () => {
    await expectDataError(() => openDataset('random:10'), 'random:10', 'random data needs the model input shape');
    await expectDataError(() => openDataset('random:x'), 'random:x', 'expected random:<count>, e.g. random:64');
    await expectDataError(() => openDataset('random:4', { inputShape: [1, 3, 'h', 'w'] }), 'random:4', 'model input dim 2 is dynamic (1x3xhxw); give a fixed input shape');
  });
});

describe('batch options', () => {
  const ds = arrayDataset('mem', { dtype: 'float32', shape: [7, 1], data: Float32Array.from([0, 1, 2, 3, 4, 5, 6]) }, Int32Array.from([0, 1, 2, 3, 4, 5, 6]));
  test('shuffle: same seed same order, different seeds differ, default seed is fixed', async () => {
    const order = async (o: object, bs = 3) => [...concatX(await collect(ds, bs, o))];
    const s1 = await order({ shuffle: true, seed: 1 });
    expect(await order({ shuffle: true, seed: 1 }, 2)).toEqual(s1);
    expect(await order({ shuffle: true, seed: 2 })).not.toEqual(s1);
    expect(await order({ shuffle: true })).toEqual(await order({ shuffle: true, seed: 0 }));
    expect([...s1].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(concatY(await collect(ds, 3, { shuffle: true, seed: 1 }))).toEqual(s1);
  });
  test('limit 0, limit > size, bad batch sizes', async () => {
    expect(await collect(ds, 3, { limit: 0 })).toEqual([]);
    expect((await collect(ds, 3, { limit: 100 })).length).toBe(3);
    await expect(collect(ds, 0)).rejects.toThrow(/option batchSize: must be a positive integer, got 0/);
    await expect(collect(ds, 2, { limit: -1 })).rejects.toThrow(/option limit/);
  });
});

describe('checkFits / checkLabels', () => {
  const ds = arrayDataset('fmnist.npz', { dtype: 'uint8', shape: [400, 1, 28, 28], data: new Uint8Array(400 * 784) }, Int32Array.from({ length: 400 }, (_, i) => (i === 345 ? 12 : i % 10)));
  test('shape mismatch message', async () => {
    const e = await expectDataError(() => checkFits(ds, [1, 3, 224, 224], { file: 'fmnist.npz', inputName: 'input' }), 'fmnist.npz', 'fmnist.npz: samples are 1x28x28 but model input input expects 3x224x224');
    expect(e.message).toBe('fmnist.npz: samples are 1x28x28 but model input input expects 3x224x224');
    await expectDataError(() => checkFits(ds, ['N', 784], { inputName: 'x' }), 'fmnist.npz', 'samples are 1x28x28 but model input x expects 784');
    await expectDataError(() => checkFits(ds, [1, 1, 'h', 32], { inputName: 'x' }), 'fmnist.npz', 'expects 1xhx32');
  });
  test('dynamic dims match anything', () => {
    expect(() => checkFits(ds, [null, 1, 28, 28])).not.toThrow();
    expect(() => checkFits(ds, ['batch', 1, 'height', null])).not.toThrow();
    expect(() => checkFits(ds, [1, 1, 28, 28])).not.toThrow();
  });
  test('labels outside the model classes', async () => {
    const e = await expectDataError(() => checkLabels(ds, 10), 'fmnist.npz', "label 12 at sample 345 is outside the model's 10 classes");
    expect(e.message).toBe("fmnist.npz: label 12 at sample 345 is outside the model's 10 classes");
    expect(() => checkLabels(ds, 13)).not.toThrow();
    const neg = arrayDataset('neg.npz', { dtype: 'float32', shape: [2], data: new Float32Array(2) }, Int32Array.from([0, -1]));
    await expectDataError(() => checkLabels(neg, 10), 'neg.npz', "label -1 at sample 1 is outside the model's 10 classes");
    expect(() => checkLabels(randomDataset(3, [2]), 10)).not.toThrow(); // no labels, nothing to check
  });
  test('isSafeReshape', () => {
    expect(isSafeReshape([1, 28, 28], [784])).toBe(true);
    expect(isSafeReshape([28, 28], [1, 28, 28])).toBe(true);
    expect(isSafeReshape([1, 28, 28], [28, 28, 1])).toBe(true);
    expect(isSafeReshape([3, 32, 32], [32, 32, 3])).toBe(false);
    expect(isSafeReshape([3, 32, 32], [3, 1024])).toBe(false);
    expect(isSafeReshape([1, 28, 28], ['n', 28])).toBe(false);
  });
});

describe('openDataset dispatch', () => {
  test('by extension and by magic; samples viewed in the model shape when no data moves', async () => {
    const x = { data: new Float32Array(4 * 784).map((_, i) => i), shape: [4, 28, 28] };
    const f = join(tmp.dir, 'm.npz');
    writeNpz(f, { x, y: Int32Array.from([0, 1, 2, 3]) });
    expect((await openDataset(f)).sampleShape).toEqual([28, 28]);
    const as4d = await openDataset(f, { inputShape: [1, 1, 28, 28] });
    expect(as4d.sampleShape).toEqual([1, 28, 28]);
    const [b] = await collect(as4d, 4);
    expect(b!.dims).toEqual([4, 1, 28, 28]);
    expect(b!.x[784 + 5]).toBe(789);
    expect((await openDataset(f, { inputShape: ['N', 784] })).sampleShape).toEqual([784]);
    expect((await openDataset(f, { inputShape: [1, 3, 28, 28] })).sampleShape).toEqual([28, 28]); // not safe: left for checkFits
    // no extension: sniffed
    const g = join(tmp.dir, 'noext-npz');
    writeFileSync(g, toNpz({ x }));
    expect((await openDataset(g)).size).toBe(4);
    const h = join(tmp.dir, 'noext-npy');
    writeNpy(h, x);
    expect((await openDataset(h)).size).toBe(4);
  });
  test('unknown file type', async () => {
    const f = join(tmp.dir, 'data.csv');
    writeFileSync(f, '1,2,3\n');
    await expectDataError(() => openDataset(f), f, 'unsupported data file: expected .npz, .npy, an IDX file');
  });
  test('all errors are ShearsErrors with code E_DATA', async () => {
    const e = await openDataset(join(tmp.dir, 'missing')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ShearsError);
    expect((e as ShearsError).code).toBe('E_DATA');
  });
});
