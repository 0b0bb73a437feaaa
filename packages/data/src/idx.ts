/**
 * IDX files (MNIST, Fashion-MNIST, EMNIST): `X-images-idx3-ubyte[.gz]` plus
 * `X-labels-idx1-ubyte[.gz]`. Images stream from disk batch by batch; pixels
 * are decoded straight into the batch's Float32Array.
 */
import { closeSync, createReadStream, openSync, readdirSync, readSync, existsSync, statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as zlib from 'node:zlib';
import { dataError, fmtShape, product, reason } from './errors.js';
import { fsError, statOrThrow } from './io.js';
import { batchRanges, indexAt, planBatches, U8_UNIT, type BatchPlan } from './batching.js';
import { labelClassCount } from './array.js';
import type { Batch, BatchOptions, Dataset } from './types.js';

const IDX_TYPES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

export interface IdxInfo {
  file: string;
  gzip: boolean;
  /** Element type code (0x08 = unsigned byte). */
  type: number;
  dims: number[];
  headerSize: number;
}

/** Does this file name look like an IDX file? */
export function isIdxName(file: string): boolean {
  return /[-.]idx\d+-ubyte(\.gz)?$/i.test(basename(file));
}

function readHead(file: string, n: number): { head: Buffer; size: number } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw fsError(file, e);
  }
  try {
    const size = statSync(file).size;
    const head = Buffer.alloc(Math.min(n, size));
    let got = 0;
    while (got < head.length) {
      const r = readSync(fd, head, got, head.length - got, got);
      if (r === 0) break;
      got += r;
    }
    return { head: head.subarray(0, got), size };
  } finally {
    closeSync(fd);
  }
}

function readTail4(file: string, size: number): number {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, size - 4);
    return b.readUInt32LE(0);
  } finally {
    closeSync(fd);
  }
}

