// evaluateDetectionWith: the runtime-agnostic path (LiteRT uses it) gives what
// onnxruntime's evaluateDetection gives, with any `run` callback.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { Session } from '../session.js';
import { detectionInputSize, evaluateDetection, evaluateDetectionWith, letterboxedImage } from '../index.js';

const tmp = mkdtempSync(join(tmpdir(), 'shears-detect-with-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const folder = smallFixture('detect-yolo');

describe('evaluateDetectionWith', () => {
  it('with an onnxruntime session as the callback, matches evaluateDetection (mAP 0.7 on the shifted fixture)', async () => {
    const model = await readModel(smallFixture('detect-anchors-shifted.onnx'));
    const size = detectionInputSize(model);
    expect(size).toEqual({ height: 64, width: 64 });
    const session = await Session.create(model);
    const seen: number[] = [];
    try {
      const r = await evaluateDetectionWith(
        async (data) => {
          seen.push(data.length);
          const out = (await session.run({ images: { dims: [1, 3, 64, 64], data } }, ['output0'])).output0!;
          return { data: out.data as Float32Array, dims: out.dims };
        },
        size,
        folder,
      );
      const ref = await evaluateDetection(model, folder);
      expect([r.map, r.map50, r.images, r.boxes, r.format]).toEqual([ref.map, ref.map50, 2, 4, 'anchors']);
      expect(r.map).toBeCloseTo(0.7, 9);
      expect(seen).toEqual([3 * 64 * 64, 3 * 64 * 64]);
    } finally {
      await session.release();
    }
  });

  it('checks a known output shape before running any image, and class ids against it', async () => {
    let runs = 0;
    const run = async () => (runs++, { data: new Float32Array(10), dims: [1, 10] });
    await expect(evaluateDetectionWith(run, { height: 64, width: 64 }, folder, { outputShape: [1, 10], outputName: 'logits' })).rejects.toThrow(/model output 'logits' has shape \[1, 10\]/);
    expect(runs).toBe(0);
    const bad = join(tmp, 'bad');
    cpSync(folder, bad, { recursive: true });
    writeFileSync(join(bad, 'labels', 'a.txt'), '5 0.5 0.5 0.2 0.2\n');
    const one = async () => ({ data: new Float32Array(6 * 8), dims: [1, 6, 8] });
    await expect(evaluateDetectionWith(one, { height: 64, width: 64 }, bad)).rejects.toThrow(/a\.txt:1: class 5 is outside the model's 2 classes/);
  });

  it('letterboxedImage is the first image as evaluation feeds it (gray pad rows, image rows)', () => {
    const x = letterboxedImage(folder, 64, 64);
    expect(x.length).toBe(3 * 64 * 64);
    expect(x[0]).toBeCloseTo(114 / 255, 6); // pad above the 128x96 image
    expect(x[32 * 64 + 32]).toBeCloseTo(200 / 255, 2); // red channel of a.png
  });
});
