// Dense linear algebra for OBS-style reconstruction, in Float64Arrays
// (row-major, with leading dimensions). The O(n³) work is a handful of large
// GEMMs through a MatrixEngine: onnxruntime's Gemm (MLAS, multi-threaded) via
// @shears/runtime, or plain JS for small sizes and tests. JS only does the
// O(n²·b) parts: base cases of the recursive Cholesky and triangular inverse,
// packing, and the SparseGPT in-block sweeps.
//
// Memory: large fresh allocations are slow (first touch of every page), so
// the algorithms work in place and take their scratch from an Arena that a
// caller keeps across layers.

import { Graph, Model, Node, Value, type DType } from '@shears/core';
import type { ModelRuntime, RuntimeSession } from '@shears/core';

export type Matrix = Float64Array | Float32Array;

export interface GemmOptions<T extends Matrix = Matrix> {
  /** op(A) is m×k, op(B) is k×n. */
  m: number;
  k: number;
  n: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  /** m×n, added as beta·C. */
  c?: T;
  /** Where to write the m×n result (may not alias A, B or C); a new array when absent. */
  out?: T;
}

/** Y = alpha·op(A)·op(B) + beta·C. */
export interface MatrixEngine {
  gemm<T extends Matrix>(a: T, b: T, opts: GemmOptions<T>): Promise<T>;
  release(): Promise<void>;
}

/** Below this many multiply-adds a product runs in JS (the ORT call costs more). */
const ORT_MIN_MACS = 1 << 20;

/** Plain JS GEMM. For small products and as the reference in tests. */
export function gemmJs<T extends Matrix>(a: T, b: T, o: GemmOptions<T>): T {
  const { m, k, n } = o;
  const alpha = o.alpha ?? 1;
  const beta = o.c ? (o.beta ?? 0) : 0;
  const out = o.out ?? ((a instanceof Float64Array ? new Float64Array(m * n) : new Float32Array(m * n)) as T);
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    for (let p = 0; p < k; p++) {
      const av = o.transA ? a[p * m + i]! : a[i * k + p]!;
      if (av === 0) continue;
      if (o.transB) for (let j = 0; j < n; j++) row[j] += av * b[j * k + p]!;
      else {
        const bo = p * n;
        for (let j = 0; j < n; j++) row[j] += av * b[bo + j]!;
      }
    }
    const oo = i * n;
    if (beta !== 0) for (let j = 0; j < n; j++) out[oo + j] = alpha * row[j]! + beta * o.c![oo + j]!;
    else for (let j = 0; j < n; j++) out[oo + j] = alpha * row[j]!;
  }
  return out;
}

export function jsEngine(): MatrixEngine {
  return { gemm: async (a, b, o) => gemmJs(a, b, o), release: async () => {} };
}

/** A one-node Gemm model with dynamic sizes. */
function gemmModel(dtype: DType, transA: boolean, transB: boolean, alpha: number, beta: number, withC: boolean): Model {
  const g = new Graph('gemm');
  const t = (name: string, dims: string[]) => new Value(name, { kind: 'tensor', dtype, shape: dims });
  const inputs = [g.addInput(t('A', ['a0', 'a1'])), g.addInput(t('B', ['b0', 'b1']))];
  if (withC) inputs.push(g.addInput(t('C', ['m', 'n'])));
  const attrs = {
    transA: { type: 'int' as const, value: transA ? 1 : 0 },
    transB: { type: 'int' as const, value: transB ? 1 : 0 },
    alpha: { type: 'float' as const, value: alpha },
    beta: { type: 'float' as const, value: beta },
  };
  const node = g.appendNode(new Node({ opType: 'Gemm', inputs, outputs: ['Y'], attributes: attrs }));
  node.outputs[0]!.type = { kind: 'tensor', dtype, shape: ['m', 'n'] };
  g.outputs.push(node.outputs[0]!);
  return new Model({ graph: g, opsetImports: { '': 17 } });
}

/**
 * GEMM on the run's runtime (onnxruntime's MLAS through `ctx.runtime`): one
 * small session per dtype/transpose/alpha/beta combination, created on first
 * use; results are written into `out` in place.
 */
