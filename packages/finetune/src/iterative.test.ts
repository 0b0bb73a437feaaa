import { ShearsError, StateBag } from '@shears/core';
import { testContext } from '@shears/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from './backend.js';
import { iterativeFinetune, parseIterativeSchedule, parseRewind, roundSparsity } from './iterative.js';
import { FINETUNE_DATA, FINETUNE_VAL, finetunePlugin } from './plugin.js';
import { memoryDataset, quadrantData, smallCnn, testBackend } from './test-helpers.js';
import type { StepWeights } from './train.js';

let backend: BackendInfo;
beforeAll(async () => {
  backend = await testBackend();
});

const { x: TX, y: TY } = quadrantData(256);
const { x: VX, y: VY } = quadrantData(128, 99);
const train = () => memoryDataset('train', TX, [1, 12, 12], TY, 4);
const val = () => memoryDataset('val', VX, [1, 12, 12], VY, 4);
/** smallCnn's prunable weights: conv1 (72), conv2 (1152), fc (64). */
const PRUNABLE = 72 + 1152 + 64;
const base = () => ({ data: train(), val: val(), batchSize: 64, optimizer: 'adam' as const, lr: 0.01, backend, workers: 1 });

/** Masks of the prunable weights, one array per tensor (all ones when unmasked). */
function masks(w: StepWeights): Map<string, Uint8Array> {
  return new Map(w.prunable().map((p) => [p.name, p.mask ?? new Uint8Array(p.size).fill(1)]));
}

