/**
 * Image folders: `root/<class>/**\/*.{png,jpg,jpeg}` (classes sorted by name
 * give the label indices, as torchvision's ImageFolder), or a flat folder of
 * images (no labels). Images are decoded one batch at a time. Class folders
 * are stretched to the size by default, flat folders letterboxed (`resize`).
 */
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors } from '@shears/core';
import { dataError } from './errors.js';
import { fsError, readFileOrThrow, statOrThrow } from './io.js';
import { batchRanges, indexAt, planBatches } from './batching.js';
import { decodeImage, writePixels, type PixelOptions } from './image.js';
import type { Batch, BatchOptions, Dataset } from './types.js';

export interface ImageOptions {
  /** Output size: `n` for n x n, or `[height, width]`. Default: the first image's size. */
  imageSize?: number | readonly [number, number];
  /** 3 = RGB (default), 1 = grayscale (ITU-R 601 luma). */
  channels?: 1 | 3;
  /** Per-channel mean/std applied to [0,1] values: (v - mean) / std. A single number applies to all channels. Default 0 / 1. */
  mean?: number | readonly number[];
  std?: number | readonly number[];
  /** Sample layout: 'nchw' (default, samples are [C, H, W]) or 'nhwc' ([H, W, C]). */
  layout?: 'nchw' | 'nhwc';
  /**
   * 'stretch' resizes the whole image; 'crop' resizes a centered crop of the
   * target aspect ratio; 'letterbox' keeps the aspect ratio and pads, centered,
   * with gray 114/255 (Ultralytics' preprocessing). Default: 'stretch' for
   * class folders (classifiers), 'letterbox' for flat folders (unlabeled images,
   * the usual input of detectors and dense-prediction models).
   */
  resize?: 'stretch' | 'crop' | 'letterbox';
  /** With resize 'crop': fraction of the image kept (0.875 ≈ Resize(256) + CenterCrop(224)). Default 1. */
  cropFraction?: number;
}

/** ImageNet mean and std (RGB), for `mean`/`std`. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

const IMAGE_EXT = /\.(png|jpe?g)$/i;

function listImages(dir: string, out: string[]): void {
  let ents: import('node:fs').Dirent[];
  try {
    ents = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw fsError(dir, e);
  }
  ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of ents) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) listImages(p, out);
    else if ((e.isFile() || e.isSymbolicLink()) && IMAGE_EXT.test(e.name)) out.push(p);
  }
}

function perChannel(v: number | readonly number[] | undefined, channels: number, dflt: number, name: string): number[] {
  if (v === undefined) return new Array<number>(channels).fill(dflt);
  const arr = typeof v === 'number' ? [v] : [...v];
  if (arr.length === 1) return new Array<number>(channels).fill(arr[0]!);
  if (arr.length !== channels) throw errors.option(name, `has ${arr.length} values but images have ${channels} channels`);
  return arr;
}

export interface ResolvedImageOptions extends PixelOptions {}

export function resolveImageOptions(opts: ImageOptions, firstImage: () => { width: number; height: number }, defaultResize: PixelOptions['resize'] = 'stretch'): ResolvedImageOptions {
  const channels = opts.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw errors.option('channels', `must be 1 or 3, got ${channels}`);
  let height: number;
  let width: number;
  if (opts.imageSize === undefined) {
    const f = firstImage();
    height = f.height;
    width = f.width;
  } else if (typeof opts.imageSize === 'number') {
    height = width = opts.imageSize;
  } else {
    [height, width] = opts.imageSize;
  }
  if (!Number.isSafeInteger(height) || !Number.isSafeInteger(width) || height < 1 || width < 1) throw errors.option('imageSize', `must be positive integers, got ${height}x${width}`);
  const mean = perChannel(opts.mean, channels, 0, 'mean');
  const std = perChannel(opts.std, channels, 1, 'std');
  if (std.some((s) => !(s > 0) && !(s < 0))) throw errors.option('std', 'must be non-zero');
  const resize = opts.resize ?? defaultResize;
  if (resize !== 'stretch' && resize !== 'crop' && resize !== 'letterbox') throw errors.option('resize', `must be stretch, crop or letterbox, got ${resize}`);
  const cropFraction = opts.cropFraction ?? 1;
  if (!(cropFraction > 0 && cropFraction <= 1)) throw errors.option('cropFraction', `must be in (0, 1], got ${cropFraction}`);
  return { height, width, channels, layout: opts.layout ?? 'nchw', mean, std, resize, cropFraction };
}

/** Open an image folder; see the module comment for the layout. */
export function openImageFolder(root: string, opts: ImageOptions = {}): Dataset {
  const st = statOrThrow(root);
  if (!st.isDirectory()) throw dataError(root, 'not a directory, expected an image folder');
  let ents: import('node:fs').Dirent[];
  try {
    ents = readdirSync(root, { withFileTypes: true });
  } catch (e) {
    throw fsError(root, e);
  }
  const classNames = ents
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: string[] = [];
  const labelList: number[] = [];
  classNames.forEach((c, i) => {
    const before = files.length;
    listImages(join(root, c), files);
    for (let k = before; k < files.length; k++) labelList.push(i);
  });
  let labels: Int32Array | undefined;
  let names: string[] | undefined;
  if (files.length > 0) {
    labels = Int32Array.from(labelList);
    names = classNames;
  } else {
    // a flat folder of images: unlabeled
    for (const e of ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (!e.name.startsWith('.') && !e.isDirectory() && IMAGE_EXT.test(e.name)) files.push(join(root, e.name));
    }
  }
  if (files.length === 0) throw dataError(root, 'empty image folder: no .png/.jpg/.jpeg files in <folder>/<class>/ or <folder>/');

  const px = resolveImageOptions(opts, () => decodeImage(readFileOrThrow(files[0]!), files[0]!), labels ? 'stretch' : 'letterbox');
  const sampleShape = px.layout === 'nchw' ? [px.channels, px.height, px.width] : [px.height, px.width, px.channels];
  const per = px.channels * px.height * px.width;
  const size = files.length;

  return {
    name: root,
    size,
    sampleShape,
    numClasses: names ? names.length : undefined,
    labels,
    classNames: names,
    async *batches(batchSize: number, bopts?: BatchOptions): AsyncGenerator<Batch> {
      const plan = planBatches(size, batchSize, bopts);
      for (const [s, e] of batchRanges(plan)) {
        const n = e - s;
        const idx = Array.from({ length: n }, (_, k) => indexAt(plan, s + k));
        const bytes = await Promise.all(
          idx.map((i) =>
            readFile(files[i]!).catch((err) => {
              throw fsError(files[i]!, err);
            }),
          ),
        );
        const x = new Float32Array(n * per);
        for (let k = 0; k < n; k++) {
          writePixels(decodeImage(bytes[k]!, files[idx[k]!]!), x, k * per, px);
          bytes[k] = undefined as never; // let the file bytes go
        }
        if (!labels) {
          yield { x, dims: [n, ...sampleShape] };
        } else {
          const y = new Int32Array(n);
          for (let k = 0; k < n; k++) y[k] = labels[idx[k]!]!;
          yield { x, dims: [n, ...sampleShape], y };
        }
      }
    },
  };
}