export function runtimeEngine(runtime: ModelRuntime, opts: { threads?: number } = {}): MatrixEngine {
  const sessions = new Map<string, Promise<RuntimeSession>>();
  return {
    async gemm(a, b, o) {
      if (o.m * o.k * o.n < ORT_MIN_MACS) return gemmJs(a, b, o);
      const dtype: DType = a instanceof Float64Array ? 'float64' : 'float32';
      const alpha = o.alpha ?? 1;
      const beta = o.c ? (o.beta ?? 0) : 0;
      const withC = beta !== 0;
      const key = `${dtype}:${o.transA ? 1 : 0}${o.transB ? 1 : 0}:${alpha}:${beta}`;
      let s = sessions.get(key);
      if (!s) sessions.set(key, (s = runtime.session(gemmModel(dtype, !!o.transA, !!o.transB, alpha, beta, withC), { threads: opts.threads, graphOptimization: 'basic' })));
      const feeds: Record<string, { dims: number[]; data: Matrix }> = {
        A: { dims: o.transA ? [o.k, o.m] : [o.m, o.k], data: a },
        B: { dims: o.transB ? [o.n, o.k] : [o.k, o.n], data: b },
      };
      if (withC) feeds.C = { dims: [o.m, o.n], data: o.c! };
      const out = o.out ?? ((dtype === 'float64' ? new Float64Array(o.m * o.n) : new Float32Array(o.m * o.n)) as typeof a);
      await (await s).run(feeds, ['Y'], { into: { Y: { dims: [o.m, o.n], data: out } } });
      return out;
    },
    async release() {
      const all = [...sessions.values()];
      sessions.clear();
      for (const s of all) await (await s).release();
    },
  };
}

/**
 * Scratch memory handed out stack-wise (mark / reset) from buffers that are
 * kept and reused, so repeated factorizations touch fresh pages only once.
 */
export class Arena {
  #bufs: Float64Array[] = [];
  #cur = 0;
  #off = 0;

