// Channel rankings from the summed contribution Gram G (C×C): G[a,b] =
// Σ over sampled outputs of z_a z_b, where z_c is channel c's contribution to
// a consumer's output (normalized by that consumer's output energy and
// summed over every consumer of the group). Lower score = pruned first.

/**
 * Greedy ThiNet: repeatedly drop the free channel whose removal adds least
 * reconstruction error ||Σ_{c∈T} z_c||². The score of a channel is the
 * relative error once it is dropped (non-decreasing along the greedy order),
 * so the n lowest scores are exactly the first n greedy picks.
 */
export function greedyScores(G: Float64Array, C: number, free: boolean[]): Float32Array {
  const score = new Float32Array(C).fill(Infinity);
  const v = new Float64Array(C);
  const taken = new Uint8Array(C);
  let err = 0;
  let last = 0;
  const nFree = free.filter(Boolean).length;
  for (let step = 0; step < nFree; step++) {
    let best = -1;
    let bestErr = Infinity;
    for (let c = 0; c < C; c++) {
      if (taken[c] || !free[c]) continue;
      const e = err + 2 * v[c]! + G[c * C + c]!;
      if (e < bestErr) {
        bestErr = e;
        best = c;
      }
    }
    taken[best] = 1;
    err = bestErr;
    last = Math.max(last * (1 + 1e-9) + 1e-30, err);
    score[best] = last;
    const row = best * C;
    for (let c = 0; c < C; c++) v[c] += G[row + c]!;
  }
  // Pinned channels never go; give them the top score.
  const top = Math.max(1, last) * 2;
  for (let c = 0; c < C; c++) if (!free[c]) score[c] = top;
  return score;
}

/**
 * LASSO over channel coefficients (He et al. 2017): min ||y − Σ β_c z_c||² +
 * λ|β|₁ with y = Σ z_c, by coordinate descent on G along a λ path. A
 * channel's score is λ/λmax at which its β first reaches zero (the sooner,
 * the less it matters); survivors score 1 + |β|.
 */
export function lassoScores(G: Float64Array, C: number, free: boolean[], steps = 24, sweeps = 25): Float32Array {
  const b = new Float64Array(C);
  for (let a = 0; a < C; a++) {
    let s = 0;
    for (let c = 0; c < C; c++) s += G[a * C + c]!;
    b[a] = s;
  }
  let lmax = 0;
  for (let c = 0; c < C; c++) lmax = Math.max(lmax, 2 * Math.abs(b[c]!));
  const beta = new Float64Array(C).fill(1);
  const score = new Float32Array(C).fill(NaN);
  if (!(lmax > 0)) return Float32Array.from(free, (f) => (f ? 0 : 2));
  // Gradient part g_c = Σ_d G[c,d] β_d, kept current.
  const g = new Float64Array(C);
  for (let a = 0; a < C; a++) g[a] = b[a]!;
  for (let s = 0; s < steps; s++) {
    const t = 1e-3 * 1e3 ** (s / (steps - 1));
    const lam = t * lmax;
    for (let it = 0; it < sweeps; it++) {
      let change = 0;
      for (let c = 0; c < C; c++) {
        if (!free[c]) continue;
        const gcc = G[c * C + c]!;
        if (!(gcc > 0)) {
          if (beta[c] !== 0) {
            const d = -beta[c]!;
            beta[c] = 0;
            for (let a = 0; a < C; a++) g[a] += G[a * C + c]! * d;
          }
          continue;
        }
        const rho = b[c]! - (g[c]! - gcc * beta[c]!);
        const nb = Math.sign(rho) * Math.max(0, Math.abs(rho) - lam / 2) / gcc;
        const d = nb - beta[c]!;
        if (d !== 0) {
          beta[c] = nb;
          for (let a = 0; a < C; a++) g[a] += G[a * C + c]! * d;
          change = Math.max(change, Math.abs(d));
        }
      }
      if (change < 1e-6) break;
    }
    for (let c = 0; c < C; c++) if (free[c] && beta[c] === 0 && Number.isNaN(score[c]!)) score[c] = t;
  }
  for (let c = 0; c < C; c++) if (Number.isNaN(score[c]!)) score[c] = free[c] ? 1 + Math.abs(beta[c]!) : 1e6;
  return score;
}
