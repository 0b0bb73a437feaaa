import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { afterAll, describe, expect, test } from 'vitest';
import { openImageFolder, IMAGENET_MEAN, IMAGENET_STD } from './folder.js';
import { bilinearTaps, decodeImage, writePixels } from './image.js';
import { openDataset } from './open.js';
import { checkLabels } from './check.js';
import { collect, concatY, expectDataError, numpyMissing, python, tmpDir } from './test-helpers.js';
import { readNpy } from './npy.js';

const tmp = tmpDir();
afterAll(() => tmp.cleanup());

type Px = (x: number, y: number) => [number, number, number];

function png(file: string, w: number, h: number, px: Px): void {
  const p = new pngjs.PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      const i = (y * w + x) * 4;
      p.data[i] = r;
      p.data[i + 1] = g;
      p.data[i + 2] = b;
      p.data[i + 3] = 255;
    }
  writeFileSync(file, pngjs.PNG.sync.write(p));
}

function jpg(file: string, w: number, h: number, px: Px, quality = 95): void {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = px(x, y);
      data.set([r, g, b, 255], (y * w + x) * 4);
    }
  writeFileSync(file, jpeg.encode({ width: w, height: h, data }, quality).data);
}

const solid =
  (r: number, g: number, b: number): Px =>
  () => [r, g, b];

function makeFolder(): string {
  const root = join(tmp.dir, 'imgs');
  for (const c of ['dog', 'cat', 'ant']) mkdirSync(join(root, c), { recursive: true });
  mkdirSync(join(root, 'dog', 'nested'));
  png(join(root, 'cat', 'b.png'), 8, 6, solid(255, 0, 0));
  png(join(root, 'cat', 'a.png'), 5, 9, solid(0, 255, 0));
  jpg(join(root, 'dog', 'c.jpg'), 16, 16, solid(0, 0, 255));
  png(join(root, 'dog', 'nested', 'd.PNG'), 4, 4, solid(51, 102, 204));
  jpg(join(root, 'ant', 'e.jpeg'), 10, 7, solid(128, 128, 128));
  writeFileSync(join(root, 'cat', 'notes.txt'), 'ignored');
  return root;
}

