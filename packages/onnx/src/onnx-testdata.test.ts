// Debian's libonnx-testdata (ONNX 1.12, /usr/share/libonnx-testdata/data): the
// backend node tests (node/*), and the simple, pytorch-converted and
// pytorch-operator model tests in the same layout (model.onnx +
// test_data_set_0/{input,output}_N.pb TensorProto files). For every case:
// - the model decodes, re-encodes to the very same bytes (fields spelled out with their
//   default value included; the summary counts the files that have them), and those
//   decode to the same IR;
// - checkKnownOps accepts it;
// - onnxruntime gives bit-identical outputs for the original and the rewritten
//   bytes on the test inputs (where it can load the original; where it cannot,
//   the rewritten bytes fail with the same message), and those outputs match the
//   expected outputs within a small tolerance (a check of this harness);
// - inferShapes, run on a copy whose node outputs have no declared type, gives
//   the expected output shapes and dtypes wherever it gives a static shape: once
//   from the declared input types alone, once with every input bound to its test
//   data (so axes, starts, sizes, K… given as inputs are known);
// - every intermediate value of the main graph with a static inferred shape has
//   the shape and dtype onnxruntime computes for it (a copy of the model lists
//   them all as graph outputs).
// The counts measured on libonnx-testdata 1.12.0-2 are asserted as floors.
// SHEARS_TESTDATA_REPORT=path writes the per-case records as JSON.
import { checkKnownOps, inferShapes, runtimeInputs, type Model, type Tensor, type ValueType } from '@shears/core';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { closeEnough, decodeTensorFile, ortOutputsEqual, toOrtTensor } from './ort-utils.js';
import { modelDigest, spelledDefaults } from './test-utils.js';

const ROOT = '/usr/share/libonnx-testdata/data';
/** The node tests, and the small model tests in the same layout ('real' only lists download URLs). */
const SUITES = ['node', 'simple', 'pytorch-converted', 'pytorch-operator'];
const present = existsSync(join(ROOT, 'node'));
const cases = present
  ? SUITES.flatMap((s) => (existsSync(join(ROOT, s)) ? readdirSync(join(ROOT, s)).sort().map((d) => `${s}/${d}`) : [])).filter((c) => existsSync(join(ROOT, c, 'model.onnx')))
  : [];

/** Measured on libonnx-testdata 1.12.0-2 with onnxruntime-node 1.30.0 (asserted as floors). */
const MEASURED = {
  cases: 1072,
  /** Files that spell out a default ("" or 0) the IR keeps only as a value: the default opset domain (onnx.helper), node domain "" in expanded functions. */
  withSpelledDefaults: 938,
  /**
   * onnxruntime loaded and ran the original. The other 92: sequence/optional
   * inputs, bfloat16, training-domain ops, kernels it lacks (opset < 7, small int
   * types), batchwise RNN layouts, and StringNormalizer without the en_US locale.
   */
  ortRan: 980,
  /** Graph outputs whose inferred static shape (and dtype) equals the expected one, from the declared input types alone. */
  shapesAgree: 923,
  /** The same with every input bound to its test data. */
  boundShapesAgree: 1025,
  /** Intermediate values whose inferred static shape and dtype equal onnxruntime's (declared input types / inputs bound). */
  innerAgree: 1262,
  boundInnerAgree: 1316,
};

/** Cases whose onnxruntime outputs differ from the expected outputs, and why (the round trip is still bit-identical). */
const EXPECTED_MISMATCH: Record<string, string> = {
  'node/test_bernoulli': 'random draws: onnxruntime does not use numpy\'s generator',
  'node/test_bernoulli_double': 'random draws: onnxruntime does not use numpy\'s generator',
  'node/test_bernoulli_double_expanded': 'random draws: onnxruntime does not use numpy\'s generator',
  'node/test_bernoulli_expanded': 'random draws: onnxruntime does not use numpy\'s generator',
  'node/test_bernoulli_seed': 'random draws: same seed, but not numpy\'s generator',
  'node/test_bernoulli_seed_expanded': 'random draws: same seed, but not numpy\'s generator',
  'node/test_training_dropout': 'random dropout mask',
  'node/test_training_dropout_default': 'random dropout mask',
  'node/test_training_dropout_default_mask': 'random dropout mask',
  'node/test_training_dropout_mask': 'random dropout mask',
  'node/test_cast_FLOAT_to_STRING': 'onnxruntime prints 8 significant digits ("0.60484552"), numpy the shortest form ("0.6048455")',
  'node/test_castlike_FLOAT_to_STRING': 'onnxruntime prints 8 significant digits, numpy the shortest form',
  'node/test_castlike_FLOAT_to_STRING_expanded': 'onnxruntime prints 8 significant digits, numpy the shortest form',
  'node/test_maxunpool_export_with_output_shape': 'onnxruntime places values differently from the reference when output_shape adds padding',
  'node/test_resize_downsample_scales_cubic_align_corners': 'onnxruntime\'s align_corners downsampling differs from the ONNX 1.12 reference output',
  'node/test_resize_downsample_scales_linear_align_corners': 'onnxruntime\'s align_corners downsampling differs from the ONNX 1.12 reference output',
};

