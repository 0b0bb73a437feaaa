import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneModel, definePlugin, Graph, isShearsError, Model, Node, pipeline, Tensor, tensorType, Value, type Model as M } from '@shears/core';
import { assertConformance, testContext, tinyModel } from '@shears/core/testing';
import { fixture, smallFixture } from '@shears/fixtures';
import { readModel, onnxImport } from '@shears/onnx';
import { compare } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import {
  convertOpset,
  dedupeInitializers,
  fixDims,
  float16,
  foldBatchNorm,
  foldConstantsDeploy,
  onnxExport,
  officialCheckerAvailable,
  prepareDeployModel,
  removeDead,
  runOfficialChecker,
  stripTraining,
  toHalf,
  validateModel,
} from './index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'shears-export-onnx-'));
const CHECKER = officialCheckerAvailable();
const ops = (m: M) => m.graph.nodes.map((n) => n.opType);
const count = (m: M, op: string) => ops(m).filter((o) => o === op).length;

/** Write via the exporter in a pipeline, re-read, and check with ORT + the official checker. */
async function exportAndCheck(model: M, options: Record<string, unknown>, tol = 1e-5, reference = model) {
  const out = join(tmp(), 'out.onnx');
  const r = await pipeline(onnxExport({ out, ...options })).run(cloneModel(model));
  const written = await readModel(out);
  const diff = await compare(reference, written);
  expect(diff.maxRelDiff).toBeLessThanOrEqual(tol);
  if (CHECKER) expect(runOfficialChecker(out)).toMatchObject({ available: true, ok: true });
  return { written, out, details: r.steps[0]!.details as Record<string, any> };
}

describe('conformance', () => {
  for (const [f, opts] of [
    [stripTraining, {}],
    [foldBatchNorm, {}],
    [foldConstantsDeploy, {}],
    [removeDead, {}],
    [dedupeInitializers, {}],
    [fixDims, { inputShapes: { input: [1, 3, 8, 8] } }],
    [float16, {}],
  ] as const)
    it(`${f.pluginName} passes the conformance kit`, async () => {
      await assertConformance({ factory: f, options: opts, badOptions: [{ nope: 1 }] });
    });
  it('onnx-export passes the conformance kit', async () => {
    await assertConformance({ factory: onnxExport, options: (d) => ({ out: join(d, 'x.onnx') }), badOptions: [{}, { out: 'x.onnx', opset: 3 }, { out: 'x.onnx', fp16: 'yes' }] });
  });
});

