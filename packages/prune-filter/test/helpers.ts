// Shared test helpers: the masked-vs-pruned equivalence check in onnxruntime,
// fixture inputs, and a tiny model builder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  analyzeModel,
  applyChannelMask,
  applyPlan,
  cloneModel,
  Model,
  Node,
  Tensor,
  tensorType,
  Value,
  type AttributeValue,
  type NamedTensor,
  type PruningPlan,
  type RemoveChannelsAction,
} from '@shears/core';
import { fixturesDir } from '@shears/fixtures';
import { randomFeeds, Session } from '@shears/runtime';

/** The stored input of a generated fixture, else seeded random feeds. */
export function fixtureFeeds(name: string, model: Model): Record<string, NamedTensor> {
  const dir = fixturesDir();
  try {
    const manifest = JSON.parse(readFileSync(join(dir!, 'manifest.json'), 'utf8')) as { name: string; inputShape: number[] }[];
    const entry = manifest.find((e) => e.name === name)!;
    const buf = readFileSync(join(dir!, `${name}.input.bin`));
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    return { input: { dims: entry.inputShape, data } };
  } catch {
    return randomFeeds(model);
  }
}

export async function run(model: Model, feeds: Record<string, NamedTensor>): Promise<NamedTensor[]> {
  const s = await Session.create(model, { threads: 2 });
  try {
    const out = await s.run(feeds);
    return s.outputNames.map((n) => out[n]!);
  } finally {
    await s.release();
  }
}

export function selectionOf(plan: PruningPlan): Map<string, number[]> {
  const sel = new Map<string, number[]>();
  for (const a of plan.actions) if (a.type === 'remove-channels') sel.set(a.group, [...(sel.get(a.group) ?? []), ...a.channels]);
  return sel;
}

export interface Equivalence {
  /** max |masked - pruned| / max |masked| over all outputs. */
  rel: number;
  params: [number, number];
  macs: [number, number];
  channels: number;
  sameOutputShapes: boolean;
}

/**
 * Apply `plan` to a copy (physically smaller) and mask the same channels in
 * another copy (consumer weights zeroed, shapes unchanged); run both in
 * onnxruntime on the same input and compare.
 */
export async function equivalence(model: Model, plan: PruningPlan, feeds: Record<string, NamedTensor>): Promise<Equivalence> {
  const actions = plan.actions.filter((a): a is RemoveChannelsAction => a.type === 'remove-channels');
  const masked = cloneModel(model);
  applyPlan(masked, plan, { channelApplier: applyChannelMask });
  const pruned = cloneModel(model);
  applyPlan(pruned, plan);
  const inputShapes = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.dims]));
  const before = analyzeModel(cloneModel(model, { shareWeights: true }), { inputShapes });
  const after = analyzeModel(cloneModel(pruned, { shareWeights: true }), { inputShapes });
  const [a, b] = [await run(masked, feeds), await run(pruned, feeds)];
  let maxAbs = 0;
  let maxRef = 0;
  let same = a.length === b.length;
  a.forEach((x, k) => {
    const y = b[k]!;
    same &&= x.dims.join() === y.dims.join();
    const xd = x.data as Float32Array;
    const yd = y.data as Float32Array;
    for (let i = 0; i < xd.length; i++) {
      const d = Math.abs(xd[i]! - yd[i]!);
      maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
      maxRef = Math.max(maxRef, Math.abs(xd[i]!));
    }
  });
  return {
    rel: maxRef > 0 ? maxAbs / maxRef : maxAbs,
    params: [before.params, after.params],
    macs: [before.macs, after.macs],
    channels: actions.reduce((s, x) => s + x.channels.length, 0),
    sameOutputShapes: same,
  };
}

// --- a tiny model builder -----------------------------------------------------

type Attr = number | number[] | string | AttributeValue;

function attr(v: Attr): AttributeValue {
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  if (Array.isArray(v)) return { type: 'ints', value: v };
  return v;
}

/** Build small graphs with seeded weights (for ops the torchvision fixtures do not have). */
export class Build {
  readonly model = new Model({ opsetImports: { '': 17 } });
  #n = 0;
  #seed = 1;

  get graph() {
    return this.model.graph;
  }

  input(shape: number[], name = 'input'): Value {
    return this.graph.addInput(new Value(name, tensorType('float32', shape)));
  }

  weight(dims: number[], scale = 0.5): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      this.#seed = (Math.imul(this.#seed, 1664525) + 1013904223) >>> 0;
      data[i] = ((this.#seed / 4294967296) * 2 - 1) * scale;
    }
    return this.graph.addInitializer(new Tensor({ name: `w${this.#n++}`, dtype: 'float32', dims, data }));
  }

  positive(dims: number[]): Value {
    const v = this.weight(dims, 0.4);
    const d = v.constValue!.floats();
    for (let i = 0; i < d.length; i++) d[i] = 0.6 + Math.abs(d[i]!);
    return v;
  }

  scalar(v: number): Value {
    return this.graph.addInitializer(new Tensor({ name: `s${this.#n++}`, dtype: 'float32', dims: [], data: Float32Array.of(v) }));
  }

  ints(values: number[]): Value {
    return this.graph.addInitializer(Tensor.fromInt64(`c${this.#n++}`, [values.length], values));
  }

  op(opType: string, inputs: (Value | null)[], attrs: Record<string, Attr> = {}, outputs = 1): Value[] {
    const id = this.#n++;
    const node = new Node({
      opType,
      name: `${opType}_${id}`,
      inputs,
      outputs: Array.from({ length: outputs }, (_, i) => `${opType}_${id}_${i}`),
      attributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attr(v)])),
    });
    this.graph.appendNode(node);
    return [...node.outputs];
  }

  one(opType: string, inputs: (Value | null)[], attrs: Record<string, Attr> = {}): Value {
    return this.op(opType, inputs, attrs)[0]!;
  }

  conv(x: Value, cin: number, cout: number, opts: { group?: number; k?: number; bias?: boolean } = {}): Value {
    const g = opts.group ?? 1;
    const k = opts.k ?? 1;
    return this.one('Conv', [x, this.weight([cout, cin / g, k, k]), opts.bias === false ? null : this.weight([cout], 0.1)], {
      group: g,
      kernel_shape: [k, k],
      pads: new Array(4).fill((k - 1) >> 1),
    });
  }

  output(...vs: Value[]): void {
    for (const v of vs) {
      v.type = v.type ?? tensorType('float32');
      this.graph.outputs.push(v);
    }
  }
}
