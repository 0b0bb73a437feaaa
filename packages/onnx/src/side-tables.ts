import type { Attribute, Graph, Model, Tensor, Value } from '@shears/core';
import type { onnx } from './gen/onnx.pbjs.js';

// What the IR has no field for but a lossless round trip needs. WeakMaps keyed
// by IR objects: nothing global to reset, and the entries die with the model.
// Edits that replace an object simply drop its entry; cloneModel does not copy them.

/** Absolute path the model was read from (writeModel refuses to overwrite it). */
export const sourcePaths = new WeakMap<Model, string>();

/** Fields newer than our onnx.proto, as raw bytes, written back unchanged. */
export const unknownFields = new WeakMap<object, Uint8Array[]>();

/** raw_data of tensors left lazy because the bytes were misaligned for a typed view. */
export const rawSources = new WeakMap<Tensor, Uint8Array>();

/** Order of the graph's value_info entries in the file. */
export const valueInfoOrder = new WeakMap<Graph, Value[]>();

/** value_info entries that name no value of their graph (or repeat an input/output's): kept verbatim. */
export const orphanValueInfos = new WeakMap<Graph, onnx.ValueInfoProto[]>();

/** Graph output entries whose value (an input, initializer or outer value) already had other type info. */
export const outputInfos = new WeakMap<Graph, Map<number, { value: Value; info: onnx.ValueInfoProto }>>();

/** Original bytes of string attributes that were not valid UTF-8. */
export const rawStrings = new WeakMap<Attribute, { value: string | string[]; bytes: Uint8Array | Uint8Array[] }>();

/** TypeProtos the IR cannot express (opaque, empty), kept for the value. */
export const rawTypes = new WeakMap<Value, onnx.TypeProto>();

/**
 * Fields the file spelled out with their default value ("" or 0) where the IR
 * keeps only the value, so absent and explicitly default look the same. proto2
 * keeps such fields on the wire (old PyTorch exports name every node ""), so
 * they are written back exactly: a bit set of PRESENT per IR object. Objects
 * a pass creates have no entry and get the usual (absent) form.
 */
export const explicitDefaults = new WeakMap<object, number>();

/** Bits of `explicitDefaults`. */
export const PRESENT = {
  /** NodeProto, GraphProto, TensorProto: name "". */
  name: 1,
  /** NodeProto, FunctionProto: domain "". */
  domain: 2,
  /** NodeProto: domain "ai.onnx", which the IR reads as "". */
  aiOnnxDomain: 4,
  /** ModelProto, FunctionProto: the default domain's opset_import spells out domain "" (writers differ). */
  defaultOpsetDomain: 8,
  /** TensorProto: data_location DEFAULT (what onnx.load_external_data leaves behind). */
  dataLocation: 16,
  /** ModelProto: ir_version 0. */
  irVersion: 32,
  /** AttributeProto: ref_attr_name "". */
  refAttrName: 64,
  /** AttributeProto: no type field (IR version 1). */
  noType: 128,
  /** AttributeProto: type UNDEFINED (0), the real type inferred from the value field. */
  undefinedType: 256,
} as const;

/** Records the given PRESENT bits for an IR object (nothing when `bits` is 0). */
export function markPresent(owner: object, bits: number): void {
  if (bits !== 0) explicitDefaults.set(owner, (explicitDefaults.get(owner) ?? 0) | bits);
}

/** Whether the file spelled out the field of this PRESENT bit with its default value. */
export function isPresent(owner: object, bit: number): boolean {
  return ((explicitDefaults.get(owner) ?? 0) & bit) !== 0;
}
