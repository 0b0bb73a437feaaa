import { ShearsError } from '@shears/core';
import type { ImageDetections } from './map.js';
import { nms, type Candidates, type NmsOptions } from './nms.js';

/** How a detector's output is laid out. */
export type DetectorFormat =
  /** Ultralytics-style `[1, 4+nc, anchors]` (cx,cy,w,h then class scores; no objectness). */
  | 'anchors'
  /** The same, transposed: `[1, anchors, 4+nc]`. */
  | 'anchors-last'
  /** End-to-end `[1, N, 6]`: x1,y1,x2,y2,score,class, already suppressed. */
  | 'e2e';

export interface DetectorLayout {
  format: DetectorFormat;
  /** Class count (anchors formats); null for end-to-end outputs, whose class count the output does not tell. */
  numClasses: number | null;
}

const EXPECTED = '[1, 4+nc, anchors] or [1, anchors, 4+nc] (Ultralytics) or [1, N, 6] (end-to-end x1,y1,x2,y2,score,class)';

/**
 * Recognize a detector output shape. Ultralytics exports have far more
 * anchors than channels, which tells `[1, 4+nc, A]` from its transpose; a
 * last axis of 6 with fewer than 1000 rows is taken as end-to-end.
 */
export function detectorLayout(dims: readonly (number | string | null | undefined)[], where = 'output'): DetectorLayout {
  const ok = dims.length === 3 && dims.every((d) => typeof d === 'number' && d > 0) && dims[0] === 1;
  if (ok) {
    const a = dims[1] as number;
    const b = dims[2] as number;
    if (b === 6 && a < 1000) return { format: 'e2e', numClasses: null };
    if (a >= 5 && a < b) return { format: 'anchors', numClasses: a - 4 };
    if (b >= 5 && b < a) return { format: 'anchors-last', numClasses: b - 4 };
  }
  const shape = `[${dims.map((d) => (typeof d === 'number' ? d : (d ?? '?'))).join(', ')}]`;
  throw new ShearsError('E_DATA', `${where} has shape ${shape}, which does not look like a detector's; expected ${EXPECTED}`);
}

export interface DecodeOptions extends NmsOptions {
  /** Drop boxes scoring at or below this. Default 0.001 (Ultralytics val, for mAP). */
  conf?: number;
  /** One candidate per (box, class) above `conf`, as Ultralytics val does; false keeps the best class only. Default true. */
  multiLabel?: boolean;
}

/** Undo a letterbox: input pixel = original * scale + pad; boxes are clipped to the image. */
export interface Letterbox {
  scale: number;
  padX: number;
  padY: number;
  width: number;
  height: number;
}

function unletterbox(boxes: Float32Array, lb: Letterbox | undefined): void {
  if (!lb) return;
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = Math.min(Math.max((boxes[i]! - lb.padX) / lb.scale, 0), lb.width);
    boxes[i + 1] = Math.min(Math.max((boxes[i + 1]! - lb.padY) / lb.scale, 0), lb.height);
    boxes[i + 2] = Math.min(Math.max((boxes[i + 2]! - lb.padX) / lb.scale, 0), lb.width);
    boxes[i + 3] = Math.min(Math.max((boxes[i + 3]! - lb.padY) / lb.scale, 0), lb.height);
  }
}

