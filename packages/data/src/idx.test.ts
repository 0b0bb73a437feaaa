import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import { openIdx, readIdxInfo } from './idx.js';
import { openDataset } from './open.js';
import { checkLabels } from './check.js';
import { collect, concatX, concatY, expectDataError, tmpDir } from './test-helpers.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

function idx(dims: number[], data: Uint8Array, type = 0x08): Buffer {
  const h = Buffer.alloc(4 + 4 * dims.length);
  h[2] = type;
  h[3] = dims.length;
  dims.forEach((d, i) => h.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([h, data]);
}

/** n images of r x c where pixel j of image i = (i * 7 + j) % 256; labels i % 10. */
function synth(dir: string, prefix: string, n: number, r = 3, c = 4, gz = false): { images: string; labels: string } {
  mkdirSync(dir, { recursive: true });
  const px = new Uint8Array(n * r * c).map((_, k) => (Math.floor(k / (r * c)) * 7 + (k % (r * c))) % 256);
  const lb = new Uint8Array(n).map((_, i) => i % 10);
  const ext = gz ? '.gz' : '';
  const enc = (b: Buffer) => (gz ? gzipSync(b) : b);
  const images = join(dir, `${prefix}-images-idx3-ubyte${ext}`);
  const labels = join(dir, `${prefix}-labels-idx1-ubyte${ext}`);
  writeFileSync(images, enc(idx([n, r, c], px)));
  writeFileSync(labels, enc(idx([n], lb)));
  return { images, labels };
}

const expectedPixel = (i: number, j: number) => Math.fround(((i * 7 + j) % 256) / 255);

describe('IDX (synthetic)', () => {
  const plain = synth(join(tmp.dir, 'plain'), 'train', 23);
  const gz = synth(join(tmp.dir, 'gz'), 'train', 23, 3, 4, true);

  test('plain and gzip give the same samples, labels paired automatically', async () => {
    for (const f of [plain.images, gz.images]) {
      const ds = await openDataset(f);
      expect(ds).toMatchObject({ name: f, size: 23, sampleShape: [1, 3, 4], numClasses: 10 });
      const b = await collect(ds, 5);
      expect(b.map((t) => t.dims)).toEqual([...Array(4).fill([5, 1, 3, 4]), [3, 1, 3, 4]]);
      const x = concatX(b);
      for (let i = 0; i < 23; i++) for (let j = 0; j < 12; j++) expect(x[i * 12 + j]).toBe(expectedPixel(i, j));
      expect(concatY(b)).toEqual(Array.from({ length: 23 }, (_, i) => i % 10));
    }
  });

  test('shuffle is deterministic and identical for plain and gzip; limit stops early', async () => {
    const a = await collect(await openIdx(plain.images), 4, { shuffle: true, seed: 3 });
    const b = await collect(await openIdx(gz.images), 7, { shuffle: true, seed: 3 });
    expect([...concatX(a)]).toEqual([...concatX(b)]);
    expect(concatY(a)).toEqual(concatY(b));
    const y = concatY(a);
    expect(y).not.toEqual(Array.from({ length: 23 }, (_, i) => i % 10));
    // x and y stay paired: sample i has pixel 0 = 7i/255 and label i % 10
    const x = concatX(a);
    const ids = Array.from({ length: 23 }, (_, k) => Math.round(x[k * 12]! * 255) / 7);
    expect([...ids].sort((p, q) => p - q)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    expect(y).toEqual(ids.map((i) => i % 10));
    for (const f of [plain.images, gz.images]) {
      const l = await collect(await openIdx(f), 4, { limit: 6 });
      expect(l.map((t) => t.dims[0])).toEqual([4, 2]);
      expect(concatY(l)).toEqual([0, 1, 2, 3, 4, 5]);
    }
  });

  test('breaking out of the loop early is fine (streams are closed)', async () => {
    const ds = await openIdx(gz.images);
    for await (const b of ds.batches(2)) {
      expect(b.dims[0]).toBe(2);
      break;
    }
    expect((await collect(ds, 100)).length).toBe(1);
  });

  test('directory + split, and dir:split in the spec', async () => {
    const dir = join(tmp.dir, 'both');
    synth(dir, 'train', 12, 2, 2, true);
    synth(dir, 't10k', 5, 2, 2, true);
    expect((await openDataset(`${dir}:t10k`)).size).toBe(5);
    expect((await openDataset(dir, { split: 'train' })).size).toBe(12);
    await expectDataError(() => openDataset(dir), dir, `holds IDX splits t10k, train; choose one, e.g. ${dir}:t10k`);
    await expectDataError(() => openDataset(`${dir}:val`), dir, "no IDX images for split 'val' (found t10k, train)");
    expect((await openDataset(join(tmp.dir, 'plain'))).size).toBe(23); // a single split needs no name
  });

  test('dotted names (train-images.idx3-ubyte) pair too', async () => {
    const dir = join(tmp.dir, 'dotted');
    mkdirSync(dir);
    writeFileSync(join(dir, 'train-images.idx3-ubyte'), idx([3, 2, 2], new Uint8Array(12)));
    writeFileSync(join(dir, 'train-labels.idx1-ubyte'), idx([3], Uint8Array.from([4, 5, 6])));
    expect([...(await openDataset(join(dir, 'train-images.idx3-ubyte'))).labels!]).toEqual([4, 5, 6]);
    expect((await openDataset(dir)).size).toBe(3);
  });

  test('images without a labels file are unlabeled', async () => {
    const dir = join(tmp.dir, 'nolabels');
    mkdirSync(dir);
    const f = join(dir, 'x-images-idx3-ubyte');
    writeFileSync(f, idx([2, 2, 2], new Uint8Array(8)));
    const ds = await openDataset(f);
    expect(ds.labels).toBeUndefined();
    expect((await collect(ds, 8))[0]!.y).toBeUndefined();
  });
});

describe('IDX errors', () => {
  const dir = join(tmp.dir, 'err');
  mkdirSync(dir, { recursive: true });
  test('missing file', async () => {
    const f = join(dir, 'none-images-idx3-ubyte.gz');
    await expectDataError(() => openDataset(f), f, 'no such file or directory');
  });
  test('wrong magic', async () => {
    const f = join(dir, 'bad-images-idx3-ubyte');
    writeFileSync(f, Buffer.from('P5\n28 28\n255\n' + 'x'.repeat(100)));
    await expectDataError(() => openDataset(f), f, 'not an IDX file (wrong magic 0x50350a32');
  });
  test('truncated plain file', async () => {
    const f = join(dir, 'tr-images-idx3-ubyte');
    writeFileSync(f, idx([10, 28, 28], new Uint8Array(784 * 9)));
    await expectDataError(() => openDataset(f), f, 'truncated IDX: header says 10x28x28 (7856 bytes) but the file has 7072');
  });
  test('truncated gzip file', async () => {
    const f = join(dir, 'trg-images-idx3-ubyte.gz');
    const full = gzipSync(idx([50, 28, 28], new Uint8Array(50 * 784).map((_, i) => (i * 31) % 251)));
    writeFileSync(f, full.subarray(0, Math.floor(full.length / 2)));
    await expectDataError(() => openDataset(f), f, /^.*: truncated IDX: header says 50x28x28 \(39216 bytes\) but the gzip stream/);
  });
  test('images/labels count mismatch names the labels file', async () => {
    const d = join(dir, 'mm');
    const { labels } = synth(d, 'train', 8);
    writeFileSync(labels, idx([7], new Uint8Array(7)));
    await expectDataError(() => openDataset(join(d, 'train-images-idx3-ubyte')), labels, 'has 7 labels but train-images-idx3-ubyte has 8 images');
  });
  test('labels file given as images', async () => {
    const { labels } = synth(join(dir, 'lab'), 'train', 4);
    await expectDataError(() => openDataset(labels), labels, 'is a 1-D IDX file (labels?)');
  });
  test('unsupported element type', async () => {
    const f = join(dir, 'f-images-idx3-ubyte');
    writeFileSync(f, idx([1, 2, 2], new Uint8Array(16), 0x0d));
    await expectDataError(() => readIdxInfo(f), f, 'unsupported IDX element type float32 (0x0d)');
  });
  test('directory without IDX files is an (empty) image folder', async () => {
    const d = join(dir, 'emptydir');
    mkdirSync(d);
    await expectDataError(() => openDataset(d), d, 'empty image folder');
  });
});

const FMNIST = '/usr/share/datasets/fashion-mnist';
const haveFmnist = existsSync(join(FMNIST, 't10k-images-idx3-ubyte.gz'));

describe.skipIf(!haveFmnist)(`Fashion-MNIST${haveFmnist ? '' : ` (skipped: ${FMNIST} not installed; apt install dataset-fashion-mnist)`}`, () => {
  test('t10k via the images file: 10000 samples, [B,1,28,28], labels 0..9', async () => {
    const ds = await openDataset(join(FMNIST, 't10k-images-idx3-ubyte.gz'));
    expect(ds.size).toBe(10000);
    expect(ds.sampleShape).toEqual([1, 28, 28]);
    expect(ds.numClasses).toBe(10);
    expect(() => checkLabels(ds, 10)).not.toThrow();
    let n = 0;
    let first = true;
    const counts = new Array(10).fill(0);
    let min = Infinity;
    let max = -Infinity;
    for await (const b of ds.batches(256)) {
      if (first) {
        expect(b.dims).toEqual([256, 1, 28, 28]);
        expect(b.x.length).toBe(256 * 784);
        first = false;
      }
      for (const v of b.y!) counts[v]++;
      for (let i = 0; i < b.x.length; i++) {
        const v = b.x[i]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      n += b.dims[0]!;
    }
    expect(n).toBe(10000);
    expect(counts).toEqual(new Array(10).fill(1000)); // Fashion-MNIST test set is balanced
    expect(min).toBe(0);
    expect(max).toBe(1);
    // the first test image is an ankle boot (class 9)
    expect(ds.labels![0]).toBe(9);
  });

  test('directory + split name; shuffled batches match the in-order samples', async () => {
    const ds = await openDataset(`${FMNIST}:t10k`);
    expect(ds.size).toBe(10000);
    const inOrder = concatX(await collect(ds, 500, { limit: 10000 }));
    const sh = await collect(ds, 64, { shuffle: true, seed: 11, limit: 128 });
    const again = await collect(ds, 64, { shuffle: true, seed: 11, limit: 128 });
    expect([...concatX(sh)]).toEqual([...concatX(again)]);
    // each shuffled sample equals some in-order sample with the same label
    const x = concatX(sh);
    const y = concatY(sh);
    for (let k = 0; k < 8; k++) {
      const sample = x.subarray(k * 784, (k + 1) * 784);
      let found = -1;
      for (let i = 0; i < 10000 && found < 0; i++) {
        if (ds.labels![i] !== y[k]) continue;
        const cand = inOrder.subarray(i * 784, (i + 1) * 784);
        if (cand.every((v, j) => v === sample[j])) found = i;
      }
      expect(found).toBeGreaterThanOrEqual(0);
    }
  });
});
