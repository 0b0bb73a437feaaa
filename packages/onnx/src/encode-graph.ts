import { type Attribute, type Graph, type ModelFunction, type Node, type Value } from '@shears/core';
import { Chunks } from './chunks.js';
import { ATTRIBUTE_CODES } from './decode-attribute.js';
import { encodeSparse, encodeTensor, metadataParts, unknownParts, type EncodeContext } from './encode-tensor.js';
import { encodeType } from './encode-type.js';
import { int64Halves } from './int64.js';
import { onnx } from './proto.js';
import { explicitDefaults, isPresent, orphanValueInfos, outputInfos, PRESENT, rawStrings, rawTypes, unknownFields, valueInfoOrder } from './side-tables.js';
import { WIRE_VARINT } from './wire.js';

const utf8 = new TextEncoder();

function valueInfo(v: Value): Uint8Array {
  const msg: onnx.IValueInfoProto & { $unknowns?: Uint8Array[] } = { name: v.name };
  if (v.type) msg.type = encodeType(v.type);
  else if (rawTypes.has(v)) msg.type = rawTypes.get(v);
  if (v.docString !== undefined) msg.doc_string = v.docString;
  if (v.metadataProps) msg.metadata_props = v.metadataProps.map(([key, value]) => ({ key, value }));
  const unknowns = unknownFields.get(v);
  if (unknowns) msg.$unknowns = unknowns;
  return onnx.ValueInfoProto.encode(msg).finish();
}

function hasInfo(v: Value): boolean {
  return v.type !== undefined || v.docString !== undefined || v.metadataProps !== undefined || rawTypes.has(v);
}

/** value_info: typed intermediate values (and initializers that had an entry), in file order first. */
function valueInfoParts(c: Chunks, field: number, g: Graph, listed: readonly Value[] = []): void {
  const boundary = new Set<Value>([...g.inputs, ...g.outputs, ...listed]);
  const own = new Set<Value>(g.initializers.values());
  for (const n of g.nodes) for (const o of n.outputs) own.add(o);
  const done = new Set<Value>();
  const emit = (v: Value): void => {
    if (done.has(v) || boundary.has(v) || !own.has(v) || !hasInfo(v) || v.name === '') return;
    done.add(v);
    c.bytes(field, valueInfo(v));
  };
  for (const v of valueInfoOrder.get(g) ?? []) emit(v);
  for (const n of g.nodes) for (const o of n.outputs) emit(o);
  for (const v of g.initializers.values()) emit(v);
  for (const vi of orphanValueInfos.get(g) ?? []) c.bytes(field, onnx.ValueInfoProto.encode(vi).finish());
}

/** opset_import entries; the default domain's spells out domain "" only when the file did. */
export function opsetParts(c: Chunks, field: number, opsets: ReadonlyMap<string, number>, explicitDefault: boolean): void {
  for (const [domain, version] of opsets) c.bytes(field, onnx.OperatorSetIdProto.encode(domain === '' && !explicitDefault ? { version } : { domain, version }).finish());
}

function stringBytes(a: Attribute, s: string, i: number): Uint8Array {
  // Bytes that were not valid UTF-8 go back as they came, unless edited.
  const raw = rawStrings.get(a);
  if (raw) {
    if (typeof raw.value === 'string' && raw.value === s) return raw.bytes as Uint8Array;
    if (Array.isArray(raw.value) && raw.value[i] === s && (a.value as string[]).length === raw.value.length) return (raw.bytes as Uint8Array[])[i]!;
  }
  return utf8.encode(s);
}

export class GraphEncoder {
  constructor(readonly ctx: EncodeContext) {}

