// Sparsity schedules for gradual pruning with fine-tuning: plain objects the
// fine-tune runner queries per step ("prune to sparsityAt(t) now").

import { ShearsError } from '@shears/core';

export interface SparsitySchedule {
  readonly kind: 'one-shot' | 'iterative' | 'agp';
  /** Steps at which pruning happens: 0 … steps − 1 (the last reaches the final sparsity). */
  readonly steps: number;
  readonly final: number;
  /** Target sparsity after pruning at `step` (clamped to [0, steps − 1] / [0, T]). */
  sparsityAt(step: number): number;
}

function check(name: string, option: string, v: number, ok: boolean, want: string): void {
  if (!ok) throw new ShearsError('E_OPTION', `${name}: option ${option}: ${want} (got ${v})`, { plugin: name, option });
}
const fraction = (name: string, option: string, v: number) => check(name, option, v, v >= 0 && v < 1, 'must be in [0, 1)');
const positiveInt = (name: string, option: string, v: number) => check(name, option, v, Number.isInteger(v) && v >= 1, 'must be a positive integer');

/** Prune to `sparsity` at once. */
export function oneShot(sparsity: number): SparsitySchedule {
  fraction('oneShot', 'sparsity', sparsity);
  return { kind: 'one-shot', steps: 1, final: sparsity, sparsityAt: () => sparsity };
}

/**
 * Reach `sparsity` in k pruning rounds. 'geometric' (default, as iterative
 * magnitude pruning) removes the same fraction of the remaining weights each
 * round: 1 − (1 − s)^((t+1)/k); 'linear' steps s·(t+1)/k.
 */
export function iterative(sparsity: number, k: number, opts: { mode?: 'geometric' | 'linear' } = {}): SparsitySchedule {
  fraction('iterative', 'sparsity', sparsity);
  positiveInt('iterative', 'k', k);
  const mode = opts.mode ?? 'geometric';
  return {
    kind: 'iterative',
    steps: k,
    final: sparsity,
    sparsityAt(step) {
      const t = Math.min(Math.max(Math.floor(step), 0), k - 1);
      return t === k - 1 ? sparsity : mode === 'linear' ? (sparsity * (t + 1)) / k : 1 - (1 - sparsity) ** ((t + 1) / k);
    },
  };
}

/**
 * Automated gradual pruning (Zhu & Gupta 2017): over steps 0 … T,
 * sparsity(t) = s_f + (s_i − s_f)·(1 − t/T)³.
 */
export function agp(initial: number, final: number, T: number): SparsitySchedule {
  fraction('agp', 'initial', initial);
  fraction('agp', 'final', final);
  positiveInt('agp', 'T', T);
  check('agp', 'final', final, final >= initial, `must be at least initial (${initial})`);
  return {
    kind: 'agp',
    steps: T + 1,
    final,
    sparsityAt(step) {
      const t = Math.min(Math.max(step, 0), T);
      return final + (initial - final) * (1 - t / T) ** 3;
    },
  };
}
