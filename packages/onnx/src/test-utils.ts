// Helpers for this package's tests (not exported from the package).
import { mulberry32, type Attribute, type Graph, type Model, type SparseTensor, type Tensor, type Value } from '@shears/core';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { onnx } from './proto.js';
import { explicitDefaults } from './side-tables.js';
import { tensorsOf } from './walk.js';

/** Encodes a ModelProto given as a plain object with the generated encoder (to build test inputs). */
export function protoBytes(m: onnx.IModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

function tensorDigest(t: Tensor): unknown {
  const d = t.data;
  const bytes = Array.isArray(d) ? d.map((s) => Buffer.from(s).toString('hex')).join(',') : Buffer.from(t.rawBytes()).toString('hex');
  return { name: t.name, dtype: t.dtype, dims: t.dims, doc: t.docString, meta: t.metadataProps, data: createHash('sha256').update(bytes).digest('hex') };
}

function sparseDigest(s: SparseTensor): unknown {
  return { values: tensorDigest(s.values), indices: tensorDigest(s.indices), dims: s.dims };
}

function attrDigest(a: Attribute): unknown {
  const base = { name: a.name, type: a.type, ref: a.refAttrName, doc: a.docString };
  if (a.refAttrName) return base;
  switch (a.type) {
    case 'tensor':
      return { ...base, value: tensorDigest(a.value) };
    case 'tensors':
      return { ...base, value: a.value.map(tensorDigest) };
    case 'graph':
      return { ...base, value: graphDigest(a.value) };
    case 'graphs':
      return { ...base, value: a.value.map(graphDigest) };
    case 'sparse_tensor':
      return { ...base, value: sparseDigest(a.value) };
    case 'sparse_tensors':
      return { ...base, value: a.value.map(sparseDigest) };
    default:
      return { ...base, value: a.value };
  }
}

function valueDigest(v: Value): unknown {
  return { name: v.name, type: v.type, doc: v.docString, meta: v.metadataProps };
}

/** A plain structure of everything the IR holds, for deep equality between two reads. */
export function graphDigest(g: Graph): unknown {
  return {
    name: g.name,
    doc: g.docString,
    meta: g.metadataProps,
    inputs: g.inputs.map(valueDigest),
    outputs: g.outputs.map(valueDigest),
    initializers: [...g.initializers].map(([k, v]) => [k, tensorDigest(v.constValue!), valueDigest(v)]),
    sparse: g.sparseInitializers.map(sparseDigest),
    quant: g.quantizationAnnotations,
    nodes: g.nodes.map((n) => ({
      op: n.opType,
      domain: n.domain,
      name: n.name,
      overload: n.overload,
      doc: n.docString,
      meta: n.metadataProps,
      inputs: n.inputs.map((v) => (v ? v.name : null)),
      outputs: n.outputs.map(valueDigest),
      attrs: [...n.attributes.values()].map(attrDigest),
    })),
  };
}

export function modelDigest(m: Model): unknown {
  return {
    ir: m.irVersion,
    opsets: [...m.opsetImports],
    producer: [m.producerName, m.producerVersion, m.domain, m.modelVersion, m.docString],
    meta: m.metadataProps,
    training: m.trainingInfo.map((t) => Buffer.from(t).toString('hex')),
    functions: m.functions.map((f) => ({ ...f, attributeDefaults: f.attributeDefaults.map(attrDigest), opsetImports: [...f.opsetImports], body: graphDigest(f.body) })),
    graph: graphDigest(m.graph),
  };
}

/**
 * How many fields the file spelled out with their default value ("" or 0)
 * where the IR keeps only the value (the PRESENT bits the reader recorded).
 */
export function spelledDefaults(m: Model): number {
  const owners: object[] = [m, ...m.functions, ...m.functions.flatMap((f) => f.attributeDefaults), ...tensorsOf(m)];
  for (const body of [m.graph, ...m.functions.map((f) => f.body)]) {
    owners.push(body);
    for (const n of body.allNodes()) owners.push(n, ...n.attributes.values(), ...n.subgraphs());
  }
  let count = 0;
  for (const o of new Set(owners)) for (let bits = explicitDefaults.get(o) ?? 0; bits; bits &= bits - 1) count++;
  return count;
}

/** Deterministic PRNG for fuzzing: core's mulberry32. */
export const rng = mulberry32;

let pythonOnnx: boolean | undefined;
/** Whether /usr/bin/python3 can import onnx (for the checker). */
export function hasPythonOnnx(): boolean {
  if (pythonOnnx === undefined) {
    pythonOnnx = existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
  }
  return pythonOnnx;
}

/** Runs onnx.checker.check_model(full_check=True); throws with the checker's message on failure. */
export function pythonCheck(path: string): void {
  execFileSync('/usr/bin/python3', ['-c', 'import onnx,sys; onnx.checker.check_model(sys.argv[1], full_check=True)', path], { stdio: 'pipe' });
}

export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  const copy = new Uint8Array(b.length);
  copy.set(b);
  return new Float32Array(copy.buffer);
}
