import { dataError } from './errors.js';
import { readFileOrThrow, writeFileAtomic } from './io.js';
import { encodeNpyParts, parseNpy, type NpyArray, type NpyInput } from './npy.js';
import { concatChunks, readZipDirectory, zipEntryData, zipStoredChunks, type ZipEntry } from './zip.js';

/** An opened .npz: array names, and lazy access (only the arrays asked for are inflated). */
export interface NpzArchive {
  file: string;
  names: string[];
  has(name: string): boolean;
  get(name: string): NpyArray;
}

export function parseNpzArchive(bytes: Uint8Array, file: string): NpzArchive {
  const entries = new Map<string, ZipEntry>();
  for (const e of readZipDirectory(bytes, file)) {
    if (e.name.endsWith('/')) continue;
    entries.set(e.name.endsWith('.npy') ? e.name.slice(0, -4) : e.name, e);
  }
  return {
    file,
    names: [...entries.keys()],
    has: (name) => entries.has(name),
    get(name) {
      const e = entries.get(name);
      if (!e) throw dataError(file, `no array '${name}' in the .npz (it has ${[...entries.keys()].join(', ') || 'none'})`);
      return parseNpy(zipEntryData(bytes, e, file), file, e.name);
    },
  };
}

export function openNpz(file: string): NpzArchive {
  return parseNpzArchive(readFileOrThrow(file), file);
}

/** Read every array of an .npz file. */
export function readNpz(file: string): Record<string, NpyArray> {
  const z = openNpz(file);
  const out: Record<string, NpyArray> = {};
  for (const n of z.names) out[n] = z.get(n);
  return out;
}

function npzChunks(arrays: Record<string, NpyInput>, compress = false): Uint8Array[] {
  return zipStoredChunks(
    Object.entries(arrays).map(([name, a]) => ({ name: `${name}.npy`, parts: encodeNpyParts(a) })),
    compress,
  );
}

export interface NpzWriteOptions {
  /** Deflate the arrays, as `np.savez_compressed` does (default false: stored, as `np.savez`). */
  compress?: boolean;
}

/** The bytes of an .npz (stored zip entries, as `np.savez` writes) holding `arrays`. */
export function toNpz(arrays: Record<string, NpyInput>, opts: NpzWriteOptions = {}): Uint8Array {
  return concatChunks(npzChunks(arrays, opts.compress));
}

/** Write an .npz atomically (temp file + rename); stored, or deflated with `compress`. */
export function writeNpz(file: string, arrays: Record<string, NpyInput>, opts: NpzWriteOptions = {}): void {
  writeFileAtomic(file, npzChunks(arrays, opts.compress));
}
