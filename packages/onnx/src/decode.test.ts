import { ShearsError, type Tensor } from '@shears/core';
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { onnx } from './proto.js';
import { protoBytes } from './test-utils.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const Long = protobuf.util.Long as unknown as { fromString(s: string, unsigned?: boolean): any };
const f32 = (dims: number[], values: number[], name = 'w'): onnx.ITensorProto => ({ name, dims, data_type: 1, float_data: values });
const vi = (name: string, elem = 1, dims: (number | string)[] = [1]): onnx.IValueInfoProto => ({
  name,
  type: { tensor_type: { elem_type: elem, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
});

function model(graph: onnx.IGraphProto, extra: onnx.IModelProto = {}): Uint8Array {
  return protoBytes({ ir_version: 8, opset_import: [{ domain: '', version: 17 }], graph, ...extra });
}

/** A graph with one Identity per initializer, so every tensor is reachable. */
function tensorModel(tensors: onnx.ITensorProto[]): Uint8Array {
  return model({
    name: 'g',
    initializer: tensors,
    node: tensors.map((t) => ({ op_type: 'Identity', input: [t.name!], output: [`${t.name}_out`] })),
    output: tensors.map((t) => ({ name: `${t.name}_out` })),
  });
}

function decodeTensors(tensors: onnx.ITensorProto[]): Map<string, Tensor> {
  const m = decodeModel(tensorModel(tensors));
  return new Map([...m.graph.initializers].map(([k, v]) => [k, v.constValue!]));
}

describe('decodeModel: model fields', () => {
  it('reads ir/opset/producer/doc/metadata and keeps presence', () => {
    const bytes = model(
      { name: 'main', doc_string: 'graph doc', metadata_props: [{ key: 'g', value: '1' }], input: [vi('x')], output: [vi('x')] },
      {
        ir_version: 10,
        opset_import: [{ domain: '', version: 21 }, { domain: 'com.microsoft', version: 1 }],
        producer_name: 'p',
        producer_version: '1.0',
        domain: 'ai.example',
        model_version: 7,
        doc_string: 'model doc',
        metadata_props: [{ key: 'author', value: 'me' }],
      },
    );
    const m = decodeModel(bytes);
    expect(m.irVersion).toBe(10);
    expect([...m.opsetImports]).toEqual([['', 21], ['com.microsoft', 1]]);
    expect([m.producerName, m.producerVersion, m.domain, m.modelVersion, m.docString]).toEqual(['p', '1.0', 'ai.example', 7, 'model doc']);
    expect(m.metadataProps).toEqual([['author', 'me']]);
    expect(m.graph.docString).toBe('graph doc');
    expect(m.graph.metadataProps).toEqual([['g', '1']]);
    const bare = decodeModel(model({ name: 'g' }));
    expect(bare.producerName).toBeUndefined();
    expect(bare.docString).toBeUndefined();
    expect(bare.modelVersion).toBeUndefined();
  });

  it('decodes value types: dim_value, dim_param, unknown dims, denotations, sequences, maps, optionals', () => {
    const bytes = model({
      name: 'g',
      input: [
        {
          name: 'x',
          doc_string: 'input x',
          metadata_props: [{ key: 'k', value: 'v' }],
          type: { denotation: 'IMAGE', tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N', denotation: 'DATA_BATCH' }, { dim_value: 3 }, {}] } } },
        },
        { name: 'scalar', type: { tensor_type: { elem_type: 7, shape: { dim: [] } } } },
        { name: 'norank', type: { tensor_type: { elem_type: 1 } } },
        { name: 'seq', type: { sequence_type: { elem_type: { tensor_type: { elem_type: 1 } } } } },
        { name: 'map', type: { map_type: { key_type: 8, value_type: { tensor_type: { elem_type: 1 } } } } },
        { name: 'opt', type: { optional_type: { elem_type: { tensor_type: { elem_type: 6 } } } } },
        { name: 'sp', type: { sparse_tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 4 }] } } } },
        { name: 'opaque', type: { opaque_type: { domain: 'd', name: 'n' } } },
      ],
      output: [{ name: 'x' }],
    });
    const m = decodeModel(bytes);
    const [x, scalar, norank, seq, map, opt, sp, opaque] = m.graph.inputs;
    expect(x!.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N', 3, null], dimDenotations: ['DATA_BATCH', undefined, undefined], denotation: 'IMAGE' });
    expect(x!.docString).toBe('input x');
    expect(x!.metadataProps).toEqual([['k', 'v']]);
    expect(scalar!.type).toEqual({ kind: 'tensor', dtype: 'int64', shape: [] });
    expect(norank!.type).toEqual({ kind: 'tensor', dtype: 'float32' });
    expect(seq!.type).toEqual({ kind: 'sequence', elem: { kind: 'tensor', dtype: 'float32' } });
    expect(map!.type).toEqual({ kind: 'map', keyType: 'string', valueType: { kind: 'tensor', dtype: 'float32' } });
    expect(opt!.type).toEqual({ kind: 'optional', elem: { kind: 'tensor', dtype: 'int32' } });
    expect(sp!.type).toEqual({ kind: 'sparse_tensor', dtype: 'float32', shape: [4] });
    expect(opaque!.type).toBeUndefined(); // not expressible; kept verbatim for writing
    const again = decodeModel(encodeModel(m));
    expect(again.graph.inputs.map((v) => v.type)).toEqual(m.graph.inputs.map((v) => v.type));
    expect(Buffer.from(encodeModel(again))).toEqual(Buffer.from(encodeModel(m)));
    expect(Buffer.from(encodeModel(m)).includes(Buffer.from('opaque'))).toBe(true);
  });
});

