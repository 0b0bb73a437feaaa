// Label-free distillation for any model: the student matches the teacher's
// raw outputs (every graph output: detector heads, segmentation maps, OCR
// probability maps), each normalized by the teacher's own per-channel
// spread, plus KL on slices declared as class scores.

import { ShearsError } from '@shears/core';
import type { Tensor, TF } from './backend.js';

/** What the distillation matches: 'logits' (KL on a classifier's softened logits), 'outputs' (every raw output), 'auto' (see resolveKd). */
export type KdMode = 'auto' | 'logits' | 'outputs';
/** Per-output regression loss, in units of the teacher's per-channel standard deviation. */
export type KdLoss = 'mse' | 'smooth-l1';
/** How the outputs' differences are scaled: by the teacher's per-channel std (default), per-output std, or not at all. */
export type KdNormalize = 'channel' | 'output' | 'none';

/**
 * A slice of an output that holds class scores: indices [start, end) of
 * `axis` (default 1, the channel axis of [N, C, anchors]). 'sigmoid': the
 * values are independent probabilities (YOLO), matched with a binary KL per
 * class; 'softmax': they are logits of one distribution, matched with the
 * temperature-softened KL. Default: 'sigmoid' when the teacher's values on
 * the first batch all lie in [0, 1], else 'softmax'.
 */
export interface KdSlice {
  output: string;
  axis?: number;
  start: number;
  end: number;
  mode?: 'sigmoid' | 'softmax';
}

/** One output's matching term, resolved (plain data: the step worker gets the same). */
export interface OutputTerm {
  name: string;
  loss: KdLoss;
  /** The axis whose entries are normalized separately (the slices' axis, else 1). */
  axis: number;
  /** Per entry of `axis`: 1/std of the teacher (0 inside class-score slices, which their KL covers); set from the first batch. */
  scale?: number[];
  slices: { axis: number; start: number; end: number; mode?: 'sigmoid' | 'softmax' }[];
}

type Out = { dims: number[]; data: Float32Array };

const SEP = ':';
const MODES = new Set(['sigmoid', 'softmax']);

/**
 * `--kd-slice` syntax: `output:start:end[:sigmoid|softmax][:axis=N]`, parsed
 * from the end (output names may hold ':'), e.g. `output0:4:84`, `output0:4:84:sigmoid`.
 */
export function parseKdSlice(spec: string): KdSlice {
  const parts = spec.split(SEP);
  const bad = () => new ShearsError('E_OPTION', `--kd-slice ${spec}: expected output:start:end[:sigmoid|softmax][:axis=N], e.g. output0:4:84`, { option: 'kd-slice' });
  let axis: number | undefined;
  let mode: KdSlice['mode'];
  for (;;) {
    const last = parts.at(-1) ?? '';
    const ax = /^axis=(-?\d+)$/.exec(last);
    if (ax && axis === undefined) axis = Number(ax[1]);
    else if (MODES.has(last) && mode === undefined) mode = last as KdSlice['mode'];
    else break;
    parts.pop();
  }
  if (parts.length < 3) throw bad();
  const end = parts.pop()!;
  const start = parts.pop()!;
  if (!/^\d+$/.test(start) || !/^\d+$/.test(end)) throw bad();
  const out: KdSlice = { output: parts.join(SEP), start: Number(start), end: Number(end) };
  if (!out.output) throw bad();
  if (axis !== undefined) out.axis = axis;
  if (mode) out.mode = mode;
  return out;
}

/**
 * The matching terms for the graph outputs, checked against their shapes (batch 1):
 * slices name an output that exists, an axis within its rank (not the batch),
 * and a range within that axis; the slices of one output share their axis.
 */
