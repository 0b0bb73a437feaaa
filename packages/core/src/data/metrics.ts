/** The q-quantile of ascending `sorted` values, interpolating linearly (NaN when empty). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * How many classes of row `row` score strictly higher than `label`: 0 means
 * top-1, < 5 top-5. Ties favour the label, so every evaluator in Shears
 * (onnxruntime, LiteRT, worker threads) counts a sample the same way.
 */
export function labelRank(scores: ArrayLike<number>, row: number, classes: number, label: number): number {
  const base = row * classes;
  const s = scores[base + label]!;
  let rank = 0;
  for (let c = 0; c < classes; c++) if (scores[base + c]! > s) rank++;
  return rank;
}
