// One training step's forward and backward pass, shared by the main thread
// and the data-parallel step worker (parallel.ts, worker.ts).

import { ShearsError } from '@shears/core';
import type { Tensor } from './backend.js';
import type { TfGraph } from './graph/graph.js';
import type { Param } from './graph/types.js';
import { correct, crossEntropy, distillation, featureLoss } from './losses.js';
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
  const logitsName = o.logits;
  let stats: StepResult['stats'] = [];
  let correctT: Tensor | undefined;
  const x = tf.tensor(b.x, b.dims, 'float32');
  const y = b.y ? tf.tensor1d(b.y, 'int32') : undefined;
  const { value, grads } = tf.variableGrads(() => {
    const r = graph.forward(x, { training: true, outputs: [logitsName, ...(t ? o.features : [])] });
    stats = r.stats.map((s) => ({ param: s.param, value: tf.keep(s.value) }));
    const head = r.outputs[logitsName]!;
    const logits = head.rank === 2 ? head : tf.reshape(head, [head.shape[0]!, -1]);
    let loss: Tensor = tf.scalar(0);
    if (y) {
      correctT = tf.keep(correct(tf, logits, y));
      if (o.alpha < 1) loss = tf.add(loss, tf.mul(crossEntropy(tf, logits, y, o.labelSmoothing), 1 - o.alpha));
    }
    if (t) {
      if (o.alpha > 0) loss = tf.add(loss, tf.mul(distillation(tf, logits, tf.tensor(t.logits.data, t.logits.dims), o.temperature), o.alpha));
      for (const f of o.features) {
        const sf = r.outputs[f]!;
        const tfeat = t.features[f]!;
        if (sf.size !== tfeat.data.length)
          throw new ShearsError('E_DATA', `finetune: feature ${f} is ${sf.shape.join('x')} in the student but ${tfeat.dims.join('x')} in the teacher`, { option: 'features' });
        loss = tf.add(loss, tf.mul(featureLoss(tf, sf, tf.reshape(tf.tensor(tfeat.data, tfeat.dims), sf.shape)), o.featureWeight));
      }
    }
    return loss as any;
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

