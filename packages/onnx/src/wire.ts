// Protobuf wire-format primitives shared by the hand-written parts of the
// codec: the container encoder (streams big tensors) and the TensorProto
// decoder (typed arrays instead of per-element numbers).

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

export function varintSize(n: number): number {
  // n is a non-negative safe integer (lengths, tags, small enums).
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes an unsigned varint (non-negative safe integer) at pos; returns the new pos. */
export function putVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Writes a 64-bit two's complement varint from its low/high 32-bit halves. */
export function putVarint64(buf: Uint8Array, pos: number, lo: number, hi: number): number {
  lo >>>= 0;
  hi >>>= 0;
  while (hi !== 0 || lo >= 128) {
    buf[pos++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  buf[pos++] = lo;
  return pos;
}

export function varint64Size(lo: number, hi: number): number {
  lo >>>= 0;
  hi >>>= 0;
  let size = 1;
  while (hi !== 0 || lo >= 128) {
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
    size++;
  }
  return size;
}

export function tag(field: number, wire: number): number {
  return field * 8 + wire;
}

/** A decode failure with the byte offset it happened at. */
export class WireError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * The fields of one message as raw spans, without decoding them. Used to keep
 * whole sub-messages as bytes (training_info) and to find where unknown fields
 * sit. Throws WireError on malformed input.
 */
export function scanFields(buf: Uint8Array, start = 0, end = buf.length): { field: number; wire: number; start: number; end: number; value: Uint8Array }[] {
  const out: { field: number; wire: number; start: number; end: number; value: Uint8Array }[] = [];
  let pos = start;
  const readVarint = (): number => {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) throw new WireError('truncated varint', pos);
      const b = buf[pos++]!;
      n += (b & 127) * mul;
      mul *= 128;
      if (b < 128) return n;
    }
    throw new WireError('malformed varint', pos);
  };
  while (pos < end) {
    const at = pos;
    const t = readVarint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) throw new WireError('field number 0', at);
    let vStart = pos;
    switch (wire) {
      case WIRE_VARINT:
        readVarint();
        break;
      case WIRE_I64:
        pos += 8;
        break;
      case WIRE_I32:
        pos += 4;
        break;
      case WIRE_LEN: {
        const len = readVarint();
        vStart = pos;
        pos += len;
        break;
      }
      default:
        throw new WireError(`unsupported wire type ${wire}`, at);
    }
    if (pos > end) throw new WireError('field runs past the end of its message', at);
    out.push({ field, wire, start: at, end: pos, value: buf.subarray(vStart, pos) });
  }
  return out;
}
