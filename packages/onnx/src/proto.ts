import protobuf from 'protobufjs/minimal.js';
import { DecodeError } from './errors.js';
import { KNOWN_FIELDS } from './gen/known-fields.js';
import { onnx } from './gen/onnx.pbjs.js';
import { decodeTensorProto, type TensorMsg } from './tensor-proto-decode.js';

// The generated decoders reach nested types through the module's private
// root, so this swaps the TensorProto decoder for every tensor in the file:
// initializers, attribute tensors, sparse tensors, subgraphs, functions.
(onnx.TensorProto as unknown as { decode: typeof decodeTensorProto }).decode = decodeTensorProto;

export { onnx };
export type { TensorMsg };

/**
 * The same bytes as a plain Uint8Array. Decoding a Buffer would hand out
 * Buffer views, whose slice() is a view too, which breaks copy-by-slice code.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a ModelProto, keeping unknown fields. raw_data fields are views into `bytes`. */
export function decodeModelProto(bytes: Uint8Array): onnx.ModelProto {
  const reader = protobuf.Reader.create(plainBytes(bytes));
  reader.discardUnknown = false;
  return onnx.ModelProto.decode(reader);
}

/** Whether a message field was present in the input (proto2 presence). */
export function has(msg: object, field: string): boolean {
  return  Object.hasOwn(msg, field);
}

/**
 * Checks a message's unknown fields: a field our onnx.proto declares can only
 * land there with a wrong wire type (or an out-of-range enum); those are
 * errors. The rest are fields of newer ONNX versions, returned for keeping.
 */
export function checkUnknowns(msg: { $unknowns?: Uint8Array[] }, type: string): Uint8Array[] | undefined {
  const unknowns = msg.$unknowns;
  if (!unknowns || unknowns.length === 0) return undefined;
  const known = KNOWN_FIELDS[type];
  for (const chunk of unknowns) {
    const reader = protobuf.Reader.create(chunk);
    const t = reader.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    const allowed = known?.[field];
    if (allowed === undefined) continue;
    if (allowed & (1 << wire)) throw new DecodeError(`${type} field ${field} has an unsupported value`);
    throw new DecodeError(`${type} field ${field} has wire type ${wire}`);
  }
  return unknowns;
}