interface ShapeCheck {
  agree: number;
  disagree: string[];
  unknown: number;
  /** Producer op (and whether it has a shape rule) of each output left without a static shape. */
  unknownWhy: string[];
  issues: string[];
}

interface CaseResult {
  name: string;
  byteIdentical: boolean;
  /** Fields spelled out with their default value ("" or 0) that the IR keeps only as values. */
  spelledDefaults: number;
  /** Why onnxruntime did not run the original; undefined when it did. */
  ortSkip?: string;
  bitIdentical?: boolean;
  /** Differences from the expected outputs, when onnxruntime ran. */
  mismatch?: string;
  shapes: ShapeCheck;
  boundShapes: ShapeCheck;
  /** Intermediate values of the main graph, inferred vs onnxruntime's (declared input types / inputs bound). */
  inner?: InnerCheck;
  boundInner?: InnerCheck;
}

interface InnerCheck {
  agree: number;
  unknown: number;
  disagree: string[];
}

const results: CaseResult[] = [];

const isTensor = (t: ValueType | undefined): boolean => t?.kind === 'tensor';

/**
 * Infers shapes on a fresh decode whose node outputs carry no declared type
 * (after `prepare`), and compares the graph outputs with the expected tensors.
 */
function checkShapes(bytes: Uint8Array, expected: (Tensor | undefined)[], declared: Model, prepare: (m: Model) => void): [ShapeCheck, Model] {
  const r: ShapeCheck = { agree: 0, disagree: [], unknown: 0, unknownWhy: [], issues: [] };
  const m = decodeModel(bytes);
  for (const n of m.graph.allNodes()) for (const o of n.outputs) o.type = undefined;
  prepare(m);
  let inferred: ReturnType<typeof inferShapes>;
  try {
    inferred = inferShapes(m);
  } catch (e) {
    r.disagree.push(`inferShapes threw: ${(e as Error).message}`);
    return [r, m];
  }
  r.issues = inferred.issues.map((x) => `${x.op}: ${x.message}`);
  m.graph.outputs.forEach((v, i) => {
    const want = expected[i];
    if (!want) return;
    const t = v.type;
    const shape = t?.kind === 'tensor' ? t.shape : undefined;
    if (!shape || !shape.every((d) => typeof d === 'number')) {
      const p = v.producer;
      r.unknownWhy.push(`${v.name}: ${p?.opType ?? 'graph input'}${p && !inferred.specOf(p)?.infer ? ' (no shape rule)' : ''}`);
      r.unknown++;
      return;
    }
    // ONNX 1.12's .pb files hold bfloat16 data as uint16: the model's declared dtype is the reference.
    const d = declared.graph.outputs[i]!.type;
    const wantDtype = d?.kind === 'tensor' ? d.dtype : want.dtype;
    const dtype = t!.kind === 'tensor' ? t!.dtype : undefined;
    if (shape.join(',') === want.dims.join(',') && dtype === wantDtype) r.agree++;
    else r.disagree.push(`${v.name}: inferred ${dtype}[${shape.join(',')}], expected ${wantDtype}[${want.dims.join(',')}]`);
  });
  return [r, m];
}

/**
 * Compares the inferred type of every named intermediate value of the main
 * graph that has a static shape with the one onnxruntime produced.
 */
function checkIntermediates(m: Model, actual: ort.InferenceSession.OnnxValueMapType, names: Set<string>): InnerCheck {
  const r: InnerCheck = { agree: 0, unknown: 0, disagree: [] };
  for (const n of m.graph.nodes)
    for (const o of n.outputs) {
      const got = actual[o.name] as ort.Tensor | undefined;
      if (!got || !names.has(o.name)) continue;
      const t = o.type;
      if (t?.kind !== 'tensor' || !t.shape?.every((d) => typeof d === 'number')) {
        r.unknown++;
        continue;
      }
      const inferred = `${t.dtype}[${t.shape.join(',')}]`;
      const real = `${got.type}[${got.dims.join(',')}]`;
      if (inferred === real) r.agree++;
      else r.disagree.push(`${n.opType} ${o.name}: inferred ${inferred}, onnxruntime ${real}`);
    }
  return r;
}

