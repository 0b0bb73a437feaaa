import { describe, expect, it } from 'vitest';
import { labelRank } from './metrics.js';

describe('labelRank', () => {
  it('counts strictly higher scores in the row; ties favour the label', () => {
    const scores = Float32Array.from([0.1, 0.7, 0.2, /* row 1 */ 0.5, 0.5, 0.1]);
    expect(labelRank(scores, 0, 3, 1)).toBe(0);
    expect(labelRank(scores, 0, 3, 2)).toBe(1);
    expect(labelRank(scores, 0, 3, 0)).toBe(2);
    expect(labelRank(scores, 1, 3, 0)).toBe(0);
    expect(labelRank(scores, 1, 3, 1)).toBe(0);
    expect(labelRank(scores, 1, 3, 2)).toBe(2);
  });
});