export function outputTerms(outputs: Record<string, readonly number[]>, slices: readonly KdSlice[], loss: KdLoss): OutputTerm[] {
  const names = Object.keys(outputs);
  const terms = new Map<string, OutputTerm>(names.map((n) => [n, { name: n, loss, axis: 1, slices: [] }]));
  const fail = (s: KdSlice, why: string) => new ShearsError('E_OPTION', `finetune: option kdSlices: ${s.output}:${s.start}:${s.end}: ${why}`, { option: 'kdSlices' });
  for (const s of slices) {
    const term = terms.get(s.output);
    if (!term) throw fail(s, `the model has no output '${s.output}' (outputs: ${names.join(', ')})`);
    const dims = outputs[s.output]!;
    const r = dims.length;
    const axis = (s.axis ?? 1) < 0 ? (s.axis ?? 1) + r : (s.axis ?? 1);
    if (!(axis >= 1 && axis < r)) throw fail(s, `axis ${s.axis ?? 1} is outside 1..${r - 1} of the output's ${dims.join('x')} (axis 0 is the batch)`);
    const n = dims[axis]!;
    if (!(Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end <= n && s.start < s.end))
      throw fail(s, `[${s.start}, ${s.end}) is outside axis ${axis} of ${dims.join('x')} (0..${n})`);
    if (term.slices.length && term.slices[0]!.axis !== axis) throw fail(s, `the slices of ${s.output} must share one axis (${term.slices[0]!.axis})`);
    term.axis = axis;
    term.slices.push({ axis, start: s.start, end: s.end, mode: s.mode });
  }
  for (const t of terms.values()) if (outputs[t.name]!.length < 2) t.axis = 0;
  return [...terms.values()];
}

/**
 * From the teacher's first batch: each term's per-channel scale and the mode
 * of slices left to 'auto'. 'channel' (default): 1/std of the teacher's
 * input-driven variation in that channel — its deviation from the batch mean
 * at each position, pooled over the positions — so fixed structure (a YOLO
 * head's anchor grid and strides, a map's border) does not count as spread;
 * floored at 1% of the channel's plain std, and at PROB_FLOOR for a channel
 * of probabilities (values in [0, 1]: a class absent from the first batch
 * must not weigh 10⁴× its neighbours). 'output': one plain std for the whole
 * output; 'none': 1.
 */
export function calibrateTerms(terms: readonly OutputTerm[], teacher: Record<string, Out>, normalize: KdNormalize): OutputTerm[] {
  return terms.map((t) => {
    const o = teacher[t.name];
    if (!o) throw new ShearsError('E_DATA', `finetune: the teacher has no output '${t.name}'`, { option: 'teacher' });
    const slices = t.slices.map((s) => ({ ...s, mode: s.mode ?? sliceMode(o.data, o.dims, s) }));
    return { ...t, scale: channelScales(o, t, normalize), slices };
  });
}

/** Per entry of the term's axis: the scale of the differences (0 inside the slices). */
function channelScales({ dims, data }: Out, t: OutputTerm, normalize: KdNormalize): number[] {
  const axis = t.axis;
  const n = dims[0] ?? 1;
  const per = data.length / n;
  const c = axis === 0 ? 1 : dims[axis]!;
  const inner = axis === 0 ? per : dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const chOf = (q: number) => (axis === 0 ? 0 : Math.floor(q / inner) % c);
  const inSlice = new Uint8Array(c);
  for (const s of t.slices) inSlice.fill(1, s.start, s.end);
  // the batch mean at each position of a sample (float64: the values can be large)
  const mean = new Float64Array(per);
  for (let i = 0; i < data.length; i++) mean[i % per] += data[i]! / n;
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const dev = new Float64Array(c);
  const prob = new Uint8Array(c).fill(1);
  for (let i = 0; i < data.length; i++) {
    const q = i % per;
    const ch = chOf(q);
    const v = data[i]!;
    if (!(v >= 0 && v <= 1)) prob[ch] = 0;
    sum[ch] += v;
    sq[ch] += v * v;
    dev[ch] += (v - mean[q]!) ** 2;
  }
  const count = data.length / c;
  const plain = (k: number) => Math.sqrt(Math.max(0, sq[k]! / count - (sum[k]! / count) ** 2));
  let pooled = 0;
  if (normalize === 'output') {
    let [s1, s2, m] = [0, 0, 0];
    for (let k = 0; k < c; k++) if (!inSlice[k]) [s1, s2, m] = [s1 + sum[k]!, s2 + sq[k]!, m + count];
    pooled = m ? Math.sqrt(Math.max(0, s2 / m - (s1 / m) ** 2)) : 0;
  }
  return Array.from({ length: c }, (_, k) => {
    if (inSlice[k]) return 0;
    if (normalize === 'none') return 1;
    const sd = normalize === 'output' ? pooled : Math.max(n > 1 ? Math.sqrt(dev[k]! / count) : plain(k), 0.01 * plain(k), prob[k] ? PROB_FLOOR : 0);
    // A constant channel (std 0) is matched in its own units.
    return sd > 1e-6 ? 1 / sd : 1;
  });
}