describe('decodeModel: tensor data', () => {
  it('reads every typed field into the IR storage', () => {
    const t = decodeTensors([
      f32([2], [1.5, -2]),
      { name: 'c64', dims: [1], data_type: 14, float_data: [1, 2] },
      { name: 'f64', dims: [2], data_type: 11, double_data: [0.1, -1e300] },
      { name: 'c128', dims: [1], data_type: 15, double_data: [3, 4] },
      { name: 'i32', dims: [3], data_type: 6, int32_data: [-1, 0, 2147483647] },
      { name: 'i8', dims: [3], data_type: 3, int32_data: [-128, 127, -1] },
      { name: 'u8', dims: [2], data_type: 2, int32_data: [0, 255] },
      { name: 'i16', dims: [2], data_type: 5, int32_data: [-32768, 32767] },
      { name: 'u16', dims: [1], data_type: 4, int32_data: [65535] },
      { name: 'b', dims: [2], data_type: 9, int32_data: [1, 0] },
      { name: 'f16', dims: [2], data_type: 10, int32_data: [0x3c00, 0xc000] },
      { name: 'bf16', dims: [1], data_type: 16, int32_data: [0x3f80] },
      { name: 'f8', dims: [1], data_type: 17, int32_data: [0x38] },
      { name: 'i4', dims: [3], data_type: 22, int32_data: [0x21, 0x0f] },
      { name: 'u4', dims: [2], data_type: 21, int32_data: [0xf1] },
      { name: 'i64', dims: [3], data_type: 7, int64_data: [Long.fromString('-9223372036854775808'), 5, Long.fromString('9223372036854775807')] },
      { name: 'u32', dims: [2], data_type: 12, uint64_data: [4294967295, 7] },
      { name: 'u64', dims: [1], data_type: 13, uint64_data: [Long.fromString('18446744073709551615', true)] },
      { name: 's', dims: [2], data_type: 8, string_data: [Buffer.from('héllo'), new Uint8Array([0xff, 0])] },
      { name: 'empty', dims: [0, 3], data_type: 1 },
    ]);
    expect(t.get('w')!.data).toEqual(new Float32Array([1.5, -2]));
    expect(t.get('c64')!.data).toEqual(new Float32Array([1, 2]));
    expect(t.get('f64')!.data).toEqual(new Float64Array([0.1, -1e300]));
    expect(t.get('c128')!.data).toEqual(new Float64Array([3, 4]));
    expect(t.get('i32')!.data).toEqual(new Int32Array([-1, 0, 2147483647]));
    expect(t.get('i8')!.data).toEqual(new Int8Array([-128, 127, -1]));
    expect(t.get('u8')!.data).toEqual(new Uint8Array([0, 255]));
    expect(t.get('i16')!.data).toEqual(new Int16Array([-32768, 32767]));
    expect(t.get('u16')!.data).toEqual(new Uint16Array([65535]));
    expect(t.get('b')!.data).toEqual(new Uint8Array([1, 0]));
    expect(t.get('f16')!.data).toEqual(new Uint16Array([0x3c00, 0xc000]));
    expect(t.get('bf16')!.data).toEqual(new Uint16Array([0x3f80]));
    expect(t.get('f8')!.data).toEqual(new Uint8Array([0x38]));
    expect(t.get('i4')!.data).toEqual(new Uint8Array([0x21, 0x0f]));
    expect(t.get('u4')!.data).toEqual(new Uint8Array([0xf1]));
    expect(t.get('i64')!.data).toEqual(new BigInt64Array([-(2n ** 63n), 5n, 2n ** 63n - 1n]));
    expect(t.get('u32')!.data).toEqual(new Uint32Array([4294967295, 7]));
    expect(t.get('u64')!.data).toEqual(new BigUint64Array([2n ** 64n - 1n]));
    expect((t.get('s')!.data as Uint8Array[]).map((s) => [...s])).toEqual([[...Buffer.from('héllo')], [0xff, 0]]);
    expect(t.get('empty')!.data).toEqual(new Float32Array(0));
    for (const x of t.values()) expect(x.storage).toBe('typed');
  });

  it('writes typed tensors back into the same typed fields (byte-identical)', () => {
    const bytes = tensorModel([
      f32([2], [1.5, -2]),
      { name: 'i8', dims: [3], data_type: 3, int32_data: [-128, 127, -1] },
      { name: 'i64', dims: [2], data_type: 7, int64_data: [-5, Long.fromString('9223372036854775807')] },
      { name: 'u32', dims: [1], data_type: 12, uint64_data: [4294967295] },
      { name: 'f64', dims: [1], data_type: 11, double_data: [2.5] },
      { name: 's', dims: [1], data_type: 8, string_data: [Buffer.from('x')] },
    ]);
    expect(Buffer.from(encodeModel(decodeModel(bytes)))).toEqual(Buffer.from(bytes));
  });

  it('keeps raw_data as a zero-copy view when aligned, lazily copied when not', () => {
    // Lay out two tensors; one of them ends up at an odd offset.
    const a = new Float32Array([1, 2, 3, 4]);
    const bytes = tensorModel([
      { name: 'a', dims: [4], data_type: 1, raw_data: new Uint8Array(a.buffer) },
      { name: 'bb', dims: [4], data_type: 1, raw_data: new Uint8Array(a.buffer) },
    ]);
    const buf = new Uint8Array(bytes.length + 8);
    for (const shift of [0, 1, 2, 3]) {
      const view = buf.subarray(shift, shift + bytes.length);
      view.set(bytes);
      const m = decodeModel(view);
      for (const name of ['a', 'bb']) {
        const t = m.graph.initializer(name)!;
        if (t.loaded) {
          const d = t.data as Float32Array;
          expect(d.buffer).toBe(buf.buffer); // a view of the input
        }
        expect(t.data).toEqual(a);
      }
    }
  });

  it('rejects data that does not fit the dims', () => {
    expect(() => decodeTensors([{ name: 'w', dims: [3], data_type: 1, raw_data: new Uint8Array(8) }])).toThrow(/tensor w: raw_data has 8 bytes, expected 12/);
    expect(() => decodeTensors([f32([3], [1, 2])])).toThrow(/tensor w: float_data has 2 values, expected 3/);
    expect(() => decodeTensors([{ name: 'w', dims: [2], data_type: 1 }])).toThrow(/tensor w: no data for its 2 elements/);
    expect(() => decodeTensors([{ name: 'w', dims: [1], data_type: 7, float_data: [1] }])).toThrow(/float_data cannot hold int64/);
    expect(() => decodeTensors([{ name: 'w', dims: [-1], data_type: 1 }])).toThrow(/invalid dimension -1/);
    expect(() => decodeTensors([{ name: 'w', dims: [1], data_type: 99, raw_data: new Uint8Array(4) }])).toThrow(/unsupported data type 99/);
    try {
      decodeTensors([{ name: 'w', dims: [2], data_type: 1 }]);
    } catch (e) {
      expect(e).toBeInstanceOf(ShearsError);
      expect((e as ShearsError).code).toBe('E_PARSE');
    }
  });
});

