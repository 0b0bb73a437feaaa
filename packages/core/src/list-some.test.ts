import { describe, expect, it } from 'vitest';
import { listSome } from './list-some.js';

describe('listSome', () => {
  it('names the first items and counts the rest', () => {
    expect(listSome(['a', 'b', 'c', 'd', 'e'], 3)).toBe('a, b, c and 2 more');
    expect(listSome(Array.from({ length: 64 }, (_, i) => `w${i}`), 3)).toBe('w0, w1, w2 and 61 more');
  });
  it('lists everything when "and 1 more" would be no shorter', () => {
    expect(listSome(['a', 'b', 'c', 'd'], 3)).toBe('a, b, c, d');
    expect(listSome(['a'], 3)).toBe('a');
    expect(listSome([], 3)).toBe('');
  });
});
