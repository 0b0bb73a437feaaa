import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cloneModel, Graph, isShearsError, Model, Node, pipeline, Tensor, tensorType, Value, type Model as M } from '@shears/core';
import { assertConformance, testContext, tinyModel } from '@shears/core/testing';
import { officialCheckerAvailable, runOfficialChecker } from '@shears/export-onnx';
import { fixture, smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { compare } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { checkTensorRT, enforce24, prepareTensorRT, sparsityReport, tensorrtExport, TRT_OPS_SINCE, TRT_OPSETS, TRT_SUPPORTED_OPS } from './index.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'shears-trt-'));
const CHECKER = officialCheckerAvailable();

async function errorOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

/**
 * Five layers on x:[1,8,6,6]: 'dense24' (C=8, 2:4), 'dense' (C=8, not 2:4),
 * 'c3' (C=3 via a Slice-free 3-channel input conv), 'grouped' (group=2), and a Gemm.
 */
function sparsityModel(): M {
  const g = new Graph('s24');
  const x = g.addInput(new Value('x', tensorType('float32', [1, 8, 6, 6])));
  const x3 = g.addInput(new Value('x3', tensorType('float32', [1, 3, 6, 6])));
  const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  const w = (name: string, dims: number[], data: Float32Array) => g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data }));
  const w24 = rnd(8 * 8 * 9, 1);
  for (let k = 0; k < 8; k++) for (let c = 0; c < 8; c++) if (c % 4 < 2) for (let i = 0; i < 9; i++) w24[(k * 8 + c) * 9 + i] = 0;
  const conv = (name: string, input: Value, weight: Value, group = 1) =>
    g.appendNode(new Node({ opType: 'Conv', name, inputs: [input, weight], outputs: [`${name}_y`], attributes: { kernel_shape: { type: 'ints', value: [3, 3] }, pads: { type: 'ints', value: [1, 1, 1, 1] }, group: { type: 'int', value: group } } }));
  const a = conv('dense24', x, w('w24', [8, 8, 3, 3], w24));
  const b = conv('dense', a.outputs[0]!, w('wd', [8, 8, 3, 3], rnd(576, 2)));
  const c = conv('grouped', b.outputs[0]!, w('wg', [8, 4, 3, 3], rnd(288, 3)), 2);
  const d = conv('c3', x3, w('w3', [8, 3, 3, 3], rnd(216, 4)));
  const add = g.appendNode(new Node({ opType: 'Add', name: 'add', inputs: [c.outputs[0]!, d.outputs[0]!], outputs: ['sum'] }));
  const gap = g.appendNode(new Node({ opType: 'GlobalAveragePool', name: 'gap', inputs: [add.outputs[0]!], outputs: ['gap'] }));
  const fl = g.appendNode(new Node({ opType: 'Flatten', name: 'flat', inputs: [gap.outputs[0]!], outputs: ['f'] }));
  const fc = g.appendNode(new Node({ opType: 'Gemm', name: 'fc', inputs: [fl.outputs[0]!, w('wf', [4, 8], rnd(32, 5))], outputs: ['y'], attributes: { transB: { type: 'int', value: 1 } } }));
  fc.outputs[0]!.type = tensorType('float32', [1, 4]);
  g.outputs.push(fc.outputs[0]!);
  return new Model({ graph: g, irVersion: 8, opsetImports: { '': 17 } });
}

