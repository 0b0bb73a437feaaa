import { describe, expect, it } from 'vitest';
import { tinyModel } from '../testing/tiny-model.js';
import { applyPlan } from './apply-plan.js';
import type { MaskAction, PruningPlan } from './plan.js';

const plan = (actions: MaskAction[]): PruningPlan => ({ version: 1, strategy: 't', options: {}, actions, skipped: [] });

/** The largest float initializer of the tiny model. */
function weight(model: ReturnType<typeof tinyModel>) {
  const t = [...model.graph.initializers.values()].filter((v) => v.constValue?.dtype === 'float32').sort((a, b) => b.constValue!.size - a.constValue!.size)[0]!;
  return t;
}

describe('applyPlan: mask actions', () => {
  it('a bitset mask zeroes exactly the elements its index list names', () => {
    const a = tinyModel();
    const b = tinyModel();
    const w = weight(a);
    const n = w.constValue!.size;
    expect(n).toBeGreaterThan(40);
    const idx = Uint32Array.from({ length: n }, (_, i) => i).filter((i) => i % 3 === 0 || i === n - 1);
    const bits = new Int32Array((n + 31) >> 5);
    for (const i of idx) bits[i >> 5]! |= 1 << (i & 31);
    const r1 = applyPlan(a, plan([{ type: 'mask', tensor: w.name, prune: idx }]));
    const r2 = applyPlan(b, plan([{ type: 'mask', tensor: w.name, prune: new Uint32Array(0), bits }]));
    expect(r2.details).toEqual(r1.details);
    expect(r1.details!.masked).toEqual({ [w.name]: idx.length });
    const wb = weight(b);
    expect([...(wb.constValue!.values as Float32Array)]).toEqual([...(w.constValue!.values as Float32Array)]);
    expect([...wb.mask!]).toEqual([...w.mask!]);
    expect(w.mask!.reduce((s, m) => s + (m === 0 ? 1 : 0), 0)).toBe(idx.length);
  });

  it('refuses a bit beyond the tensor, naming strategy and tensor', () => {
    const m = tinyModel();
    const w = weight(m);
    const n = w.constValue!.size;
    const bits = new Int32Array(((n + 31) >> 5) + 1);
    bits[bits.length - 1] = 1;
    expect(() => applyPlan(m, plan([{ type: 'mask', tensor: w.name, prune: new Uint32Array(0), bits }]))).toThrow(`t: plan prunes index ${(bits.length - 1) * 32} of ${w.name}, which has ${n} elements`);
  });

  it('keeps a bitset as the pending mask; a second plan on the same tensor merges into it', () => {
    const m = tinyModel();
    const w = weight(m);
    const n = w.constValue!.size;
    const words = (n + 31) >> 5;
    const odd = new Int32Array(words);
    const low = new Int32Array(words);
    for (let i = 0; i < n; i++) {
      if (i % 2) odd[i >> 5]! |= 1 << (i & 31);
      if (i < 10) low[i >> 5]! |= 1 << (i & 31);
    }
    applyPlan(m, plan([{ type: 'mask', tensor: w.name, prune: new Uint32Array(0), bits: odd }]));
    expect(w.hasMask).toBe(true);
    applyPlan(m, plan([{ type: 'mask', tensor: w.name, prune: new Uint32Array(0), bits: low }]));
    const expected = Array.from({ length: n }, (_, i) => (i % 2 || i < 10 ? 0 : 1));
    expect([...w.mask!]).toEqual(expected);
    // The inputs' bitsets are not written to by the merge.
    expect(odd[0]).toBe(0xaaaaaaaa | 0);
    // An index-list plan after the mask exists edits the same mask.
    applyPlan(m, plan([{ type: 'mask', tensor: w.name, prune: Uint32Array.of(n - 2) }]));
    expected[n - 2] = 0;
    expect([...w.mask!]).toEqual(expected);
    const data = w.constValue!.values as Float32Array;
    for (let i = 0; i < n; i++) if (expected[i] === 0) expect(data[i]).toBe(0);
    // Clearing drops the pending bits too.
    w.mask = undefined;
    expect(w.hasMask).toBe(false);
    w.markPruned(low, n);
    w.mask = undefined;
    expect(w.mask).toBeUndefined();
  });
});