  /** Uninitialized (reused) memory: the caller overwrites it. */
  alloc(len: number): Float64Array {
    while (this.#cur < this.#bufs.length) {
      const b = this.#bufs[this.#cur]!;
      if (this.#off + len <= b.length) {
        const v = b.subarray(this.#off, this.#off + len);
        this.#off += len;
        return v;
      }
      if (this.#cur === this.#bufs.length - 1) break;
      this.#cur++;
      this.#off = 0;
    }
    const b = new Float64Array(Math.max(len, 1 << 20));
    this.#bufs.push(b);
    this.#cur = this.#bufs.length - 1;
    this.#off = len;
    return b.subarray(0, len);
  }

  mark(): number {
    return this.#cur * 2 ** 32 + this.#off;
  }

  reset(mark = 0): void {
    this.#cur = Math.floor(mark / 2 ** 32);
    this.#off = mark % 2 ** 32;
  }

  get bytes(): number {
    return this.#bufs.reduce((a, b) => a + b.byteLength, 0);
  }
}

/** Copy a rows×cols block at (r0, c0) of an ld-wide matrix into `out` (contiguous). */
export function pack(src: Float64Array, ld: number, r0: number, c0: number, rows: number, cols: number, out: Float64Array): Float64Array {
  for (let i = 0; i < rows; i++) out.set(src.subarray((r0 + i) * ld + c0, (r0 + i) * ld + c0 + cols), i * cols);
  return out;
}

export function unpack(dst: Float64Array, ld: number, r0: number, c0: number, src: Float64Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) dst.set(src.subarray(i * cols, (i + 1) * cols), (r0 + i) * ld + c0);
}

export class NotPositiveDefinite extends Error {}

const BASE = 160;
const split = (s: number) => Math.ceil(s / 2 / 32) * 32;

/** Unblocked in-place lower Cholesky of the s×s block at (r0, r0). Reads the lower triangle only. */
function cholBase(a: Float64Array, ld: number, r0: number, s: number): void {
  for (let j = 0; j < s; j++) {
    const rj = (r0 + j) * ld + r0;
    let d = a[rj + j]!;
    for (let p = 0; p < j; p++) d -= a[rj + p]! * a[rj + p]!;
    if (!(d > 0)) throw new NotPositiveDefinite(`pivot ${r0 + j} is ${d}`);
    const djj = Math.sqrt(d);
    a[rj + j] = djj;
    for (let i = j + 1; i < s; i++) {
      const ri = (r0 + i) * ld + r0;
      let v = a[ri + j]!;
      for (let p = 0; p < j; p++) v -= a[ri + p]! * a[rj + p]!;
      a[ri + j] = v / djj;
    }
  }
}

/** In-place inverse of the lower-triangular s×s block at (r0, r0), column by column. */
function invBase(a: Float64Array, ld: number, r0: number, s: number): void {
  const at = (i: number, j: number) => (r0 + i) * ld + r0 + j;
  for (let j = 0; j < s; j++) {
    const xjj = 1 / a[at(j, j)]!;
    a[at(j, j)] = xjj;
    for (let i = j + 1; i < s; i++) {
      // X[i][j] = −(L[i][j]·X[j][j] + Σ_{j<p<i} L[i][p]·X[p][j]) / L[i][i]; columns > j still hold L.
      const ri = at(i, 0);
      let v = a[ri + j]! * xjj;
      for (let p = j + 1; p < i; p++) v += a[ri + p]! * a[at(p, j)]!;
      a[ri + j] = -v / a[ri + i]!;
    }
  }
}

/** Pack the lower triangle of the s×s block at (r0, r0), zeros above. */
function packLower(src: Float64Array, ld: number, r0: number, s: number, out: Float64Array): Float64Array {
  for (let i = 0; i < s; i++) {
    const o = i * s;
    out.set(src.subarray((r0 + i) * ld + r0, (r0 + i) * ld + r0 + i + 1), o);
    out.fill(0, o + i + 1, o + s);
  }
  return out;
}

/**
 * In-place lower Cholesky (A = L·Lᵀ) of the s×s block of `a` at (r0, r0),
 * recursively by halves: L21 = A21·L11⁻ᵀ and A22 −= L21·L21ᵀ as GEMMs.
 * Only the lower triangle is read and written.
 */
export async function choleskyInPlace(a: Float64Array, ld: number, engine: MatrixEngine, arena: Arena, r0 = 0, s = ld): Promise<void> {
  if (s <= BASE) return cholBase(a, ld, r0, s);
  const h = split(s);
  const m = s - h;
  await choleskyInPlace(a, ld, engine, arena, r0, h);
  const mark = arena.mark();
  const x11 = packLower(a, ld, r0, h, arena.alloc(h * h));
  await inverseLowerInPlace(x11, h, engine, arena);
  const a21 = pack(a, ld, r0 + h, r0, m, h, arena.alloc(m * h));
  const l21 = await engine.gemm(a21, x11, { m, k: h, n: h, transB: true, out: arena.alloc(m * h) });
  unpack(a, ld, r0 + h, r0, l21, m, h);
  const a22 = pack(a, ld, r0 + h, r0 + h, m, m, arena.alloc(m * m));
  const t = await engine.gemm(l21, l21, { m, k: h, n: m, transB: true, alpha: -1, beta: 1, c: a22, out: arena.alloc(m * m) });
  unpack(a, ld, r0 + h, r0 + h, t, m, m);
  arena.reset(mark);
  await choleskyInPlace(a, ld, engine, arena, r0 + h, m);
}

/**
 * In-place inverse of the lower-triangular s×s block at (r0, r0), recursively:
 * X11 = L11⁻¹, X22 = L22⁻¹, X21 = −X22·L21·X11.
 */
export async function inverseLowerInPlace(a: Float64Array, ld: number, engine: MatrixEngine, arena: Arena, r0 = 0, s = ld): Promise<void> {
  if (s <= BASE) return invBase(a, ld, r0, s);
  const h = split(s);
  const m = s - h;
  await inverseLowerInPlace(a, ld, engine, arena, r0, h);
  await inverseLowerInPlace(a, ld, engine, arena, r0 + h, m);
  const mark = arena.mark();
  const l21 = pack(a, ld, r0 + h, r0, m, h, arena.alloc(m * h));
  const x11 = packLower(a, ld, r0, h, arena.alloc(h * h));
  const t = await engine.gemm(l21, x11, { m, k: h, n: h, out: arena.alloc(m * h) });
  const x22 = packLower(a, ld, r0 + h, m, arena.alloc(m * m));
  const x21 = await engine.gemm(x22, t, { m, k: m, n: h, alpha: -1, out: arena.alloc(m * h) });
  unpack(a, ld, r0 + h, r0, x21, m, h);
  arena.reset(mark);
}

/**
 * In place, the inverse of the Cholesky factor of the s×s block at (r0, r0):
 * A = L·Lᵀ, and the block's lower triangle becomes X = L⁻¹ (L itself is never
 * stored whole). Recursively: X11 = chol⁻¹(A11); L21 = A21·X11ᵀ;
 * X22 = chol⁻¹(A22 − L21·L21ᵀ); X21 = −X22·L21·X11. Four GEMMs per level,
 * ≈ 2n³/3 multiply-adds in all. Reads the lower triangle only.
 */
export async function choleskyInverseInPlace(a: Float64Array, ld: number, engine: MatrixEngine, arena: Arena, r0 = 0, s = ld): Promise<void> {
  if (s <= BASE) {
    cholBase(a, ld, r0, s);
    invBase(a, ld, r0, s);
    return;
  }
  const h = split(s);
  const m = s - h;
  await choleskyInverseInPlace(a, ld, engine, arena, r0, h);
  const mark = arena.mark();
  const x11 = packLower(a, ld, r0, h, arena.alloc(h * h));
  const a21 = pack(a, ld, r0 + h, r0, m, h, arena.alloc(m * h));
  const l21 = await engine.gemm(a21, x11, { m, k: h, n: h, transB: true, out: arena.alloc(m * h) });
  const a22 = pack(a, ld, r0 + h, r0 + h, m, m, arena.alloc(m * m));
  const schur = await engine.gemm(l21, l21, { m, k: h, n: m, transB: true, alpha: -1, beta: 1, c: a22, out: arena.alloc(m * m) });
  unpack(a, ld, r0 + h, r0 + h, schur, m, m);
  // L21·X11 now (a21's space is free again), before the recursion reuses the arena.
  const t = await engine.gemm(l21, x11, { m, k: h, n: h, out: a21 });
  const mark2 = arena.mark();
  await choleskyInverseInPlace(a, ld, engine, arena, r0 + h, m);
  arena.reset(mark2);
  const x22 = packLower(a, ld, r0 + h, m, a22);
  const x21 = await engine.gemm(x22, t, { m, k: m, n: h, alpha: -1, out: l21 });
  unpack(a, ld, r0 + h, r0, x21, m, h);
  arena.reset(mark);
}

/**
 * The upper Cholesky factor U of H⁻¹ (H⁻¹ = Uᵀ·U), which SparseGPT's column
 * sweep reads. With J the reversal permutation, chol(J·H·J) = L' gives
 * U = J·L'⁻¹·J: one Cholesky-and-inverse (≈ 2n³/3 multiply-adds) instead
 * of Cholesky, inverse and Cholesky again. J·M·J of a row-major matrix is its
 * flat array reversed. `h` (n×n, symmetric, damped) is overwritten with U;
 * the strict lower triangle is zeroed.
 */
export async function inverseCholeskyUpperInPlace(h: Float64Array, n: number, engine: MatrixEngine, arena: Arena): Promise<Float64Array> {
  const a = h.subarray(0, n * n);
  a.reverse();
  await choleskyInverseInPlace(a, n, engine, arena);
  for (let i = 0; i < n; i++) a.fill(0, i * n + i + 1, (i + 1) * n); // the upper triangle still held H
  a.reverse();
  return a;
}
