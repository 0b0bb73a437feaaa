import { Graph, Model, Value, type Attribute, type ModelFunction, type Tensor } from '@shears/core';
import { decodeAttribute } from './decode-attribute.js';
import { GraphDecoder, Scope } from './decode-graph.js';
import { metadataOf } from './decode-tensor.js';
import { asParseError, DecodeError, parseError } from './errors.js';
import { int64ToNumber } from './int64.js';
import { checkUnknowns, decodeModelProto, has, plainBytes, type onnx } from './proto.js';
import { markPresent, PRESENT, unknownFields } from './side-tables.js';
import { scanFields } from './wire.js';

export interface DecodeOptions {
  /** Directory external data locations are relative to (default: the current directory). */
  baseDir?: string;
  /** Name used in error messages (default: "<memory>"). */
  fileName?: string;
  /** Read external data now, so a missing file fails here rather than on first use (default true). */
  loadExternal?: boolean;
  /**
   * The caller hands `bytes` over (readModel does): misaligned tensor data is
   * then moved within `bytes` on first read instead of copied, so `bytes` no
   * longer holds the original file afterwards. Default false.
   */
  ownsBytes?: boolean;
}

function opsets(list: onnx.IOperatorSetIdProto[] | null | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of list ?? []) {
    checkUnknowns(o as onnx.OperatorSetIdProto, 'OperatorSetIdProto');
    out.set(o.domain ?? '', int64ToNumber(o.version ?? 0));
  }
  return out;
}

/** PRESENT.defaultOpsetDomain when an opset_import spells out domain "" (onnx.helper does, PyTorch does not). */
function opsetPresence(list: onnx.IOperatorSetIdProto[] | null | undefined): number {
  return list?.some((o) => o.domain === '' && has(o, 'domain')) ? PRESENT.defaultOpsetDomain : 0;
}

function decodeFunction(f: onnx.FunctionProto, graphs: GraphDecoder): ModelFunction {
  const unknowns = checkUnknowns(f, 'FunctionProto');
  // A function body sees only its own formal inputs: a fresh scope chain.
  const scope = new Scope(null);
  const body = new Graph(f.name ?? '');
  for (const name of f.input ?? []) {
    const v = new Value(name);
    body.addInput(v);
    if (name !== '') scope.names.set(name, v);
  }
  graphs.nodes(body, f.node ?? [], scope);
  const local = new Set<Value>(body.nodes.flatMap((n) => n.outputs));
  graphs.outputs(body, (f.output ?? []).map((name) => ({ name })), scope, local);
  graphs.valueInfos(body, f.value_info ?? [], scope);
  const actx = { ...graphs.ctx, subgraph: (g: onnx.IGraphProto) => graphs.graph(g, new Scope(scope)) };
  const attributeDefaults: Attribute[] = (f.attribute_proto ?? []).map((a) => graphs.wrap(() => decodeAttribute(a as onnx.AttributeProto, actx)));
  const fn: ModelFunction = {
    name: f.name ?? '',
    domain: f.domain ?? '',
    ...(has(f, 'overload') ? { overload: f.overload } : {}),
    attributes: [...(f.attribute ?? [])],
    attributeDefaults,
    opsetImports: opsets(f.opset_import),
    body,
    ...(has(f, 'doc_string') ? { docString: f.doc_string } : {}),
    ...(f.metadata_props?.length ? { metadataProps: metadataOf(f.metadata_props) } : {}),
  };
  if (unknowns) unknownFields.set(fn, unknowns);
  markPresent(fn, opsetPresence(f.opset_import) | (f.domain === '' && has(f, 'domain') ? PRESENT.domain : 0));
  return fn;
}

function convert(bytes: Uint8Array, m: onnx.ModelProto, file: string, baseDir: string, owned: boolean): { model: Model; external: Tensor[] } {
  if (!m.graph) throw parseError(file, 'no graph; is this an ONNX model file?');
  const unknowns = checkUnknowns(m, 'ModelProto');
  const external: Tensor[] = [];
  const graphs = new GraphDecoder({ file, baseDir, external, ...(owned ? { owned: bytes.buffer } : {}) });
  const model = new Model();
  model.opsetImports = opsets(m.opset_import);
  model.irVersion = has(m, 'ir_version') ? int64ToNumber(m.ir_version) : 0;
  markPresent(model, opsetPresence(m.opset_import) | (model.irVersion === 0 && has(m, 'ir_version') ? PRESENT.irVersion : 0));
  if (has(m, 'producer_name')) model.producerName = m.producer_name;
  if (has(m, 'producer_version')) model.producerVersion = m.producer_version;
  if (has(m, 'domain')) model.domain = m.domain;
  if (has(m, 'model_version')) model.modelVersion = int64ToNumber(m.model_version);
  if (has(m, 'doc_string')) model.docString = m.doc_string;
  model.metadataProps = metadataOf(m.metadata_props) ?? [];
  model.functions = m.functions.map((f) => decodeFunction(f as onnx.FunctionProto, graphs));
  model.graph = graphs.graph(m.graph, new Scope(null));
  // Training info is kept as the bytes it was read as (views into the input).
  if (m.training_info.length) model.trainingInfo = scanFields(bytes).filter((f) => f.field === 20).map((f) => f.value);
  if (unknowns) unknownFields.set(model, unknowns);
  return { model, external };
}

/**
 * Decodes ONNX protobuf bytes into a Model. Tensor data are views of `bytes`
 * where alignment allows, so keep `bytes` unmodified while the model lives.
 * Every failure is a ShearsError (E_PARSE, or E_EXTERNAL_DATA when eager
 * external loading fails).
 */
export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Model {
  const file = opts.fileName ?? '<memory>';
  if (!(bytes instanceof Uint8Array)) throw parseError(file, 'input is not a byte array');
  bytes = plainBytes(bytes);
  let msg: onnx.ModelProto;
  try {
    msg = decodeModelProto(bytes);
  } catch (e) {
    // protobufjs reports truncation as "index out of range".
    const detail = e instanceof Error ? e.message.replace(/^index out of range.*/, 'truncated or corrupt data') : String(e);
    throw e instanceof RangeError && /call stack/i.test(detail) ? asParseError(file, e) : parseError(file, `protobuf: ${detail}`);
  }
  let model: Model;
  let external: Tensor[];
  try {
    ({ model, external } = convert(bytes, msg, file, opts.baseDir ?? process.cwd(), opts.ownsBytes ?? false));
  } catch (e) {
    throw e instanceof DecodeError ? parseError(file, e.message) : asParseError(file, e);
  }
  if (opts.loadExternal ?? true) for (const t of external) void t.data;
  return model;
}

