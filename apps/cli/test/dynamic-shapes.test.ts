// Dynamic dims without guesswork, on real paddle2onnx exports (PaddleOCR det,
// rec, cls: inputs [?,3,?,?] and [?,3,48,?]): what needs no sizes runs without
// --input-shape; what needs them says which, with a realistic example in the
// caller's syntax. Results run in onnxruntime at a realistic size with
// unchanged output shapes. And M-LSD (tf2onnx) keeps its shapes to the end.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeModel, fillUniform, isShearsError, Model, Node, normalizeModel, pipeline, Tensor, Value, type NamedTensor } from '@shears/core';
import { registryModel } from '@shears/fixtures';
import { writeNpz } from '@shears/data';
import { readModel, writeModel } from '@shears/onnx';
import { filterPruning } from '@shears/prune-filter';
import { createRuntime } from '@shears/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'shears-dynamic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const runtime = createRuntime({ threads: 1 });

/** Output dims of `model` run on a seeded input of `shape`. */
async function outputDims(model: Model, shape: number[]): Promise<Record<string, number[]>> {
  const input = model.graph.inputs.find((v) => !model.graph.initializers.has(v.name))!;
  const data = fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), 3);
  const out: Record<string, NamedTensor> = await runtime.run(model, { [input.name]: { dims: shape, data } });
  for (const t of Object.values(out)) expect(Array.from(t.data as Float32Array).every(Number.isFinite)).toBe(true);
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, [...t.dims]]));
}

/** The PaddleOCR models, a realistic size each, and the example the hint gives for their declared input. */
const PADDLE = [
  { name: 'paddle-cls', shape: [1, 3, 48, 192], hint: 'x:1x3x224x224', api: 'inputShapes: { x: [1, 3, 224, 224] }' },
  { name: 'paddle-det', shape: [1, 3, 160, 160], hint: 'x:1x3x224x224', api: 'inputShapes: { x: [1, 3, 224, 224] }' },
  // Height 48 is fixed: the example keeps it and takes the same for the width (never a 1×1 image).
  { name: 'paddle-rec', shape: [1, 3, 48, 192], hint: 'x:1x3x48x48', api: 'inputShapes: { x: [1, 3, 48, 48] }' },
].map((m) => ({ ...m, path: registryModel(m.name) }));