/** 'sigmoid' when the teacher's values in the slice all lie in [0, 1] (probabilities), else 'softmax' (logits). */
function sliceMode(data: Float32Array, dims: readonly number[], s: { axis: number; start: number; end: number }): 'sigmoid' | 'softmax' {
  const c = dims[s.axis]!;
  const inner = dims.slice(s.axis + 1).reduce((a, b) => a * b, 1);
  for (let i = 0; i < data.length; i++) {
    const ch = Math.floor(i / inner) % c;
    if (ch < s.start || ch >= s.end) continue;
    const v = data[i]!;
    if (!(v >= 0 && v <= 1)) return 'softmax';
  }
  return 'sigmoid';
}

const EPS = 1e-6;
/** The smallest spread a channel of probabilities is scaled by (a difference of 0.01 counts as one unit). */
export const PROB_FLOOR = 0.01;

/**
 * The output-matching loss of one output: the mean over elements outside the
 * class-score slices of (MSE or smooth-L1 with β = 1) of (student − teacher)
 * scaled per channel, plus, per slice, its KL summed over the classes and
 * averaged over the other positions.
 */
export function outputLoss(tf: TF, student: Tensor, teacher: Tensor, term: OutputTerm, temperature: number): { match: Tensor; kl: Tensor } {
  const r = student.rank;
  const axis = term.axis;
  const scale = term.scale!;
  let match: Tensor = tf.scalar(0);
  const kept = scale.filter((v) => v > 0).length;
  if (kept > 0) {
    const shape = new Array<number>(r).fill(1);
    if (axis > 0) shape[axis] = scale.length;
    const w = tf.tensor(scale, shape, 'float32');
    const d = tf.mul(tf.sub(student, teacher), w);
    const per = term.loss === 'mse' ? tf.square(d) : huber(tf, d);
    const total = student.size;
    const n = axis > 0 ? (total / scale.length) * kept : total;
    match = tf.div(tf.sum(per), n);
  }
  let kl: Tensor = tf.scalar(0);
  for (const s of term.slices) {
    const begin = new Array<number>(r).fill(0);
    const size = [...student.shape];
    begin[s.axis] = s.start;
    size[s.axis] = s.end - s.start;
    const ss = tf.slice(student, begin, size);
    const ts = tf.slice(teacher, begin, size);
    kl = tf.add(kl, s.mode === 'sigmoid' ? binaryKl(tf, ss, ts, s.axis) : softmaxKl(tf, ss, ts, s.axis, temperature));
  }
  return { match, kl };
}

/** Smooth-L1 (Huber with β = 1): ½d² where |d| < 1, else |d| − ½. */
function huber(tf: TF, d: Tensor): Tensor {
  const a = tf.abs(d);
  const q = tf.minimum(a, 1);
  return tf.add(tf.mul(tf.square(q), 0.5), tf.sub(a, q));
}

/** Σ over `axis` of the binary KL(t ‖ s) of independent probabilities, averaged over the other positions. */
function binaryKl(tf: TF, s: Tensor, t: Tensor, axis: number): Tensor {
  const ps = tf.clipByValue(s, EPS, 1 - EPS);
  const pt = tf.clipByValue(t, EPS, 1 - EPS);
  const one = tf.scalar(1);
  const kl = tf.add(tf.mul(pt, tf.sub(tf.log(pt), tf.log(ps))), tf.mul(tf.sub(one, pt), tf.sub(tf.log(tf.sub(one, pt)), tf.log(tf.sub(one, ps)))));
  return tf.mean(tf.sum(kl, axis));
}

/** T²·KL(softmax(t/T) ‖ softmax(s/T)) over `axis`, averaged over the other positions. */
function softmaxKl(tf: TF, s: Tensor, t: Tensor, axis: number, T: number): Tensor {
  const r = s.rank;
  const perm = [...Array(r).keys()].filter((a) => a !== axis).concat(axis);
  const last = (x: Tensor) => (axis === r - 1 ? x : tf.transpose(x, perm));
  const logPt = tf.logSoftmax(tf.div(last(t), T));
  const logPs = tf.logSoftmax(tf.div(last(s), T));
  return tf.mul(tf.mean(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1)), T * T);
}
