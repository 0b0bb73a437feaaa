/**
 * A minimal zip reader (central directory; stored and deflated entries;
 * zip64) and writer (stored entries only) — enough for .npz files.
 */
import * as zlib from 'node:zlib';
import { dataError, reason } from './errors.js';

export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOC64 = 0x07064b50;

let table: Uint32Array | undefined;
function crcTable(): Uint32Array {
  if (table) return table;
  table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

/** CRC-32 (zip/gzip polynomial); `prev` continues a running checksum. */
export function crc32(data: Uint8Array, prev = 0): number {
  const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;
  if (typeof native === 'function') return native(data, prev) >>> 0;
  const t = crcTable();
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function u64(dv: DataView, off: number): number {
  return Number(dv.getBigUint64(off, true));
}

/** Read the central directory of a zip held in memory. */
export function readZipDirectory(buf: Uint8Array, file: string): ZipEntry[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const looksZip = buf.length >= 4 && dv.getUint32(0, true) === SIG_LOCAL;
  if (buf.length === 0) throw dataError(file, 'empty file, expected an .npz (zip) archive');
  let eocd = -1;
  for (let i = buf.length - 22; i >= 0 && i >= buf.length - 22 - 0xffff; i--) {
    if (dv.getUint32(i, true) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) {
    if (looksZip) throw dataError(file, 'truncated .npz: the zip end-of-central-directory record is missing');
    throw dataError(file, 'not an .npz file (wrong magic; expected a zip archive)');
  }
  let count = dv.getUint16(eocd + 10, true);
  let cdSize = dv.getUint32(eocd + 12, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (eocd >= 20 && dv.getUint32(eocd - 20, true) === SIG_LOC64) {
    const at = u64(dv, eocd - 20 + 8);
    if (at + 56 > buf.length || dv.getUint32(at, true) !== SIG_EOCD64) throw dataError(file, 'corrupt .npz: bad zip64 end-of-central-directory record');
    count = u64(dv, at + 32);
    cdSize = u64(dv, at + 40);
    cdOffset = u64(dv, at + 48);
  }
  if (cdOffset + cdSize > buf.length) throw dataError(file, 'truncated .npz: the zip central directory lies beyond the end of the file');

  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > buf.length || dv.getUint32(p, true) !== SIG_CENTRAL) throw dataError(file, 'corrupt .npz: bad zip central directory entry');
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    const crc = dv.getUint32(p + 16, true);
    let compressedSize = dv.getUint32(p + 20, true);
    let size = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOffset = dv.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > buf.length) throw dataError(file, 'corrupt .npz: bad zip central directory entry');
    const name = Buffer.from(buf.buffer, buf.byteOffset + p + 46, nameLen).toString(flags & 0x800 ? 'utf8' : 'latin1');
    // zip64 extra field: the 0xFFFFFFFF fields, in order size, compressed size, offset
    let e = p + 46 + nameLen;
    const eEnd = e + extraLen;
    while (e + 4 <= eEnd) {
      const id = dv.getUint16(e, true);
      const len = dv.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= e + 4 + len) (size = u64(dv, q)), (q += 8);
        if (compressedSize === 0xffffffff && q + 8 <= e + 4 + len) (compressedSize = u64(dv, q)), (q += 8);
        if (localOffset === 0xffffffff && q + 8 <= e + 4 + len) localOffset = u64(dv, q);
      }
      e += 4 + len;
    }
    entries.push({ name, method, flags, crc, compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The uncompressed bytes of one entry (a view for stored entries). */
export function zipEntryData(buf: Uint8Array, entry: ZipEntry, file: string): Uint8Array {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const at = entry.localOffset;
  if (at + 30 > buf.length || dv.getUint32(at, true) !== SIG_LOCAL) throw dataError(file, `corrupt .npz: bad zip local header for ${entry.name}`);
  if (entry.flags & 1) throw dataError(file, `unsupported .npz: entry ${entry.name} is encrypted`);
  const start = at + 30 + dv.getUint16(at + 26, true) + dv.getUint16(at + 28, true);
  const end = start + entry.compressedSize;
  if (end > buf.length) throw dataError(file, `truncated .npz: entry ${entry.name} runs past the end of the file`);
  const raw = buf.subarray(start, end);
  let out: Uint8Array;
  if (entry.method === 0) {
    out = raw;
  } else if (entry.method === 8) {
    try {
      out = zlib.inflateRawSync(raw);
    } catch (e) {
      throw dataError(file, `corrupt .npz: entry ${entry.name} does not inflate (${reason(e)})`, e);
    }
  } else {
    throw dataError(file, `unsupported .npz: entry ${entry.name} uses zip compression method ${entry.method} (only stored and deflated are supported)`);
  }
  if (out.length !== entry.size) throw dataError(file, `corrupt .npz: entry ${entry.name} is ${out.length} bytes, the directory says ${entry.size}`);
  if (crc32(out) !== entry.crc) throw dataError(file, `corrupt .npz: entry ${entry.name} fails its CRC check`);
  return out;
}

export interface ZipInput {
  name: string;
  /** The entry's bytes, possibly in several parts (e.g. npy header + data). */
  parts: readonly Uint8Array[];
}

/**
 * Build a zip of stored entries, or deflated ones with `compress` (as
 * `np.savez_compressed` writes). Returns chunks to write or concatenate.
 */
export function zipStoredChunks(entries: readonly ZipInput[], compress = false): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const ent of entries) {
    const name = Buffer.from(ent.name, 'utf8');
    let size = 0;
    let crc = 0;
    for (const part of ent.parts) {
      size += part.length;
      crc = crc32(part, crc);
    }
    const parts = compress ? [zlib.deflateRawSync(concatChunks(ent.parts), { level: 9 })] : ent.parts;
    const stored = compress ? parts[0]!.length : size;
    const method = compress ? 8 : 0;
    if (offset + stored + 30 + name.length > 0xfffffffe) throw new RangeError('zip: archives over 4 GiB are not supported by the writer');
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, 20, true); // version needed
    lv.setUint16(6, 0x800, true); // utf-8 names
    lv.setUint16(8, method, true); // 0 stored, 8 deflated
    lv.setUint16(10, 0, true); // time 00:00
    lv.setUint16(12, 0x21, true); // date 1980-01-01
    lv.setUint32(14, crc, true);
    lv.setUint32(18, stored, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    lv.setUint16(28, 0, true);
    local.set(name, 30);
    const cen = new Uint8Array(46 + name.length);
    const cv = new DataView(cen.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, 0x0314, true); // made by: unix, zip 2.0
    cv.setUint16(6, 20, true); // needed
    cv.setUint16(8, 0x800, true);
    cv.setUint16(10, method, true);
    cv.setUint16(12, 0, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, stored, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(38, 0o100644 * 65536, true); // unix mode -rw-r--r--
    cv.setUint32(42, offset, true);
    cen.set(name, 46);
    central.push(cen);
    chunks.push(local, ...parts);
    offset += local.length + stored;
  }
  let cdSize = 0;
  for (const c of central) cdSize += c.length;
  if (entries.length > 0xfffe) throw new RangeError('zip: too many entries');
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  chunks.push(...central, eocd);
  return chunks;
}

export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
