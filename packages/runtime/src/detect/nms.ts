import { boxIou } from './map.js';

/** Candidate boxes (x1,y1,x2,y2), scores and class ids, one entry per candidate. */
export interface Candidates {
  boxes: Float32Array;
  scores: Float32Array;
  classes: Int32Array;
}

export interface NmsOptions {
  /** Suppress a box whose IoU with a kept box of its class is above this. Default 0.7 (Ultralytics val). */
  iou?: number;
  /** Keep at most this many boxes. Default 300. */
  maxDets?: number;
  /** Sort at most this many candidates (Ultralytics' max_nms). Default 30000. */
  maxCandidates?: number;
}

/**
 * Class-aware greedy NMS (torchvision's `batched_nms` semantics): candidates
 * in descending score order, a box is kept unless a kept box of the same class
 * overlaps it with IoU > `iou`. Returns the kept indices, best first.
 */
export function nms(c: Candidates, opts: NmsOptions = {}): Int32Array {
  const iou = opts.iou ?? 0.7;
  const maxDets = opts.maxDets ?? 300;
  const n = c.scores.length;
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => c.scores[b]! - c.scores[a]! || a - b);
  order = order.subarray(0, Math.min(n, opts.maxCandidates ?? 30000));
  const kept = new Int32Array(Math.min(order.length, maxDets));
  let k = 0;
  for (let o = 0; o < order.length && k < maxDets; o++) {
    const i = order[o]!;
    let keep = true;
    for (let j = 0; j < k; j++) {
      const q = kept[j]!;
      if (c.classes[q] === c.classes[i] && boxIou(c.boxes, q, c.boxes, i) > iou) {
        keep = false;
        break;
      }
    }
    if (keep) kept[k++] = i;
  }
  return kept.slice(0, k);
}
