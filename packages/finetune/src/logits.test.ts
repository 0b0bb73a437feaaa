// Training through a final Softmax: the runner trains on the Softmax's input,
// for student and teacher, so a model that ends in Softmax (or LogSoftmax,
// through a Flatten) trains exactly like the same model without it; the
// model keeps its Softmax; a Softmax over another axis is left alone.
import { cloneModel, Node, pipeline, StateBag, type Logger, type Model } from '@shears/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from './backend.js';
import { findSoftmaxEnd, overClasses, type SoftmaxEnd } from './logits.js';
import { FINETUNE_DATA, finetunePlugin, teacherSnapshot } from './plugin.js';
import { memoryDataset, quadrantData, smallCnn, testBackend } from './test-helpers.js';
import { finetune, type FinetuneOptions } from './train.js';

let backend: BackendInfo;
beforeAll(async () => {
  backend = await testBackend();
});

const { x: TX, y: TY } = quadrantData(256);
const train = () => memoryDataset('train', TX, [1, 12, 12], TY, 4);

/** smallCnn with `op` (then the `after` ops) on its logits; the graph output is the last one's. */
function ending(op: 'Softmax' | 'LogSoftmax', after: string[] = [], seed = 1): Model {
  const m = smallCnn(seed);
  const g = m.graph;
  const logits = g.outputs[0]!;
  let v = g.appendNode(new Node({ opType: op, name: 'head', inputs: [logits], outputs: ['prob'], attributes: { axis: { type: 'int', value: 1 } } })).outputs[0]!;
  after.forEach((t, i) => {
    v = g.appendNode(new Node({ opType: t, name: `after${i}`, inputs: [v], outputs: [`out${i}`] })).outputs[0]!;
  });
  v.type = { kind: 'tensor', dtype: 'float32', shape: ['N', 4] };
  g.outputs[0] = v;
  return m;
}

const weights = (m: Model) => ['conv1.weight', 'conv2.weight', 'fc.weight', 'bn1.mean'].map((n) => Float32Array.from(m.graph.initializer(n)!.floats()));
const maxDiff = (a: Float32Array[], b: Float32Array[]) => Math.max(...a.map((x, k) => Math.max(...x.map((v, i) => Math.abs(v - b[k]![i]!)))));

async function tune(m: Model, teacher: Model, extra: Partial<FinetuneOptions> = {}, log: string[] = []) {
  const keep = (s: string) => void log.push(s);
  const logger: Logger = { debug: keep, info: keep, warn: keep, error: keep };
  return finetune(m, { data: train(), teacher, epochs: 1, batchSize: 32, optimizer: 'adam', lr: 0.01, workers: 1, backend, logger, ...extra });
}