/** Read and check an IDX header (gzip or plain, sniffed from the bytes); checks the file holds all the data. */
export function readIdxInfo(file: string): IdxInfo {
  const st = statOrThrow(file);
  if (st.isDirectory()) throw dataError(file, 'is a directory, expected an IDX file');
  const { head: raw, size } = readHead(file, 1 << 16);
  if (size === 0) throw dataError(file, 'empty file, expected IDX data');
  const gzip = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b;
  let head: Buffer = raw;
  if (gzip) {
    try {
      head = zlib.gunzipSync(raw, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      throw dataError(file, `corrupt gzip data (${reason(e)})`, e);
    }
  }
  if (head.length < 4) throw dataError(file, `truncated IDX: ${head.length} bytes, not even a header`);
  const type = head[2]!;
  const ndim = head[3]!;
  if (head[0] !== 0 || head[1] !== 0 || !(type in IDX_TYPES) || ndim < 1) {
    throw dataError(file, `not an IDX file (wrong magic 0x${head.subarray(0, 4).toString('hex')}; expected 0x000008 then the rank)`);
  }
  const headerSize = 4 + 4 * ndim;
  if (head.length < headerSize) throw dataError(file, `truncated IDX: header cut short`);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(head.readUInt32BE(4 + 4 * i));
  if (type !== 0x08) throw dataError(file, `unsupported IDX element type ${IDX_TYPES[type]} (0x${type.toString(16).padStart(2, '0')}); only unsigned bytes are supported`);
  const expected = headerSize + product(dims);
  if (gzip) {
    const isize = size >= 18 ? readTail4(file, size) : -1;
    if (isize !== expected % 0x100000000) {
      throw dataError(file, `truncated IDX: header says ${fmtShape(dims)} (${expected} bytes) but the gzip stream ${isize < expected % 0x100000000 ? 'is shorter' : 'does not match'} (gzip size field ${isize})`);
    }
  } else if (size < expected) {
    throw dataError(file, `truncated IDX: header says ${fmtShape(dims)} (${expected} bytes) but the file has ${size}`);
  }
  return { file, gzip, type, dims, headerSize };
}

/** Load a whole IDX file's payload (after the header) into memory. */
async function readIdxPayload(info: IdxInfo): Promise<Buffer> {
  const total = product(info.dims);
  const out = Buffer.alloc(total);
  let pos = -info.headerSize;
  for await (const chunk of idxStream(info)) {
    const c = chunk as Buffer;
    const from = Math.max(0, -pos);
    if (from < c.length) {
      const n = Math.min(c.length - from, total - Math.max(0, pos));
      if (n > 0) c.copy(out, Math.max(0, pos), from, from + n);
    }
    pos += c.length;
  }
  if (pos < total) throw dataError(info.file, `truncated IDX: expected ${total} data bytes, got ${Math.max(0, pos)}`);
  return out;
}

function idxStream(info: IdxInfo): AsyncIterable<Buffer> {
  const src = createReadStream(info.file, { highWaterMark: 1 << 20 });
  if (!info.gzip) return wrapStream(info.file, src);
  const gz = zlib.createGunzip({ chunkSize: 1 << 18 });
  src.on('error', (e) => gz.destroy(e));
  return wrapStream(info.file, src.pipe(gz), () => src.destroy());
}

async function* wrapStream(file: string, s: NodeJS.ReadableStream & { destroy(): void }, onEnd?: () => void): AsyncGenerator<Buffer> {
  try {
    for await (const c of s) yield c as Buffer;
  } catch (e) {
    const msg = reason(e);
    if (/unexpected end/i.test(msg)) throw dataError(file, 'truncated IDX: the gzip stream ends early', e);
    if ((e as NodeJS.ErrnoException).code?.startsWith?.('Z_')) throw dataError(file, `corrupt gzip data (${msg})`, e);
    throw fsError(file, e);
  } finally {
    s.destroy();
    onEnd?.();
  }
}

function loadLabels(_info: IdxInfo, payload: Buffer): Int32Array {
  const y = new Int32Array(payload.length);
  for (let i = 0; i < payload.length; i++) y[i] = payload[i]!;
  return y;
}

/** Candidate labels files for an images file: images→labels, idxN→idx1, with and without .gz. */
function labelsCandidates(images: string): string[] {
  const dir = dirname(images);
  const base = basename(images).replace(/\.gz$/i, '');
  const lb = base.replace(/images/i, (m) => (m === 'IMAGES' ? 'LABELS' : 'labels')).replace(/idx\d+/i, 'idx1');
  if (lb === base) return [];
  return [join(dir, lb), join(dir, `${lb}.gz`)];
}

export interface IdxSplit {
  images: string;
  labels?: string;
}

/** Find the images (and labels) files of `split` in a directory. */
export function findIdxSplit(dir: string, split?: string): IdxSplit {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw fsError(dir, e);
  }
  const splits = new Map<string, string[]>();
  for (const n of names.sort()) {
    const m = /^(.*?)[-.]images[-.]idx\d+-ubyte(\.gz)?$/i.exec(n);
    if (m) splits.set(m[1]!, [...(splits.get(m[1]!) ?? []), n]);
  }
  const found = [...splits.keys()];
  if (found.length === 0) throw dataError(dir, 'no IDX images files (<split>-images-idx3-ubyte[.gz]) in this directory');
  let pick = split;
  if (pick === undefined) {
    if (found.length > 1) throw dataError(dir, `holds IDX splits ${found.join(', ')}; choose one, e.g. ${dir}:${found.includes('t10k') ? 't10k' : found[0]}`);
    pick = found[0]!;
  }
  const files = splits.get(pick);
  if (!files) throw dataError(dir, `no IDX images for split '${pick}' (found ${found.join(', ')})`);
  // prefer the uncompressed file: it allows random access without inflating everything
  const images = join(dir, files.find((f) => !/\.gz$/i.test(f)) ?? files[0]!);
  return { images, labels: labelsCandidates(images).find((f) => existsSync(f)) };
}

/**
 * An IDX dataset from an images file (its labels file is found beside it), or a
 * directory plus split name (`train`, `t10k`). Samples are `[1, rows, cols]`
 * for rank-3 image files, scaled to [0, 1].
 */