describe('deployment passes on real exports', () => {
  it('folds every BatchNormalization of tiny-cnn into its Conv; ORT outputs match; official checker passes', async () => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    expect(count(m, 'BatchNormalization')).toBe(4);
    const { written, details } = await exportAndCheck(m, {});
    expect(count(written, 'BatchNormalization')).toBe(0);
    expect(details.passes['fold-batchnorm'].folded).toHaveLength(4);
    expect(written.getMetadata('shears.macs_after')).toBe(String(details.after.macs));
  });

  it('folds the PyTorch shape sub-graph once the batch dim is fixed', async () => {
    const m = await readModel(smallFixture('shape-subgraph.onnx'));
    expect(count(m, 'Shape')).toBe(1);
    const ref = cloneModel(m);
    await fixDims({ dims: { batch: 2 } }).run(ref, testContext());
    const { written } = await exportAndCheck(m, { dims: { batch: 2 } }, 1e-5, ref);
    expect(ops(written)).not.toContain('Shape');
    expect(ops(written)).not.toContain('Constant');
    expect(written.graph.inputs[0]!.shape).toEqual([2, 3, 8, 8]);
  });

  it.skipIf(!fixture('resnet18'))('resnet18 (torchvision export, BN already folded by PyTorch): deploy export matches, checker passes', async () => {
    const m = await readModel(fixture('resnet18')!);
    const { written } = await exportAndCheck(m, {});
    expect(count(written, 'BatchNormalization')).toBe(0);
  });

  it('removes Identity and Dropout, dead nodes, and dedupes initializers', async () => {
    const m = tinyModel();
    const g = m.graph;
    const relu1 = g.nodes.find((n) => n.name === 'relu1')!;
    const id = new Node({ opType: 'Identity', name: 'id', inputs: [relu1.outputs[0]!], outputs: ['id_out'] });
    g.insertNode(id, { after: relu1 });
    const drop = new Node({ opType: 'Dropout', name: 'drop', inputs: [id.outputs[0]!], outputs: ['drop_out'] });
    g.insertNode(drop, { after: id });
    g.nodes.find((n) => n.name === 'conv2')!.setInput(0, drop.outputs[0]!);
    g.appendNode(new Node({ opType: 'Relu', name: 'dead', inputs: [relu1.outputs[0]!], outputs: ['dead_out'] }));
    const copy = g.addInitializer(g.initializer('fc.bias')!.clone('fc.bias_copy'));
    g.nodes.find((n) => n.name === 'fc')!.setInput(2, copy);
    g.removeInitializer('fc.bias');
    g.addInitializer(g.initializer('fc.bias_copy')!.clone('fc.bias_twin'));
    const r = await removeDead().run(m, testContext());
    expect(r.details).toMatchObject({ identities: 2, deadNodes: 1 });
    expect(ops(m)).not.toContain('Identity');
    expect(ops(m)).not.toContain('Dropout');
    const twin = tinyModel();
    twin.graph.nodes.find((n) => n.name === 'conv2')!.setInput(2, twin.graph.addInitializer(twin.graph.initializer('conv2.bias')!.clone('dup')));
    const d = await dedupeInitializers().run(twin, testContext());
    expect(d.details).toMatchObject({ merged: 1, bytesSaved: 64 });
    expect(twin.graph.initializers.has('dup')).toBe(false);
    expect(validateModel(twin)).toEqual([]);
  });

  it('strips masks, training-only nodes and training flags', async () => {
    const m = tinyModel();
    m.graph.initializers.get('conv1.weight')!.mask = new Uint8Array(216).fill(1);
    m.trainingInfo = [new Uint8Array([1, 2])];
    const r = await stripTraining().run(m, testContext());
    expect(r.details).toMatchObject({ masks: 1, trainingInfo: 1 });
    expect(m.graph.initializers.get('conv1.weight')!.mask).toBeUndefined();
    expect(m.trainingInfo).toEqual([]);
  });

  it('float16 with Cast I/O stays within 1e-2 of float32 and passes the checker', async () => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    const { written } = await exportAndCheck(m, { fp16: true }, 1e-2);
    expect([...written.graph.initializers.values()].every((v) => v.constValue!.dtype !== 'float32')).toBe(true);
    expect(written.graph.inputs[0]!.dtype).toBe('float32');
    expect(ops(written).filter((o) => o === 'Cast')).toHaveLength(2);
  });

  it('float16 I/O makes inputs and outputs float16', async () => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    const { model } = await prepareDeployModel(m, { fp16: true, fp16Io: 'fp16' });
    expect(model.graph.inputs[0]!.dtype).toBe('float16');
    expect(model.graph.outputs[0]!.dtype).toBe('float16');
    expect(ops(model)).not.toContain('Cast');
  });

  it('toHalf rounds like IEEE half', () => {
    expect([1, -2, 0.5, 65504, 1e-8, Infinity, 0.1].map(toHalf)).toEqual([0x3c00, 0xc000, 0x3800, 0x7bff, 0, 0x7c00, 0x2e66]);
  });

  it('records what Shears did in metadata_props from the pipeline state', async () => {
    const input = smallFixture('tiny-cnn.onnx');
    const out = join(tmp(), 'm.onnx');
    const fake = definePlugin({
      name: 'fake',
      kind: 'strategy',
      async plan() {
        return { version: 1 as const, strategy: 'fake', options: { amount: 0.5 }, actions: [], skipped: [] };
      },
    });
    await pipeline(onnxImport(), fake, onnxExport({ out })).run(input);
    const m = await readModel(out);
    expect(m.getMetadata('shears.strategy')).toBe('fake');
    expect(m.getMetadata('shears.amounts')).toBe('[0.5]');
    expect(Number(m.getMetadata('shears.macs_before'))).toBeGreaterThan(0);
    expect(m.getMetadata('shears.sparsity')).toMatch(/^0\.\d{4}$/);
    expect(readdirSync(join(out, '..'))).toEqual(['m.onnx']);
  });
});

/** x:[1,4,6,6] -> Unsqueeze(0) -> Squeeze(0) -> ReduceMean(axes 2,3) -> Clip(0,1) -> Split(2) -> Add */
function opsetModel(): M {
  const g = new Graph('forms');
  const x = g.addInput(new Value('x', tensorType('float32', [1, 4, 6, 6])));
  const i64 = (name: string, v: number[]) => g.addInitializer(Tensor.fromInt64(name, [v.length], v));
  const f32 = (name: string, v: number) => g.addInitializer(Tensor.fromFloat32(name, [], [v]));
  const u = g.appendNode(new Node({ opType: 'Unsqueeze', name: 'unsq', inputs: [x, i64('ax0', [0])], outputs: ['u'] }));
  const s = g.appendNode(new Node({ opType: 'Squeeze', name: 'sq', inputs: [u.outputs[0]!, i64('ax0b', [0])], outputs: ['s'] }));
  // Opset 17: ReduceMean still takes axes as an attribute (an input from 18).
  const r = g.appendNode(new Node({ opType: 'ReduceMean', name: 'mean', inputs: [s.outputs[0]!], outputs: ['r'], attributes: { keepdims: { type: 'int', value: 1 }, axes: { type: 'ints', value: [2, 3] } } }));
  const c = g.appendNode(new Node({ opType: 'Clip', name: 'clip', inputs: [r.outputs[0]!, f32('lo', 0), f32('hi', 0.3)], outputs: ['c'] }));
  const sp = g.appendNode(new Node({ opType: 'Split', name: 'split', inputs: [c.outputs[0]!, i64('sizes', [2, 2])], outputs: ['a', 'b'], attributes: { axis: { type: 'int', value: 1 } } }));
  const y = g.appendNode(new Node({ opType: 'Add', name: 'add', inputs: [sp.outputs[0]!, sp.outputs[1]!], outputs: ['y'] }));
  y.outputs[0]!.type = tensorType('float32', [1, 2, 1, 1]);
  g.outputs.push(y.outputs[0]!);
  return new Model({ graph: g, irVersion: 8, opsetImports: { '': 17 } });
}

