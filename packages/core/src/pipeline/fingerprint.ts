import type { Model } from '../ir/model.js';

/** FNV-1a over bytes; cheap content hash for change detection in tests. */
function fnv(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return h;
}

/**
 * A string that changes when the model's structure or weights change: node
 * ops, wiring and attributes, and a hash of every initializer's bytes.
 */
export function modelFingerprint(model: Model): string {
  const g = model.graph;
  const parts: string[] = [];
  parts.push(`in:${g.inputs.map((v) => v.name).join(',')}`, `out:${g.outputs.map((v) => v.name).join(',')}`);
  for (const n of g.nodes) {
    const attrs = [...n.attributes.values()].map((a) => `${a.name}=${a.type === 'tensor' ? fnv(a.value.rawBytes()) : JSON.stringify(a.value)}`);
    parts.push(`${n.domain}:${n.opType}(${n.inputs.map((v) => v?.name ?? '').join(',')})->${n.outputs.map((v) => v.name).join(',')}[${attrs.join(';')}]`);
  }
  for (const [name, v] of g.initializers) {
    const t = v.constValue!;
    parts.push(`init:${name}:${t.dtype}:${t.dims.join('x')}:${t.dtype === 'string' ? 's' : fnv(t.rawBytes())}`);
  }
  return parts.join('\n');
}