const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'disabled' };

/** Loads and runs a model once; an error's first line instead of outputs when onnxruntime refuses. */
async function runOrt(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType | string> {
  let session: ort.InferenceSession | undefined;
  try {
    session = await ort.InferenceSession.create(bytes, SESSION);
    return await session.run(feeds);
  } catch (e) {
    return String((e as Error).message).split('\n')[0]!;
  } finally {
    await session?.release();
  }
}

async function runCase(name: string): Promise<CaseResult> {
  const dir = join(ROOT, name);
  const data = join(dir, 'test_data_set_0');
  const bytes = readFileSync(join(dir, 'model.onnx'));
  const model = decodeModel(bytes, { fileName: `${name}/model.onnx` });
  const rewritten = encodeModel(model);
  expect(modelDigest(decodeModel(rewritten)), 'IR after a round trip').toEqual(modelDigest(model));
  expect(() => checkKnownOps(model)).not.toThrow();

  const files = readdirSync(data);
  const inputs = runtimeInputs(model.graph);
  const outputs = model.graph.outputs;
  const hasFile = (f: string) => files.includes(f);
  const inputData = inputs.map((v, i) => (isTensor(v.type) && hasFile(`input_${i}.pb`) ? decodeTensorFile(join(data, `input_${i}.pb`)) : undefined));
  const expected = outputs.map((v, i) => (isTensor(v.type) && hasFile(`output_${i}.pb`) ? decodeTensorFile(join(data, `output_${i}.pb`)) : undefined));

  const [shapes, declaredModel] = checkShapes(bytes, expected, model, () => {});
  const [boundShapes, boundModel] = checkShapes(bytes, expected, model, (m) => {
    runtimeInputs(m.graph).forEach((v, i) => {
      const t = inputData[i];
      if (t && t.dtype === v.dtype) v.constValue = t; // (uint16 files for bfloat16 inputs stay unbound)
    });
  });
  const r: CaseResult = { name, byteIdentical: Buffer.compare(Buffer.from(rewritten), bytes) === 0, spelledDefaults: spelledDefaults(model), shapes, boundShapes };

  // onnxruntime on the original and the rewritten bytes.
  const inputFiles = files.filter((f) => /^input_\d+\.pb$/.test(f)).length;
  if (inputFiles !== inputs.length) return { ...r, ortSkip: `${inputFiles} input files for ${inputs.length} graph inputs` };
  const feeds: Record<string, ort.Tensor> = {};
  for (let i = 0; i < inputs.length; i++) {
    const v = inputs[i]!;
    if (!inputData[i]) return { ...r, ortSkip: `input ${v.name} is a ${v.type?.kind ?? 'untyped'} value` };
    const t = toOrtTensor(inputData[i]!);
    if (typeof t === 'string') return { ...r, ortSkip: `input ${v.name}: ${t}` };
    feeds[v.name] = t;
  }
  const before = await runOrt(bytes, feeds);
  const after = await runOrt(rewritten, feeds);
  if (typeof before === 'string') {
    expect(after, 'the rewritten model fails like the original').toBe(before);
    return { ...r, ortSkip: `onnxruntime: ${before}` };
  }
  expect(typeof after === 'string' ? after : 'ran', 'the rewritten model runs').toBe('ran');
  r.bitIdentical = ortOutputsEqual(before, after as ort.InferenceSession.OnnxValueMapType);
  expect(r.bitIdentical, 'onnxruntime outputs are bit-identical after the round trip').toBe(true);

  const problems: string[] = [];
  outputs.forEach((v, i) => {
    const want = expected[i];
    const got = before[v.name] as ort.Tensor | undefined;
    if (!want || !got) return;
    const why = closeEnough(got, want);
    if (why) problems.push(`${v.name}: ${why}`);
  });
  if (problems.length) r.mismatch = problems.join('; ');

  // Every named intermediate value of the main graph, as onnxruntime computes it.
  const probe = decodeModel(bytes);
  const names = new Set<string>();
  const seen = new Set(probe.graph.outputs);
  for (const n of probe.graph.nodes)
    for (const o of n.outputs) {
      if (!o.name || seen.has(o)) continue;
      probe.graph.outputs.push(o);
      seen.add(o);
      names.add(o.name);
    }
  if (names.size) {
    const all = await runOrt(encodeModel(probe), feeds);
    if (typeof all === 'string') {
      // onnxruntime-node returns tensors only: models with sequence or optional intermediates.
      expect(all, 'the model with every value as an output runs').toBe('Non tensor type is temporarily not supported.');
    } else {
      r.inner = checkIntermediates(declaredModel, all, names);
      r.boundInner = checkIntermediates(boundModel, all, names);
    }
  }
  return r;
}

describe.skipIf(!present)('libonnx-testdata', () => {
  afterAll(() => {
    const report = process.env.SHEARS_TESTDATA_REPORT;
    if (report) writeFileSync(report, JSON.stringify(results, null, 1));
  });

  for (const name of cases) {
    it(name, async () => {
      const r = await runCase(name);
      results.push(r);
      expect(r.byteIdentical, 'encode(decode(x)) is byte-identical').toBe(true);
      if (r.mismatch && !(name in EXPECTED_MISMATCH)) expect.fail(`onnxruntime differs from the expected outputs: ${r.mismatch}`);
      expect(r.shapes.disagree, 'inferred shapes (declared input types)').toEqual([]);
      expect(r.boundShapes.disagree, 'inferred shapes (inputs bound to the test data)').toEqual([]);
      expect([...r.shapes.issues, ...r.boundShapes.issues], 'shape rule failures').toEqual([]);
      expect(r.inner?.disagree ?? [], 'intermediate shapes (declared input types)').toEqual([]);
      expect(r.boundInner?.disagree ?? [], 'intermediate shapes (inputs bound to the test data)').toEqual([]);
    });
  }

  it('summary: counts are at least the measured ones', () => {
    const sum = (f: (r: CaseResult) => number) => results.reduce((a, r) => a + f(r), 0);
    const summary = {
      cases: cases.length,
      byteIdentical: sum((r) => +r.byteIdentical),
      /** Files (and fields) with defaults spelled out, all among the byte-identical ones. */
      withSpelledDefaults: sum((r) => +(r.spelledDefaults > 0)),
      spelledDefaults: sum((r) => r.spelledDefaults),
      ortRan: sum((r) => +(r.bitIdentical !== undefined)),
      bitIdentical: sum((r) => +(r.bitIdentical === true)),
      ortSkipped: sum((r) => +(r.ortSkip !== undefined)),
      expectedMatch: sum((r) => +(r.bitIdentical !== undefined && !r.mismatch)),
      expectedMismatch: sum((r) => +!!r.mismatch),
      shapes: { agree: sum((r) => r.shapes.agree), unknown: sum((r) => r.shapes.unknown), disagree: sum((r) => r.shapes.disagree.length) },
      boundShapes: { agree: sum((r) => r.boundShapes.agree), unknown: sum((r) => r.boundShapes.unknown), disagree: sum((r) => r.boundShapes.disagree.length) },
      inner: { agree: sum((r) => r.inner?.agree ?? 0), unknown: sum((r) => r.inner?.unknown ?? 0), disagree: sum((r) => r.inner?.disagree.length ?? 0) },
      boundInner: { agree: sum((r) => r.boundInner?.agree ?? 0), unknown: sum((r) => r.boundInner?.unknown ?? 0), disagree: sum((r) => r.boundInner?.disagree.length ?? 0) },
    };
    console.log(`libonnx-testdata: ${JSON.stringify(summary)}`);
    expect(results.length).toBe(cases.length);
    expect(summary.cases).toBeGreaterThanOrEqual(MEASURED.cases);
    expect(summary.byteIdentical).toBe(summary.cases);
    expect(summary.withSpelledDefaults).toBeGreaterThanOrEqual(MEASURED.withSpelledDefaults);
    expect(summary.ortRan).toBeGreaterThanOrEqual(MEASURED.ortRan);
    expect(summary.bitIdentical).toBe(summary.ortRan);
    expect(summary.shapes.agree).toBeGreaterThanOrEqual(MEASURED.shapesAgree);
    expect(summary.boundShapes.agree).toBeGreaterThanOrEqual(MEASURED.boundShapesAgree);
    expect(summary.inner.agree).toBeGreaterThanOrEqual(MEASURED.innerAgree);
    expect(summary.boundInner.agree).toBeGreaterThanOrEqual(MEASURED.boundInnerAgree);
    for (const name of Object.keys(EXPECTED_MISMATCH)) expect(cases, 'allow-listed case exists').toContain(name);
  });
});

if (!present) describe.skip(`libonnx-testdata: skipped, ${join(ROOT, 'node')} not found (apt-get install libonnx-testdata)`, () => {});