describe('opset conversion', () => {
  for (const to of [11, 13, 18])
    it(`17 -> ${to}: Squeeze/Unsqueeze/ReduceMean/Clip/Split forms converted, outputs equal`, async () => {
      const m = opsetModel();
      const c = cloneModel(m);
      const r = convertOpset(c, to);
      expect(c.opset('')).toBe(to);
      if (to === 11) {
        expect(c.graph.nodes.find((n) => n.name === 'sq')!.attrInts('axes')).toEqual([0]);
        expect(c.graph.nodes.find((n) => n.name === 'clip')!.inputs).toHaveLength(3); // Clip took inputs at 11 already
      }
      if (to === 18) expect(c.graph.nodes.find((n) => n.name === 'mean')!.inputs).toHaveLength(2);
      // 13 and 17 share these forms: nothing to convert.
      expect(r.converted.length > 0).toBe(to !== 13);
      expect(validateModel(c)).toEqual([]);
      expect((await compare(m, c)).maxRelDiff).toBeLessThanOrEqual(1e-5);
      if (CHECKER && to <= 17) {
        const out = join(tmp(), 'o.onnx');
        await pipeline(onnxExport({ out, opset: to })).run(m);
        expect(runOfficialChecker(out)).toMatchObject({ ok: true });
      }
    });

  it.skipIf(!fixture('shufflenet_v2_x1_0'))('real export: shufflenet_v2_x1_0 at opset 13 (Reshape allowzero dropped) matches', async () => {
    const m = await readModel(fixture('shufflenet_v2_x1_0')!);
    const { written } = await exportAndCheck(m, { opset: 13 });
    expect(written.opset('')).toBe(13);
    expect(written.graph.nodes.some((n) => n.attr('allowzero'))).toBe(false);
  });

  it('round-trips 17 -> 9 -> 17 for Clip attributes', async () => {
    const m = opsetModel();
    const c = cloneModel(m);
    convertOpset(c, 10);
    const clip = c.graph.nodes.find((n) => n.name === 'clip')!;
    expect([clip.attrFloat('min'), clip.attrFloat('max')]).toEqual([0, expect.closeTo(0.3, 6)]);
    convertOpset(c, 17);
    expect((await compare(m, c)).maxRelDiff).toBeLessThanOrEqual(1e-5);
  });

  it('names the op and node when a conversion is impossible', () => {
    const m = tinyModel();
    const relu = m.graph.nodes.find((n) => n.name === 'relu1')!;
    relu.opType = 'HardSwish';
    let err: unknown;
    try {
      convertOpset(m, 13);
    } catch (e) {
      err = e;
    }
    expect(isShearsError(err) && err.node).toBe('relu1');
    expect(String(err)).toMatch(/HardSwish node relu1 .*opset 14/);
  });

  it('refuses a computed parameter that must become an attribute', () => {
    const m = opsetModel();
    const g = m.graph;
    const sq = g.nodes.find((n) => n.name === 'sq')!;
    const shape = new Node({ opType: 'Shape', name: 'computed', inputs: [g.initializers.get('ax0b')!], outputs: ['sh'] });
    g.insertNode(shape, { before: sq });
    sq.setInput(1, shape.outputs[0]!);
    expect(() => convertOpset(m, 11)).toThrow(/Squeeze node sq .*computed at run time/);
  });
});

it.runIf(!CHECKER)('official ONNX checker: skipped (Python onnx not installed; apt install python3-onnx)', () => {
  expect(runOfficialChecker('/nonexistent').available).toBe(false);
});

describe('deploy report of a dynamic-shape model', () => {
  const withInput = async (shape: (string | number)[]) => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    const x = m.graph.inputs[0]!;
    x.type = { ...x.type!, shape } as typeof x.type;
    return m;
  };

  it('MACs per sample for a dynamic batch; unknown (null, not 0) for other dynamic dims, which it names', async () => {
    const batch = (await prepareDeployModel(await withInput(['N', 3, 32, 32]))).report;
    expect(batch.after).toMatchObject({ macs: 6340928, macsBatch: 1 });
    const { report } = await prepareDeployModel(await withInput(['N', 3, 'H', 'W']));
    expect(report.before).toMatchObject({ macs: null, nonzeroParams: null, dynamicInputs: ['input[N,3,H,W]'], exampleShapes: { input: [1, 3, 224, 224] } });
    expect(report.after.macs).toBeNull();
    expect(report.after.params).toBeGreaterThan(0);
    // Unknown numbers are left out of the metadata rather than written as 0.
    expect(report.metadata['shears.macs_after']).toBeUndefined();
    expect(report.metadata['shears.sparsity']).toBeUndefined();
    expect(report.metadata['shears.params_after']).toBe(String(report.after.params));
  });
});
