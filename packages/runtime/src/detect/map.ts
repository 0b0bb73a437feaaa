/**
 * COCO-style detection mAP, as pycocotools' COCOeval computes it for bboxes:
 * IoU thresholds 0.50:0.05:0.95, 101-point interpolated precision, greedy
 * matching by descending score, at most `maxDets` detections per image and
 * class, area range 'all', AP averaged over the classes that have ground truth.
 */

/** Detections of one image: `boxes` holds x1,y1,x2,y2 per detection. */
export interface ImageDetections {
  boxes: Float32Array | Float64Array;
  scores: Float32Array | Float64Array;
  classes: Int32Array;
}

/** Ground truth of one image (non-crowd boxes, x1,y1,x2,y2). */
export interface ImageGroundTruth {
  boxes: Float32Array | Float64Array;
  classes: Int32Array;
}

export interface MapOptions {
  /** Class count; default: 1 + the largest class id seen. */
  numClasses?: number;
  /** Detections kept per image and class (COCOeval's maxDets). Default 100. */
  maxDets?: number;
}

export interface MapResult {
  /** mAP@0.5:0.95 (COCOeval stats[0]); NaN when no class has ground truth. */
  map: number;
  /** mAP@0.5 (COCOeval stats[1]). */
  map50: number;
  /** Per class: AP@0.5:0.95, NaN for a class without ground truth. */
  ap: Float64Array;
  /** Per class: AP@0.5, NaN for a class without ground truth. */
  ap50: Float64Array;
  /** Ground-truth boxes per class. */
  gtCount: Int32Array;
  /** Detections scored per class (after the maxDets cut). */
  dtCount: Int32Array;
}

/** np.linspace(start, stop, num) bit for bit: i * step + start, the last one exactly `stop`. */
function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  out[num - 1] = stop;
  return out;
}

export const COCO_IOU_THRESHOLDS: Float64Array = linspace(0.5, 0.95, 10);
const REC_THRS = linspace(0, 1, 101);
const EPS = 2.220446049250313e-16; // np.spacing(1)

/** IoU of box i of `a` and box j of `b` (x1,y1,x2,y2), as pycocotools' bbIou (no +1). */
export function boxIou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number): number {
  const ax1 = a[4 * i]!, ay1 = a[4 * i + 1]!, ax2 = a[4 * i + 2]!, ay2 = a[4 * i + 3]!;
  const bx1 = b[4 * j]!, by1 = b[4 * j + 1]!, bx2 = b[4 * j + 2]!, by2 = b[4 * j + 3]!;
  const w = Math.min(ax2, bx2) - Math.max(ax1, bx1);
  if (w <= 0) return 0;
  const h = Math.min(ay2, by2) - Math.max(ay1, by1);
  if (h <= 0) return 0;
  const inter = w * h;
  const union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
  return union > 0 ? inter / union : 0;
}

/** Growable per-class record of scored detections: score and a match bit per IoU threshold. */
class ClassRecords {
  scores = new Float64Array(64);
  matched = new Uint8Array(64 * 10);
  n = 0;
  push(score: number, bits: Uint8Array, at: number, T: number): void {
    if (this.n === this.scores.length) {
      const s = new Float64Array(this.n * 2);
      s.set(this.scores);
      this.scores = s;
      const m = new Uint8Array(this.n * 2 * T);
      m.set(this.matched);
      this.matched = m;
    }
    this.scores[this.n] = score;
    for (let t = 0; t < T; t++) this.matched[this.n * T + t] = bits[at + t]!;
    this.n++;
  }
}

/** Indices of one image's entries of class `c`, detections sorted by score (stable). */
function byClass(classes: Int32Array, nc: number): { start: Int32Array; order: Int32Array } {
  const start = new Int32Array(nc + 1);
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]!;
    if (!(c >= 0 && c < nc)) throw new RangeError(`computeMap: class id ${c} is outside 0..${nc - 1}`);
    start[c + 1]!++;
  }
  for (let c = 0; c < nc; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, nc);
  const order = new Int32Array(classes.length);
  for (let i = 0; i < classes.length; i++) order[fill[classes[i]!]!++] = i;
  return { start, order };
}