describe('image folder', () => {
  const root = makeFolder();

  test('classes sorted by name, files sorted, NCHW RGB resized', async () => {
    const ds = openImageFolder(root, { imageSize: 4 });
    expect(ds).toMatchObject({ name: root, size: 5, sampleShape: [3, 4, 4], numClasses: 3, classNames: ['ant', 'cat', 'dog'] });
    expect([...ds.labels!]).toEqual([0, 1, 1, 2, 2]);
    const [b] = await collect(ds, 8);
    expect(b!.dims).toEqual([5, 3, 4, 4]);
    expect([...b!.y!]).toEqual([0, 1, 1, 2, 2]);
    const channelMeans = (k: number) => [0, 1, 2].map((c) => b!.x.subarray(k * 48 + c * 16, k * 48 + (c + 1) * 16).reduce((a, v) => a + v, 0) / 16);
    // sample 1 = cat/a.png (green), sample 2 = cat/b.png (red): exact for PNG solid colors
    expect(channelMeans(1)).toEqual([0, 1, 0]);
    expect(channelMeans(2)).toEqual([1, 0, 0]);
    for (let i = 0; i < 16; i++) expect(b!.x[2 * 48 + i]).toBe(1); // constant after resizing
    const near = (k: number, rgb: number[]) => channelMeans(k).map((v, c) => Math.abs(v * 255 - rgb[c]!) <= 3);
    expect(near(3, [0, 0, 255])).toEqual([true, true, true]); // blue JPEG (lossy)
    expect(near(0, [128, 128, 128])).toEqual([true, true, true]); // grey JPEG
    expect(channelMeans(4).map((v) => Math.round(v * 255))).toEqual([51, 102, 204]);
  });

  test('grayscale, mean/std, NHWC, [h, w] sizes', async () => {
    const gray = (await collect(openImageFolder(root, { imageSize: [2, 3], channels: 1 }), 8))[0]!;
    expect(gray.dims).toEqual([5, 1, 2, 3]);
    expect(gray.x[2 * 6]).toBeCloseTo(0.299, 5); // red → ITU-R 601 luma
    const norm = (await collect(openImageFolder(root, { imageSize: 2, mean: [0.5, 0.5, 0.5], std: 0.25 }), 8))[0]!;
    expect(norm.x[2 * 12]).toBeCloseTo(2, 5); // (1 - 0.5) / 0.25
    expect(norm.x[2 * 12 + 4]).toBeCloseTo(-2, 5); // (0 - 0.5) / 0.25
    const inet = (await collect(openImageFolder(root, { imageSize: 2, mean: IMAGENET_MEAN, std: IMAGENET_STD }), 8))[0]!;
    expect(inet.x[2 * 12]).toBeCloseTo((1 - 0.485) / 0.229, 5);
    const nhwc = (await collect(openImageFolder(root, { imageSize: 2, layout: 'nhwc' }), 8))[0]!;
    expect(nhwc.dims).toEqual([5, 2, 2, 3]);
    expect([...nhwc.x.subarray(2 * 12, 2 * 12 + 6)]).toEqual([1, 0, 0, 1, 0, 0]);
  });

  test('size, channels and layout from the model input shape; default size = first image', async () => {
    expect((await openDataset(root, { inputShape: [1, 3, 7, 5] })).sampleShape).toEqual([3, 7, 5]);
    expect((await openDataset(root, { inputShape: ['N', 1, 6, 6] })).sampleShape).toEqual([1, 6, 6]);
    expect((await openDataset(root, { inputShape: [1, 9, 9, 3] })).sampleShape).toEqual([9, 9, 3]);
    expect((await openDataset(root, { inputShape: [1, 3, 'h', 'w'] })).sampleShape).toEqual([3, 7, 10]); // the first image, ant/e.jpeg, is 10 wide, 7 high
    expect(openImageFolder(root).sampleShape).toEqual([3, 7, 10]);
  });

  test('shuffle keeps labels with their images and is deterministic', async () => {
    const ds = openImageFolder(root, { imageSize: 2 });
    const a = await collect(ds, 2, { shuffle: true, seed: 5 });
    const b = await collect(ds, 3, { shuffle: true, seed: 5 });
    expect(concatY(a)).toEqual(concatY(b));
    expect([...concatY(a)].sort()).toEqual([0, 1, 1, 2, 2]);
  });

  test('a flat folder of images is unlabeled', async () => {
    const flat = join(tmp.dir, 'flat');
    mkdirSync(flat);
    png(join(flat, '1.png'), 3, 3, solid(1, 2, 3));
    jpg(join(flat, '2.jpg'), 3, 3, solid(1, 2, 3));
    const ds = await openDataset(flat, { inputShape: [1, 3, 3, 3] });
    expect(ds.size).toBe(2);
    expect(ds.labels).toBeUndefined();
    expect((await collect(ds, 4))[0]!.y).toBeUndefined();
  });

  test('a flat folder is letterboxed: centered, gray 114/255 pads, aspect kept', async () => {
    const flat = join(tmp.dir, 'flat-lb');
    mkdirSync(flat);
    png(join(flat, 'wide.png'), 16, 8, solid(255, 0, 0)); // 2:1 into 8x8 -> 8x4 at rows 2..5
    png(join(flat, 'tall.png'), 4, 8, solid(0, 0, 255)); // 1:2 into 8x8 -> 4x8 at columns 2..5
    const ds = await openDataset(flat, { inputShape: [1, 3, 8, 8] });
    const [b] = await collect(ds, 2);
    const gray = 114 / 255;
    const at = (k: number, c: number, y: number, x: number) => b!.x[k * 192 + c * 64 + y * 8 + x]!;
    // files sorted: tall.png (k 0), wide.png (k 1)
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 8; x++) {
        const inTall = x >= 2 && x < 6;
        expect([at(0, 0, y, x), at(0, 2, y, x)]).toEqual(inTall ? [0, 1] : [gray, gray].map((v) => Math.fround(v)));
        const inWide = y >= 2 && y < 6;
        expect([at(1, 0, y, x), at(1, 1, y, x)]).toEqual(inWide ? [1, 0] : [gray, gray].map((v) => Math.fround(v)));
      }
    // class folders keep stretching by default; resize 'stretch' turns letterboxing off
    const stretched = await collect(await openDataset(flat, { inputShape: [1, 3, 8, 8], resize: 'stretch' }), 2);
    expect(stretched[0]!.x[0]).toBe(0);
    expect(stretched[0]!.x[2 * 64]).toBe(1);
  });

  test('letterbox pads with the normalized gray (mean/std) in NHWC too; odd pads go right/bottom', () => {
    const img = { width: 5, height: 2, data: new Uint8Array(5 * 2 * 4).fill(255) };
    const out = new Float32Array(5 * 5 * 3);
    writePixels(img, out, 0, { width: 5, height: 5, channels: 3, layout: 'nhwc', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'letterbox', cropFraction: 1 });
    const pad = Math.fround((114 / 255 - 0.5) / 0.5);
    // 5x2 into 5x5: scale 1, 3 rows of padding: round(1.5 - 0.1) = 1 above, 2 below
    const rowValue = (y: number) => out[(y * 5 + 2) * 3 + 1]!;
    expect([0, 1, 2, 3, 4].map(rowValue)).toEqual([pad, 1, 1, pad, pad]);
  });

  test('resize must be stretch, crop or letterbox', async () => {
    expect(() => openImageFolder(root, { resize: 'fit' as never })).toThrow(/resize: must be stretch, crop or letterbox/);
  });

  test('checkLabels names the class folder', async () => {
    const ds = openImageFolder(root, { imageSize: 2 });
    await expectDataError(() => checkLabels(ds, 2), root, "label 2 (class 'dog') at sample 3 is outside the model's 2 classes");
  });
});

