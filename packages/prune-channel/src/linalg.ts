// Dense linear algebra in Float64Array: symmetric Gram accumulation, Cholesky,
// and ridge-regularized least squares with many right-hand sides.

/** G += x xᵀ on the upper triangle (G is n×n row-major); zeros in x are skipped. */
export function rank1Upper(G: Float64Array, x: Float64Array, n: number): void {
  for (let a = 0; a < n; a++) {
    const xa = x[a]!;
    if (xa === 0) continue;
    const row = a * n;
    for (let b = a; b < n; b++) G[row + b] += xa * x[b]!;
  }
}

/** Copy the upper triangle onto the lower one. */
export function symmetrize(G: Float64Array, n: number): void {
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) G[b * n + a] = G[a * n + b]!;
}

/**
 * In-place Cholesky G = L Lᵀ (lower triangle of G becomes L). Returns false
 * when G is not numerically positive definite.
 */
export function cholesky(G: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = G[rj + j]!;
    for (let k = 0; k < j; k++) d -= G[rj + k]! * G[rj + k]!;
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    G[rj + j] = l;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = G[ri + j]!;
      for (let k = 0; k < j; k++) s -= G[ri + k]! * G[rj + k]!;
      G[ri + j] = s / l;
    }
  }
  return true;
}

/** Solve L Lᵀ X = B in place for B (n×m row-major, m right-hand sides), L from cholesky(). */
export function cholSolve(L: Float64Array, n: number, B: Float64Array, m: number): void {
  forwardRows(L, n, B, m, 0, n);
  backwardRows(L, n, B, m, 0, n);
}

/**
 * Forward substitution L y = b for rows r0..r1-1, using L's columns r0..i-1
 * only (columns before r0 already subtracted by the caller).
 */
function forwardRows(L: Float64Array, n: number, B: Float64Array, m: number, r0: number, r1: number): void {
  for (let i = r0; i < r1; i++) {
    const ri = i * n;
    const bi = i * m;
    for (let k = r0; k < i; k++) {
      const l = L[ri + k]!;
      if (l === 0) continue;
      const bk = k * m;
      for (let c = 0; c < m; c++) B[bi + c] -= l * B[bk + c]!;
    }
    const d = L[ri + i]!;
    for (let c = 0; c < m; c++) B[bi + c] /= d;
  }
}

/** Backward substitution Lᵀ x = y for rows r1-1..r0, using L's rows i+1..r1-1 only (the rest already subtracted). */
function backwardRows(L: Float64Array, n: number, B: Float64Array, m: number, r0: number, r1: number): void {
  for (let i = r1 - 1; i >= r0; i--) {
    const bi = i * m;
    for (let k = i + 1; k < r1; k++) {
      const l = L[k * n + i]!;
      if (l === 0) continue;
      const bk = k * m;
      for (let c = 0; c < m; c++) B[bi + c] -= l * B[bk + c]!;
    }
    const d = L[i * n + i]!;
    for (let c = 0; c < m; c++) B[bi + c] /= d;
  }
}

/** op(A) · op(B) in float64 (onnxruntime). */
export type Mul64 = (A: Float64Array, aDims: [number, number], B: Float64Array, bDims: [number, number], transA?: boolean, transB?: boolean) => Promise<Float64Array>;

/** Block size of the blocked factorization and solves; below it, the plain loops. */
export const BLOCK = 64;

/** Rows r0..r1 × columns c0..c1 of the n×n row-major A, as a contiguous matrix. */
function block(A: Float64Array, n: number, r0: number, r1: number, c0: number, c1: number): Float64Array {
  const w = c1 - c0;
  const out = new Float64Array((r1 - r0) * w);
  for (let i = r0; i < r1; i++) out.set(A.subarray(i * n + c0, i * n + c1), (i - r0) * w);
  return out;
}

/**
 * Blocked right-looking Cholesky, same result as cholesky(): each panel of
 * `nb` columns is factored in JavaScript (O(n·nb²)), and the trailing update
 * A₂₂ −= L₂₁L₂₁ᵀ, which holds nearly all the O(n³/3) work, runs as one
 * float64 product in onnxruntime. Falls back to cholesky() without `mul`
 * or for n ≤ nb.
 */