describe('decodeModel: graphs', () => {
  it('resolves subgraph names lexically and records outer uses', () => {
    const then: onnx.IGraphProto = {
      name: 'then',
      node: [{ op_type: 'Add', input: ['x', 'W'], output: ['t'] }],
      output: [vi('t')],
    };
    const els: onnx.IGraphProto = {
      name: 'else',
      initializer: [f32([1], [5], 'W')], // shadows the outer W
      node: [{ op_type: 'Mul', input: ['x', 'W'], output: ['e'] }],
      output: [vi('e')],
    };
    const m = decodeModel(
      model({
        name: 'main',
        input: [vi('x'), vi('c', 9)],
        initializer: [f32([1], [2], 'W')],
        node: [
          {
            op_type: 'If',
            input: ['c'],
            output: ['y'],
            attribute: [
              { name: 'then_branch', type: 5, g: then },
              { name: 'else_branch', type: 5, g: els },
            ],
          },
        ],
        output: [vi('y')],
      }),
    );
    const g = m.graph;
    const x = g.inputs[0]!;
    const W = g.initializers.get('W')!;
    const ifNode = g.nodes[0]!;
    const [thenG, elseG] = ifNode.subgraphs();
    expect(thenG!.parentNode).toBe(ifNode);
    expect(thenG!.nodes[0]!.inputs[0]).toBe(x);
    expect(thenG!.nodes[0]!.inputs[1]).toBe(W);
    expect(elseG!.nodes[0]!.inputs[0]).toBe(x);
    expect(elseG!.nodes[0]!.inputs[1]).toBe(elseG!.initializers.get('W'));
    expect(W.uses().map((u) => u.node)).toEqual([thenG!.nodes[0]]);
    expect(x.uses().map((u) => u.node.opType).sort()).toEqual(['Add', 'Mul']);
  });

  it('keeps graph inputs that are also initializers as one value', () => {
    const m = decodeModel(model({ name: 'g', input: [vi('x'), vi('w', 1, [2])], initializer: [f32([2], [1, 2])], node: [{ op_type: 'Add', input: ['x', 'w'], output: ['y'] }], output: [vi('y')] }));
    const w = m.graph.inputs[1]!;
    expect(w).toBe(m.graph.initializers.get('w'));
    expect(w.constValue!.data).toEqual(new Float32Array([1, 2]));
    expect(w.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2] });
    const again = decodeModel(encodeModel(m));
    expect(again.graph.inputs.map((v) => v.name)).toEqual(['x', 'w']);
    expect(again.graph.inputs[1]).toBe(again.graph.initializers.get('w'));
  });

  it('attaches value_info types to values and writes them back', () => {
    const bytes = model({
      name: 'g',
      input: [vi('x')],
      node: [
        { op_type: 'Relu', input: ['x'], output: ['a'] },
        { op_type: 'Neg', input: ['a'], output: ['y'] },
      ],
      output: [vi('y')],
      value_info: [vi('a', 1, ['N']), vi('ghost', 1)],
    });
    const m = decodeModel(bytes);
    expect(m.graph.nodes[0]!.outputs[0]!.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['N'] });
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes)); // 'ghost' kept verbatim
  });

  it('keeps a topologically sorted file in order and sorts an unsorted one', () => {
    const nodes: onnx.INodeProto[] = [
      { name: 'n2', op_type: 'Neg', input: ['a'], output: ['y'] },
      { name: 'n1', op_type: 'Relu', input: ['x'], output: ['a'] },
    ];
    const m = decodeModel(model({ name: 'g', input: [vi('x')], node: nodes, output: [vi('y')] }));
    expect(m.graph.nodes.map((n) => n.name)).toEqual(['n1', 'n2']);
    expect(m.graph.nodes[1]!.inputs[0]).toBe(m.graph.nodes[0]!.outputs[0]);
    const sorted = decodeModel(model({ name: 'g', input: [vi('x')], node: [...nodes].reverse(), output: [vi('y')] }));
    expect(sorted.graph.nodes.map((n) => n.name)).toEqual(['n1', 'n2']);
    const cyclic = model({
      name: 'g',
      node: [
        { op_type: 'Neg', input: ['b'], output: ['a'] },
        { op_type: 'Neg', input: ['a'], output: ['b'] },
      ],
    });
    expect(() => decodeModel(cyclic, { fileName: 'c.onnx' })).toThrow(/c.onnx: not a valid ONNX model \(graph g has a cycle\)/);
  });

  it('shares one placeholder value for names nobody defines', () => {
    const m = decodeModel(model({ name: 'g', node: [{ op_type: 'Neg', input: ['nowhere'], output: ['a'] }, { op_type: 'Neg', input: ['nowhere'], output: ['b'] }] }));
    const [n1, n2] = m.graph.nodes;
    expect(n1!.inputs[0]).toBe(n2!.inputs[0]);
    expect(n1!.inputs[0]!.uses()).toHaveLength(2);
  });

  it('keeps Constant nodes, optional inputs, node metadata and overloads', () => {
    const bytes = model({
      name: 'g',
      node: [
        { op_type: 'Constant', output: ['c'], attribute: [{ name: 'value', type: 4, t: f32([1], [3], '') }] },
        { op_type: 'Clip', input: ['c', '', 'c'], output: ['y'], name: 'clip', doc_string: 'd', overload: 'o', metadata_props: [{ key: 'a', value: 'b' }] },
      ],
      output: [vi('y')],
    });
    const m = decodeModel(bytes);
    const [c, clip] = m.graph.nodes;
    expect(c!.opType).toBe('Constant');
    expect(c!.attrTensor('value')!.data).toEqual(new Float32Array([3]));
    expect(clip!.inputs.map((v) => v?.name ?? null)).toEqual(['c', null, 'c']);
    expect([clip!.docString, clip!.overload, clip!.metadataProps]).toEqual(['d', 'o', [['a', 'b']]]);
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes));
  });

  it('keeps a node domain spelled out as "" (onnx.helper function expansion, tf2onnx)', () => {
    const bytes = model({
      name: 'g',
      input: [vi('x')],
      node: [
        { op_type: 'Relu', domain: '', input: ['x'], output: ['r'] },
        { op_type: 'Relu', input: ['r'], output: ['y'] },
      ],
      output: [vi('y')],
    });
    const m = decodeModel(bytes);
    expect(m.graph.nodes.map((n) => n.domain)).toEqual(['', '']);
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes));
  });
});