  attribute(a: Attribute): Chunks {
    const c = new Chunks();
    c.string(1, a.name);
    if (!a.refAttrName)
      switch (a.type) {
        case 'float':
          c.float32(2, a.value);
          break;
        case 'int':
          c.int64(3, ...int64Halves(a.value));
          break;
        case 'string':
          c.bytes(4, stringBytes(a, a.value, 0));
          break;
        case 'tensor':
          c.message(5, encodeTensor(a.value, this.ctx));
          break;
        case 'graph':
          c.message(6, this.graph(a.value));
          break;
        case 'floats':
          for (const f of a.value) c.float32(7, f);
          break;
        case 'ints':
          for (const i of a.value) c.int64(8, ...int64Halves(i));
          break;
        case 'strings':
          a.value.forEach((s, i) => c.bytes(9, stringBytes(a, s, i)));
          break;
        case 'tensors':
          for (const t of a.value) c.message(10, encodeTensor(t, this.ctx));
          break;
        case 'graphs':
          for (const g of a.value) c.message(11, this.graph(g));
          break;
      }
    if (a.docString !== undefined) c.string(13, a.docString);
    if (!a.refAttrName) {
      if (a.type === 'type_proto') c.bytes(14, onnx.TypeProto.encode(encodeType(a.value)).finish());
      if (a.type === 'type_protos') for (const t of a.value) c.bytes(15, onnx.TypeProto.encode(encodeType(t)).finish());
    }
    const present = explicitDefaults.get(a) ?? 0;
    if (!(present & PRESENT.noType)) c.key(20, WIRE_VARINT).varint(present & PRESENT.undefinedType ? 0 : ATTRIBUTE_CODES[a.type]);
    if (a.refAttrName) c.string(21, a.refAttrName);
    else {
      if (present & PRESENT.refAttrName) c.string(21, '');
      if (a.type === 'sparse_tensor') c.message(22, encodeSparse(a.value, this.ctx));
      else if (a.type === 'sparse_tensors') for (const s of a.value) c.message(23, encodeSparse(s, this.ctx));
    }
    unknownParts(c, a);
    return c;
  }

  node(n: Node): Chunks {
    const c = new Chunks();
    for (const v of n.inputs) c.string(1, v ? v.name : '');
    for (const o of n.outputs) c.string(2, o.name);
    if (n.name !== '' || isPresent(n, PRESENT.name)) c.string(3, n.name);
    c.string(4, n.opType);
    for (const a of n.attributes.values()) c.message(5, this.attribute(a));
    if (n.docString !== undefined) c.string(6, n.docString);
    if (n.domain !== '') c.string(7, n.domain);
    else if (isPresent(n, PRESENT.domain)) c.string(7, '');
    else if (isPresent(n, PRESENT.aiOnnxDomain)) c.string(7, 'ai.onnx');
    if (n.overload !== undefined) c.string(8, n.overload);
    metadataParts(c, 9, n.metadataProps);
    unknownParts(c, n);
    return c;
  }

  graph(g: Graph, main = false): Chunks {
    const c = new Chunks();
    // IR < 4: initializers a pass added (folded, sliced copies) are listed as inputs, like the file's own.
    const inputs = new Set(g.inputs);
    const listed = main && this.ctx.initializersAsInputs ? [...g.initializers.values()].filter((v) => !inputs.has(v)) : [];
    for (const n of g.nodes) c.message(1, this.node(n));
    if (g.name !== '' || isPresent(g, PRESENT.name)) c.string(2, g.name);
    for (const [name, v] of g.initializers) c.message(5, encodeTensor(v.constValue!, this.ctx, this.ctx.external, name));
    if (g.docString !== undefined) c.string(10, g.docString);
    for (const v of g.inputs) c.bytes(11, valueInfo(v));
    for (const v of listed) {
      const t = v.constValue!;
      c.bytes(11, onnx.ValueInfoProto.encode({ name: v.name, type: encodeType({ kind: 'tensor', dtype: t.dtype, shape: [...t.dims] }) }).finish());
    }
    const kept = outputInfos.get(g);
    g.outputs.forEach((v, i) => {
      const k = kept?.get(i);
      c.bytes(12, k && k.value === v ? onnx.ValueInfoProto.encode(k.info).finish() : valueInfo(v));
    });
    valueInfoParts(c, 13, g, listed);
    for (const q of g.quantizationAnnotations)
      c.bytes(14, onnx.TensorAnnotation.encode({ tensor_name: q.tensorName, quant_parameter_tensor_names: q.entries.map(([key, value]) => ({ key, value })) }).finish());
    for (const s of g.sparseInitializers) c.message(15, encodeSparse(s, this.ctx));
    metadataParts(c, 16, g.metadataProps);
    unknownParts(c, g);
    return c;
  }

  function(f: ModelFunction): Chunks {
    const c = new Chunks();
    c.string(1, f.name);
    for (const v of f.body.inputs) c.string(4, v.name);
    for (const v of f.body.outputs) c.string(5, v.name);
    for (const a of f.attributes) c.string(6, a);
    for (const n of f.body.nodes) c.message(7, this.node(n));
    if (f.docString !== undefined) c.string(8, f.docString);
    opsetParts(c, 9, f.opsetImports, isPresent(f, PRESENT.defaultOpsetDomain));
    if (f.domain !== '' || isPresent(f, PRESENT.domain)) c.string(10, f.domain);
    for (const a of f.attributeDefaults) c.message(11, this.attribute(a));
    valueInfoParts(c, 12, f.body);
    if (f.overload !== undefined) c.string(13, f.overload);
    metadataParts(c, 14, f.metadataProps);
    unknownParts(c, f);
    return c;
  }
}
