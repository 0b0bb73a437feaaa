import type { Model } from '@shears/core';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
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

/** Reads an ONNX file. Tensor data are views of the file's bytes where alignment allows. */
export async function readModel(path: string, opts: ReadOptions = {}): Promise<Model> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
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
