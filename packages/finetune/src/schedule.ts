/**
 * Gradual pruning during fine-tuning. Any object with `sparsityAt(step)` is a
 * schedule (the unstructured package's oneShot / iterative / agp, or your
 * own); every `every` steps the trainer asks it for the target sparsity and
 * re-prunes the weights of prunable ops, then keeps the new zeros at zero.
 */
export interface PruneSchedule {
  /** Target sparsity (fraction of weights at zero) at an optimizer step. */
  sparsityAt(step: number): number;
  /** A schedule may bring its own re-pruning. */
  reprune?: Repruner;
}

/** One weight to re-prune: values and current mask in ONNX order; update `mask` in place. */
export interface RepruneTarget {
  name: string;
  dims: number[];
  weights: Float32Array;
  /** 1 keep, 0 pruned. */
  mask: Uint8Array;
}

export type Repruner = (targets: RepruneTarget[], sparsity: number, step: number) => void | Promise<void>;

export interface PruneScheduleOptions {
  schedule: PruneSchedule;
  /** Re-prune every this many steps (default 100). */
  every?: number;
  /** How to re-prune (default: magnitude, per `scope`). Overrides `schedule.reprune`. */
  reprune?: Repruner;
  /** Default re-pruner: one threshold across layers, or the same sparsity in each (default 'layer'). */
  scope?: 'layer' | 'global';
}

/**
 * Magnitude re-pruning: prune the smallest |w| until each tensor (scope
 * 'layer') or all together ('global') reach the sparsity. Masks only ever
 * grow: a pruned weight stays pruned.
 */
export function magnitudeReprune(scope: 'layer' | 'global' = 'layer'): Repruner {
  return (targets, sparsity) => {
    const s = Math.min(Math.max(sparsity, 0), 1);
    if (scope === 'layer') {
      for (const t of targets) pruneSmallest([t], Math.floor(s * t.weights.length));
    } else {
      const total = targets.reduce((a, t) => a + t.weights.length, 0);
      pruneSmallest(targets, Math.floor(s * total));
    }
  };
}

function pruneSmallest(targets: RepruneTarget[], count: number): void {
  let already = 0;
  for (const t of targets) for (let i = 0; i < t.mask.length; i++) if (!t.mask[i]) already++;
  let need = count - already;
  if (need <= 0) return;
  const total = targets.reduce((a, t) => a + t.weights.length, 0);
  const mags = new Float32Array(total - already);
  const where = new Uint32Array(total - already);
  const owner = new Uint16Array(total - already);
  let k = 0;
  targets.forEach((t, ti) => {
    for (let i = 0; i < t.weights.length; i++) {
      if (!t.mask[i]) continue;
      mags[k] = Math.abs(t.weights[i]!);
      where[k] = i;
      owner[k] = ti;
      k++;
    }
  });
  const order = Array.from(mags.keys()).sort((a, b) => mags[a]! - mags[b]!);
  for (const j of order) {
    if (need-- <= 0) break;
    targets[owner[j]!]!.mask[where[j]!] = 0;
  }
}
