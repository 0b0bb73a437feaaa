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

/** Models and functions whose default-domain opset_import spelled out domain "" (writers differ). */
export const explicitDefaultDomain = new WeakSet<object>();

/** Tensors whose file spelled out an empty name (onnx.helper does, exporters mostly do not). */
export const explicitEmptyName = new WeakSet<object>();

/** Nodes whose file spelled out an empty domain (onnx.helper's function expansion does). */
export const explicitEmptyDomain = new WeakSet<object>();
