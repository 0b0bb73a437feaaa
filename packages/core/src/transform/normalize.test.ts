import { describe, expect, it } from 'vitest';
import { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { defaultOpRegistry } from '../ops/registry.js';
import type { OpSpec } from '../ops/types.js';
import { pipeline } from '../pipeline/index.js';
import { assertConformance } from '../testing/conformance.js';
import { floatAttr, Kit } from '../shape/test-kit.js';
import { normalize, normalizeModel } from './normalize.js';

const seq = (n: number, f = (i: number) => i * 0.5 - 3) => Array.from({ length: n }, (_, i) => f(i));

/** A Constant node holding `t`, its output named `name`. */
function constant(k: Kit, name: string, t: Tensor): Value {
  const n = new Node({ opType: 'Constant', name: `${name}_node`, outputs: [name], attributes: { value: { type: 'tensor', value: t } } });
  k.graph.appendNode(n);
  return n.outputs[0]!;
}

/** Structure of a graph: op types, input and output names, initializer names. */
function structure(k: Kit) {
  return {
    nodes: k.graph.nodes.map((n) => `${n.opType}(${n.inputs.map((v) => v?.name ?? '').join(',')})->${n.outputs.map((o) => o.name).join(',')}`),
    inits: [...k.graph.initializers.keys()],
  };
}

describe('normalize: Constant nodes become initializers', () => {
  it('keeps the value name and rewires every reader (value and value_float forms)', () => {
    const k = new Kit(13);
    const x = k.input('x', ['N', 4]);
    const w = constant(k, 'W', Tensor.fromFloat32('', [4, 3], seq(12)));
    const half = new Node({ opType: 'Constant', name: 'half_node', outputs: ['half'], attributes: { value_float: floatAttr(0.5) } });
    k.graph.appendNode(half);
    const y = k.one('MatMul', [x, w]);
    const z = k.one('Mul', [y, half.outputs[0]!]);
    k.output(z);
    const r = normalizeModel(k.model);
    expect(r.constants).toBe(2);
    expect(r.examples.constants).toEqual(['W_node', 'half_node']);
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Mul']);
    const wi = k.graph.initializers.get('W')!;
    expect(y.producer!.input(1)).toBe(wi);
    expect([...wi.constValue!.floats()]).toEqual(seq(12));
    expect(k.graph.initializer('half')!.dims).toEqual([]);
    expect(z.producer!.input(1)!.name).toBe('half');
  });

  it('rewires reads from inside If branches too, and leaves the If (it has subgraphs) unfolded', () => {
    const k = new Kit(13);
    const c = constant(k, 'bias', Tensor.fromFloat32('', [2], [1, 2]));
    const branch = (op: string) => {
      const g = new Graph(op);
      const n = g.appendNode(new Node({ opType: op, inputs: [c], outputs: [`${op}_out`] }));
      g.outputs.push(n.outputs[0]!);
      return g;
    };
    const thenG = branch('Relu');
    const y = k.one('If', [k.input('cond', [], 'bool')], { then_branch: { type: 'graph', value: thenG }, else_branch: { type: 'graph', value: branch('Neg') } });
    k.output(y);
    expect(normalizeModel(k.model).constants).toBe(1);
    const init = k.graph.initializers.get('bias')!;
    expect(thenG.nodes[0]!.input(0)).toBe(init);
    expect(init.uses().length).toBe(2);
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['If']);
  });

  it('leaves a Constant that is a graph output alone', () => {
    const k = new Kit(13);
    const c = constant(k, 'c', Tensor.fromFloat32('', [2], [1, 2]));
    k.output(c);
    const r = normalizeModel(k.model);
    expect(r.constants).toBe(0);
    expect(k.graph.nodes[0]!.opType).toBe('Constant');
  });

  it('names the node and the rule for a Constant it cannot decode, and changes nothing', () => {
    const k = new Kit(13);
    const x = k.input('x', [2]);
    const good = constant(k, 'good', Tensor.fromFloat32('', [2], [1, 2]));
    const bad = new Node({ opType: 'Constant', name: 'odd', outputs: ['odd_out'], attributes: { value_string: { type: 'string', value: 'hi' } } });
    k.graph.appendNode(bad);
    k.output(k.one('Add', [x, good]));
    const before = structure(k);
    expect(() => normalizeModel(k.model)).toThrow(/node odd \(Constant\), rule constant-to-initializer/);
    expect(structure(k)).toEqual(before);
  });
});

