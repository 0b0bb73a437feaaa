import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { Chunks, joinParts } from './chunks.js';
import { int64Halves, int64ToNumber } from './int64.js';
import { putVarint, putVarint64, scanFields, varint64Size, varintSize, WireError } from './wire.js';

function bytes(c: Chunks): Uint8Array {
  const size = c.size;
  return joinParts(c.finish(), size);
}

describe('varints', () => {
  it('match protobufjs for lengths and 64-bit values', () => {
    for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 31 - 1, 2 ** 32, 2 ** 53 - 1]) {
      const buf = new Uint8Array(10);
      const end = putVarint(buf, 0, n);
      expect(end).toBe(varintSize(n));
      expect(String(protobuf.Reader.create(buf.subarray(0, end)).uint64())).toBe(String(n));
    }
    for (const n of [0, 1, -1, 300, -300, 2 ** 40, -(2 ** 40), 2 ** 63, -(2 ** 63)]) {
      const [lo, hi] = int64Halves(n);
      const buf = new Uint8Array(10);
      const end = putVarint64(buf, 0, lo, hi);
      expect(end).toBe(varint64Size(lo, hi));
      const back = protobuf.Reader.create(buf.subarray(0, end)).int64();
      expect(int64ToNumber(back)).toBe(n);
    }
  });
});

describe('Chunks', () => {
  it('encodes strings of every length boundary the same way protobufjs does', () => {
    for (const s of ['', 'a', 'é', 'x'.repeat(42), 'x'.repeat(43), 'ü'.repeat(43), '😀'.repeat(40), 'y'.repeat(20000), 'z'.repeat(70000)]) {
      const c = new Chunks().string(1, s);
      const want = protobuf.Writer.create().uint32(10).string(s).finish();
      expect(Buffer.from(bytes(c))).toEqual(Buffer.from(want));
    }
  });

  it('keeps big byte fields by reference and nests messages with the right lengths', () => {
    const big = new Uint8Array(200_000).fill(7);
    const inner = new Chunks().bytes(9, big).string(8, 'name');
    const outer = new Chunks().string(2, 'g').message(5, inner);
    const parts = outer.finish();
    expect(parts.includes(big)).toBe(true);
    const all = joinParts(parts, parts.reduce((a, p) => a + (p as Uint8Array).length, 0));
    const fields = scanFields(all);
    expect(fields.map((f) => f.field)).toEqual([2, 5]);
    const sub = scanFields(fields[1]!.value);
    expect(sub.map((f) => [f.field, f.value.length])).toEqual([
      [9, 200_000],
      [8, 4],
    ]);
  });

  it('produces deferred parts only when joined', () => {
    let produced = 0;
    const c = new Chunks().deferred({ size: 3, produce: () => (produced++, new Uint8Array([1, 2, 3])) });
    const parts = c.finish();
    expect(produced).toBe(0);
    expect([...joinParts(parts, 3)]).toEqual([1, 2, 3]);
    expect(produced).toBe(1);
  });
});

describe('scanFields', () => {
  it('rejects truncated and malformed input with an offset', () => {
    expect(() => scanFields(new Uint8Array([0x0a, 0x05, 1]))).toThrow(WireError);
    expect(() => scanFields(new Uint8Array([0x0b]))).toThrow(/unsupported wire type 3/);
    expect(() => scanFields(new Uint8Array([0x00]))).toThrow(/field number 0/);
    expect(() => scanFields(new Uint8Array([0x08, 0xff]))).toThrow(/truncated varint/);
  });
});
