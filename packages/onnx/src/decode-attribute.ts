import { Graph, Tensor, type Attribute, type AttributeValue, type SparseTensor, type ValueType } from '@shears/core';
import { decodeTensor, type TensorContext } from './decode-tensor.js';
import { decodeType } from './decode-type.js';
import { DecodeError, quote } from './errors.js';
import { int64Exact, int64ToNumber } from './int64.js';
import { checkUnknowns, has, type onnx, type TensorMsg } from './proto.js';
import { markPresent, PRESENT, rawStrings, unknownFields } from './side-tables.js';

/** What attribute decoding needs from the graph decoder (subgraphs recurse through it). */
export interface AttributeContext extends TensorContext {
  subgraph(g: onnx.IGraphProto): Graph;
}

const TYPES: Record<number, AttributeValue['type']> = {
  1: 'float',
  2: 'int',
  3: 'string',
  4: 'tensor',
  5: 'graph',
  11: 'sparse_tensor',
  13: 'type_proto',
  6: 'floats',
  7: 'ints',
  8: 'strings',
  9: 'tensors',
  10: 'graphs',
  12: 'sparse_tensors',
  14: 'type_protos',
};

export const ATTRIBUTE_CODES: Record<AttributeValue['type'], number> = Object.fromEntries(
  Object.entries(TYPES).map(([k, v]) => [v, Number(k)]),
) as Record<AttributeValue['type'], number>;

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/** UTF-8 text of attribute bytes; `ok` is false when the bytes were not valid UTF-8. */
function text(bytes: Uint8Array): { s: string; ok: boolean } {
  try {
    return { s: strict.decode(bytes), ok: true };
  } catch {
    return { s: lenient.decode(bytes), ok: false };
  }
}

/** IR version 1 files have no type field: take the type from the field that is set. */
function inferType(a: onnx.AttributeProto): number {
  const set: number[] = [];
  if (has(a, 'f')) set.push(1);
  if (has(a, 'i')) set.push(2);
  if (has(a, 's')) set.push(3);
  if (a.t) set.push(4);
  if (a.g) set.push(5);
  if (a.sparse_tensor) set.push(11);
  if (a.tp) set.push(13);
  if (a.floats.length) set.push(6);
  if (a.ints.length) set.push(7);
  if (a.strings.length) set.push(8);
  if (a.tensors.length) set.push(9);
  if (a.graphs.length) set.push(10);
  if (a.sparse_tensors.length) set.push(12);
  if (a.type_protos.length) set.push(14);
  return set.length === 1 ? set[0]! : 0;
}

export function decodeSparse(s: onnx.ISparseTensorProto, ctx: TensorContext): SparseTensor {
  const unknowns = checkUnknowns(s as onnx.SparseTensorProto, 'SparseTensorProto');
  if (!s.values || !s.indices) throw new DecodeError('sparse tensor without values or indices');
  const dims = (s.dims ?? []).map((d) => {
    const n = int64Exact(d);
    if (n === null || n < 0) throw new DecodeError(`sparse tensor ${quote(s.values!.name ?? '')}: invalid dimension ${String(d)}`);
    return n;
  });
  const out: SparseTensor = {
    values: decodeTensor(s.values as unknown as TensorMsg, ctx),
    indices: decodeTensor(s.indices as unknown as TensorMsg, ctx),
    dims,
  };
  if (unknowns) unknownFields.set(out, unknowns);
  return out;
}

function typeOf(t: onnx.ITypeProto): ValueType {
  const v = decodeType(t);
  if (!v) throw new DecodeError('attribute type_proto is not supported (opaque or unset type)');
  return v;
}