describe('decodeModel: fields spelled out with their default value (proto2 presence)', () => {
  // Every optional scalar, string and bytes field the IR keeps, each present with "" / 0.
  const empty = { name: '', doc_string: '' };
  const fn: onnx.IFunctionProto = {
    name: 'F',
    domain: '',
    overload: '',
    doc_string: '',
    input: ['a'],
    output: ['b'],
    node: [{ ...empty, op_type: 'Relu', domain: '', overload: '', input: ['a'], output: ['b'] }],
    opset_import: [{ domain: '', version: 17 }],
  };
  const explicitModel = (): Uint8Array =>
    protoBytes({
      ir_version: 0,
      producer_name: '',
      producer_version: '',
      domain: '',
      model_version: 0,
      doc_string: '',
      metadata_props: [{ key: '', value: '' }],
      opset_import: [{ domain: '', version: 17 }],
      functions: [fn],
      graph: {
        ...empty,
        input: [{ ...vi('x', 1, [0, '']), doc_string: '', type: { denotation: '', tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 0, denotation: '' }, { dim_param: '' }] } } } }],
        initializer: [{ name: 'z', dims: [0], data_type: 1, raw_data: new Uint8Array(0), doc_string: '', data_location: 0 }],
        node: [
          { ...empty, op_type: 'Relu', domain: '', input: ['x'], output: ['r'] },
          { name: '', op_type: 'Relu', domain: 'ai.onnx', input: ['r'], output: ['r2'] },
          {
            ...empty,
            op_type: 'Custom',
            domain: 'x.y',
            input: ['r2', 'z'],
            output: ['y'],
            attribute: [
              { name: 'i', type: 2, i: 0, doc_string: '' },
              { name: 'f', type: 1, f: 0 },
              { name: 's', type: 3, s: new Uint8Array(0) },
              { name: 'ref', type: 2, i: 5, ref_attr_name: '' },
              { name: 'undef', type: 0, i: 7 },
              { name: 'untyped', f: 0.5 },
              { name: 't', type: 4, t: { name: '', dims: [1], data_type: 1, float_data: [1], doc_string: '', data_location: 0 } },
              { name: 'g', type: 5, g: { ...empty, node: [{ ...empty, op_type: 'Identity', domain: '', input: ['x'], output: ['o'] }], output: [{ name: 'o' }] } },
            ],
          },
        ],
        output: [{ ...vi('y'), doc_string: '' }],
        value_info: [{ ...vi('r'), doc_string: '' }],
      },
    });

  it('writes each one back (decode -> encode is byte-identical)', () => {
    const bytes = explicitModel();
    const m = decodeModel(bytes);
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes));
    // The IR still sees plain defaults.
    expect([m.irVersion, m.graph.name, m.graph.nodes[0]!.name, m.graph.nodes[1]!.domain, m.functions[0]!.domain]).toEqual([0, '', '', '', '']);
    const custom = m.graph.nodes[2]!;
    expect(custom.attr('ref')).toEqual({ name: 'ref', type: 'int', value: 5 });
    expect(custom.attr('undef')).toEqual({ name: 'undef', type: 'int', value: 7 });
    expect(custom.attr('untyped')).toEqual({ name: 'untyped', type: 'float', value: 0.5 });
    expect(custom.attrTensor('t')!.name).toBe('');
  });

  it('writes absent fields as absent, and new or edited objects the usual way', () => {
    const m = decodeModel(explicitModel());
    const bare = decodeModel(model({ name: 'g', input: [vi('x')], node: [{ op_type: 'Relu', input: ['x'], output: ['y'] }], output: [vi('y')] }));
    const size = encodeModel(bare).length;
    // A node built anew has no record: its empty name and domain stay absent.
    const [relu] = bare.graph.nodes;
    relu!.name = 'named';
    expect(encodeModel(bare).length).toBe(size + 7);
    // Renaming a node that had name "" writes the new name.
    const first = m.graph.nodes[0]!;
    first.name = 'n';
    expect(decodeModel(encodeModel(m)).graph.nodes[0]!.name).toBe('n');
    expect(encodeModel(m).length).toBe(explicitModel().length + 1);
  });
});

