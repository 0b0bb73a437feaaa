// Large matrix products (Gram matrices, right-hand sides) run in onnxruntime
// (MLAS, multi-threaded): a tiny MatMul model with dynamic dimensions, one
// session per transpose pattern, reused for every layer.
import { Graph, Model, Node, tensorType, Value, type ModelRuntime, type RuntimeSession } from '@shears/core';

function productModel(transA: boolean, transB: boolean, dtype: 'float32' | 'float64'): Model {
  const g = new Graph('matmul');
  let a = g.addInput(new Value('A', tensorType(dtype, ['a0', 'a1'])));
  let b = g.addInput(new Value('B', tensorType(dtype, ['b0', 'b1'])));
  const perm = { type: 'ints' as const, value: [1, 0] };
  if (transA) a = g.appendNode(new Node({ opType: 'Transpose', name: 'ta', inputs: [a], outputs: ['At'], attributes: { perm } })).outputs[0]!;
  if (transB) b = g.appendNode(new Node({ opType: 'Transpose', name: 'tb', inputs: [b], outputs: ['Bt'], attributes: { perm } })).outputs[0]!;
  const c = g.appendNode(new Node({ opType: 'MatMul', name: 'mm', inputs: [a, b], outputs: ['C'] })).outputs[0]!;
  c.type = tensorType(dtype, ['m', 'n']);
  g.outputs.push(c);
  const m = new Model({ opsetImports: { '': 17 } });
  m.graph = g;
  return m;
}

/** op(A) · op(B) in float32 through onnxruntime, where op transposes when asked. */
export class MatMul {
  readonly #sessions = new Map<string, Promise<RuntimeSession>>();
  /** Products run on the run's runtime (`ctx.runtime`), with its threads. */
  constructor(readonly runtime: ModelRuntime) {}

  async mul(A: Float32Array, aDims: [number, number], B: Float32Array, bDims: [number, number], transA = false, transB = false): Promise<Float32Array> {
    return (await this.#run('float32', A, aDims, B, bDims, transA, transB)) as Float32Array;
  }

  /** The same in float64 (blocked Cholesky updates and triangular solves keep double precision). */
  async mul64(A: Float64Array, aDims: [number, number], B: Float64Array, bDims: [number, number], transA = false, transB = false): Promise<Float64Array> {
    return (await this.#run('float64', A, aDims, B, bDims, transA, transB)) as Float64Array;
  }

  async #run(dtype: 'float32' | 'float64', A: Float32Array | Float64Array, aDims: [number, number], B: Float32Array | Float64Array, bDims: [number, number], transA: boolean, transB: boolean): Promise<Float32Array | Float64Array> {
    const key = `${dtype}${transA}${transB}`;
    let s = this.#sessions.get(key);
    if (!s) this.#sessions.set(key, (s = this.runtime.session(productModel(transA, transB, dtype))));
    const out = await (await s).run({ A: { dims: aDims, data: A }, B: { dims: bDims, data: B } });
    return out.C!.data as Float32Array | Float64Array;
  }

  async release(): Promise<void> {
    for (const s of this.#sessions.values()) await (await s).release();
    this.#sessions.clear();
  }
}
