import { putVarint, putVarint64, tag, varintSize, WIRE_I32, WIRE_LEN, WIRE_VARINT } from './wire.js';

/** Bytes produced only when written: tensor payloads, read from memory or external files as the file is streamed. */
export interface Deferred {
  size: number;
  produce(): Uint8Array;
}

export type Part = Uint8Array | Deferred;

/** Views at least this big are referenced instead of copied into the small-field buffer. */
const BY_REFERENCE = 64 * 1024;

const utf8 = new TextEncoder();
const EMPTY = new Uint8Array(0);

/**
 * An encoded message as a list of parts: small fields are packed into
 * buffers, big payloads are kept by reference (or deferred), so encoding a
 * model never builds a second copy of its weights. Sub-messages are built as
 * their own Chunks first; their size then gives the length prefix.
 */
export class Chunks {
  readonly parts: Part[] = [];
  #buf = EMPTY;
  #pos = 0;
  #flushed = 0;

  get size(): number {
    return this.#flushed + this.#pos;
  }

  #room(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#pos + n, 64));
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  #flush(): void {
    if (this.#pos === 0) return;
    this.parts.push(this.#buf.subarray(0, this.#pos));
    this.#flushed += this.#pos;
    this.#buf = EMPTY;
    this.#pos = 0;
  }

  varint(n: number): this {
    this.#room(10);
    this.#pos = putVarint(this.#buf, this.#pos, n);
    return this;
  }

  key(field: number, wire: number): this {
    return this.varint(tag(field, wire));
  }

  /** An int64 field from two's complement halves. */
  int64(field: number, lo: number, hi: number): this {
    this.key(field, WIRE_VARINT);
    this.#room(10);
    this.#pos = putVarint64(this.#buf, this.#pos, lo, hi);
    return this;
  }

  float32(field: number, v: number): this {
    this.key(field, WIRE_I32);
    this.#room(4);
    new DataView(this.#buf.buffer, this.#buf.byteOffset).setFloat32(this.#pos, v, true);
    this.#pos += 4;
    return this;
  }

  /** Appends raw bytes: copied when small, referenced when big. */
  raw(bytes: Uint8Array): this {
    if (bytes.length >= BY_REFERENCE) {
      this.#flush();
      this.parts.push(bytes);
      this.#flushed += bytes.length;
      return this;
    }
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
    return this;
  }

  deferred(d: Deferred): this {
    this.#flush();
    this.parts.push(d);
    this.#flushed += d.size;
    return this;
  }

  bytes(field: number, bytes: Uint8Array): this {
    return this.key(field, WIRE_LEN).varint(bytes.length).raw(bytes);
  }

  string(field: number, s: string): this {
    this.key(field, WIRE_LEN);
    const max = s.length * 3;
    if (max < BY_REFERENCE) {
      // Encode in place, then write the real length in front.
      this.#room(varintSize(max) + max);
      const lenAt = this.#pos;
      const { written } = utf8.encodeInto(s, this.#buf.subarray(lenAt + varintSize(max)));
      const lenSize = varintSize(written);
      if (lenSize !== varintSize(max)) this.#buf.copyWithin(lenAt + lenSize, lenAt + varintSize(max), lenAt + varintSize(max) + written);
      putVarint(this.#buf, lenAt, written);
      this.#pos = lenAt + lenSize + written;
      return this;
    }
    const b = utf8.encode(s);
    return this.varint(b.length).raw(b);
  }

  /** A length-delimited sub-message. */
  message(field: number, child: Chunks): this {
    this.key(field, WIRE_LEN).varint(child.size);
    return this.append(child);
  }

  /** Appends another Chunks' content (no prefix). */
  append(child: Chunks): this {
    const parts = child.finish();
    for (const p of parts) {
      if (p instanceof Uint8Array) this.raw(p);
      else this.deferred(p);
    }
    return this;
  }

  finish(): Part[] {
    this.#flush();
    return this.parts;
  }
}

/** Concatenates parts into one buffer (encodeModel). */
export function joinParts(parts: readonly Part[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    const b = p instanceof Uint8Array ? p : p.produce();
    if (b.length !== (p instanceof Uint8Array ? p.length : p.size)) throw new Error(`encoded part has ${b.length} bytes, expected ${(p as Deferred).size}`);
    out.set(b, at);
    at += b.length;
  }
  return out;
}
