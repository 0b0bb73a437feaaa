import { describe, expect, it } from 'vitest';
import { encodeSparse, fromHalf, toHalf } from '../src/encode.js';
import { channelsLast, flattenFeatureOrder, planReshape, transposeData } from '../src/layout.js';
import { BUFFER_ALIGNMENT, serialize, TflGraph } from '../src/writer.js';

const NHWC = channelsLast(4);

function naiveTranspose(src: number[], dims: number[], t: number[]): number[] {
  const out: number[] = [];
  const outDims = t.map((a) => dims[a]!);
  const n = src.length;
  for (let i = 0; i < n; i++) {
    let r = i;
    const oi = outDims.map(() => 0);
    for (let a = outDims.length - 1; a >= 0; a--) {
      oi[a] = r % outDims[a]!;
      r = Math.floor(r / outDims[a]!);
    }
    const ii = dims.map(() => 0);
    t.forEach((a, k) => (ii[a] = oi[k]!));
    out.push(src[ii.reduce((acc, x, a) => acc * dims[a]! + x, 0)]!);
  }
  return out;
}

describe('layout', () => {
  it('transposeData matches a naive transpose for ranks 2, 4 and 5', () => {
    for (const [dims, t] of [
      [[3, 5], [1, 0]],
      [[2, 3, 4, 5], [0, 2, 3, 1]],
      [[2, 3, 4, 5], [1, 2, 3, 0]],
      [[2, 3, 2, 3, 2], [0, 3, 4, 2, 1]],
    ] as [number[], number[]][]) {
      const n = dims.reduce((a, b) => a * b, 1);
      const src = Array.from({ length: n }, (_, i) => i);
      expect([...transposeData(Float32Array.from(src), dims, t, new Float32Array(n))]).toEqual(naiveTranspose(src, dims, t));
    }
  });

  it('plans reshapes as relabelling where the stored order allows', () => {
    // NHWC [1,C,1,1] -> [1,C]: direct, no data movement.
    expect(planReshape([1, 8, 1, 1], NHWC, [1, 8])).toEqual({ kind: 'direct', perm: [0, 1], physical: [1, 8] });
    // Channel split of an NHWC map: the groups stay in stored order.
    expect(planReshape([1, 8, 3, 3], NHWC, [1, 2, 4, 3, 3])).toEqual({ kind: 'direct', perm: [0, 3, 4, 1, 2], physical: [1, 3, 3, 2, 4] });
    // After the shuffle the channel axes are stored swapped: one re-layout.
    const p = planReshape([1, 4, 2, 3, 3], [0, 3, 4, 2, 1], [1, 8, 3, 3]);
    expect(p).toEqual({ kind: 'relayout', inputPerm: [0, 3, 4, 1, 2], perm: NHWC, physical: [1, 3, 3, 8] });
    // Flatten of an NHWC map with spatial size: the ONNX order needs NCHW data.
    expect(planReshape([1, 4, 2, 2], NHWC, [1, 16])).toMatchObject({ kind: 'relayout', inputPerm: [0, 1, 2, 3] });
  });

  it('flattenFeatureOrder maps stored NHWC features to ONNX (CHW) features', () => {
    // C=2, H=1, W=2: stored order (h,w,c) = (0,0,0),(0,0,1),(0,1,0),(0,1,1) -> CHW index c*2+w
    expect([...flattenFeatureOrder([1, 2, 1, 2], NHWC, 1)]).toEqual([0, 2, 1, 3]);
  });
});

describe('encoding', () => {
  it('float16: exact values, rounding to nearest even, subnormals, overflow', () => {
    for (const x of [0, 1, -2.5, 65504, 0.333251953125, 2 ** -24, -(2 ** -14)]) expect(fromHalf(toHalf(x))).toBe(x);
    expect(fromHalf(toHalf(1 + 2 ** -11))).toBe(1); // tie -> even
    expect(fromHalf(toHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(fromHalf(toHalf(70000))).toBe(Infinity);
    expect(fromHalf(toHalf(1e-9))).toBe(0);
    expect(toHalf(NaN) & 0x7c00).toBe(0x7c00);
  });

  it('sparse: dense leading dims, CSR last dim', () => {
    const m = Float32Array.from([0, 1.5, 0, 0, 0, 0, 2, 0, 3]);
    const { sparsity, values } = encodeSparse(m, [3, 3]);
    expect([...values]).toEqual([1.5, 2, 3]);
    expect(sparsity.traversalOrder).toEqual([0, 1]);
    expect(sparsity.dims[0]).toEqual({ format: 'dense', denseSize: 3 });
    const csr = sparsity.dims[1] as { segments: Int32Array; indices: Int32Array };
    expect([...csr.segments]).toEqual([0, 1, 1, 3]);
    expect([...csr.indices]).toEqual([1, 0, 2]);
  });
});

describe('flatbuffer writer', () => {
  it('writes TFL3 with 16-byte aligned buffers', () => {
    const g = new TflGraph();
    const marks = [7, 33, 64].map((n, k) => Uint8Array.from({ length: n }, (_, i) => 200 - k * 50 + (i % 3)));
    const x = g.addTensor({ shape: [1, 4], type: 'FLOAT32', name: 'x' });
    const ids = marks.map((m, k) => g.addTensor({ shape: [m.length], type: 'UINT8', name: `c${k}`, data: m }));
    const y = g.addTensor({ shape: [1, 4], type: 'FLOAT32', name: 'y' });
    g.addOperator({ op: 'RELU', inputs: [x], outputs: [y] });
    g.inputs.push(x);
    g.outputs.push(y);
    const bytes = serialize(g);
    expect(new TextDecoder().decode(bytes.subarray(4, 8))).toBe('TFL3');
    expect(bytes.byteLength % BUFFER_ALIGNMENT).toBe(0);
    for (const m of marks) {
      const at = Buffer.from(bytes).indexOf(Buffer.from(m));
      expect(at).toBeGreaterThan(0);
      expect(at % BUFFER_ALIGNMENT).toBe(0);
    }
    expect(ids).toHaveLength(3);
  });

  it('names stay unique', () => {
    const g = new TflGraph();
    const a = g.addTensor({ shape: [1], type: 'FLOAT32', name: 'v' });
    const b = g.addTensor({ shape: [1], type: 'FLOAT32', name: 'v' });
    g.rename(b, 'v');
    expect(new Set([g.tensors[a]!.name, g.tensors[b]!.name]).size).toBe(2);
    expect(g.tensors[b]!.name).toBe('v');
  });
});