describe('resampling', () => {
  test('bilinear upsampling uses half-pixel centers', () => {
    const img = { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 255, 255, 255, 255, 255]) };
    const out = new Float32Array(4);
    writePixels(img, out, 0, { width: 4, height: 1, channels: 1, layout: 'nchw', mean: [0], std: [1], resize: 'stretch', cropFraction: 1 });
    expect([...out].map((v) => +v.toFixed(4))).toEqual([0, 0.25, 0.75, 1]);
  });
  test('downsampling is antialiased (triangle filter widened by the scale)', () => {
    const t = bilinearTaps(4, 2);
    expect([...t.weights.subarray(0, t.count[0]!)].map((v) => +v.toFixed(4))).toEqual([0.4286, 0.4286, 0.1429]);
  });

  test.skipIf(numpyMissing !== null)(`matches PIL's bilinear resize${numpyMissing ? ` (skipped: ${numpyMissing})` : ''}`, () => {
    const dir = join(tmp.dir, 'pil');
    mkdirSync(dir);
    let s = 1;
    const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) >> 8) & 255;
    png(join(dir, 'r.png'), 37, 23, () => [rnd(), rnd(), rnd()]);
    try {
      python(
        `
import numpy as np
from PIL import Image
im = Image.open('r.png').convert('RGB')
np.save('down.npy', np.asarray(im.resize((16, 10), Image.BILINEAR), dtype=np.float32))
np.save('up.npy', np.asarray(im.resize((50, 41), Image.BILINEAR), dtype=np.float32))
np.save('crop.npy', np.asarray(im.resize((12, 12), Image.BILINEAR, box=(7, 0, 30, 23)), dtype=np.float32))
`,
        dir,
      );
    } catch (e) {
      if (String(e).includes('No module named')) return; // PIL missing: nothing to compare with
      throw e;
    }
    const img = decodeImage(readFileSync(join(dir, 'r.png')), 'r.png');
    for (const [name, w, h, resize] of [['down', 16, 10, 'stretch'], ['up', 50, 41, 'stretch'], ['crop', 12, 12, 'crop']] as const) {
      const ref = readNpy(join(dir, `${name}.npy`)).data as Float32Array; // HWC, 0..255
      const out = new Float32Array(w * h * 3);
      writePixels(img, out, 0, { width: w, height: h, channels: 3, layout: 'nhwc', mean: [0, 0, 0], std: [1, 1, 1], resize, cropFraction: 1 });
      let worst = 0;
      for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! * 255 - ref[i]!));
      expect(worst, name).toBeLessThanOrEqual(1.5); // PIL rounds to uint8 between and after its passes
    }
  });
});

describe('image folder errors', () => {
  test('missing folder', async () => {
    const d = join(tmp.dir, 'nope');
    await expectDataError(() => openDataset(d), d, 'no such file or directory');
  });
  test('empty folder (and class folders without images)', async () => {
    const d = join(tmp.dir, 'empty');
    mkdirSync(join(d, 'a'), { recursive: true });
    writeFileSync(join(d, 'a', 'readme.txt'), 'x');
    await expectDataError(() => openDataset(d), d, 'empty image folder: no .png/.jpg/.jpeg files');
  });
  test('unreadable image names the image', async () => {
    const d = join(tmp.dir, 'broken');
    mkdirSync(join(d, 'a'), { recursive: true });
    png(join(d, 'a', '1.png'), 4, 4, solid(9, 9, 9));
    writeFileSync(join(d, 'a', '2.png'), 'this is not a png');
    const ds = openImageFolder(d, { imageSize: 2 });
    const bad = join(d, 'a', '2.png');
    await expectDataError(() => collect(ds, 2), bad, 'unreadable image: not a PNG or JPEG file');
    // a truncated PNG; also as the first image, which sets the default size
    const d2 = join(tmp.dir, 'broken2');
    mkdirSync(join(d2, 'a'), { recursive: true });
    const trunc = join(d2, 'a', '0.png');
    writeFileSync(trunc, readFileSync(join(d, 'a', '1.png')).subarray(0, 40));
    await expectDataError(() => openImageFolder(d2), trunc, /unreadable image \(.+\)/);
    await expectDataError(() => collect(openImageFolder(d2, { imageSize: 2 }), 1), trunc, 'unreadable image (truncated PNG data)');
    const d3 = join(tmp.dir, 'broken3');
    mkdirSync(d3);
    const tj = join(d3, 'cut.jpg');
    jpg(tj, 16, 16, solid(1, 2, 3));
    writeFileSync(tj, readFileSync(tj).subarray(0, 100));
    await expectDataError(() => openImageFolder(d3), tj, /unreadable image \(.*JPEG.*\)/);
  });
  test('bad option values', async () => {
    const root = join(tmp.dir, 'imgs');
    expect(() => openImageFolder(root, { imageSize: 2, mean: [1, 2] })).toThrow(/option mean: has 2 values but images have 3 channels/);
    expect(() => openImageFolder(root, { imageSize: 0 })).toThrow(/option imageSize/);
    expect(() => openImageFolder(root, { imageSize: 2, std: 0 })).toThrow(/option std: must be non-zero/);
  });
});