describe('normalize: constant-only weight subgraphs fold into initializers', () => {
  it('folds a MatMul weight that is a Reshape of an initializer (CNTK), past the 1024-element default', () => {
    const k = new Kit(8);
    const x = k.input('x', [1, 64]);
    const raw = k.init('raw', Tensor.fromFloat32('', [64, 4, 8], seq(2048)));
    const w = k.one('Reshape', [raw, k.ints([64, 32])]);
    const reshapeLabel = w.producer!.label;
    const y = k.one('MatMul', [x, w]);
    k.output(y);
    const r = normalizeModel(k.model);
    expect(r).toMatchObject({ subgraphs: 1, foldedNodes: 1, removedInitializers: 2 });
    expect(r.examples.subgraphs).toEqual([reshapeLabel]);
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['MatMul']);
    const wi = y.producer!.input(1)!;
    expect(wi.name).toBe(w.name);
    expect(wi.constValue!.dims).toEqual([64, 32]);
    expect(wi.constValue!.floats()[2047]).toBe(seq(2048)[2047]);
    expect(k.graph.initializers.has('raw')).toBe(false);
  });

  it('does not copy a large weight other nodes also read (a shared weight behind an Identity stays shared)', () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 64]);
    const shared = k.init('shared', Tensor.fromFloat32('', [64, 32], seq(2048)));
    const alias = k.one('Identity', [shared]);
    k.output(k.one('Add', [k.one('MatMul', [x, alias]), k.one('MatMul', [x, shared])]));
    const bytes = () => [...k.graph.initializers.values()].reduce((a, v) => a + (v.constValue?.byteLength ?? 0), 0);
    const before = bytes();
    expect(before).toBe(2048 * 4);
    expect(normalizeModel(k.model)).toMatchObject({ subgraphs: 0, foldedNodes: 0 });
    expect(bytes()).toBe(before);
    expect(k.graph.nodes.map((n) => n.opType)).toContain('Identity');
  });

  it('folds a transposed kernel (tf2onnx) held by a Constant node', () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 2, 5, 5]);
    // HWIO [3,3,2,4] -> OIHW [4,2,3,3]
    const hwio = constant(k, 'kernel_hwio', Tensor.fromFloat32('', [3, 3, 2, 4], seq(72, (i) => i)));
    const w = k.one('Transpose', [hwio], { perm: [3, 2, 0, 1] });
    const y = k.one('Conv', [x, w], { kernel_shape: [3, 3] });
    k.output(y);
    const r = normalizeModel(k.model);
    expect(r).toMatchObject({ constants: 1, subgraphs: 1, foldedNodes: 1 });
    const t = y.producer!.input(1)!.constValue!;
    expect(t.dims).toEqual([4, 2, 3, 3]);
    // OIHW[o=1,i=1,h=2,w=0] = HWIO[h=2,w=0,i=1,o=1] = ((2*3+0)*2+1)*4+1
    expect(t.floats()[((1 * 2 + 1) * 3 + 2) * 3 + 0]).toBe(((2 * 3 + 0) * 2 + 1) * 4 + 1);
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['Conv']);
    expect(k.graph.initializers.has('kernel_hwio')).toBe(false);
  });

  it('folds Squeeze/Unsqueeze, Cast, Identity, Concat and elementwise chains; keeps values other nodes still read', () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 6]);
    const a = k.init('a', Tensor.fromFloat32('', [1, 3], [1, 2, 3]));
    const b = k.init('b', new Tensor({ dtype: 'float16', dims: [3], data: Uint16Array.of(0x3c00, 0x4000, 0x4200) })); // 1, 2, 3
    const sq = k.one('Squeeze', [a, k.ints([0])]);
    const bc = k.one('Cast', [b], { to: 1 });
    const id = k.one('Identity', [bc]);
    const prod = k.one('Mul', [sq, id]);
    const cat = k.one('Concat', [prod, sq], { axis: 0 });
    const un = k.one('Unsqueeze', [cat, k.ints([0])]);
    const y = k.one('Add', [x, un]);
    const z = k.one('Mul', [x, k.one('Unsqueeze', [sq, k.ints([0])])]);
    k.output(y, z);
    const r = normalizeModel(k.model);
    expect(r.foldedNodes).toBe(7);
    expect(r.subgraphs).toBe(2);
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['Add', 'Mul']);
    expect([...y.producer!.input(1)!.constValue!.floats()]).toEqual([1, 4, 9, 1, 2, 3]);
    expect(y.producer!.input(1)!.constValue!.dims).toEqual([1, 6]);
    expect([...z.producer!.input(1)!.constValue!.floats()]).toEqual([1, 2, 3]);
    expect([...k.graph.initializers.keys()].sort()).toEqual([un.name, z.producer!.input(1)!.name].sort());
  });

  it('leaves weights computed from a graph input, or from an initializer that is also a graph input, alone', () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 4]);
    const w = k.input('w', [4, 4]);
    k.init('w', Tensor.fromFloat32('', [4, 4], seq(16)));
    const wt = k.one('Transpose', [w]);
    const v = k.one('Transpose', [x]);
    k.output(k.one('MatMul', [x, wt]), v);
    const before = structure(k);
    const r = normalizeModel(k.model);
    expect(r).toMatchObject({ constants: 0, subgraphs: 0, foldedNodes: 0 });
    expect(structure(k)).toEqual(before);
  });

  it('names the node and the rule when a fold fails, and leaves the model as it was', () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 6]);
    const c = constant(k, 'c6', Tensor.fromFloat32('', [6], seq(6)));
    const bad = k.one('Reshape', [c, k.ints([5, 2])]);
    k.output(k.one('MatMul', [x, bad]));
    const before = structure(k);
    expect(() => normalizeModel(k.model)).toThrow(new RegExp(`node ${bad.producer!.label} \\(Reshape\\), rule fold-weights`));
    expect(structure(k)).toEqual(before);
    expect(k.graph.nodes[0]!.opType).toBe('Constant');
  });

  it('leaves int64 constants beyond 2^53 unfolded (they would not survive as JS numbers)', () => {
    const k = new Kit(13);
    const x = k.input('x', [2], 'int64');
    const big = k.ints([2n ** 60n, 1n]);
    const id = k.one('Identity', [big]);
    k.output(k.one('Add', [x, id]));
    expect(normalizeModel(k.model).foldedNodes).toBe(0);
    expect(k.graph.nodes.map((n) => n.opType)).toEqual(['Identity', 'Add']);
  });
});