describe('a final Softmax', () => {
  it('trains on its input (student and onnxruntime teacher): the same weights as the model without it; says so; keeps the Softmax', async () => {
    const plain = smallCnn(1);
    await tune(plain, smallCnn(2));
    const soft = ending('Softmax');
    const log: string[] = [];
    const r = await tune(soft, ending('Softmax', [], 2), {}, log);
    expect(maxDiff(weights(soft), weights(plain))).toBeLessThan(1e-5);
    expect(r.logitsFrom).toEqual({ output: 'prob', node: 'head', op: 'Softmax', value: 'logits' });
    expect(r.teacherLogitsFrom).toEqual(r.logitsFrom);
    expect(log.filter((l) => l.includes('ends in Softmax (node head)'))).toHaveLength(2);
    expect(soft.graph.outputs[0]!.name).toBe('prob');
    expect(soft.graph.outputs[0]!.producer?.opType).toBe('Softmax');

    // The old behaviour (softmax over probabilities) trains something else.
    const old = ending('Softmax');
    const o = await tune(old, ending('Softmax', [], 2), { logits: 'output' });
    expect(o.logitsFrom).toBeUndefined();
    expect(o.teacherLogitsFrom).toBeUndefined();
    expect(maxDiff(weights(old), weights(plain))).toBeGreaterThan(1e-3);
  });

  it('LogSoftmax through Flatten and Identity, with the tfjs teacher and two threads, is the input too', async () => {
    const plain = smallCnn(1);
    await tune(plain, smallCnn(2), { teacherBackend: 'tfjs', workers: 2 });
    const m = ending('LogSoftmax', ['Flatten', 'Identity']);
    const r = await tune(m, ending('LogSoftmax', [], 2), { teacherBackend: 'tfjs', workers: 2 });
    expect(r.workers).toBe(2);
    expect(r.logitsFrom).toEqual({ output: 'out1', node: 'head', op: 'LogSoftmax', value: 'logits' });
    expect(r.teacherLogitsFrom?.op).toBe('LogSoftmax');
    expect(maxDiff(weights(m), weights(plain))).toBeLessThan(1e-5);
  });

  it('a teacher without a Softmax distils from its output; the result is the same', async () => {
    const plain = smallCnn(1);
    await tune(plain, smallCnn(2));
    const m = ending('Softmax');
    const log: string[] = [];
    const r = await tune(m, smallCnn(2), {}, log);
    expect(r.logitsFrom?.op).toBe('Softmax');
    expect(r.teacherLogitsFrom).toBeUndefined();
    expect(log.some((l) => l.includes('has no final Softmax'))).toBe(true);
    expect(maxDiff(weights(m), weights(plain))).toBeLessThan(1e-5);
  });

  it('the finetune plugin reports it in its details (shears finetune --json) and takes logits: output', async () => {
    const state = new StateBag();
    state.set(FINETUNE_DATA, train());
    const r = await pipeline(teacherSnapshot(), finetunePlugin({ epochs: 1, limit: 64, backend: backend.name })).run(ending('Softmax'), { state });
    expect(r.steps[1]!.details).toMatchObject({ logitsFrom: { node: 'head', op: 'Softmax', value: 'logits' }, teacherLogitsFrom: { node: 'head' } });
    const o = await pipeline(finetunePlugin({ epochs: 1, limit: 64, logits: 'output', backend: backend.name })).run(ending('Softmax'), { state });
    expect(o.steps[0]!.details).toMatchObject({ logitsFrom: null });
    expect(() => finetunePlugin({ logits: 'probs' as never })).toThrow(/logits/);
  });

  it('only a Softmax over the classes counts', () => {
    const m = ending('Softmax');
    const end = findSoftmaxEnd(m)!;
    expect(end).toMatchObject({ op: 'Softmax', value: 'logits', axis: 1, opset: 17, through: [] });
    expect(findSoftmaxEnd(cloneModel(smallCnn()))).toBeUndefined();
    const at = (axis: number, opset: number): SoftmaxEnd => ({ ...end, axis, opset });
    expect(overClasses(at(1, 17), [8, 10], [8, 10])).toBe(true);
    expect(overClasses(at(-1, 17), [8, 10], [8, 10])).toBe(true);
    expect(overClasses(at(1, 17), [8, 10, 1, 1], [8, 10])).toBe(true); // then a Flatten
    expect(overClasses(at(1, 17), [8, 4, 3, 3], [8, 36])).toBe(false); // per pixel, over channels
    expect(overClasses(at(-1, 17), [8, 4, 9], [8, 36])).toBe(false); // spatial
    expect(overClasses(at(1, 11), [8, 4, 9], [8, 36])).toBe(true); // opset < 13 flattens from the axis on
    expect(overClasses(at(2, 11), [8, 4, 9], [8, 36])).toBe(false);
    expect(overClasses(at(0, 17), [8, 10], [8, 10])).toBe(false); // over the batch
  });
});

describe('defaults on raw-pixel inputs', () => {
  it('SGD (the default) on inputs beyond ±10 warns once and names the fix; Adam does not', async () => {
    const big = memoryDataset('raw', Float32Array.from(TX, (v) => 100 * v), [1, 12, 12], TY, 4);
    const warned: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (s) => void warned.push(s), error() {} };
    const d = await finetune(smallCnn(), { data: big, epochs: 1, limit: 64, optimizer: 'adam', backend, logger });
    expect(d.epochs[0]!.lr).toBe(1e-3);
    expect(warned).toEqual([]);
    const s = await finetune(smallCnn(), { data: big, epochs: 2, limit: 64, backend, logger });
    expect(s.epochs[0]!.lr).toBe(0.01);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/inputs look unnormalized \(first batch max \|x\| \d+\).*try optimizer 'adam' with lr 0.001/);
    await finetune(smallCnn(), { data: train(), epochs: 1, limit: 64, optimizer: 'sgd', backend, logger });
    expect(warned).toHaveLength(1);
  });
});