/** Phase 1: per image and class, greedy matching of score-sorted detections to ground truth at every threshold. */
function matchImage(det: ImageDetections, gt: ImageGroundTruth, nc: number, maxDets: number, records: ClassRecords[], gtCount: Int32Array): void {
  const T = COCO_IOU_THRESHOLDS.length;
  const nd = det.scores.length;
  // sort detections by descending score (stable: ties keep input order, as numpy's mergesort)
  const sorted = new Int32Array(nd);
  for (let i = 0; i < nd; i++) sorted[i] = i;
  sorted.sort((a, b) => det.scores[b]! - det.scores[a]! || a - b);
  const dClasses = new Int32Array(nd);
  for (let i = 0; i < nd; i++) dClasses[i] = det.classes[sorted[i]!]!;
  const D = byClass(dClasses, nc);
  const G = byClass(gt.classes, nc);
  const bits = new Uint8Array(maxDets * T);
  for (let c = 0; c < nc; c++) {
    const g0 = G.start[c]!;
    const ng = G.start[c + 1]! - g0;
    gtCount[c]! += ng;
    const d0 = D.start[c]!;
    const ndc = Math.min(D.start[c + 1]! - d0, maxDets);
    if (ndc === 0) continue;
    // IoU matrix ndc x ng (COCOeval computes the same per image and class)
    const ious = new Float64Array(ndc * ng);
    for (let d = 0; d < ndc; d++) {
      const di = sorted[D.order[d0 + d]!]!;
      for (let g = 0; g < ng; g++) ious[d * ng + g] = boxIou(det.boxes, di, gt.boxes, G.order[g0 + g]!);
    }
    bits.fill(0);
    const taken = new Uint8Array(ng);
    for (let t = 0; t < T; t++) {
      taken.fill(0);
      const thr = Math.min(COCO_IOU_THRESHOLDS[t]!, 1 - 1e-10);
      for (let d = 0; d < ndc; d++) {
        let best = thr;
        let m = -1;
        for (let g = 0; g < ng; g++) {
          if (taken[g]) continue;
          const v = ious[d * ng + g]!;
          if (v < best) continue;
          best = v;
          m = g;
        }
        if (m >= 0) {
          taken[m] = 1;
          bits[d * T + t] = 1;
        }
      }
    }
    for (let d = 0; d < ndc; d++) records[c]!.push(det.scores[sorted[D.order[d0 + d]!]!]!, bits, d * T, T);
  }
}

/** Phase 2: 101-point interpolated AP of one class at one threshold (COCOeval.accumulate). */
function classAp(rec: ClassRecords, order: Int32Array, t: number, T: number, npig: number, pr: Float64Array, rc: Float64Array): number {
  const nd = order.length;
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < nd; i++) {
    if (rec.matched[order[i]! * T + t]) tp++;
    else fp++;
    rc[i] = tp / npig;
    pr[i] = tp / (fp + tp + EPS);
  }
  for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
  let sum = 0;
  let p = 0;
  for (let r = 0; r < REC_THRS.length; r++) {
    while (p < nd && rc[p]! < REC_THRS[r]!) p++; // np.searchsorted(rc, thr, 'left')
    if (p >= nd) break;
    sum += pr[p]!;
  }
  return sum / REC_THRS.length;
}

/** COCO mAP of per-image detections against per-image ground truth (same image order). */
export function computeMap(dets: readonly ImageDetections[], gts: readonly ImageGroundTruth[], opts: MapOptions = {}): MapResult {
  if (dets.length !== gts.length) throw new RangeError(`computeMap: ${dets.length} detection sets for ${gts.length} images`);
  let nc = opts.numClasses ?? 0;
  if (opts.numClasses === undefined) for (const s of [...dets, ...gts]) for (const c of s.classes) nc = Math.max(nc, c + 1);
  const maxDets = opts.maxDets ?? 100;
  const T = COCO_IOU_THRESHOLDS.length;
  const records = Array.from({ length: nc }, () => new ClassRecords());
  const gtCount = new Int32Array(nc);
  for (let i = 0; i < dets.length; i++) matchImage(dets[i]!, gts[i]!, nc, maxDets, records, gtCount);
  const ap = new Float64Array(nc).fill(Number.NaN);
  const ap50 = new Float64Array(nc).fill(Number.NaN);
  const dtCount = new Int32Array(nc);
  let sum = 0;
  let sum50 = 0;
  let classes = 0;
  for (let c = 0; c < nc; c++) {
    const rec = records[c]!;
    dtCount[c] = rec.n;
    if (gtCount[c] === 0) continue;
    const order = new Int32Array(rec.n);
    for (let i = 0; i < rec.n; i++) order[i] = i;
    order.sort((a, b) => rec.scores[b]! - rec.scores[a]! || a - b);
    const pr = new Float64Array(rec.n);
    const rc = new Float64Array(rec.n);
    let s = 0;
    for (let t = 0; t < T; t++) {
      const v = classAp(rec, order, t, T, gtCount[c]!, pr, rc);
      if (t === 0) ap50[c] = v;
      s += v;
    }
    ap[c] = s / T;
    sum += ap[c]!;
    sum50 += ap50[c]!;
    classes++;
  }
  return { map: classes ? sum / classes : Number.NaN, map50: classes ? sum50 / classes : Number.NaN, ap, ap50, gtCount, dtCount };
}