describe('normalize: the pass plugin', () => {
  it('reports modified: false and touches nothing when the model needs nothing', async () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 4]);
    const w = k.init('w', Tensor.fromFloat32('', [4, 3], seq(12)));
    k.output(k.one('MatMul', [x, w]));
    const nodes = [...k.graph.nodes];
    const inits = [...k.graph.initializers.values()];
    const r = await pipeline(normalize()).run(k.model);
    expect(r.steps[0]).toMatchObject({ plugin: 'normalize', modified: false, details: { constants: 0, subgraphs: 0 } });
    expect(k.graph.nodes).toEqual(nodes);
    expect([...k.graph.initializers.values()]).toEqual(inits);
    expect(x.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [1, 4] });
  });

  it('reads the run table (ctx.ops): an op a plugin teaches folds too', async () => {
    const k = new Kit({ '': 13, 'my.ops': 1 });
    const x = k.input('x', [1, 3]);
    const neg = k.one('Negate', [k.floats([1, 3], [1, 2, 3])], {}, 'my.ops');
    const y = k.one('Add', [x, neg]);
    k.output(y);
    const base = defaultOpRegistry().lookup('Neg', '', 13)!;
    const spec: OpSpec = { ...base, opType: 'Negate', domain: 'my.ops', since: 1 };
    const teacher = { name: 'teach', kind: 'pass' as const, ops: [spec], run: async (m: typeof k.model) => ({ model: m, modified: false }) };
    const r = await pipeline(teacher, normalize()).run(k.model);
    expect(r.steps[1]!.details).toMatchObject({ foldedNodes: 1 });
    expect([...y.producer!.input(1)!.constValue!.floats()]).toEqual([-1, -2, -3]);
  });

  it('passes the conformance kit (shape, options, declared mutation) on a model with Constant nodes', async () => {
    const model = () => {
      const k = new Kit(13);
      const x = k.input('x', [1, 4]);
      const w = constant(k, 'W', Tensor.fromFloat32('', [4, 4], seq(16)));
      k.output(k.one('MatMul', [x, k.one('Transpose', [w])]));
      return k.model;
    };
    await assertConformance({ factory: normalize, badOptions: [{ maxElements: 1 }], model });
  });

  it('refuses options', () => {
    expect(() => normalize({ maxElements: 1 } as never)).toThrow(/normalize: option maxElements/);
  });
});
