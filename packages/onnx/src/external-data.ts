import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeFsError, externalDataError } from './errors.js';

/**
 * Reads one tensor's bytes from an external data file into a fresh
 * (so 8-byte aligned) buffer. Missing or short files are E_EXTERNAL_DATA.
 */
export function readExternalData(model: string, tensor: string, path: string, offset: number, length: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw externalDataError(model, tensor, `external data file ${path} missing`, e);
    throw externalDataError(model, tensor, `external data file ${path} unreadable (${describeFsError(e)})`, e);
  }
  try {
    const size = fstatSync(fd).size;
    if (offset + length > size)
      throw externalDataError(model, tensor, `external data file ${path} is too short (needs bytes ${offset}..${offset + length}, has ${size})`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, offset + done);
      if (n === 0) throw externalDataError(model, tensor, `external data file ${path} is too short (ended at byte ${offset + done})`);
      done += n;
    }
    return out;
  } catch (e) {
    if (e instanceof Error && e.name === 'ShearsError') throw e;
    throw externalDataError(model, tensor, `external data file ${path} unreadable (${describeFsError(e)})`, e);
  } finally {
    closeSync(fd);
  }
}