export async function openIdx(path: string, opts: { split?: string; labels?: string | false } = {}): Promise<Dataset> {
  const st = statOrThrow(path);
  let images: string;
  let labelsFile: string | undefined;
  if (st.isDirectory()) {
    const s = findIdxSplit(path, opts.split);
    images = s.images;
    labelsFile = s.labels;
  } else {
    images = path;
    labelsFile = labelsCandidates(path).find((f) => existsSync(f));
  }
  if (opts.labels === false) labelsFile = undefined;
  else if (typeof opts.labels === 'string') labelsFile = opts.labels;

  const info = readIdxInfo(images);
  if (info.dims.length === 1) throw dataError(images, 'is a 1-D IDX file (labels?); pass the images file (…-images-idx3-ubyte)');
  const size = info.dims[0]!;
  const rest = info.dims.slice(1);
  const sampleShape = rest.length === 2 ? [1, ...rest] : rest;
  const per = product(rest);

  let labels: Int32Array | undefined;
  if (labelsFile) {
    const li = readIdxInfo(labelsFile);
    if (li.dims.length !== 1) throw dataError(labelsFile, `expected a 1-D IDX labels file, got shape ${fmtShape(li.dims)}`);
    if (li.dims[0] !== size) throw dataError(labelsFile, `has ${li.dims[0]} labels but ${basename(images)} has ${size} images`);
    labels = loadLabels(li, await readIdxPayload(li));
  }

  return {
    name: images,
    size,
    sampleShape,
    numClasses: labels ? labelClassCount(labels) : undefined,
    labels,
    async *batches(batchSize: number, bopts?: BatchOptions): AsyncGenerator<Batch> {
      yield* idxBatches(info, planBatches(size, batchSize, bopts), per, sampleShape, labels);
    },
  };
}

function makeBatch(x: Float32Array, n: number, sampleShape: number[], labels: Int32Array | undefined, plan: BatchPlan, s: number): Batch {
  if (!labels) return { x, dims: [n, ...sampleShape] };
  const y = new Int32Array(n);
  for (let k = 0; k < n; k++) y[k] = labels[indexAt(plan, s + k)]!;
  return { x, dims: [n, ...sampleShape], y };
}

async function* idxBatches(info: IdxInfo, plan: BatchPlan, per: number, sampleShape: number[], labels: Int32Array | undefined): AsyncGenerator<Batch> {
  if (plan.count === 0) return;
  if (!info.gzip) {
    // plain file: positional reads, one batch buffer at a time
    const fh = await openFile(info.file, 'r').catch((e) => {
      throw fsError(info.file, e);
    });
    try {
      const buf = Buffer.alloc(plan.batchSize * per);
      for (const [s, e] of batchRanges(plan)) {
        const n = e - s;
        if (plan.order) {
          for (let k = 0; k < n; k++) await readFully(fh, info, buf, k * per, per, info.headerSize + indexAt(plan, s + k) * per);
        } else {
          await readFully(fh, info, buf, 0, n * per, info.headerSize + s * per);
        }
        const x = new Float32Array(n * per);
        for (let i = 0; i < x.length; i++) x[i] = U8_UNIT[buf[i]!]!;
        yield makeBatch(x, n, sampleShape, labels, plan, s);
      }
    } finally {
      await fh.close();
    }
    return;
  }
  if (plan.order) {
    // gzip + shuffle: random access needs the inflated bytes (1 byte per pixel)
    const payload = await readIdxPayload(info);
    for (const [s, e] of batchRanges(plan)) {
      const n = e - s;
      const x = new Float32Array(n * per);
      for (let k = 0; k < n; k++) {
        const off = indexAt(plan, s + k) * per;
        const o = k * per;
        for (let i = 0; i < per; i++) x[o + i] = U8_UNIT[payload[off + i]!]!;
      }
      yield makeBatch(x, n, sampleShape, labels, plan, s);
    }
    return;
  }
  // gzip, in order: stream, decoding straight into the batch
  const ranges = batchRanges(plan);
  let r = ranges.next();
  if (r.done) return;
  let [s, e] = r.value;
  let x = new Float32Array((e - s) * per);
  let fill = 0;
  let skip = info.headerSize;
  for await (const chunk of idxStream(info)) {
    let i = 0;
    if (skip > 0) {
      i = Math.min(skip, chunk.length);
      skip -= i;
    }
    while (i < chunk.length) {
      const take = Math.min(chunk.length - i, x.length - fill);
      for (let j = 0; j < take; j++) x[fill + j] = U8_UNIT[chunk[i + j]!]!;
      fill += take;
      i += take;
      if (fill === x.length) {
        yield makeBatch(x, e - s, sampleShape, labels, plan, s);
        r = ranges.next();
        if (r.done) return;
        [s, e] = r.value;
        x = new Float32Array((e - s) * per);
        fill = 0;
      }
    }
  }
  throw dataError(info.file, 'truncated IDX: the gzip stream ends early');
}

async function readFully(fh: import('node:fs/promises').FileHandle, info: IdxInfo, buf: Buffer, off: number, len: number, pos: number): Promise<void> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, off + got, len - got, pos + got);
    if (bytesRead === 0) throw dataError(info.file, 'truncated IDX: the file ends early');
    got += bytesRead;
  }
}
