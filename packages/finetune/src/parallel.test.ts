// Data-parallel steps (workers: 2) on the pure-JS backends: the averaged
// half-batch gradients are the full batch's, so with BatchNorm frozen one SGD
// step lands on the same weights as one thread's; with BatchNorm training it
// still learns. Runs on the wasm backend (a worker thread of its own).
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { memoryDataset, quadrantData, smallCnn } from './test-helpers.js';
import { AUTO_STEP_MACS, finetune } from './train.js';

const { x: TX, y: TY } = quadrantData(512);
const { x: VX, y: VY } = quadrantData(256, 99);
const train = () => memoryDataset('train', TX, [1, 12, 12], TY, 4);
const val = () => memoryDataset('val', VX, [1, 12, 12], VY, 4);
const weights = (m: ReturnType<typeof smallCnn>) => [...m.graph.initializers.values()].map((v) => [v.name, Float32Array.from(v.constValue!.floats())] as const);

describe('workers: 2 (data parallel on wasm)', () => {
  it('one step gives the single-thread weights (BatchNorm frozen), masks included', async () => {
    const runs = [];
    for (const workers of [1, 2]) {
      const m = smallCnn();
      const w = m.graph.initializers.get('conv2.weight')!;
      w.mask = new Uint8Array(w.constValue!.size).fill(1);
      for (let i = 0; i < w.mask.length; i += 3) (w.mask[i] = 0), (w.constValue!.floats()[i] = 0);
      const r = await finetune(m, { data: train(), epochs: 1, limit: 32, batchSize: 32, optimizer: 'sgd', lr: 0.1, bn: 'freeze', backend: 'wasm', workers });
      expect(r.steps).toBe(1);
      runs.push({ loss: r.epochs[0]!.trainLoss, w: weights(m) });
    }
    expect(runs[1]!.loss).toBeCloseTo(runs[0]!.loss, 5);
    let moved = 0;
    for (const [k, [name, a]] of runs[0]!.w.entries()) {
      const b = runs[1]!.w[k]![1];
      for (let i = 0; i < a.length; i++) {
        expect(Math.abs(a[i]! - b[i]!), `${name}[${i}]`).toBeLessThan(1e-5);
        if (name === 'conv2.weight' && i % 3 === 0) expect(b[i]).toBe(0);
      }
      moved += a.some((v, i) => v !== smallCnn().graph.initializer(name)!.floats()[i]) ? 1 : 0;
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('learns as well as one thread with BatchNorm training (running statistics from the main thread’s half)', async () => {
    const acc = [];
    for (const workers of [1, 2]) {
      const r = await finetune(smallCnn(), { data: train(), val: val(), epochs: 3, batchSize: 32, optimizer: 'adam', lr: 0.01, backend: 'wasm', workers });
      acc.push(r.epochs[2]!.valAccuracy!);
    }
    // Measured: 100% and 100%.
    expect(acc[1]).toBeGreaterThan(0.95);
    expect(acc[1]).toBeGreaterThanOrEqual(acc[0]! - 0.02);
  });

  it("'auto' (the default) starts the worker only for steps big enough to pay for it", async () => {
    const { analyzeModel } = await import('@shears/core');
    const perSample = analyzeModel(smallCnn()).macs;
    const big = Math.ceil(AUTO_STEP_MACS / (3 * perSample)); // samples per step at the threshold
    const small = await finetune(smallCnn(), { data: train(), epochs: 1, limit: 16, batchSize: 16, backend: 'wasm' });
    expect(small.workers).toBe(1);
    const large = await finetune(smallCnn(), { data: train(), epochs: 1, limit: big, batchSize: big, backend: 'wasm' });
    expect(large.workers).toBe(availableParallelism() >= 2 ? 2 : 1);
    const one = await finetune(smallCnn(), { data: train(), epochs: 1, limit: big, batchSize: big, backend: 'wasm', workers: 1 });
    expect(one.workers).toBe(1);
  });

  it('refuses other counts, and trains on one thread with a pruning schedule', async () => {
    await expect(finetune(smallCnn(), { data: train(), epochs: 1, limit: 32, backend: 'wasm', workers: 3 })).rejects.toThrow("finetune: option workers: 3 must be 1, 2 or 'auto'");
    const notes: string[] = [];
    const logger = { debug() {}, info: (s: string) => void notes.push(s), warn() {}, error() {} };
    const r = await finetune(smallCnn(), { data: train(), epochs: 1, limit: 64, batchSize: 32, backend: 'wasm', workers: 2, logger, prune: { schedule: { sparsityAt: (round: number) => 0.2 * round }, every: 1 } });
    expect(r.steps).toBe(2);
    expect(notes.join('\n')).toContain('workers: not with a pruning schedule');
  });
});
