// One training step's forward and backward pass, shared by the main thread
// and the data-parallel step worker (parallel.ts, worker.ts).

import { ShearsError } from '@shears/core';
import type { Tensor, TF } from './backend.js';
import type { TfGraph } from './graph/graph.js';
import type { Param } from './graph/types.js';
import { correct, crossEntropy, distillation, featureLoss } from './losses.js';
import { outputLoss, type OutputTerm } from './outputs.js';
import type { TeacherOutputs } from './teacher.js';

export interface Prepared {
  x: Float32Array;
  dims: number[];
  y?: Int32Array;
  teacher?: Promise<TeacherOutputs>;
}

/** How the step's loss is made (plain data, so the worker gets the same). */
export interface LossOptions {
  /** The value trained as the logits: the graph output, or the input of its final Softmax (logits.ts). */
  logits: string;
  alpha: number;
  temperature: number;
  features: string[];
  featureWeight: number;
  labelSmoothing: number;
  /** Output matching (kd 'outputs'): the terms, calibrated; then `logits`, `alpha` and labels are not used. */
  outputs?: OutputTerm[];
}

/** The values a step's forward pass must return. */
export function stepValues(o: LossOptions, teacher: boolean): string[] {
  const heads = o.outputs ? o.outputs.map((t) => t.name) : [o.logits];
  return [...new Set([...heads, ...(teacher ? o.features : [])])];
}

/**
 * The loss of one batch from the forward pass's values: output matching
 * (kd 'outputs') or α·KD + (1−α)·CE on the logits, plus the feature MSE.
 * `correct` is the labelled rows' arg-max hits (logits only).
 */
export function batchLoss(tf: TF, values: Record<string, Tensor>, y: Tensor | undefined, t: TeacherOutputs | undefined, o: LossOptions): { loss: Tensor; correct?: Tensor } {
  let loss: Tensor = tf.scalar(0);
  let hits: Tensor | undefined;
  if (o.outputs) {
    if (!t?.outputs) throw new ShearsError('E_OPTION', 'finetune: output matching needs a teacher', { option: 'teacher' });
    for (const term of o.outputs) {
      const s = values[term.name]!;
      const to = t.outputs[term.name]!;
      if (s.size !== to.data.length)
        throw new ShearsError('E_DATA', `finetune: output ${term.name} is ${s.shape.join('x')} in the student but ${to.dims.join('x')} in the teacher`, { option: 'teacher' });
      const { match, kl } = outputLoss(tf, s, tf.reshape(tf.tensor(to.data, to.dims), s.shape), term, o.temperature);
      loss = tf.add(loss, tf.add(match, kl));
    }
  } else {
    const head = values[o.logits]!;
    const logits = head.rank === 2 ? head : tf.reshape(head, [head.shape[0]!, -1]);
    if (y) {
      hits = correct(tf, logits, y);
      if (o.alpha < 1) loss = tf.add(loss, tf.mul(crossEntropy(tf, logits, y, o.labelSmoothing), 1 - o.alpha));
    }
    if (t && o.alpha > 0) loss = tf.add(loss, tf.mul(distillation(tf, logits, tf.tensor(t.logits.data, t.logits.dims), o.temperature), o.alpha));
  }
  if (t)
    for (const f of o.features) {
      const sf = values[f]!;
      const tfeat = t.features[f]!;
      if (sf.size !== tfeat.data.length)
        throw new ShearsError('E_DATA', `finetune: feature ${f} is ${sf.shape.join('x')} in the student but ${tfeat.dims.join('x')} in the teacher`, { option: 'features' });
      loss = tf.add(loss, tf.mul(featureLoss(tf, sf, tf.reshape(tf.tensor(tfeat.data, tfeat.dims), sf.shape)), o.featureWeight));
    }
  return { loss, correct: hits };
}

export interface StepResult {
  loss: number;
  correct: number;
  grads: Tensor[];
  stats: ReturnType<TfGraph['forward']>['stats'];
}

export function trainStep(
  graph: TfGraph,
  params: Param[],
  vars: ReturnType<TfGraph['trainable']>[number]['variable'][],
  b: Prepared,
  t: TeacherOutputs | undefined,
  o: LossOptions,
): StepResult {
  const tf = graph.tf;
  let stats: StepResult['stats'] = [];
  let correctT: Tensor | undefined;
  const x = tf.tensor(b.x, b.dims, 'float32');
  const y = b.y && !o.outputs ? tf.tensor1d(b.y, 'int32') : undefined;
  const { value, grads } = tf.variableGrads(() => {
    const r = graph.forward(x, { training: true, outputs: stepValues(o, Boolean(t)) });
    stats = r.stats.map((s) => ({ param: s.param, value: tf.keep(s.value) }));
    const l = batchLoss(tf, r.outputs, y, t, o);
    if (l.correct) correctT = tf.keep(l.correct);
    return l.loss as any;
  }, vars);
  const loss = (value.dataSync() as Float32Array)[0]!;
  const c = correctT ? (correctT as Tensor).dataSync()[0]! : 0;
  value.dispose();
  (correctT as Tensor | undefined)?.dispose();
  x.dispose();
  y?.dispose();
  // Pruned weights get no gradient (so momentum never moves them either).
  const out = params.map((p) => {
    const g = grads[p.variable.name]!;
    if (!p.mask) return g;
    const m = tf.mul(g, p.mask);
    g.dispose();
    return m;
  });
  if (!Number.isFinite(loss)) {
    for (const g of out) g.dispose();
    for (const s of stats) s.value.dispose();
    return { loss, correct: c, grads: [], stats: [] };
  }
  return { loss, correct: c, grads: out, stats };
}