export async function choleskyBlocked(A: Float64Array, n: number, mul?: Mul64, nb = BLOCK): Promise<boolean> {
  if (!mul || n <= nb) return cholesky(A, n);
  for (let k0 = 0; k0 < n; k0 += nb) {
    const k1 = Math.min(n, k0 + nb);
    // Panel: columns k0..k1 of L (rows k0..n), left-looking within the panel.
    for (let j = k0; j < k1; j++) {
      const rj = j * n;
      let d = A[rj + j]!;
      for (let k = k0; k < j; k++) d -= A[rj + k]! * A[rj + k]!;
      if (!(d > 0)) return false;
      const l = Math.sqrt(d);
      A[rj + j] = l;
      for (let i = j + 1; i < n; i++) {
        const ri = i * n;
        let s = A[ri + j]!;
        for (let k = k0; k < j; k++) s -= A[ri + k]! * A[rj + k]!;
        A[ri + j] = s / l;
      }
    }
    if (k1 >= n) break;
    const m = n - k1;
    const L21 = block(A, n, k1, n, k0, k1);
    const P = await mul(L21, [m, k1 - k0], L21, [m, k1 - k0], false, true);
    for (let i = 0; i < m; i++) {
      const ri = (k1 + i) * n + k1;
      const pi = i * m;
      for (let j = 0; j <= i; j++) A[ri + j] -= P[pi + j]!;
    }
  }
  return true;
}

/**
 * cholSolve() in blocks: the off-diagonal parts of the forward and backward
 * substitutions are float64 products in onnxruntime, only the nb×nb diagonal
 * blocks are solved in JavaScript. Falls back to cholSolve() without `mul`
 * or for n ≤ nb.
 */
export async function cholSolveBlocked(L: Float64Array, n: number, B: Float64Array, m: number, mul?: Mul64, nb = BLOCK): Promise<void> {
  if (!mul || n <= nb) return cholSolve(L, n, B, m);
  const starts: number[] = [];
  for (let k0 = 0; k0 < n; k0 += nb) starts.push(k0);
  // Forward: L y = b.
  for (const r0 of starts) {
    const r1 = Math.min(n, r0 + nb);
    if (r0 > 0) {
      const P = await mul(block(L, n, r0, r1, 0, r0), [r1 - r0, r0], B.subarray(0, r0 * m), [r0, m]);
      for (let i = 0; i < P.length; i++) B[r0 * m + i] -= P[i]!;
    }
    forwardRows(L, n, B, m, r0, r1);
  }
  // Backward: Lᵀ x = y.
  for (const r0 of starts.reverse()) {
    const r1 = Math.min(n, r0 + nb);
    if (r1 < n) {
      const P = await mul(block(L, n, r1, n, r0, r1), [n - r1, r1 - r0], B.subarray(r1 * m, n * m), [n - r1, m], true, false);
      for (let i = 0; i < P.length; i++) B[r0 * m + i] -= P[i]!;
    }
    backwardRows(L, n, B, m, r0, r1);
  }
}

/**
 * Ridge least squares from normal equations: solves (G + λI) X = B, with
 * G the upper-triangle Gram (n×n, modified) and B n×m (overwritten by X).
 * λ = ridge × mean(diag G); the last `free` unknowns (an intercept) are not
 * regularized. Raises λ tenfold until the factorization succeeds. Returns λ.
 */
export function ridgeSolve(G: Float64Array, n: number, B: Float64Array, m: number, ridge: number, free = 0): number {
  symmetrize(G, n);
  let tr = 0;
  for (let i = 0; i < n - free; i++) tr += G[i * n + i]!;
  const scale = tr / Math.max(1, n - free) || 1;
  let lambda = ridge * scale;
  const diag = Float64Array.from({ length: n }, (_, i) => G[i * n + i]!);
  const A = new Float64Array(G.length);
  for (let attempt = 0; attempt < 12; attempt++) {
    A.set(G);
    for (let i = 0; i < n; i++) A[i * n + i] = diag[i]! + (i < n - free ? lambda : Math.max(lambda * 1e-6, 1e-12));
    if (cholesky(A, n)) {
      cholSolve(A, n, B, m);
      return lambda;
    }
    lambda = Math.max(lambda * 10, 1e-12 * scale);
  }
  throw new Error('normal equations are not positive definite even with a large ridge term');
}

