import { readFileSync } from 'node:fs';
import { smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { computeMap, type ImageDetections, type ImageGroundTruth } from './map.js';

interface Fixture {
  classes: number;
  pycocotools: { map: number; map50: number; perClass: { class: number; ap: number | null; ap50: number | null }[] };
  gt: { boxes: number[][]; classes: number[] }[];
  dt: { boxes: number[][]; classes: number[]; scores: number[] }[];
}

const fixture = (): Fixture => JSON.parse(readFileSync(smallFixture('detect-map.json'), 'utf8'));
const gtOf = (boxes: number[][], classes: number[]): ImageGroundTruth => ({ boxes: new Float64Array(boxes.flat()), classes: Int32Array.from(classes) });
const dtOf = (boxes: number[][], classes: number[], scores: number[]): ImageDetections => ({ ...gtOf(boxes, classes), scores: Float64Array.from(scores) });

describe('computeMap', () => {
  it('matches pycocotools COCOeval on the seeded fixture to 1e-3 (overall and per class)', () => {
    const f = fixture();
    const r = computeMap(
      f.dt.map((d) => dtOf(d.boxes, d.classes, d.scores)),
      f.gt.map((g) => gtOf(g.boxes, g.classes)),
      { numClasses: f.classes },
    );
    // the fixture covers the edge cases it claims to
    expect(f.dt[3]!.classes.filter((c) => c === 0).length).toBeGreaterThan(100);
    expect(r.gtCount[2]).toBeGreaterThan(0);
    expect(r.dtCount[2]).toBe(0);
    expect(r.gtCount[3]).toBe(0);
    expect(r.dtCount[3]).toBeGreaterThan(0);
    expect(Math.abs(r.map - f.pycocotools.map)).toBeLessThan(1e-3);
    expect(Math.abs(r.map50 - f.pycocotools.map50)).toBeLessThan(1e-3);
    for (const pc of f.pycocotools.perClass) {
      if (pc.ap === null) {
        expect(r.ap[pc.class]).toBeNaN();
        continue;
      }
      expect(Math.abs(r.ap[pc.class]! - pc.ap)).toBeLessThan(1e-3);
      expect(Math.abs(r.ap50[pc.class]! - pc.ap50!)).toBeLessThan(1e-3);
    }
  });

  it('exact boxes score 1; a duplicate is a false positive ranked after the match', () => {
    const gt = [gtOf([[0, 0, 10, 10]], [0])];
    expect(computeMap([dtOf([[0, 0, 10, 10]], [0], [0.9])], gt).map).toBeCloseTo(1, 12);
    // duplicate with a higher score than the true match: precision at full recall is 1/2
    const dup = computeMap([dtOf([[0, 0, 10, 10], [0, 0, 10, 10]], [0, 0], [0.9, 0.95])], gt);
    expect(dup.map).toBeCloseTo(1, 12); // the first one (0.95) matches; the second is an FP after recall 1
    const low = computeMap([dtOf([[50, 50, 60, 60], [0, 0, 10, 10]], [0, 0], [0.95, 0.9])], gt);
    expect(low.map).toBeCloseTo(0.5, 12);
  });

  it('IoU 0.538 matches at 0.50 only: mAP50 1, mAP 0.1', () => {
    // 10x10 GT; the detection shifted by 3 px gives IoU 70 / 130
    const r = computeMap([dtOf([[3, 0, 13, 10]], [0], [0.5])], [gtOf([[0, 0, 10, 10]], [0])]);
    expect(r.map50).toBeCloseTo(1, 12);
    expect(r.map).toBeCloseTo(0.1, 12);
  });

  it('cuts detections at maxDets per image and class', () => {
    const boxes: number[][] = [];
    const scores: number[] = [];
    for (let i = 0; i < 120; i++) {
      boxes.push(i < 119 ? [100, 100, 110, 110] : [0, 0, 10, 10]);
      scores.push(1 - i / 1000);
    }
    const gt = [gtOf([[0, 0, 10, 10]], [0])];
    const dt = [dtOf(boxes, new Array(120).fill(0), scores)];
    expect(computeMap(dt, gt).map).toBe(0); // the true box ranks 120th, past the cut
    expect(computeMap(dt, gt, { maxDets: 200 }).map).toBeGreaterThan(0);
  });

  it('refuses a class id outside numClasses', () => {
    expect(() => computeMap([dtOf([], [], [])], [gtOf([[0, 0, 1, 1]], [5])], { numClasses: 3 })).toThrow(/class id 5/);
  });
});