describe('decodeModel: sparse initializers, annotations, metadata everywhere', () => {
  it('round trips them byte for byte', () => {
    const bytes = model({
      name: 'g',
      input: [{ ...vi('x'), metadata_props: [{ key: 'v', value: '1' }] }],
      initializer: [{ ...f32([2], [1, 2], 'w'), doc_string: 'tensor doc', metadata_props: [{ key: 't', value: '2' }] }],
      sparse_initializer: [{ values: f32([2], [1, 2], 'sp'), indices: { name: 'spi', dims: [2], data_type: 7, int64_data: [1, 5] }, dims: [8] }],
      node: [{ op_type: 'Add', input: ['x', 'w'], output: ['a'], metadata_props: [{ key: 'n', value: '3' }] }, { op_type: 'Add', input: ['a', 'sp'], output: ['y'] }],
      output: [vi('y')],
      quantization_annotation: [{ tensor_name: 'a', quant_parameter_tensor_names: [{ key: 'SCALE_TENSOR', value: 's' }, { key: 'ZERO_POINT_TENSOR', value: 'z' }] }],
      metadata_props: [{ key: 'g', value: '4' }],
    }, { metadata_props: [{ key: 'm', value: '5' }] });
    const m = decodeModel(bytes);
    const g = m.graph;
    expect(g.sparseInitializers[0]!.dims).toEqual([8]);
    expect(g.sparseInitializers[0]!.values.name).toBe('sp');
    expect(g.quantizationAnnotations).toEqual([{ tensorName: 'a', entries: [['SCALE_TENSOR', 's'], ['ZERO_POINT_TENSOR', 'z']] }]);
    expect(g.initializer('w')!.metadataProps).toEqual([['t', '2']]);
    expect(g.initializer('w')!.docString).toBe('tensor doc');
    expect(g.inputs[0]!.metadataProps).toEqual([['v', '1']]);
    expect(g.nodes[0]!.metadataProps).toEqual([['n', '3']]);
    expect(g.metadataProps).toEqual([['g', '4']]);
    expect(m.metadataProps).toEqual([['m', '5']]);
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes));
  });
});

