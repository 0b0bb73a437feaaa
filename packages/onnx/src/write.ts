import { ShearsError, type Model } from '@shears/core';
import { statSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { writeFilesAtomic, writeFilesAtomicSync, type PendingFile } from './atomic-write.js';
import { encodeModelParts, PROTOBUF_LIMIT, tooLarge } from './encode-model.js';
import type { ExternalTarget } from './encode-tensor.js';
import { sourcePaths } from './side-tables.js';
import { tensorsOf } from './walk.js';

export interface WriteOptions {
  /**
   * Write initializers of at least `sizeThreshold` bytes (default 1024) to one
   * external data file, `location` relative to the model's directory. Needed
   * for models over 2 GiB.
   */
  externalData?: { location: string; sizeThreshold?: number };
  /** Allow replacing the file the model was read from (or `inputPath`). */
  overwrite?: boolean;
  /** Another path to protect from being overwritten, e.g. the CLI's input. */
  inputPath?: string;
}

/** One file: equal paths, or the same device and inode (symlinks, other spellings, hard links). */
function sameFile(a: string, b: string): boolean {
  if (resolve(a) === resolve(b)) return true;
  try {
    const sa = statSync(a, { bigint: true });
    const sb = statSync(b, { bigint: true });
    return sa.ino === sb.ino && sa.dev === sb.dev;
  } catch {
    return false;
  }
}

function checkLocation(location: string): void {
  const n = normalize(location);
  if (!location || isAbsolute(location) || n === '..' || n.startsWith(`..${sep}`))
    throw new ShearsError('E_OPTION', `option externalData.location: ${JSON.stringify(location)} must be a path relative to the model's directory, inside it`, {
      option: 'externalData.location',
    });
}

/** Checks, then encodes; returns the files to write (external data first, model last). */
function plan(model: Model, path: string, opts: WriteOptions): PendingFile[] {
  const out = resolve(path);
  if (!opts.overwrite) {
    for (const src of [sourcePaths.get(model), opts.inputPath]) {
      if (src && sameFile(src, out))
        throw new ShearsError(
          'E_IO',
          `${path}: refusing to overwrite the model's input file${resolve(src) === out ? '' : ` ${src} (the same file by another path or a hard link)`} (pass { overwrite: true } to replace it)`,
          { file: path },
        );
    }
  }
  let external: ExternalTarget | undefined;
  let externalPath: string | undefined;
  if (opts.externalData) {
    const { location, sizeThreshold = 1024 } = opts.externalData;
    checkLocation(location);
    if (!(sizeThreshold >= 0)) throw new ShearsError('E_OPTION', `option externalData.sizeThreshold: must be a number of bytes >= 0`, { option: 'externalData.sizeThreshold' });
    externalPath = join(dirname(out), location);
    external = { location: location.split(sep).join('/'), sizeThreshold, parts: [], size: 0 };
    // Tensors still to be read lazily from the file we are about to replace
    // must be read first, or later loads would see the new layout.
    for (const t of tensorsOf(model)) {
      if (!t.loaded && t.external && sameFile(resolve(t.external.baseDir, t.external.location), externalPath)) void t.data;
    }
  }
  const { parts, size } = encodeModelParts(model, external);
  if (size > PROTOBUF_LIMIT) throw tooLarge(path, size);
  const files: PendingFile[] = [];
  if (external && externalPath) files.push({ path: externalPath, parts: external.parts });
  files.push({ path: out, parts });
  return files;
}

/**
 * Writes the model atomically (temp file in the same directory, fsync,
 * rename; the temp file is removed on failure), streaming tensor data
 * straight from memory or the source files.
 */
export async function writeModel(model: Model, path: string, opts: WriteOptions = {}): Promise<void> {
  await writeFilesAtomic(plan(model, path, opts));
}

export function writeModelSync(model: Model, path: string, opts: WriteOptions = {}): void {
  writeFilesAtomicSync(plan(model, path, opts));
}