/** Phase: anchors → candidates above `conf` (cx,cy,w,h → x1,y1,x2,y2), at most `max` of the best. */
function anchorCandidates(data: Float32Array, layout: DetectorLayout, A: number, conf: number, multiLabel: boolean, max: number): Candidates {
  const nc = layout.numClasses!;
  const C = 4 + nc;
  const last = layout.format === 'anchors-last';
  const cs = last ? 1 : A; // channel stride
  const as = last ? C : 1; // anchor stride
  // pass 1: the scores that pass, to find the cut that keeps the best `max` (Ultralytics' max_nms)
  let n = 0;
  for (let a = 0; a < A; a++) {
    let best = -Infinity;
    for (let c = 0; c < nc; c++) {
      const s = data[a * as + (4 + c) * cs]!;
      if (multiLabel && s > conf) n++;
      if (s > best) best = s;
    }
    if (!multiLabel && best > conf) n++;
  }
  let cut = conf;
  let atCut = Infinity; // how many scores equal to the cut may still pass
  if (n > max) {
    const all = new Float32Array(n);
    let k = 0;
    for (let a = 0; a < A; a++) {
      let best = -Infinity;
      for (let c = 0; c < nc; c++) {
        const s = data[a * as + (4 + c) * cs]!;
        if (multiLabel && s > conf) all[k++] = s;
        if (s > best) best = s;
      }
      if (!multiLabel && best > conf) all[k++] = best;
    }
    all.sort(); // ascending, native
    const kth = all[n - max]!;
    let above = 0;
    for (let i = n - max; i < n; i++) if (all[i]! > kth) above++;
    cut = kth;
    atCut = max - above;
    n = max;
  }
  // pass 2: fill typed arrays (anchor order, so ties keep it)
  const boxes = new Float32Array(n * 4);
  const scores = new Float32Array(n);
  const classes = new Int32Array(n);
  let k = 0;
  const passes = (s: number) => s > cut || (s === cut && cut > conf && atCut-- > 0);
  const add = (a: number, s: number, c: number) => {
    const cx = data[a * as]!;
    const cy = data[a * as + cs]!;
    const hw = data[a * as + 2 * cs]! / 2;
    const hh = data[a * as + 3 * cs]! / 2;
    boxes[k * 4] = cx - hw;
    boxes[k * 4 + 1] = cy - hh;
    boxes[k * 4 + 2] = cx + hw;
    boxes[k * 4 + 3] = cy + hh;
    scores[k] = s;
    classes[k++] = c;
  };
  for (let a = 0; a < A && k < n; a++) {
    let best = -Infinity;
    let bestC = 0;
    for (let c = 0; c < nc; c++) {
      const s = data[a * as + (4 + c) * cs]!;
      if (multiLabel && passes(s) && k < n) add(a, s, c);
      if (s > best) ((best = s), (bestC = c));
    }
    if (!multiLabel && passes(best)) add(a, best, bestC);
  }
  return { boxes: boxes.subarray(0, k * 4), scores: scores.subarray(0, k), classes: classes.subarray(0, k) };
}

/**
 * Decode one image's detector output into boxes in original-image pixels:
 * anchor outputs are thresholded and go through class-aware NMS; end-to-end
 * outputs are only thresholded.
 */
export function decodeDetections(data: Float32Array, dims: readonly number[], letterbox?: Letterbox, opts: DecodeOptions = {}): ImageDetections {
  const layout = detectorLayout(dims);
  const conf = opts.conf ?? 0.001;
  if (layout.format === 'e2e') {
    const n = dims[1]!;
    let k = 0;
    for (let i = 0; i < n; i++) if (data[i * 6 + 4]! > conf) k++;
    const boxes = new Float32Array(k * 4);
    const scores = new Float32Array(k);
    const classes = new Int32Array(k);
    k = 0;
    for (let i = 0; i < n; i++) {
      if (!(data[i * 6 + 4]! > conf)) continue;
      boxes.set(data.subarray(i * 6, i * 6 + 4), k * 4);
      scores[k] = data[i * 6 + 4]!;
      classes[k++] = Math.round(data[i * 6 + 5]!);
    }
    unletterbox(boxes, letterbox);
    return { boxes, scores, classes };
  }
  const A = layout.format === 'anchors' ? dims[2]! : dims[1]!;
  const cand = anchorCandidates(data, layout, A, conf, opts.multiLabel ?? true, opts.maxCandidates ?? 30000);
  const keep = nms(cand, opts);
  const boxes = new Float32Array(keep.length * 4);
  const scores = new Float32Array(keep.length);
  const classes = new Int32Array(keep.length);
  for (let i = 0; i < keep.length; i++) {
    const j = keep[i]!;
    boxes.set(cand.boxes.subarray(j * 4, j * 4 + 4), i * 4);
    scores[i] = cand.scores[j]!;
    classes[i] = cand.classes[j]!;
  }
  unletterbox(boxes, letterbox);
  return { boxes, scores, classes };
}
