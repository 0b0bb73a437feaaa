import { existsSync, readdirSync, statSync } from 'node:fs';
import { closeSync, openSync, readSync } from 'node:fs';
import type { Dim } from '@shears/core';
import { dataError, fmtShape } from './errors.js';
import { fsError, statOrThrow } from './io.js';
import { arrayDataset } from './array.js';
import { isSafeReshape, reshapeDataset } from './check.js';
import { openImageFolder, type ImageOptions } from './folder.js';
import { isIdxName, openIdx } from './idx.js';
import { readNpy } from './npy.js';
import { openNpz } from './npz.js';
import { randomDataset } from './random.js';
import type { Dataset } from './types.js';

export interface OpenOptions extends ImageOptions {
  /**
   * The full model input shape, batch dim included (e.g. `[1, 3, 224, 224]`).
   * Needed by `random:N`; gives image folders their size, channels and layout;
   * lets arrays whose samples differ only by size-1 dims (or need flattening)
   * be viewed in the model's shape.
   */
  inputShape?: readonly Dim[];
  /** Seed for `random:N` (default 0). */
  seed?: number;
  /** IDX split (`train`, `t10k`) when the spec is a directory; `dir:split` in the spec works too. */
  split?: string;
}

/** Names `random:N` accepts, the forms `openDataset` understands, for help texts. */
export const DATASET_SPECS = ['random:N', 'file.npz (x, y)', 'file.npy', 'X-images-idx3-ubyte[.gz]', 'idx-dir[:split]', 'image-folder/<class>/*.png|jpg'] as const;

function sniff(file: string): Uint8Array {
  const fd = openSync(file, 'r');
  try {
    const b = new Uint8Array(8);
    const n = readSync(fd, b, 0, 8, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function hasIdx(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => /[-.]images[-.]idx\d+-ubyte(\.gz)?$/i.test(n));
  } catch {
    return false;
  }
}

/** Image options implied by a model input shape (explicit options win). */
export function imageOptionsFor(inputShape: readonly Dim[] | undefined, opts: ImageOptions): ImageOptions {
  if (!inputShape || inputShape.length !== 4) return opts;
  const [, a, b, c] = inputShape;
  const out: ImageOptions = { ...opts };
  let h: Dim | undefined;
  let w: Dim | undefined;
  const nhwc = opts.layout === 'nhwc' || (opts.layout === undefined && !(a === 1 || a === 3) && (c === 1 || c === 3));
  if (nhwc) {
    out.layout = 'nhwc';
    if (out.channels === undefined && (c === 1 || c === 3)) out.channels = c;
    [h, w] = [a, b];
  } else {
    if (out.channels === undefined && (a === 1 || a === 3)) out.channels = a;
    [h, w] = [b, c];
  }
  if (out.imageSize === undefined && typeof h === 'number' && typeof w === 'number') out.imageSize = [h, w];
  return out;
}

/**
 * Open a dataset from a spec:
 * - `random:N` — N standard-normal samples shaped like `inputShape` (seeded, no labels)
 * - `*.npz` — arrays `x` (samples) and optional `y` (integer labels)
 * - `*.npy` — one array of samples, no labels
 * - IDX: an images file (`X-images-idx3-ubyte[.gz]`, labels paired automatically),
 *   or a directory of them with a split: `dir:t10k` or `{ split }`
 * - an image folder: `root/<class>/*.png|jpg|jpeg`, or a flat folder of images
 */
export async function openDataset(spec: string, opts: OpenOptions = {}): Promise<Dataset> {
  const m = /^random:(.*)$/.exec(spec);
  if (m) {
    const n = Number(m[1]);
    if (!/^\d+$/.test(m[1]!) || !Number.isSafeInteger(n)) throw dataError(spec, 'expected random:<count>, e.g. random:64');
    if (!opts.inputShape) throw dataError(spec, 'random data needs the model input shape');
    const sample = opts.inputShape.slice(1);
    const dyn = sample.findIndex((d) => typeof d !== 'number');
    if (dyn >= 0) throw dataError(spec, `model input dim ${dyn + 1} is dynamic (${fmtShape(opts.inputShape)}); give a fixed input shape`);
    return randomDataset(n, sample as number[], opts.seed ?? 0);
  }

  let path = spec;
  let split = opts.split;
  if (!existsSync(spec)) {
    const s = /^(.+):([A-Za-z0-9_.-]+)$/.exec(spec);
    if (s && existsSync(s[1]!) && statSync(s[1]!).isDirectory()) {
      path = s[1]!;
      split = s[2];
    }
  }
  const st = statOrThrow(path);
  let ds: Dataset;
  if (st.isDirectory()) {
    ds = hasIdx(path) ? await openIdx(path, { split }) : openImageFolder(path, imageOptionsFor(opts.inputShape, opts));
  } else {
    let head: Uint8Array;
    try {
      head = sniff(path);
    } catch (e) {
      throw fsError(path, e);
    }
    const lower = path.toLowerCase();
    if (lower.endsWith('.npz')) ds = npzDataset(path);
    else if (lower.endsWith('.npy')) ds = arrayDataset(path, readNpy(path));
    else if (isIdxName(path)) ds = await openIdx(path);
    else if (head[0] === 0x50 && head[1] === 0x4b) ds = npzDataset(path);
    else if (head[0] === 0x93 && head[1] === 0x4e) ds = arrayDataset(path, readNpy(path));
    else if (head[0] === 0 && head[1] === 0 && head[2] === 8) ds = await openIdx(path);
    else throw dataError(path, 'unsupported data file: expected .npz, .npy, an IDX file (…-images-idx3-ubyte[.gz]), an image folder or random:N');
  }
  return adapt(ds, opts.inputShape);
}

/** View array samples in the model's shape when that moves no data (e.g. 1x28x28 → 784, 28x28 → 1x28x28). */
function adapt(ds: Dataset, inputShape: readonly Dim[] | undefined): Dataset {
  if (!inputShape || inputShape.length < 1) return ds;
  const want = inputShape.slice(1);
  const have = ds.sampleShape;
  if (want.length === have.length && want.every((d, i) => typeof d !== 'number' || d === have[i])) return ds;
  return isSafeReshape(have, want) ? reshapeDataset(ds, want) : ds;
}

/** An .npz with `x` (or `X`, or its only array, or `arr_0`) and optional `y` (`Y`, `labels`, or `arr_1`). */
export function npzDataset(file: string): Dataset {
  const z = openNpz(file);
  const pick = (...names: string[]) => names.find((n) => z.has(n));
  let xName = pick('x', 'X');
  let yName = pick('y', 'Y', 'labels');
  if (!xName) {
    if (z.names.length === 1) xName = z.names[0];
    else if (z.has('arr_0')) {
      xName = 'arr_0';
      yName ??= pick('arr_1');
    }
  }
  if (!xName) throw dataError(file, `no array 'x' in the .npz (it has ${z.names.join(', ') || 'none'})`);
  return arrayDataset(file, z.get(xName), yName ? z.get(yName) : undefined);
}
