import { describe, expect, it } from 'vitest';
import { fromHalf, toHalf, toHalfArray } from './float16.js';

describe('float16', () => {
  it('converts exactly representable values both ways', () => {
    for (const x of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24]) expect(fromHalf(toHalf(x))).toBe(x);
    expect(toHalf(-0)).toBe(0x8000);
  });

  it('rounds to nearest even, carries into the exponent, and overflows to inf', () => {
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even (1.0)
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (1 + 2^-9)
    expect(fromHalf(toHalf(2047.9))).toBe(2048); // mantissa overflow bumps the exponent
    expect(toHalf(70000)).toBe(0x7c00);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });

  it('converts arrays', () => {
    expect(Array.from(toHalfArray(Float32Array.of(1, -1, 0)))).toEqual([0x3c00, 0xbc00, 0]);
  });
});