describe('decodeModel: attributes', () => {
  it('reads every attribute type, ref_attr_name and doc strings, and writes them back', () => {
    const sparse: onnx.ISparseTensorProto = { values: f32([2], [1, 2], 'sv'), indices: { name: 'si', dims: [2], data_type: 7, int64_data: [0, 3] }, dims: [4] };
    const attrs: onnx.IAttributeProto[] = [
      { name: 'f', type: 1, f: 0.5, doc_string: 'a float' },
      { name: 'i', type: 2, i: -3 },
      { name: 'big', type: 2, i: Long.fromString('9223372036854775807') },
      { name: 'small', type: 2, i: Long.fromString('-9223372036854775808') },
      { name: 's', type: 3, s: Buffer.from('text') },
      { name: 'bin', type: 3, s: new Uint8Array([0xff, 0xfe, 0]) },
      { name: 't', type: 4, t: f32([1], [1], 'tt') },
      { name: 'g', type: 5, g: { name: 'body', node: [{ op_type: 'Identity', input: ['x'], output: ['z'] }], output: [{ name: 'z' }] } },
      { name: 'sp', type: 11, sparse_tensor: sparse },
      { name: 'tp', type: 13, tp: { tensor_type: { elem_type: 1 } } },
      { name: 'fs', type: 6, floats: [1, 2.5] },
      { name: 'is', type: 7, ints: [1, -1, Long.fromString('9223372036854775807')] },
      { name: 'ss', type: 8, strings: [Buffer.from('a'), Buffer.from('b')] },
      { name: 'ts', type: 9, tensors: [f32([1], [1], 't1')] },
      { name: 'gs', type: 10, graphs: [{ name: 'g1' }] },
      { name: 'sps', type: 12, sparse_tensors: [sparse] },
      { name: 'tps', type: 14, type_protos: [{ sequence_type: { elem_type: { tensor_type: { elem_type: 7 } } } }] },
      { name: 'ref', type: 2, ref_attr_name: 'alpha' },
    ];
    const bytes = model({ name: 'g', input: [vi('x')], node: [{ op_type: 'Custom', domain: 'x.y', input: ['x'], output: ['y'], attribute: attrs }], output: [vi('y')] });
    const m = decodeModel(bytes);
    const n = m.graph.nodes[0]!;
    expect(n.attr('f')).toEqual({ name: 'f', type: 'float', value: 0.5, docString: 'a float' });
    expect(n.attrInt('i')).toBe(-3);
    expect(n.attrInt('big')).toBe(2 ** 63);
    expect(n.attrInt('small')).toBe(-(2 ** 63));
    expect(n.attrString('s')).toBe('text');
    expect(n.attrInts('is')).toEqual([1, -1, 2 ** 63]);
    expect(n.attr('ss')!.value).toEqual(['a', 'b']);
    expect(n.attr('fs')!.value).toEqual([1, 2.5]);
    expect(n.attr('tp')!.value).toEqual({ kind: 'tensor', dtype: 'float32' });
    expect(n.attr('tps')!.value).toEqual([{ kind: 'sequence', elem: { kind: 'tensor', dtype: 'int64' } }]);
    expect(n.attr('ref')).toMatchObject({ type: 'int', refAttrName: 'alpha' });
    const sp = n.attr('sp')!.value as { values: Tensor; indices: Tensor; dims: number[] };
    expect(sp.dims).toEqual([4]);
    expect(sp.indices.data).toEqual(new BigInt64Array([0n, 3n]));
    // The subgraph reads the outer x.
    const body = (n.attr('g')!.value as unknown as { nodes: { inputs: unknown[] }[] }).nodes[0]!;
    expect(body.inputs[0]).toBe(m.graph.inputs[0]);
    // INT64_MAX/MIN saturate to ±2^63 and come back as INT64_MAX/MIN; invalid UTF-8 comes back as it was.
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes));
  });

  it('infers the type of IR v1 attributes that have none', () => {
    const m = decodeModel(model({ name: 'g', node: [{ op_type: 'X', output: ['y'], attribute: [{ name: 'a', i: 4 }, { name: 'b', floats: [1] }] }] }));
    expect(m.graph.nodes[0]!.attr('a')).toEqual({ name: 'a', type: 'int', value: 4 });
    expect(m.graph.nodes[0]!.attr('b')).toEqual({ name: 'b', type: 'floats', value: [1] });
  });

  it('rejects duplicate attributes, naming the node', () => {
    const bytes = model({ name: 'g', node: [{ name: 'n0', op_type: 'X', output: ['y'], attribute: [{ name: 'a', type: 2, i: 1 }, { name: 'a', type: 2, i: 2 }] }] });
    expect(() => decodeModel(bytes, { fileName: 'm.onnx' })).toThrow('m.onnx: not a valid ONNX model (node n0: attribute a given twice)');
  });
});