/** Placeholder values for attributes that only reference a caller's attribute (ref_attr_name). */
function placeholder(type: AttributeValue['type']): AttributeValue {
  switch (type) {
    case 'float':
    case 'int':
      return { type, value: 0 };
    case 'string':
      return { type, value: '' };
    case 'tensor':
      return { type, value: new Tensor({ dtype: 'float32', dims: [0] }) };
    case 'graph':
      return { type, value: new Graph() };
    case 'sparse_tensor':
      return { type, value: { values: new Tensor({ dtype: 'float32', dims: [0] }), indices: new Tensor({ dtype: 'int64', dims: [0] }), dims: [] } };
    case 'type_proto':
      return { type, value: { kind: 'tensor', dtype: 'undefined' } };
    default:
      return { type, value: [] } as AttributeValue;
  }
}

/** Spelled-out defaults of an attribute's type and ref_attr_name (see PRESENT). */
function attributePresence(a: onnx.AttributeProto): number {
  let bits = a.ref_attr_name === '' && has(a, 'ref_attr_name') ? PRESENT.refAttrName : 0;
  if (!has(a, 'type')) bits |= PRESENT.noType;
  else if (a.type === 0) bits |= PRESENT.undefinedType;
  return bits;
}

export function decodeAttribute(a: onnx.AttributeProto, ctx: AttributeContext): Attribute {
  const name = a.name ?? '';
  const unknowns = checkUnknowns(a, 'AttributeProto');
  const code = has(a, 'type') && a.type !== 0 ? a.type : inferType(a);
  const type = TYPES[code];
  if (!type) throw new DecodeError(`attribute ${quote(name)} has no valid type (${code})`);
  const extras = {
    ...(a.ref_attr_name ? { refAttrName: a.ref_attr_name } : {}),
    ...(has(a, 'doc_string') ? { docString: a.doc_string } : {}),
  };
  let value: AttributeValue;
  let raw: { value: string | string[]; bytes: Uint8Array | Uint8Array[] } | undefined;
  const missing = (what: string): never => {
    throw new DecodeError(`attribute ${quote(name)} of type ${type} has no ${what}`);
  };
  // A reference to the calling node's attribute carries no value of its own.
  if (a.ref_attr_name) value = placeholder(type);
  else
    switch (type) {
      case 'float':
        value = { type, value: a.f ?? 0 };
        break;
      case 'int':
        value = { type, value: int64ToNumber(a.i ?? 0) };
        break;
      case 'string': {
        const { s, ok } = text(a.s ?? new Uint8Array(0));
        value = { type, value: s };
        if (!ok) raw = { value: s, bytes: a.s };
        break;
      }
      case 'tensor':
        value = { type, value: decodeTensor((a.t ?? missing('tensor')) as unknown as TensorMsg, ctx) };
        break;
      case 'graph':
        value = { type, value: ctx.subgraph(a.g ?? missing('graph')) };
        break;
      case 'sparse_tensor':
        value = { type, value: decodeSparse(a.sparse_tensor ?? missing('sparse tensor'), ctx) };
        break;
      case 'type_proto':
        value = { type, value: typeOf(a.tp ?? missing('type')) };
        break;
      case 'floats':
        value = { type, value: [...a.floats] };
        break;
      case 'ints':
        value = { type, value: a.ints.map((v) => int64ToNumber(v)) };
        break;
      case 'strings': {
        const decoded = a.strings.map((b) => text(b));
        value = { type, value: decoded.map((d) => d.s) };
        if (decoded.some((d) => !d.ok)) raw = { value: [...value.value], bytes: [...a.strings] };
        break;
      }
      case 'tensors':
        value = { type, value: a.tensors.map((t) => decodeTensor(t as unknown as TensorMsg, ctx)) };
        break;
      case 'graphs':
        value = { type, value: a.graphs.map((g) => ctx.subgraph(g)) };
        break;
      case 'sparse_tensors':
        value = { type, value: a.sparse_tensors.map((s) => decodeSparse(s, ctx)) };
        break;
      case 'type_protos':
        value = { type, value: a.type_protos.map(typeOf) };
        break;
    }
  const attr = { name, ...value, ...extras } as Attribute;
  if (raw) rawStrings.set(attr, raw);
  if (unknowns) unknownFields.set(attr, unknowns);
  markPresent(attr, attributePresence(a));
  return attr;
}