export interface RidgeFit {
  /** Weights over the kept features, nk × O (row per feature). */
  W: Float64Array;
  /** Intercept per output (zeros without one). */
  b: Float64Array;
  lambda: number;
}

type Mul = (A: Float32Array, aDims: [number, number], B: Float32Array, bDims: [number, number], transA?: boolean, transB?: boolean) => Promise<Float32Array>;

/**
 * Ridge regression Y ≈ X W + b over R sampled rows (X: R × nk, Y: R × O,
 * Float32 row-major). With an intercept, X and Y are centred first, so the
 * intercept is not regularized: b = ȳ − x̄ᵀW. λ = ridge × mean diag(XᵀX).
 * Primal normal equations (nk × nk Cholesky) when R ≥ nk, else the dual
 * (R × R kernel) form, which is the same ridge solution. Products run
 * through `mul` (onnxruntime); factorization and triangular solves in Float64.
 */
export async function fitRidge(X: Float32Array, Y: Float32Array, R: number, nk: number, O: number, intercept: boolean, ridge: number, mul: Mul, mul64?: Mul64): Promise<RidgeFit> {
  const mx = new Float64Array(nk);
  const my = new Float64Array(O);
  if (intercept && R > 0) {
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < nk; j++) mx[j] += X[r * nk + j]!;
      for (let o = 0; o < O; o++) my[o] += Y[r * O + o]!;
    }
    for (let j = 0; j < nk; j++) mx[j] /= R;
    for (let o = 0; o < O; o++) my[o] /= R;
    X = X.slice(0, R * nk);
    Y = Y.slice(0, R * O);
    for (let r = 0; r < R; r++) {
      for (let j = 0; j < nk; j++) X[r * nk + j] -= mx[j]!;
      for (let o = 0; o < O; o++) Y[r * O + o] -= my[o]!;
    }
  } else {
    X = X.subarray(0, R * nk);
    Y = Y.subarray(0, R * O);
  }
  const solve = async (A32: Float32Array, n: number, B32: Float32Array, scaleTrace: number): Promise<{ sol: Float64Array; lambda: number }> => {
    const A = Float64Array.from(A32);
    let lambda = ridge * scaleTrace || 1e-12;
    const diag = Float64Array.from({ length: n }, (_, i) => A[i * n + i]!);
    for (let attempt = 0; attempt < 12; attempt++) {
      const L = attempt === 0 ? A : Float64Array.from(A32);
      for (let i = 0; i < n; i++) L[i * n + i] = diag[i]! + lambda;
      if (await choleskyBlocked(L, n, mul64)) {
        const sol = Float64Array.from(B32);
        await cholSolveBlocked(L, n, sol, O, mul64);
        return { sol, lambda };
      }
      lambda = Math.max(lambda * 10, 1e-9 * (scaleTrace || 1));
    }
    throw new Error('normal equations are not positive definite even with a large ridge term');
  };
  if (R >= nk) {
    const G = await mul(X, [R, nk], X, [R, nk], true, false);
    const B = await mul(X, [R, nk], Y, [R, O], true, false);
    let tr = 0;
    for (let i = 0; i < nk; i++) tr += G[i * nk + i]!;
    const { sol, lambda } = await solve(G, nk, B, tr / Math.max(1, nk));
    const b = new Float64Array(O);
    if (intercept) for (let o = 0; o < O; o++) b[o] = my[o]! - mx.reduce((s, m, j) => s + m * sol[j * O + o]!, 0);
    return { W: sol, b, lambda };
  }
  const K = await mul(X, [R, nk], X, [R, nk], false, true);
  let tr = 0;
  for (let i = 0; i < R; i++) tr += K[i * R + i]!;
  const { sol: alpha, lambda } = await solve(K, R, Y, tr / Math.max(1, nk));
  const W = Float64Array.from(await mul(X, [R, nk], Float32Array.from(alpha), [R, O], true, false));
  const b = new Float64Array(O);
  if (intercept) for (let o = 0; o < O; o++) b[o] = my[o]! - mx.reduce((s, m, j) => s + m * W[j * O + o]!, 0);
  return { W, b, lambda };
}
