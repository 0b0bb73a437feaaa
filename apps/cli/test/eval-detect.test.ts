import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

// Two 128x96 PNGs; a 64x64 constant-output detector (scripts/make_detect_fixture.py).
// GT per image: class 0 at (20,10)-(60,50), class 1 at (70,40)-(118,88).
let dir: string;
let data: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shears-eval-detect-'));
  data = join(dir, 'val');
  mkdirSync(join(data, 'labels'), { recursive: true });
  cpSync(join(smallFixture('detect-yolo'), 'images'), join(data, 'images'), { recursive: true });
  const labels = `0 ${40 / 128} ${30 / 96} ${40 / 128} ${40 / 96}\n1 ${94 / 128} ${64 / 96} ${48 / 128} ${48 / 96}\n`;
  for (const s of ['a', 'b']) writeFileSync(join(data, 'labels', `${s}.txt`), labels);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('shears eval --task detect', () => {
  it('exact boxes give mAP 1 (Ultralytics-style [1, 6, 8] output, letterboxed input)', () => {
    const r = shears(['eval', smallFixture('detect-anchors.onnx'), '--task', 'detect', '--data', data]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('mAP@0.5 100.00%  mAP@0.5:0.95 100.00%  on 2 images (4 boxes)');
  });

  it('a box shifted to IoU 0.655 gives the hand-computed mAP 0.7 (class APs 1 and 0.4), for both output forms', () => {
    for (const model of ['detect-anchors-shifted.onnx', 'detect-e2e.onnx']) {
      const j = shears(['eval', smallFixture(model), '--task', 'detect', '--data', data, '--json']).json();
      expect(j.map50).toBeCloseTo(1, 9);
      expect(j.map).toBeCloseTo(0.7, 9);
      expect(j.perClass.map((c: { ap: number }) => c.ap)).toEqual([expect.closeTo(1, 9), expect.closeTo(0.4, 9)]);
      expect(j.perClass.map((c: { gt: number }) => c.gt)).toEqual([2, 2]);
    }
  });

  it('a malformed label line is named by file and line (exit 3)', () => {
    const bad = join(dir, 'bad');
    cpSync(data, bad, { recursive: true });
    writeFileSync(join(bad, 'labels', 'b.txt'), '0 0.5 0.5 0.2 0.2\n1 0.5 0.5\n');
    const r = shears(['eval', smallFixture('detect-anchors.onnx'), '--task', 'detect', '--data', bad]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim()).toBe(`shears: error: ${join('labels', 'b.txt')}:2: expected "class cx cy w h" (5 numbers), found 3 fields`);
  });

  it('a classifier is refused in one line naming the shapes found and expected (exit 3)', () => {
    const r = shears(['eval', smallFixture('tiny-cnn.onnx'), '--task', 'detect', '--data', data]);
    expect(r.status).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/model output 'output' has shape \[1, 10\], which does not look like a detector's; expected \[1, 4\+nc, anchors\]/);
  });

  it('an unknown task is a usage error', () => {
    expect(shears(['eval', smallFixture('tiny-cnn.onnx'), '--task', 'segment', '--data', data]).status).toBe(2);
  });
});