describe('decodeModel: functions, training info, unknown fields', () => {
  it('reads functions with attribute defaults, value_info, overload and metadata', () => {
    const fn: onnx.IFunctionProto = {
      name: 'F',
      domain: 'local',
      overload: 'v2',
      input: ['a'],
      output: ['b'],
      attribute: ['alpha'],
      attribute_proto: [{ name: 'beta', type: 1, f: 2 }],
      node: [
        { op_type: 'Mul', input: ['a', 'a'], output: ['t'] },
        { op_type: 'LeakyRelu', input: ['t'], output: ['b'], attribute: [{ name: 'alpha', type: 1, ref_attr_name: 'alpha' }] },
      ],
      opset_import: [{ domain: '', version: 17 }],
      value_info: [vi('t')],
      doc_string: 'fdoc',
      metadata_props: [{ key: 'fk', value: 'fv' }],
    };
    const bytes = model(
      { name: 'g', input: [vi('x')], node: [{ op_type: 'F', domain: 'local', overload: 'v2', input: ['x'], output: ['y'], attribute: [{ name: 'alpha', type: 1, f: 0.1 }] }], output: [vi('y')] },
      { functions: [fn], opset_import: [{ domain: '', version: 17 }, { domain: 'local', version: 1 }] },
    );
    const m = decodeModel(bytes);
    const f = m.functions[0]!;
    expect([f.name, f.domain, f.overload, f.attributes, f.docString, f.metadataProps]).toEqual(['F', 'local', 'v2', ['alpha'], 'fdoc', [['fk', 'fv']]]);
    expect(f.attributeDefaults).toEqual([{ name: 'beta', type: 'float', value: 2 }]);
    expect(f.body.inputs.map((v) => v.name)).toEqual(['a']);
    expect(f.body.outputs[0]).toBe(f.body.nodes[1]!.outputs[0]);
    expect(f.body.nodes[0]!.outputs[0]!.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [1] });
    expect(f.body.nodes[1]!.attr('alpha')!.refAttrName).toBe('alpha');
    expect([...f.opsetImports]).toEqual([['', 17]]);
    expect(Buffer.from(encodeModel(m))).toEqual(Buffer.from(bytes));
  });

  it('keeps training_info as bytes and unknown (newer) fields, and writes them back', () => {
    const base = model({ name: 'g', input: [vi('x')], output: [vi('x')] }, { training_info: [{ algorithm: { name: 'train' }, update_binding: [{ key: 'a', value: 'b' }] }] });
    // Append unknown fields: ModelProto field 26 (device configuration) and 99 varint.
    const extra = Buffer.concat([Buffer.from(base), Buffer.from([0xd2, 0x01, 0x02, 0x0a, 0x00, 0x98, 0x06, 0x07])]);
    const m = decodeModel(extra);
    expect(m.trainingInfo).toHaveLength(1);
    expect(onnx.TrainingInfoProto.decode(m.trainingInfo[0]!).algorithm!.name).toBe('train');
    expect(Buffer.from(encodeModel(m))).toEqual(extra);
  });

  it('rejects a known field with the wrong wire type', () => {
    // ModelProto field 7 (graph) as a varint.
    const bytes = Buffer.concat([Buffer.from(model({ name: 'g' })), Buffer.from([0x38, 0x01])]);
    expect(() => decodeModel(bytes, { fileName: 'w.onnx' })).toThrow(/w.onnx: not a valid ONNX model \(.*field 7 has wire type 0/);
    // TensorProto raw_data (9) as a varint.
    const t = onnx.TensorProto.encode({ name: 'w', dims: [1], data_type: 1, float_data: [1] }).finish();
    const bad = Buffer.concat([Buffer.from(t), Buffer.from([0x48, 0x01])]);
    const g = onnx.GraphProto.encode({ name: 'g' }).finish();
    const withTensor = Buffer.concat([Buffer.from(g), Buffer.from([0x2a, bad.length]), bad]);
    const m = Buffer.concat([Buffer.from([0x08, 0x08, 0x3a, withTensor.length]), withTensor]);
    expect(() => decodeModel(m)).toThrow(/TensorProto field 9 has wire type 0/);
  });
});

describe('decodeModel: bad input', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /no graph/],
    ['text', Buffer.from('this is not an onnx model\n'), /not a valid ONNX model/],
    ['truncated', model({ name: 'g', initializer: [f32([4], [1, 2, 3, 4])] }).subarray(0, 20), /truncated or corrupt/],
    ['graph missing', protoBytes({ ir_version: 8, producer_name: 'x' }), /no graph/],
    ['huge length', new Uint8Array([0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), /not a valid ONNX model/],
  ];
  for (const [name, bytes, re] of cases)
    it(`${name} -> E_PARSE naming the file`, () => {
      let err: unknown;
      try {
        decodeModel(bytes, { fileName: 'bad.onnx' });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShearsError);
      expect((err as ShearsError).code).toBe('E_PARSE');
      expect((err as ShearsError).message).toMatch(/^bad\.onnx: /);
      expect((err as ShearsError).message).toMatch(re);
      expect((err as ShearsError).message).not.toContain('\n');
    });
});
