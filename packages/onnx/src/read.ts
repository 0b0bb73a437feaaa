import type { Model } from '@shears/core';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { decodeModel } from './decode-model.js';
import { describeFsError, ioError } from './errors.js';
import { sourcePaths } from './side-tables.js';

export interface ReadOptions {
  /** Read external data now rather than on first use (default true), so missing files fail here. */
  loadExternal?: boolean;
}

function finish(bytes: Uint8Array, path: string, opts: ReadOptions): Model {
  const abs = resolve(path);
  const model = decodeModel(bytes, { baseDir: dirname(abs), fileName: path, loadExternal: opts.loadExternal ?? true, ownsBytes: true });
  sourcePaths.set(model, abs);
  return model;
}

/** Files at least this big are read in chunks, several at once. */
const PARALLEL_FROM = 16 << 20;
const CHUNK = 4 << 20;
const READERS = 2;

/**
 * The whole file, read as CHUNK-sized pieces by READERS concurrent reads
 * (libuv's thread pool), so that a big model's read is not one thread's
 * memory-copy and page-fault bound loop.
 */
async function readWhole(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size < PARALLEL_FROM) return await fh.readFile();
    const bytes = Buffer.allocUnsafeSlow(size);
    let next = 0;
    const reader = async () => {
      while (next < size) {
        const start = next;
        const end = Math.min(start + CHUNK, size);
        next = end;
        for (let at = start; at < end; ) {
          const { bytesRead } = await fh.read(bytes, at, end - at, at);
          if (bytesRead === 0) throw Object.assign(new Error('file shrank while being read'), { code: 'ESHRANK' });
          at += bytesRead;
        }
      }
    };
    await Promise.all(Array.from({ length: READERS }, reader));
    return bytes;
  } finally {
    await fh.close();
  }
}

/** Reads an ONNX file. Tensor data are views of the file's bytes where alignment allows. */
export async function readModel(path: string, opts: ReadOptions = {}): Promise<Model> {
  let bytes: Buffer;
  try {
    bytes = await readWhole(path);
  } catch (e) {
    throw ioError(path, `cannot read (${describeFsError(e)})`, e);
  }
  return finish(bytes, path, opts);
}

export function readModelSync(path: string, opts: ReadOptions = {}): Model {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw ioError(path, `cannot read (${describeFsError(e)})`, e);
  }
  return finish(bytes, path, opts);
}

/** The absolute path a model was read from, if it came from readModel. */
export function modelSourcePath(model: Model): string | undefined {
  return sourcePaths.get(model);
}
