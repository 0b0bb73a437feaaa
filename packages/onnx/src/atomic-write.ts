import { closeSync, fsyncSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isShearsError, ShearsError } from '@shears/core';
import type { Part } from './chunks.js';
import { describeFsError, ioError } from './errors.js';

/** Small parts are gathered into a buffer of this size before each write; bigger ones are written directly. */
const STAGING = 1 << 20;

/** A temp file next to the target, so the final rename stays on one filesystem. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

function modeOf(path: string): number {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return 0o666;
  }
}

/** Makes the renames durable; best effort (not every platform can fsync a directory). */
function syncDirs(files: readonly PendingFile[]): void {
  for (const dir of new Set(files.map((f) => dirname(f.path)))) {
    try {
      const fd = openSync(dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // ignore
    }
  }
}

function bytesOf(p: Part): Uint8Array {
  if (p instanceof Uint8Array) return p;
  const b = p.produce();
  if (b.length !== p.size) throw new ShearsError('E_INTERNAL', `encoded part has ${b.length} bytes, expected ${p.size}`);
  return b;
}

/** Feeds parts to `write` in order, gathering small ones. */
function* batches(parts: readonly Part[]): Generator<Uint8Array> {
  let staging: Uint8Array | null = null;
  let used = 0;
  for (const p of parts) {
    const b = bytesOf(p);
    if (b.length >= STAGING) {
      if (used) yield staging!.subarray(0, used);
      used = 0;
      yield b;
      continue;
    }
    if (used + b.length > STAGING) {
      yield staging!.subarray(0, used);
      used = 0;
    }
    staging ??= new Uint8Array(STAGING);
    staging.set(b, used);
    used += b.length;
  }
  if (used) yield staging!.subarray(0, used);
}

export interface PendingFile {
  path: string;
  parts: readonly Part[];
}

/**
 * Writes each file to a temp file in its directory, fsyncs, then renames
 * them into place (in the given order, so put the model file last). Temp
 * files are removed on failure.
 */
export function writeFilesAtomicSync(files: readonly PendingFile[]): void {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path);
      let fd: number;
      try {
        fd = openSync(tmp, 'wx', modeOf(f.path));
      } catch (e) {
        throw ioError(f.path, `cannot write (${describeFsError(e)})`, e);
      }
      temps.push(tmp);
      try {
        for (const b of batches(f.parts)) {
          let done = 0;
          while (done < b.length) done += writeSync(fd, b, done, b.length - done);
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    files.forEach((f, i) => renameSync(temps[i]!, f.path));
    temps.length = 0;
    syncDirs(files);
  } catch (e) {
    for (const t of temps) {
      try {
        unlinkSync(t);
      } catch {
        // already renamed or never created
      }
    }
    throw wrapWriteError(files, e);
  }
}

export async function writeFilesAtomic(files: readonly PendingFile[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = tempPathFor(f.path);
      let fh: import('node:fs/promises').FileHandle | undefined;
      try {
        fh = await open(tmp, 'wx', modeOf(f.path));
      } catch (e) {
        throw ioError(f.path, `cannot write (${describeFsError(e)})`, e);
      }
      temps.push(tmp);
      try {
        for (const b of batches(f.parts)) {
          let done = 0;
          while (done < b.length) done += (await fh.write(b, done, b.length - done)).bytesWritten;
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
    temps.length = 0;
    syncDirs(files);
  } catch (e) {
    await Promise.all(temps.map((t) => unlink(t).catch(() => undefined)));
    throw wrapWriteError(files, e);
  }
}

function wrapWriteError(files: readonly PendingFile[], e: unknown): ShearsError {
  if (isShearsError(e)) return e;
  const last = files[files.length - 1]?.path ?? '?';
  return ioError(last, `cannot write (${describeFsError(e)})`, e);
}