describe('iterative magnitude pruning', () => {
  it('prunes to the geometric schedule each round, with nested masks, and reports sparsity and accuracy per round', async () => {
    const m = smallCnn();
    const atStart: Map<string, Uint8Array>[] = [];
    const r = await iterativeFinetune(m, {
      ...base(),
      rounds: 3,
      sparsity: 0.9,
      epochs: 1,
      onStep: (step, w) => {
        if (step === 0) atStart.push(masks(w));
      },
    });
    expect(r.rewind).toBe('lr');
    expect(r.rounds.map((x) => x.round)).toEqual([1, 2, 3]);
    for (const [i, rd] of r.rounds.entries()) {
      const target = 1 - 0.1 ** ((i + 1) / 3);
      expect(rd.target).toBeCloseTo(target, 12);
      expect(rd.sparsity).toBe(Math.floor(target * PRUNABLE) / PRUNABLE);
      expect(rd.valAccuracy).toBeGreaterThan(0);
      expect(rd.steps).toBe(4);
    }
    expect(r.rounds[2]!.sparsity).toBeCloseTo(0.9, 3);
    expect(r.epochs.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(r.steps).toBe(12);
    // Nested: a weight pruned in round r is pruned in every later round.
    expect(atStart).toHaveLength(3);
    for (let k = 1; k < 3; k++)
      for (const [name, prev] of atStart[k - 1]!) {
        const next = atStart[k]!.get(name)!;
        for (let i = 0; i < prev.length; i++) if (!prev[i]) expect(next[i]).toBe(0);
      }
    // ... and stays zero in the written model.
    let zeros = 0;
    for (const name of ['conv1.weight', 'conv2.weight', 'fc.weight']) {
      const d = m.graph.initializer(name)!.floats();
      const mask = atStart[2]!.get(name)!;
      for (let i = 0; i < d.length; i++) {
        if (!mask[i]) expect(Math.abs(d[i]!)).toBe(0);
        if (d[i] === 0) zeros++;
      }
    }
    expect(zeros / PRUNABLE).toBeCloseTo(r.rounds[2]!.sparsity, 3);
  });

  it('weights:N rewinds the survivors to exactly their values at step N of round 1', async () => {
    const N = 2;
    let seenZero = 0;
    let early: Map<string, Float32Array> | undefined;
    let rewound: Map<string, Float32Array> | undefined;
    let round2Masks: Map<string, Uint8Array> | undefined;
    const r = await iterativeFinetune(smallCnn(), {
      ...base(),
      rounds: 2,
      sparsity: 0.75,
      epochs: 1,
      rewind: 'weights:2',
      onStep: (step, w) => {
        if (step === 0) seenZero++;
        if (seenZero === 1 && step === N) early = w.read();
        if (seenZero === 2 && step === 0) {
          rewound = w.read();
          round2Masks = masks(w);
        }
      },
    });
    expect(r.rewind).toBe('weights:2');
    expect(early && rewound && round2Masks).toBeTruthy();
    // Every value is its step-N value, except the weights round 2 pruned, which are zero.
    const prunable = new Set(round2Masks!.keys());
    let zeros = 0;
    let changed = 0;
    for (const [name, after] of rewound!) {
      const before = early!.get(name)!;
      for (let i = 0; i < after.length; i++) {
        if (after[i] !== before[i]) {
          changed++;
          expect(prunable.has(name)).toBe(true);
          expect(Math.abs(after[i]!)).toBe(0);
        }
        if (prunable.has(name) && after[i] === 0) zeros++;
      }
    }
    const round2 = Math.floor(0.75 * PRUNABLE);
    expect(zeros).toBe(round2);
    expect(changed).toBe(round2 - Math.floor((1 - 0.25 ** 0.5) * PRUNABLE));
    expect(r.rounds[1]!.sparsity).toBe(round2 / PRUNABLE);
  });

  it('lr rewinding keeps the trained weights and replays the learning-rate schedule every round', async () => {
    let seenZero = 0;
    let startOfRound1: Map<string, Float32Array> | undefined;
    let startOfRound2: Map<string, Float32Array> | undefined;
    const r = await iterativeFinetune(smallCnn(), {
      ...base(),
      rounds: 3,
      sparsity: 0.5,
      epochs: 2,
      lrSchedule: 'cosine',
      rewind: 'lr',
      onStep: (step, w) => {
        if (step === 0) seenZero++;
        if (seenZero === 1 && step === 0) startOfRound1 = w.read();
        if (seenZero === 2 && step === 0) startOfRound2 = w.read();
      },
    });
    const lrs = r.epochs.map((e) => e.lr);
    expect(lrs).toHaveLength(6);
    expect(lrs[0]).not.toBe(lrs[1]);
    expect(lrs.slice(2, 4)).toEqual(lrs.slice(0, 2));
    expect(lrs.slice(4, 6)).toEqual(lrs.slice(0, 2));
    // Not rewound: round 2 starts from round 1's trained weights (an unpruned bias moved), not from where round 1 started.
    const w = 'conv1.bias';
    expect(startOfRound2!.get(w)).not.toEqual(startOfRound1!.get(w));
  });

  it('refuses a rewind step with no checkpoint, naming the steps it keeps, and bad schedules', async () => {
    const run = (o: object) => iterativeFinetune(smallCnn(), { ...base(), rounds: 2, sparsity: 0.5, epochs: 2, ...o });
    // 256 samples / 64 = 4 steps per epoch, 2 epochs: steps 0–7.
    await expect(run({ rewind: 'weights:8' })).rejects.toThrow(/--rewind weights:8: no checkpoint at step 8; round 1 keeps steps 0–7 \(2 epoch\(s\) × 4 steps\)/);
    await expect(run({ rewind: 'weights:-1' })).rejects.toThrow(/no checkpoint at step -1; round 1 keeps steps 0–7/);
    await expect(run({ rewind: 'weights:x' })).rejects.toThrow(/expected 'lr' or 'weights:<step>'/);
    await expect(run({ rounds: 0 })).rejects.toMatchObject({ code: 'E_OPTION' });
    await expect(run({ sparsity: 1 })).rejects.toThrow(/sparsity 1: must be in \[0, 1\)/);
    expect(() => parseIterativeSchedule('iterative:0')).toThrow(ShearsError);
    expect(() => parseIterativeSchedule('iterative')).toThrow(/expected iterative:<rounds> with rounds ≥ 1/);
    expect(parseIterativeSchedule('iterative:5')).toBe(5);
    expect(parseRewind('weights:12')).toEqual({ kind: 'weights', step: 12 });
    expect(roundSparsity(0.9, 3, 3)).toBeCloseTo(0.9, 12);
  });

  it('runs as options of the finetune recipe step, with rounds in the details; rewind without schedule is refused', async () => {
    const state = new StateBag();
    state.set(FINETUNE_DATA, train());
    state.set(FINETUNE_VAL, val());
    const ctx = testContext({ state });
    const step = finetunePlugin({ schedule: 'iterative:2', sparsity: 0.8, rewind: 'weights:1', epochs: 1, batchSize: 64, optimizer: 'adam', lr: 0.01, backend: backend.name, workers: 1 });
    const res = await step.finetune!(smallCnn(), ctx);
    const d = res.details as { rounds: { round: number; sparsity: number; valAccuracy: number }[]; rewind: string; steps: number };
    expect(d.rewind).toBe('weights:1');
    expect(d.rounds).toHaveLength(2);
    expect(d.rounds[1]!.sparsity).toBe(Math.floor(0.8 * PRUNABLE) / PRUNABLE);
    expect(d.steps).toBe(8);
    await expect(finetunePlugin({ rewind: 'lr', epochs: 1 }).finetune!(smallCnn(), ctx)).rejects.toThrow(/option rewind belongs to the iterative schedule; add schedule: 'iterative:<rounds>'/);
    expect(() => finetunePlugin({ schedule: 'iterative:x' })).toThrow(/iterative:<rounds>/);
  });
});