describe('tensorrt-export', () => {
  it('passes the conformance kit', async () => {
    await assertConformance({ factory: tensorrtExport, options: (d) => ({ out: d }), badOptions: [{}, { out: 'x', opset: 8 }, { out: 'x', precision: 'int4' }] });
  });

  it('writes a TensorRT-ready tiny-cnn with report and trtexec README; ORT outputs match; checker passes', async () => {
    const m = await readModel(smallFixture('tiny-cnn.onnx'));
    const out = tmp();
    const r = await pipeline(tensorrtExport({ out, minChannels: 4 })).run(cloneModel(m));
    expect(readdirSync(out).sort()).toEqual(['README.md', 'model.layers.json', 'model.onnx']);
    const written = await readModel(join(out, 'model.onnx'));
    expect(written.graph.nodes.map((n) => n.opType)).not.toContain('BatchNormalization');
    expect((await compare(m, written)).maxRelDiff).toBeLessThanOrEqual(1e-5);
    if (CHECKER) expect(runOfficialChecker(join(out, 'model.onnx'))).toMatchObject({ ok: true });
    const report = JSON.parse(readFileSync(join(out, 'model.layers.json'), 'utf8'));
    expect(report.layers[0]).toEqual(expect.objectContaining({ name: expect.any(String), eligible: expect.any(Boolean), compliant: false, reason: expect.stringMatching(/C % 4 != 0|not 2:4/) }));
    expect(typeof report.compliantFraction).toBe('number');
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    for (const s of ['trtexec --onnx=model.onnx', '--sparsity=enable', '--fp16', '--shapes=input:1x3x32x32', '--exportLayerInfo=', '--profilingVerbosity=detailed', 'picked sparse implementation', 'Layers eligible for sparse math'])
      expect(readme).toContain(s);
    expect(r.steps[0]!.details).toMatchObject({ opset: 17 });
  });

  it('2:4 report: compliant, non-compliant, C % 4 != 0, grouped conv, too small', () => {
    const r = sparsityReport(sparsityModel(), { minChannels: 8 });
    const by = Object.fromEntries(r.layers.map((l) => [l.name, l]));
    expect(by.dense24).toMatchObject({ eligible: true, compliant: true, reason: null });
    expect(by.dense).toMatchObject({ eligible: true, compliant: false, reason: expect.stringMatching(/^not 2:4/) });
    expect(by.c3).toMatchObject({ eligible: false, compliant: false, reason: expect.stringMatching(/C % 4 != 0 \(C = 3\)/) });
    expect(by.grouped).toMatchObject({ eligible: false, reason: expect.stringMatching(/grouped convolution \(group = 2\)/) });
    expect(by.fc).toMatchObject({ eligible: false, reason: expect.stringMatching(/too small to profit/) });
    expect(r.compliantFraction).toBe(0.5);
    expect(sparsityReport(sparsityModel()).layers.find((l) => l.name === 'dense24')!.reason).toMatch(/too small to profit \(channels 8→8 < 256\)/);
  });

  it('--enforce-2of4 prunes eligible non-compliant layers to 2:4 and warns to fine-tune', async () => {
    const m = sparsityModel();
    const warnings: string[] = [];
    const ctx = testContext({ logger: { debug() {}, info() {}, warn: (s) => warnings.push(s), error() {} } });
    const r = await prepareTensorRT(m, { minChannels: 8, enforce2of4: true }, ctx);
    const by = Object.fromEntries(r.sparsity.layers.map((l) => [l.name, l]));
    expect(by.dense).toMatchObject({ compliant: true, enforced: true });
    expect(by.dense24!.enforced).toBeUndefined();
    expect(by.grouped!.enforced).toBeUndefined();
    expect(r.sparsity.compliantFraction).toBe(1);
    expect(warnings.join()).toMatch(/fine-tune/);
    // The pruned model still runs; half of dense's weights are zero now.
    const wd = [...r.model.graph.initializers.values()].find((v) => v.uses()[0]?.node.name === 'dense')!.constValue!.floats();
    expect(wd.filter((x) => x === 0).length).toBe(wd.length / 2);
    expect((await compare(m, r.model)).samples).toBe(1);
    expect(enforce24(sparsityModel(), { minChannels: 1024 }).layers.some((l) => l.enforced)).toBe(false);
  });

  it.skipIf(!fixture('resnet18'))('resnet18: 2:4 report on a real export, then enforce2of4 makes every eligible layer compliant', async () => {
    const m = await readModel(fixture('resnet18')!);
    const r = await prepareTensorRT(m, { dims: { batch: 1 } });
    expect(r.sparsity.layers).toHaveLength(21);
    expect(r.sparsity.eligible).toBe(9);
    expect(r.sparsity.layers.filter((l) => !l.eligible).every((l) => /too small to profit|C % 4/.test(l.reason!))).toBe(true);
    const e = await prepareTensorRT(m, { dims: { batch: 1 }, enforce2of4: true });
    expect(e.sparsity.compliantFraction).toBe(1);
    expect(e.sparsity.layers.filter((l) => l.enforced)).toHaveLength(9);
    const d = await compare(m, e.model);
    expect(d.cosine).toBeGreaterThan(0.5); // runs in ORT; accuracy needs fine-tuning afterwards
  });

  it('rewrites MatMul with a constant weight (+ Add bias) to Gemm', async () => {
    const m = await readModel(smallFixture('tiny-mlp.onnx'));
    const r = await prepareTensorRT(m, {});
    expect(r.rewrites.rewritten).toHaveLength(1);
    expect(r.model.graph.nodes.map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Gemm']);
    expect((await compare(m, r.model)).maxRelDiff).toBeLessThanOrEqual(1e-5);
  });
});

describe('bad input names the node and what to do', () => {
  it('an op outside TensorRT’s list', async () => {
    const m = tinyModel();
    m.graph.nodes.find((n) => n.name === 'relu1')!.opType = 'Det';
    const e = await errorOf(prepareTensorRT(m, {}));
    expect(isShearsError(e) && e.node).toBe('relu1');
    expect(String(e)).toMatch(/node relu1: Det is not in onnx-tensorrt's supported operators \(replace it/);
  });

  it('a dynamic batch without a profile; accepted with one (min/opt/max in the recipe)', async () => {
    const m = await readModel(smallFixture('shape-subgraph.onnx'));
    const e = await errorOf(prepareTensorRT(m, {}));
    expect(String(e)).toMatch(/input input has dynamic dims \[batch,3,8,8\] and no optimization profile \(fix them .* or give a min\/opt\/max profile/);
    expect(isShearsError(e) && e.node).toBeTruthy();
    const r = await prepareTensorRT(m, { profiles: { input: { min: [1, 3, 8, 8], opt: [4, 3, 8, 8], max: [16, 3, 8, 8] } } });
    expect(r.trtexec).toContain('--minShapes=input:1x3x8x8');
    expect(r.trtexec).toContain('--maxShapes=input:16x3x8x8');
    expect(r.warnings.map((w) => w.rule)).toContain('shape-subgraph');
    const fixed = await prepareTensorRT(m, { dims: { batch: 1 } });
    expect(fixed.model.graph.nodes.map((n) => n.opType)).not.toContain('Shape');
  });

  it('an int8 model without Q/DQ', async () => {
    const m = await readModel(smallFixture('int8-weights.onnx'));
    const e = await errorOf(prepareTensorRT(m, {}));
    expect(String(e)).toMatch(/node \S+: DynamicQuantizeLinear is int8 arithmetic without QuantizeLinear\/DequantizeLinear \(TensorRT takes int8 only as explicit Q\/DQ/);
  });

  it('asymmetric Q/DQ', async () => {
    const m = tinyModel();
    const g = m.graph;
    const relu = g.nodes.find((n) => n.name === 'relu1')!;
    const s = g.addInitializer(Tensor.fromFloat32('s', [], [0.1]));
    const zp = g.addInitializer(new Tensor({ name: 'zp', dtype: 'int8', dims: [], data: Int8Array.of(3) }));
    const q = new Node({ opType: 'QuantizeLinear', name: 'q', inputs: [relu.outputs[0]!, s, zp], outputs: ['q'] });
    const dq = new Node({ opType: 'DequantizeLinear', name: 'dq', inputs: [q.outputs[0]!, s, zp], outputs: ['dq'] });
    g.insertNode(q, { after: relu });
    g.insertNode(dq, { after: q });
    g.nodes.find((n) => n.name === 'conv2')!.setInput(0, dq.outputs[0]!);
    const e = await errorOf(prepareTensorRT(m, {}));
    expect(String(e)).toMatch(/node q: QuantizeLinear has a non-zero .*zero-point \(quantize symmetrically/);
  });

  it('an opset TensorRT does not parse is refused as an option', () => {
    expect(() => tensorrtExport({ out: 'x', opset: 21 })).toThrow(/option opset: 21 is outside 9-20/);
    expect(existsSync('x')).toBe(false);
  });
});

/** One node on x:[1,3,8,8] -> y, at the given opset, for checks that look at a single op. */
function oneOp(opType: string, opset: number, attributes: ConstructorParameters<typeof Node>[0]['attributes'] = {}, outputs = ['y']): M {
  const g = new Graph('one');
  const x = g.addInput(new Value('x', tensorType('float32', [1, 3, 8, 8])));
  const n = g.appendNode(new Node({ opType, name: 'n', inputs: [x], outputs, attributes }));
  for (const v of n.outputs) g.outputs.push(v);
  return new Model({ graph: g, irVersion: 8, opsetImports: { '': opset } });
}

// Facts from onnx-tensorrt docs/operators.md, TensorRT 10.15 (commit fa5aa9f6) and its Changelog.
describe('onnx-tensorrt operator table (TensorRT 10.15)', () => {
  it('holds exactly the ops marked Y: new ones in, ops marked N out', () => {
    expect(TRT_SUPPORTED_OPS.size).toBe(158);
    for (const op of ['Attention', 'Hardmax', 'MeanVarianceNormalization', 'RMSNormalization', 'RotaryEmbedding', 'STFT', 'TensorScatter', 'IsInf', 'NonZero', 'Mod'])
      expect(TRT_SUPPORTED_OPS.has(op), op).toBe(true);
    for (const op of ['AffineGrid', 'CenterCropPad', 'Col2Im', 'DFT', 'Det', 'Unique', 'BitwiseAnd', 'SequenceAt', 'Optional', 'MaxUnpool', 'ConvInteger', 'DynamicQuantizeLinear'])
      expect(TRT_SUPPORTED_OPS.has(op), op).toBe(false);
    for (const op of Object.keys(TRT_OPS_SINCE)) expect(TRT_SUPPORTED_OPS.has(op), op).toBe(true);
    expect(TRT_OPSETS).toEqual({ '10.0': { min: 9, max: 20 }, '10.15': { min: 9, max: 24 } });
  });

  it('accepts an op newly listed as supported (Hardmax)', async () => {
    const m = tinyModel();
    m.graph.nodes.find((n) => n.name === 'relu1')!.opType = 'Hardmax';
    const r = await prepareTensorRT(m, {});
    expect(r.model.graph.nodes.map((n) => n.opType)).toContain('Hardmax');
  });

  it('refuses ops marked N that the old table let through (AffineGrid, CenterCropPad)', async () => {
    for (const op of ['AffineGrid', 'CenterCropPad']) {
      const m = tinyModel();
      m.graph.nodes.find((n) => n.name === 'relu1')!.opType = op;
      const e = await errorOf(prepareTensorRT(m, { opset: 20 })); // AffineGrid needs opset 20
      expect(isShearsError(e) && e.node).toBe('relu1');
      expect(String(e)).toMatch(new RegExp(`node relu1: ${op} is not in onnx-tensorrt's supported operators \\(replace it`));
    }
  });

  it('ops added after TensorRT 10.0 are refused for trtVersion 10.0 only', () => {
    const m = oneOp('HannWindow', 17);
    const old = checkTensorRT(m, { trtVersion: '10.0' });
    expect(old.errors).toEqual([expect.objectContaining({ rule: 'unsupported-op', node: 'n', message: 'HannWindow is parsed only from TensorRT 10.4 on (trtVersion 10.0)' })]);
    expect(checkTensorRT(m, { trtVersion: '10.15' }).errors).toEqual([]);
    expect(checkTensorRT(oneOp('RMSNormalization', 23), { trtVersion: '10.15' }).errors).toEqual([]);
  });

  it('warns about documented attribute and output restrictions, not about defaults', () => {
    const warn = (m: M) => checkTensorRT(m, { trtVersion: '10.15' }).warnings.filter((w) => w.rule === 'trt-restriction');
    expect(warn(oneOp('Resize', 17))).toEqual([]);
    expect(warn(oneOp('Resize', 17, { mode: { type: 'string', value: 'cubic' } }))).toEqual([
      expect.objectContaining({ node: 'n', message: 'Resize mode = "cubic" is outside what onnx-tensorrt documents (nearest, linear)' }),
    ]);
    expect(warn(oneOp('MaxPool', 17, { kernel_shape: { type: 'ints', value: [2, 2] }, dilations: { type: 'ints', value: [2, 2] } }))[0]!.message).toMatch(/MaxPool dilations = \[2,2\] is outside/);
    expect(warn(oneOp('MaxPool', 17, { kernel_shape: { type: 'ints', value: [2, 2] }, dilations: { type: 'ints', value: [1, 1] } }))).toEqual([]);
    expect(warn(oneOp('TopK', 17, { sorted: { type: 'int', value: 0 } }))[0]!.message).toMatch(/TopK sorted = 0/);
    expect(warn(oneOp('MaxPool', 17, { kernel_shape: { type: 'ints', value: [2, 2] } }, ['y', 'indices']))[0]!.message).toMatch(/MaxPool output indices is used; onnx-tensorrt supports only the first output/);
  });
});
