// Optimizers over tfjs variables, written out (not tf.train) so that the
// learning rate can change every step, masks apply to the update, and the
// state can be saved in a checkpoint and restored.
import type { Tensor, TF, Variable } from './backend.js';

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export interface OptimizerOptions {
  name: OptimizerName;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  nesterov?: boolean;
  /** SGD/Adam: L2 added to the gradient; AdamW: decoupled decay (default 0.01 for AdamW, else 0). */
  weightDecay?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

export interface Optimizer {
  readonly name: OptimizerName;
  /** One update; `grads[i]` belongs to `vars[i]` and is already masked. */
  apply(vars: Variable[], grads: Tensor[], lr: number): void;
  /** Slot tensors by name, for checkpoints. */
  state(): Record<string, { dims: number[]; data: Float32Array }>;
  load(state: Record<string, { dims: number[]; data: Float32Array }>): number;
  readonly steps: number;
  dispose(): void;
}

export function createOptimizer(tf: TF, opts: OptimizerOptions): Optimizer {
  const slots = new Map<string, Variable>();
  let t = 0;
  const slot = (v: Variable, kind: string) => {
    // Keyed by the weight's IR name (variable names carry a per-process id).
    const key = `${kind}:${v.name.replace(/#\d+$/, '')}`;
    let s = slots.get(key);
    if (!s) {
      s = tf.variable(tf.zerosLike(v), false, `${v.name}/${kind}`);
      slots.set(key, s);
    }
    return s;
  };
  const momentum = opts.momentum ?? 0.9;
  const wd = opts.weightDecay ?? (opts.name === 'adamw' ? 0.01 : 0);
  const b1 = opts.beta1 ?? 0.9;
  const b2 = opts.beta2 ?? 0.999;
  const eps = opts.epsilon ?? 1e-8;
  return {
    name: opts.name,
    get steps() {
      return t;
    },
    apply(vars, grads, lr) {
      t++;
      tf.tidy(() => {
        vars.forEach((v, i) => {
          let g = grads[i]!;
          if (opts.name === 'sgd') {
            if (wd) g = tf.add(g, tf.mul(v, wd));
            if (momentum) {
              const m = slot(v, 'm');
              const next = tf.add(tf.mul(m, momentum), g);
              m.assign(next);
              g = opts.nesterov ? tf.add(g, tf.mul(next, momentum)) : next;
            }
            v.assign(tf.sub(v, tf.mul(g, lr)));
            return;
          }
          if (opts.name === 'adam' && wd) g = tf.add(g, tf.mul(v, wd));
          const m = slot(v, 'm');
          const s = slot(v, 'v');
          const mNext = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
          const sNext = tf.add(tf.mul(s, b2), tf.mul(tf.square(g), 1 - b2));
          m.assign(mNext);
          s.assign(sNext);
          const stepSize = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
          let next = tf.sub(v, tf.div(tf.mul(mNext, stepSize), tf.add(tf.sqrt(sNext), eps * Math.sqrt(1 - b2 ** t))));
          if (opts.name === 'adamw' && wd) next = tf.sub(next, tf.mul(v, lr * wd));
          v.assign(next);
        });
      });
    },
    state() {
      const out: Record<string, { dims: number[]; data: Float32Array }> = {};
      for (const [k, v] of slots) out[k] = { dims: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) };
      out['__step'] = { dims: [1], data: Float32Array.of(t) };
      return out;
    },
    load(state) {
      let n = 0;
      t = state['__step']?.data[0] ?? 0;
      for (const [k, s] of Object.entries(state)) {
        if (k === '__step') continue;
        const sep = k.indexOf(':');
        const kind = k.slice(0, sep);
        const varName = k.slice(sep + 1);
        const existing = slots.get(k);
        if (existing) tf.tidy(() => existing.assign(tf.tensor(s.data, s.dims)));
        else slots.set(k, tf.variable(tf.tensor(s.data, s.dims), false, `${varName}/${kind}#r${slots.size}-${Date.now()}`));
        n++;
      }
      return n;
    },
    dispose() {
      for (const s of slots.values()) s.dispose();
      slots.clear();
    },
  };
}

export type LrScheduleName = 'constant' | 'cosine' | 'step';

export interface LrScheduleOptions {
  name: LrScheduleName;
  lr: number;
  totalSteps: number;
  /** Linear warm-up from 0 over this many steps. */
  warmupSteps?: number;
  /** cosine: floor of the decay (default 0). */
  minLr?: number;
  /** step: multiply by `gamma` every `stepSize` steps. */
  stepSize?: number;
  gamma?: number;
}

/** The learning rate at a (0-based) step. */
export function learningRate(o: LrScheduleOptions, step: number): number {
  const warm = o.warmupSteps ?? 0;
  if (step < warm) return (o.lr * (step + 1)) / warm;
  const s = step - warm;
  const span = Math.max(1, o.totalSteps - warm);
  switch (o.name) {
    case 'constant':
      return o.lr;
    case 'cosine': {
      const min = o.minLr ?? 0;
      return min + ((o.lr - min) * (1 + Math.cos((Math.PI * Math.min(s, span)) / span))) / 2;
    }
    case 'step':
      return o.lr * (o.gamma ?? 0.1) ** Math.floor(s / Math.max(1, o.stepSize ?? span));
  }
}