describe.each(PADDLE)('$name: dynamic batch, height and width', ({ name, path, shape, hint, api }) => {
  const skip = !path;
  let reference: Record<string, number[]> | undefined;
  const expected = async () => (reference ??= await outputDims(await readModel(path!), shape));

  it.skipIf(skip)('unstructured 50% and filter --amount 0.3 run without --input-shape; MACs are null with a one-line note', async () => {
    for (const [strategy, amount] of [
      ['unstructured', '0.5'],
      ['filter', '0.3'],
    ] as const) {
      const out = join(dir, `${name}-${strategy}.onnx`);
      const r = shears(['prune', path!, '-o', out, '--strategy', strategy, '--amount', amount, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const j = r.json();
      expect(j.before.macs).toBeNull();
      expect(j.after.macs).toBeNull();
      expect(j.macsUnknown).toBe(`MACs unknown: input x has dynamic dims; pass your real sizes, e.g. --input-shape ${hint}`);
      if (strategy === 'unstructured') expect(j.achievedSparsity).toBeCloseTo(0.5, 2);
      else expect(j.after.params).toBeLessThan(0.9 * j.before.params);
      const pruned = await readModel(out);
      // The pruned model stays dynamic: it runs at a realistic size with the original's output shapes.
      expect(pruned.graph.inputs[0]!.shape!.filter((d) => typeof d !== 'number')).not.toEqual([]);
      expect(await outputDims(pruned, shape)).toEqual(await expected());
    }
    const text = shears(['prune', path!, '-o', join(dir, `${name}-text.onnx`), '--strategy', 'unstructured', '--amount', '0.5']);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^before {2}params .* MACs \?$/m);
    expect(text.stderr).toContain(`MACs unknown: input x has dynamic dims; pass your real sizes, e.g. --input-shape ${hint}`);
  }, 120_000);

  it.skipIf(skip)('channel 50% with random:8 calibration needs sizes: a short error with a realistic --input-shape, then runs with it', async () => {
    const args = ['prune', path!, '-o', join(dir, `${name}-channel.onnx`), '--strategy', 'channel', '--amount', '0.5', '--calib', 'random:8'];
    const bad = shears(args);
    expect(bad.status).toBe(3);
    const lines = bad.stderr.trim().split('\n');
    const error = lines.find((l) => l.startsWith('shears: error:'))!;
    expect(error).toMatch(new RegExp(`random calibration data \\(random:8\\) need concrete sizes, but input x has dynamic dims \\[p2o\\.DynamicDimension\\.0,3,.*\\]; pass your real sizes, e\\.g\\. --input-shape ${hint}$`));
    expect(error).not.toContain('inputShapes');
    expect(error).not.toMatch(/x1x1\b/);
    expect(lines.length).toBeLessThanOrEqual(3);
    const json = shears([...args, '--json']).json().error;
    expect(json).toMatchObject({ code: 'E_DYNAMIC_SHAPE', details: { hint: api } });

    const ok = shears([...args, '--input-shape', `x:${shape.join('x')}`, '--json']);
    expect(ok.status, ok.stderr).toBe(0);
    const j = ok.json();
    expect(j.after.macs).toBeLessThan(j.before.macs);
    expect(j.channels.channels).toBeGreaterThan(0);
    expect(await outputDims(await readModel(join(dir, `${name}-channel.onnx`)), shape)).toEqual(await expected());
  }, 180_000);

  it.skipIf(skip)('in code, the same need is worded in the API syntax (inputShapes), never as a CLI flag', async () => {
    const m = await readModel(path!);
    normalizeModel(m);
    let caught: unknown;
    try {
      analyzeModel(m);
    } catch (e) {
      caught = e;
    }
    expect(isShearsError(caught) && caught.code).toBe('E_DYNAMIC_SHAPE');
    expect((caught as Error).message).toMatch(new RegExp(`^MACs need concrete sizes, but input x has dynamic dims .*; pass your real sizes, e\\.g\\. ${api.replace(/[[\]{}]/g, '\\$&')}$`));
    expect((caught as Error).message).not.toContain('--input-shape');
    // A MAC target through the API: the strategy asks for sizes the same way.
    await expect(pipeline(filterPruning({ targetMacs: 0.5 })).run(m, { dryRun: true })).rejects.toThrow(`MAC targets need concrete sizes, but input x has dynamic dims`);
    await expect(pipeline(filterPruning({ targetMacs: 0.5 })).run(m, { dryRun: true })).rejects.toThrow(api);
  }, 60_000);
});

describe.skipIf(!PADDLE[0]!.path)('sizes from data', () => {
  it('sensitivity on PaddleOCR cls with npz samples: the report takes the data sample size for its MACs', () => {
    const npz = join(dir, 'cls.npz');
    writeNpz(npz, { x: { data: fillUniform(new Float32Array(8 * 3 * 48 * 192), 5), shape: [8, 3, 48, 192] }, y: { data: BigInt64Array.from([0n, 1n, 0n, 1n, 0n, 1n, 0n, 1n]), shape: [8] } });
    const report = join(dir, 'sens.html');
    const r = shears(['sensitivity', PADDLE[0]!.path!, '--data', npz, '--strategy', 'filter', '--amounts', '0.3', '--layers', '2', '--report', report, '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json().curves.length).toBeGreaterThan(0);
    // 1x3x48x192 from the samples: the same MACs as --input-shape x:1x3x48x192 gives.
    expect(Number(/"macs":(\d+)/.exec(readFileSync(report, 'utf8'))?.[1])).toBe(16_315_376);
  }, 120_000);
});

describe.skipIf(!PADDLE[2]!.path)('errors stay short', () => {
  it('--no-normalize on PaddleOCR rec: one line naming the first layer, its reason and the count of the rest, no warning flood', () => {
    const r = shears(['prune', PADDLE[2]!.path!, '-o', join(dir, 'nn.onnx'), '--strategy', 'unstructured', '--amount', '0.5', '--no-normalize']);
    expect(r.status).toBe(3);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(600);
    expect(lines[0]).toMatch(/no prunable layer \(47 layers skipped, e\.g\. p2o\.Conv\.0: weight \S+ is held by Constant node .*, not a constant initializer \(the normalize pass converts it\)\); its ops are .* and \d+ more\./);
  });
});

describe('bad input', () => {
  /** x [1,3,4,4] → Conv(W) where W is a Constant node 'weird_const' (float32, or patched to an unknown data type), and a Conv whose weight is a graph input. */
  async function badModel(file: string, dataType: number): Promise<string> {
    const m = new Model({ opsetImports: { '': 13 } });
    const g = m.graph;
    const x = g.addInput(new Value('x', { kind: 'tensor', dtype: 'float32', shape: [1, 3, 4, 4] }));
    const wIn = g.addInput(new Value('w_in', { kind: 'tensor', dtype: 'float32', shape: [3, 3, 1, 1] }));
    const wt = Tensor.fromFloat32('weird', [4, 3, 1, 1], new Float32Array(12).fill(0.5));
    const c = g.appendNode(new Node({ opType: 'Constant', name: 'weird_const', outputs: ['weird'], attributes: { value: { type: 'tensor', value: wt } } })).outputs[0]!;
    const a = g.appendNode(new Node({ opType: 'Conv', name: 'from_input', inputs: [x, wIn], outputs: ['a'] })).outputs[0]!;
    const y = g.appendNode(new Node({ opType: 'Conv', name: 'conv', inputs: [a, c], outputs: ['y'] })).outputs[0]!;
    g.outputs.push(y);
    const path = join(dir, file);
    await writeModel(m, path);
    if (dataType !== 1) {
      // TensorProto 'weird': data_type (field 2, varint 1 = float) just before its name (field 8, "weird").
      const bytes = readFileSync(path);
      const at = bytes.indexOf(Buffer.from([0x10, 0x01, 0x42, 0x05, ...Buffer.from('weird')]));
      expect(at).toBeGreaterThan(0);
      bytes[at + 1] = dataType;
      writeFileSync(path, bytes);
    }
    return path;
  }

  it('a Constant of an undecodable type: one line naming the node', async () => {
    const r = shears(['prune', await badModel('undecodable.onnx', 99), '-o', join(dir, 'u.onnx'), '--strategy', 'unstructured', '--amount', '0.5']);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^shears: error: .*undecodable\.onnx: .*node weird_const: tensor weird: unsupported data type 99\)?$/)]);
  });

  it('a layer whose weight is computed from a graph input is skipped with the reason; the others prune', async () => {
    const r = shears(['prune', await badModel('from-input.onnx', 1), '-o', join(dir, 'fi.onnx'), '--strategy', 'unstructured', '--amount', '0.5', '--set', 'keepFirst=false', '--set', 'keepLast=false', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = r.json();
    expect(j.skipped).toContainEqual({ target: 'from_input', reason: 'weight w_in is a graph input, fed at run time, not a constant: left dense', code: 'unsupported' });
    expect(j.achievedSparsity).toBeCloseTo(0.5, 1);
  });
});

describe.skipIf(!registryModel('mlsd-tiny'))('M-LSD (tf2onnx, NHWC, pads split and re-concatenated)', () => {
  it('keeps static shapes through the whole graph: no ? dims, MACs for every Conv', () => {
    const r = shears(['inspect', registryModel('mlsd-tiny')!, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const j = r.json();
    const convs = j.layers.filter((l: { op: string }) => l.op === 'Conv');
    expect(convs.length).toBe(41);
    expect(convs.filter((l: { macs: number }) => !(l.macs > 0))).toEqual([]);
    expect(j.layers.filter((l: { outputShape: unknown[] | null }) => !l.outputShape || l.outputShape.some((d) => typeof d !== 'number'))).toEqual([]);
    expect(j.outputs.map((o: { shape: unknown }) => o.shape)).toEqual([
      [1, 160, 160, 4],
      [1, 160, 160, 1],
    ]);
    expect(j.macs).toBe(1_649_100_800);
    expect(shears(['inspect', registryModel('mlsd-tiny')!]).stdout).not.toMatch(/\?/);
  });
});
