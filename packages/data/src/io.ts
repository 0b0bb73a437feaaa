import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errors } from '@shears/core';
import { dataError, reason } from './errors.js';

/** `stat` that turns "missing" into the package's one-line error. */
export function statOrThrow(file: string): Stats {
  try {
    return statSync(file);
  } catch (e) {
    throw fsError(file, e);
  }
}

export function readFileOrThrow(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw fsError(file, e);
  }
}

export function fsError(file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return dataError(file, 'no such file or directory', e);
  if (code === 'EISDIR') return dataError(file, 'is a directory, expected a file', e);
  if (code === 'ENOTDIR') return dataError(file, 'not a directory', e);
  if (code === 'EACCES' || code === 'EPERM') return dataError(file, 'permission denied', e);
  return dataError(file, `cannot read (${reason(e)})`, e);
}

/** Write a file atomically: a temp file beside it, fsync, then rename over the target. */
export function writeFileAtomic(file: string, chunks: readonly Uint8Array[]): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (const c of chunks) {
      let off = 0;
      while (off < c.length) off += writeSync(fd, c, off, c.length - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    rmSync(tmp, { force: true });
    throw errors.io(file, `cannot write (${reason(e)})`);
  }
}
