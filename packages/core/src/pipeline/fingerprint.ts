import type { Attribute } from '../ir/attribute.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';

/** FNV-1a over 32-bit words (bytes for the tail); a cheap content hash for change detection. */
function hashBytes(bytes: Uint8Array, h = 0x811c9dc5): number {
  const words = bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2) : undefined;
  let i = 0;
  if (words) {
    for (let w = 0; w < words.length; w++) h = Math.imul(h ^ words[w]!, 0x01000193);
    i = words.length << 2;
  }
  for (; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

export interface FingerprintOptions {
  /**
   * Hash every initializer's bytes (default true). Without it the
   * fingerprint covers structure only: nodes, wiring, attributes, and each
   * initializer's name, type, dims and tensor identity; O(nodes), so the
   * pipeline can afford it on every step.
   */
  weights?: boolean;
}

/** A model's state before a hook, to check afterwards that the hook did not change it. */
export interface ModelSnapshot {
  readonly text: string;
  /** The initializer tensors in order (their identity, without hashing bytes). */
  readonly tensors: readonly Tensor[];
}

export function snapshotModel(model: Model, opts: FingerprintOptions = {}): ModelSnapshot {
  const tensors: Tensor[] = [];
  return { text: fingerprintParts(model, opts.weights ?? false, tensors), tensors };
}

export function sameSnapshot(a: ModelSnapshot, b: ModelSnapshot): boolean {
  return a.text === b.text && a.tensors.length === b.tensors.length && a.tensors.every((t, i) => t === b.tensors[i]);
}

/**
 * A string that changes when the model's structure or weights change: node
 * ops, wiring and attributes, and (with `weights`) a hash of every
 * initializer's bytes.
 */
export function modelFingerprint(model: Model, opts: FingerprintOptions = {}): string {
  return fingerprintParts(model, opts.weights ?? true, []);
}

function fingerprintParts(model: Model, weights: boolean, tensors: Tensor[]): string {
  const g = model.graph;
  const parts: string[] = [];
  graphParts(g, weights, tensors, parts);
  for (const [name, v] of g.initializers) {
    const t = v.constValue!;
    tensors.push(t);
    const content = t.dtype === 'string' ? 's' : weights ? hashBytes(t.rawBytes()) : v.hasMask ? 'masked' : '';
    parts.push(`init:${name}:${t.dtype}:${t.dims.join('x')}:${content}`);
  }
  return parts.join('\n');
}

/** Inputs, outputs and nodes of a graph, subgraphs (If/Loop bodies) included. */
function graphParts(g: Graph, weights: boolean, tensors: Tensor[], parts: string[]): void {
  parts.push(`in:${g.inputs.map((v) => v.name).join(',')}`, `out:${g.outputs.map((v) => v.name).join(',')}`);
  for (const n of g.nodes) {
    const attrs = [...n.attributes.values()].map((a) => `${a.name}=${attributeText(a, weights, tensors, parts)}`);
    parts.push(`${n.domain}:${n.opType}(${n.inputs.map((v) => v?.name ?? '').join(',')})->${n.outputs.map((v) => v.name).join(',')}[${attrs.join(';')}]`);
  }
}

function attributeText(a: Attribute, weights: boolean, tensors: Tensor[], parts: string[]): string {
  const tensor = (t: Tensor) => {
    tensors.push(t);
    return weights && t.dtype !== 'string' ? String(hashBytes(t.rawBytes())) : t.dims.join('x');
  };
  const sub = (g: Graph) => {
    parts.push(`{${g.name}`);
    graphParts(g, weights, tensors, parts);
    for (const v of g.initializers.values()) if (v.constValue) tensor(v.constValue);
    parts.push('}');
    return `graph ${g.name}`;
  };
  switch (a.type) {
    case 'tensor':
      return tensor(a.value);
    case 'tensors':
      return a.value.map(tensor).join(',');
    case 'graph':
      return sub(a.value);
    case 'graphs':
      return a.value.map(sub).join(',');
    case 'sparse_tensor':
      return `${tensor(a.value.values)}/${tensor(a.value.indices)}`;
    case 'sparse_tensors':
      return a.value.map((t) => `${tensor(t.values)}/${tensor(t.indices)}`).join(',');
    default:
      return JSON.stringify(a.value);
  }
}
