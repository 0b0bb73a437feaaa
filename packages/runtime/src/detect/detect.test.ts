import { mkdtempSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDetections, detectorLayout, evaluateDetection, letterbox, nms, parseYoloLabels } from '../index.js';

const tmp = mkdtempSync(join(tmpdir(), 'shears-detect-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const folder = smallFixture('detect-yolo');

describe('decode and NMS', () => {
  it('recognizes the three output layouts and refuses others with the shapes', () => {
    expect(detectorLayout([1, 84, 8400])).toEqual({ format: 'anchors', numClasses: 80 });
    expect(detectorLayout([1, 8400, 84])).toEqual({ format: 'anchors-last', numClasses: 80 });
    expect(detectorLayout([1, 300, 6])).toEqual({ format: 'e2e', numClasses: null });
    expect(() => detectorLayout([1, 1000], 'output logits')).toThrow(/output logits has shape \[1, 1000\].*expected \[1, 4\+nc, anchors\]/);
  });

  it('class-aware NMS suppresses overlaps of one class only, best first, capped', () => {
    const boxes = Float32Array.from([0, 0, 10, 10, 1, 0, 11, 10, 0, 0, 10, 10, 50, 50, 60, 60]);
    const c = { boxes, scores: Float32Array.from([0.9, 0.95, 0.8, 0.1]), classes: Int32Array.from([0, 0, 1, 0]) };
    expect(Array.from(nms(c))).toEqual([1, 2, 3]);
    expect(Array.from(nms(c, { maxDets: 2 }))).toEqual([1, 2]);
    expect(Array.from(nms(c, { iou: 0.95 }))).toEqual([1, 0, 2, 3]);
  });

  it('transposed anchors decode like channels-first; letterbox is undone', () => {
    // 8 anchors (two used), nc 3: channels-first [1, 7, 8]
    const A = 8;
    const C = 7;
    const cf = new Float32Array(C * A);
    [20, 40, 23, 40, 10, 8, 10, 8, 0.9, 0.0005, 0.2, 0.7, 0, 0].forEach((v, i) => (cf[Math.floor(i / 2) * A + (i % 2)] = v));
    const cl = new Float32Array(C * A);
    for (let ch = 0; ch < C; ch++) for (let a = 0; a < A; a++) cl[a * C + ch] = cf[ch * A + a]!;
    const lb = { scale: 0.5, padX: 0, padY: 8, width: 128, height: 96 };
    const a = decodeDetections(cf, [1, C, A], lb);
    const b = decodeDetections(cl, [1, A, C], lb);
    expect(Array.from(a.scores)).toEqual(Array.from(b.scores));
    expect(Array.from(a.classes)).toEqual([0, 1, 1]); // multi-label: anchor 0 gives classes 0 (0.9) and 1 (0.2), after anchor 1 (0.7)
    expect(Array.from(a.boxes.subarray(0, 4))).toEqual([30, 20, 50, 40]); // (15,18)-(25,28) in input px: x / 0.5, (y - 8) / 0.5
  });

  it('keeps only the best maxCandidates before NMS (ties broken by anchor order)', () => {
    const A = 8;
    const C = 5; // nc 1, disjoint boxes
    const cf = new Float32Array(C * A);
    const sc = [0.3, 0.9, 0.5, 0.5, 0.1, 0.5, 0.0001, 0.2];
    for (let a = 0; a < A; a++) {
      for (let ch = 0; ch < 4; ch++) cf[ch * A + a] = [a * 20 + 5, 5, 10, 10][ch]!;
      cf[4 * A + a] = sc[a]!;
    }
    const r = decodeDetections(cf, [1, C, A], undefined, { maxCandidates: 3 });
    expect(Array.from(r.scores)).toEqual([expect.closeTo(0.9, 6), 0.5, 0.5]);
    expect(Array.from(r.boxes.subarray(4, 8))).toEqual([40, 0, 50, 10]); // anchor 2 before anchors 3 and 5
    expect(decodeDetections(cf, [1, C, A]).scores.length).toBe(7); // 0.0001 is under conf 0.001
  });
});

describe('YOLO folders', () => {
  it('letterboxes with gray padding', () => {
    const img = { width: 4, height: 2, data: new Uint8Array(4 * 2 * 4).fill(255) };
    const { data, box } = letterbox(img, 4, 4);
    expect(box).toEqual({ scale: 1, padX: 0, padY: 1, width: 4, height: 2 });
    expect(data[0]).toBeCloseTo(114 / 255, 6);
    expect(data[4]).toBeCloseTo(1, 6);
  });

  it('names the file and line of a malformed label', () => {
    expect(() => parseYoloLabels('0 0.5 0.5 0.1 0.1\n\n1 0.5 0.5 0.1\n', 'labels/a.txt', 10, 10)).toThrow(/labels\/a.txt:3: expected "class cx cy w h" \(5 numbers\), found 4 fields/);
    expect(() => parseYoloLabels('x 0.5 0.5 0.1 0.1', 'l.txt', 10, 10)).toThrow(/l.txt:1: class "x"/);
    expect(() => parseYoloLabels('0 0.5 1.5 0.1 0.1', 'l.txt', 10, 10)).toThrow(/l.txt:1: "1.5" is not a number in \[0, 1\]/);
  });

  it('exact constant detector scores mAP 1; the shifted one 0.7 (hand-computed), and end-to-end the same', async () => {
    const exact = await evaluateDetection(await readModel(smallFixture('detect-anchors.onnx')), folder, { threads: 1 });
    expect(exact.images).toBe(2);
    expect(exact.boxes).toBe(4);
    expect(exact.map50).toBeCloseTo(1, 9);
    expect(exact.map).toBeCloseTo(1, 9);
    const shifted = await evaluateDetection(await readModel(smallFixture('detect-anchors-shifted.onnx')), folder, { threads: 1 });
    // class 1's box has IoU 0.655 with its GT: matched at 0.50-0.65 (4 of 10 thresholds)
    expect(Array.from(shifted.ap)).toEqual([expect.closeTo(1, 9), expect.closeTo(0.4, 9)]);
    expect(shifted.map).toBeCloseTo(0.7, 9);
    expect(shifted.map50).toBeCloseTo(1, 9);
    const e2e = await evaluateDetection(await readModel(smallFixture('detect-e2e.onnx')), folder, { threads: 1 });
    expect(e2e.format).toBe('e2e');
    expect(e2e.map).toBeCloseTo(0.7, 9);
  });

  it('an image without a label file has no objects; a class id past the model is refused', async () => {
    const dir = join(tmp, 'yolo');
    cpSync(folder, dir, { recursive: true });
    rmSync(join(dir, 'labels', 'b.txt'));
    const model = await readModel(smallFixture('detect-anchors.onnx'));
    const r = await evaluateDetection(model, dir, { threads: 1 });
    expect(r.boxes).toBe(2);
    expect(r.map).toBeLessThan(1); // b's detections are now false positives
    writeFileSync(join(dir, 'labels', 'b.txt'), '0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n');
    await expect(evaluateDetection(model, dir, { threads: 1 })).rejects.toThrow(/labels\/b.txt:2: class 2 is outside the model's 2 classes/);
  });

  it('a classifier is refused with the shapes found and expected', async () => {
    await expect(evaluateDetection(await readModel(smallFixture('tiny-cnn.onnx')), folder, { threads: 1 })).rejects.toThrow(/shape \[1, 10\], which does not look like a detector's/);
  });
});
