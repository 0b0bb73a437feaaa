import type { Tensor, TF } from './backend.js';

/** Mean cross-entropy of logits [N, K] against integer labels. */
export function crossEntropy(tf: TF, logits: Tensor, labels: Tensor, labelSmoothing = 0): Tensor {
  const k = logits.shape[logits.rank - 1]!;
  const onehot = tf.oneHot(tf.cast(labels, 'int32'), k);
  return tf.losses.softmaxCrossEntropy(onehot, logits, undefined, labelSmoothing);
}

/**
 * Knowledge distillation (Hinton et al.): T² · KL(softmax(t/T) ‖ softmax(s/T)),
 * averaged over the batch. The T² keeps gradient magnitudes comparable across
 * temperatures.
 */
export function distillation(tf: TF, student: Tensor, teacher: Tensor, temperature: number): Tensor {
  const T = temperature;
  const logPt = tf.logSoftmax(tf.div(teacher, T));
  const logPs = tf.logSoftmax(tf.div(student, T));
  const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)), -1);
  return tf.mul(tf.mean(kl), T * T);
}

/** Mean squared error between two feature maps (feature distillation). */
export function featureLoss(tf: TF, student: Tensor, teacher: Tensor): Tensor {
  return tf.mean(tf.squaredDifference(student, teacher));
}

/** Number of rows whose arg-max equals the label. */
export function correct(tf: TF, logits: Tensor, labels: Tensor): Tensor {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(labels, 'int32')), 'int32'));
}
