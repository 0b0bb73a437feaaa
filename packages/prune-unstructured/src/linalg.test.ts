import { mulberry32 } from '@shears/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime } from '@shears/runtime';
import { Arena, choleskyInPlace, gemmJs, inverseCholeskyUpperInPlace, inverseLowerInPlace, jsEngine, runtimeEngine } from './linalg.js';

/** Seeded uniform [−0.5, 0.5): core's mulberry32, centred. */
function rng(seed: number) {
  const r = mulberry32(seed);
  return () => r() - 0.5;
}

/** A random SPD matrix X·Xᵀ/k + 0.1·I. */
function spd(n: number, seed: number): Float64Array {
  const r = rng(seed);
  const k = n + 8;
  const x = Float64Array.from({ length: n * k }, r);
  const h = gemmJs(x, x, { m: n, k, n, transB: true, alpha: 1 / k });
  for (let i = 0; i < n; i++) h[i * n + i] += 0.1;
  return h;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

describe('linalg', () => {
  const ort = runtimeEngine(createRuntime({ threads: 1 }));
  afterAll(() => ort.release());

  it('gemmJs handles transposes, alpha and beta', () => {
    const a = Float64Array.of(1, 2, 3, 4, 5, 6); // 2×3
    const b = Float64Array.of(1, 0, 0, 1, 1, 1); // 3×2
    expect([...gemmJs(a, b, { m: 2, k: 3, n: 2 })]).toEqual([4, 5, 10, 11]);
    // Aᵀ stored as 3×2 = [[1,4],[2,5],[3,6]]
    const at = Float64Array.of(1, 4, 2, 5, 3, 6);
    expect([...gemmJs(at, b, { m: 2, k: 3, n: 2, transA: true })]).toEqual([4, 5, 10, 11]);
    const bt = Float64Array.of(1, 0, 1, 0, 1, 1); // Bᵀ 2×3
    expect([...gemmJs(a, bt, { m: 2, k: 3, n: 2, transB: true, alpha: 2, beta: -1, c: Float64Array.of(1, 1, 1, 1) })]).toEqual([7, 9, 19, 21]);
  });

  it('onnxruntime GEMM matches the JS one (float64 and float32)', async () => {
    const r = rng(3);
    const [m, k, n] = [130, 150, 170];
    const a = Float64Array.from({ length: k * m }, r);
    const b = Float64Array.from({ length: n * k }, r);
    const c = Float64Array.from({ length: m * n }, r);
    const o = { m, k, n, transA: true, transB: true, alpha: -1, beta: 1, c };
    expect(maxAbsDiff(await ort.gemm(a, b, o), gemmJs(a, b, o))).toBeLessThan(1e-12);
    const a32 = Float32Array.from(a);
    const b32 = Float32Array.from(b);
    const y = await ort.gemm(a32, b32, { m, k, n, transA: true, transB: true });
    expect(y).toBeInstanceOf(Float32Array);
    expect(maxAbsDiff(y, gemmJs(a32, b32, { m, k, n, transA: true, transB: true }))).toBeLessThan(1e-4);
  });

  const upperMax = (a: Float64Array, n: number) => {
    let d = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) d = Math.max(d, Math.abs(a[i * n + j]!));
    return d;
  };
  const lowerOf = (a: Float64Array, n: number) => a.map((v, f) => (f % n > Math.floor(f / n) ? 0 : v));

  for (const n of [7, 300, 650]) {
    it(`recursive Cholesky and triangular inverse are exact to 1e-9 (n=${n})`, async () => {
      const h = spd(n, n);
      const engine = n > 300 ? ort : jsEngine();
      const arena = new Arena();
      const a = Float64Array.from(h);
      await choleskyInPlace(a, n, engine, arena);
      const l = lowerOf(a, n);
      expect(maxAbsDiff(gemmJs(l, l, { m: n, k: n, n, transB: true }), h)).toBeLessThan(1e-9);
      const x = Float64Array.from(l);
      await inverseLowerInPlace(x, n, engine, arena);
      expect(upperMax(x, n)).toBe(0);
      const eye = gemmJs(x, l, { m: n, k: n, n });
      for (let i = 0; i < n; i++) eye[i * n + i] -= 1;
      expect(maxAbsDiff(eye, new Float64Array(n * n))).toBeLessThan(1e-9);
    });
  }

  it('inverseCholeskyUpperInPlace gives U upper with Uᵀ·U = H⁻¹', async () => {
    const n = 420;
    const h = spd(n, 11);
    const u = await inverseCholeskyUpperInPlace(Float64Array.from(h), n, ort, new Arena());
    let lower = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) lower = Math.max(lower, Math.abs(u[i * n + j]!));
    expect(lower).toBe(0);
    const hinv = gemmJs(u, u, { m: n, k: n, n, transA: true });
    const eye = gemmJs(hinv, h, { m: n, k: n, n });
    for (let i = 0; i < n; i++) eye[i * n + i] -= 1;
    expect(maxAbsDiff(eye, new Float64Array(n * n))).toBeLessThan(1e-8);
  });

  it('an arena reuses its memory after reset', () => {
    const arena = new Arena();
    const m = arena.mark();
    const a = arena.alloc(1000);
    arena.reset(m);
    const b = arena.alloc(1000);
    expect(b.buffer).toBe(a.buffer);
    expect(b.byteOffset).toBe(a.byteOffset);
    const c = arena.alloc(5_000_000);
    expect(c.length).toBe(5_000_000);
    expect(arena.bytes).toBeGreaterThanOrEqual(8 * 5_001_000);
  });

  it('refuses a matrix that is not positive definite', async () => {
    await expect(choleskyInPlace(Float64Array.of(1, 2, 2, 1), 2, jsEngine(), new Arena())).rejects.toThrow(/pivot 1/);
  });
});
