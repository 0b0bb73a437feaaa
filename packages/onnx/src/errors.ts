import { isShearsError, ShearsError } from '@shears/core';
import { WireError } from './wire.js';

/** Names from a corrupt file can be long or hold control characters; keep messages one short line. */
export function quote(name: string, max = 80): string {
  if (name === '') return '(unnamed)';
  const clean = name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A malformed part of a model; the decoder adds the file (and node) name. */
export class DecodeError extends Error {}

export function parseError(file: string, detail: string, node?: string): ShearsError {
  return new ShearsError('E_PARSE', `${file}: not a valid ONNX model (${detail.replace(/\s+/g, ' ')})`, { file, node });
}

export function externalDataError(file: string, tensor: string, detail: string, cause?: unknown): ShearsError {
  return new ShearsError('E_EXTERNAL_DATA', `${file}: tensor ${quote(tensor)}: ${detail.replace(/\s+/g, ' ')}`, { file, cause });
}

export function ioError(file: string, detail: string, cause?: unknown): ShearsError {
  return new ShearsError('E_IO', `${file}: ${detail.replace(/\s+/g, ' ')}`, { file, cause });
}

/** Any failure while decoding becomes a ShearsError naming the file. */
export function asParseError(file: string, e: unknown): ShearsError {
  if (isShearsError(e)) return e;
  if (e instanceof RangeError && /call stack/i.test(e.message)) return parseError(file, 'structure nested too deeply');
  if (e instanceof WireError) return parseError(file, `${e.message} at byte ${e.offset}`);
  const msg = e instanceof Error ? e.message : String(e);
  return new ShearsError('E_PARSE', `${file}: not a valid ONNX model (${msg.replace(/\s+/g, ' ')})`, { file, cause: e });
}

/** Node's system error codes as short phrases. */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'ENOSPC':
      return 'no space left on device';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}
