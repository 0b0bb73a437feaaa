import { isShearsError } from '@shears/core';
import { describe, expect, it } from 'vitest';
import { agp, iterative, oneShot } from './schedules.js';

describe('sparsity schedules', () => {
  it('one-shot', () => {
    const s = oneShot(0.5);
    expect([s.kind, s.steps, s.sparsityAt(0), s.sparsityAt(7)]).toEqual(['one-shot', 1, 0.5, 0.5]);
  });

  it('iterative: geometric keeps a constant fraction of the remaining weights per round; linear steps evenly', () => {
    const g = iterative(0.875, 3);
    expect([0, 1, 2].map((t) => +g.sparsityAt(t).toFixed(6))).toEqual([0.5, 0.75, 0.875]);
    const l = iterative(0.6, 3, { mode: 'linear' });
    expect([0, 1, 2, 9].map((t) => +l.sparsityAt(t).toFixed(6))).toEqual([0.2, 0.4, 0.6, 0.6]);
  });

  it('AGP follows s_f + (s_i − s_f)(1 − t/T)³', () => {
    const s = agp(0.1, 0.9, 10);
    expect(s.steps).toBe(11);
    for (const t of [0, 1, 5, 9, 10]) expect(s.sparsityAt(t)).toBeCloseTo(0.9 + (0.1 - 0.9) * (1 - t / 10) ** 3, 12);
    expect(s.sparsityAt(-3)).toBeCloseTo(0.1);
    expect(s.sparsityAt(50)).toBeCloseTo(0.9);
    // Monotone, fast at first, slow at the end.
    const steps = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((t) => s.sparsityAt(t));
    for (let i = 1; i < steps.length; i++) expect(steps[i]!).toBeGreaterThanOrEqual(steps[i - 1]!);
    expect(steps[1]! - steps[0]!).toBeGreaterThan(steps[10]! - steps[9]!);
  });

  it('refuses bad arguments with E_OPTION', () => {
    for (const f of [() => oneShot(1), () => iterative(0.5, 0), () => iterative(-0.1, 2), () => agp(0.5, 0.2, 10), () => agp(0, 0.5, 2.5)]) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(isShearsError(e) && e.code === 'E_OPTION').toBe(true);
      }
    }
  });
});
