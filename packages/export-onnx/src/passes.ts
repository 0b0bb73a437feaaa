import {
  constTensorOf,
  defaultOpRegistry,
  foldBatchNorms,
  foldConstants,
  applyInputShapes,
  Node,
  paramSlotsOf,
  redirectOutput,
  ShearsError,
  Tensor,
  toHalfArray,
  type Graph,
  type Model,
  type OpSpec,
  type PluginContext,
  type Value,
} from '@shears/core';
import { z } from 'zod';
import { passPlugin, type DeployPass, type PassReport } from './pass-kit.js';

/** A node's spec from the run's op table (`ctx.ops`), or the built-in one when a pass is called directly. */
const specOf = (model: Model, n: Node, ctx?: PluginContext): OpSpec | undefined => (ctx?.ops ?? defaultOpRegistry()).lookupNode(n, model);

/** Domains whose ops only make sense while training; stripped for deployment. */
export const TRAINING_ONLY_DOMAINS: readonly string[] = ['ai.onnx.preview.training'];

// ---------------------------------------------------------------- strip-training

export const stripTrainingPass: DeployPass<z.ZodObject<{}>> = {
  name: 'strip-training',
  description: 'drop pruning masks, training-info blocks, training-only nodes and training_mode flags',
  schema: z.object({}).strict(),
  apply(model) {
    const g = model.graph;
    let masks = 0;
    for (const v of g.initializers.values()) if (v.hasMask) (v.mask = undefined), masks++;
    const trainingInfo = model.trainingInfo.length;
    model.trainingInfo = [];
    let nodes = 0;
    let flags = 0;
    for (const n of [...g.nodes].reverse()) {
      if (TRAINING_ONLY_DOMAINS.includes(n.domain) && n.outputs.every((o) => o.uses().length === 0 && !g.outputs.includes(o))) {
        g.removeNode(n);
        nodes++;
      } else if (n.attrInt('training_mode') === 1 && n.outputs.slice(1).every((o) => o.uses().length === 0 && !g.outputs.includes(o))) {
        n.attributes.delete('training_mode');
        flags++;
      }
    }
    for (const d of TRAINING_ONLY_DOMAINS) model.opsetImports.delete(d);
    // Masks are never written and not part of the model's content: only the rest counts as a change.
    return { changed: trainingInfo + nodes + flags, masks, trainingInfo, nodes, trainingFlags: flags };
  },
};

// ---------------------------------------------------------------- fold-batchnorm

/**
 * Fold a normalization with running statistics into the compute op before it
 * (core's `foldBatchNorms`: which inputs are scale/bias/mean/var, the weight's
 * output-channel axis and the bias slot come from the run's op table, ctx.ops).
 */
export const foldBatchNormPass: DeployPass<z.ZodObject<{}>> = {
  name: 'fold-batchnorm',
  description: 'fold BatchNormalization into the preceding Conv, ConvTranspose or Gemm',
  schema: z.object({}).strict(),
  apply(model, _opts, ctx) {
    const folded = foldBatchNorms(model, ctx?.ops ?? defaultOpRegistry()).map((f) => `${f.norm} -> ${f.into}`);
    removeUnusedInitializers(model.graph);
    return { changed: folded.length, folded };
  },
};

// ---------------------------------------------------------------- fold-constants

export const foldConstantsPass: DeployPass<z.ZodObject<{ maxElements: z.ZodDefault<z.ZodNumber> }>> = {
  name: 'fold-constants',
  description: 'fold constant and shape sub-graphs into initializers; Constant nodes become initializers',
  schema: z.object({ maxElements: z.number().int().positive().default(1 << 20) }).strict(),
  apply(model, opts, ctx) {
    const r = foldConstants(model, { maxElements: opts.maxElements, registry: ctx?.ops });
    const g = model.graph;
    let constants = 0;
    for (const n of [...g.nodes]) {
      if (n.opType !== 'Constant' || n.domain !== '' || n.inputs.length > 0 || n.outputs.length !== 1) continue;
      const o = n.outputs[0]!;
      if (g.outputs.includes(o)) continue;
      const t = constTensorOf(o);
      if (!t) continue;
      const name = g.initializers.has(o.name) ? `${o.name}_const` : o.name;
      o.replaceAllUsesWith(g.addInitializer(new Tensor({ name, dtype: t.dtype, dims: t.dims, data: t.data }), name));
      g.removeNode(n);
      constants++;
    }
    return { changed: r.folded + r.removedNodes + r.removedInitializers + constants, ...r, constantsToInitializers: constants };
  },
};

// ---------------------------------------------------------------- remove-dead

export const removeDeadPass: DeployPass<z.ZodObject<{}>> = {
  name: 'remove-dead',
  description: 'remove Identity, Dropout (ops the table marks as identity at inference), dead nodes and unused initializers',
  schema: z.object({}).strict(),
  apply(model, _opts, ctx) {
    const g = model.graph;
    let identities = 0;
    for (const n of [...g.nodes]) {
      if (!specOf(model, n, ctx)?.identity) continue;
      const x = n.input(0);
      const y = n.outputs[0]!;
      if (!x || n.outputs.slice(1).some((o) => o.uses().length > 0 || g.outputs.includes(o))) continue;
      if (g.outputs.includes(y)) {
        // Keep the graph output's name: the producer of x takes it over when x is private.
        const p = x.producer;
        if (!p || p.graph !== g || x.uses().length !== 1 || g.outputs.includes(x)) continue;
        g.removeNode(n, { force: true });
        redirectOutput(p, x, y);
      } else {
        y.replaceAllUsesWith(x);
        g.removeNode(n, { force: true });
      }
      identities++;
    }
    let dead = 0;
    const live = new Set(g.outputs);
    for (const n of [...g.nodes].reverse()) {
      if (n.outputs.every((o) => o.uses().length === 0 && !live.has(o))) {
        g.removeNode(n);
        dead++;
      }
    }
    const initializers = removeUnusedInitializers(g);
    return { changed: identities + dead + initializers, identities, deadNodes: dead, initializers };
  },
};

function removeUnusedInitializers(g: Graph): number {
  let n = 0;
  const inputs = new Set(g.inputs.map((v) => v.name));
  for (const [name, v] of [...g.initializers]) {
    // Subgraph reads of outer values are listed among the value's uses too.
    if (v.uses().length === 0 && !g.outputs.includes(v) && !inputs.has(name)) {
      g.removeInitializer(name);
      n++;
    }
  }
  return n;
}

// ---------------------------------------------------------------- dedupe-initializers

export const dedupeInitializersPass: DeployPass<z.ZodObject<{}>> = {
  name: 'dedupe-initializers',
  description: 'merge initializers with identical dtype, shape and bytes',
  schema: z.object({}).strict(),
  apply(model) {
    const g = model.graph;
    const seen = new Map<string, Value[]>();
    const inputs = new Set(g.inputs.map((v) => v.name));
    let merged = 0;
    let bytes = 0;
    for (const [name, v] of [...g.initializers]) {
      const t = v.constValue!;
      if (inputs.has(name) || g.outputs.includes(v) || t.dtype === 'string') continue;
      const raw = t.rawBytes();
      const key = `${t.dtype}|${t.dims.join(',')}|${hash(raw)}`;
      const same = (seen.get(key) ?? []).find((o) => equalBytes(o.constValue!.rawBytes(), raw));
      if (!same) {
        (seen.get(key) ?? seen.set(key, []).get(key)!).push(v);
        continue;
      }
      v.replaceAllUsesWith(same);
      g.removeInitializer(name);
      merged++;
      bytes += raw.byteLength;
    }
    return { changed: merged, merged, bytesSaved: bytes };
  },
};

function hash(b: Uint8Array): string {
  let h = 2166136261;
  const step = Math.max(1, Math.floor(b.length / 4096));
  for (let i = 0; i < b.length; i += step) h = Math.imul(h ^ b[i]!, 16777619);
  return `${b.length}:${h >>> 0}`;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------- fix-dims

const fixDimsSchema = z
  .object({
    /** Static shapes by input name, e.g. {input: [1, 3, 224, 224]}. */
    inputShapes: z.record(z.string(), z.array(z.number().int().nonnegative())).default({}),
    /** Values for symbolic dims by name, e.g. {batch: 1}; applied to every input and output. */
    dims: z.record(z.string(), z.number().int().nonnegative()).default({}),
  })
  .strict();

export const fixDimsPass: DeployPass<typeof fixDimsSchema> = {
  name: 'fix-dims',
  description: 'fix dynamic input dims to given sizes (by input shape or by symbolic dim name)',
  schema: fixDimsSchema,
  apply(model, opts) {
    const g = model.graph;
    let changed = 0;
    if (Object.keys(opts.inputShapes).length) {
      applyInputShapes(g, opts.inputShapes);
      changed += Object.keys(opts.inputShapes).length;
    }
    for (const v of [...g.inputs, ...g.outputs]) {
      const t = v.type;
      if (t?.kind !== 'tensor' || !t.shape) continue;
      if (t.shape.some((d) => typeof d === 'string' && d in opts.dims)) {
        v.type = { ...t, shape: t.shape.map((d) => (typeof d === 'string' && d in opts.dims ? opts.dims[d]! : d)) };
        changed++;
      }
    }
    if (changed) for (const n of g.nodes) for (const o of n.outputs) if (!g.outputs.includes(o)) o.type = undefined; // stale value_info
    return { changed };
  },
};

// ---------------------------------------------------------------- float16

const fp16Schema = z
  .object({
    /** 'cast': keep float32 inputs/outputs with Cast nodes at the boundary; 'fp16': float16 inputs/outputs. */
    io: z.enum(['cast', 'fp16']).default('cast'),
  })
  .strict();

export { toHalf } from '@shears/core';

function halfTensor(t: Tensor, name = t.name): Tensor {
  const src = t.floats();
  return new Tensor({ name, dtype: 'float16', dims: t.dims, data: toHalfArray(src) });
}

const FLOAT = 1;
const FLOAT16 = 10;

export const float16Pass: DeployPass<typeof fp16Schema> = {
  name: 'float16',
  description: 'convert float32 weights and activations to float16 (Cast at the inputs and outputs, or float16 I/O)',
  schema: fp16Schema,
  apply(model, opts, ctx) {
    const g = model.graph;
    // Inputs that must stay float32 whatever the data type: the op table's scales/roi parameter slots (Resize, Upsample).
    const keep32 = new Set<Value>();
    for (const n of g.nodes) {
      const spec = specOf(model, n, ctx);
      if (!spec) continue;
      const slots = paramSlotsOf(spec, model.opset(n.domain) ?? 1).slots;
      for (const s of [slots.scales, slots.roi]) if (s && 'input' in s && n.input(s.input)) keep32.add(n.input(s.input)!);
    }
    let weights = 0;
    for (const [name, v] of [...g.initializers]) {
      if (v.constValue!.dtype !== 'float32' || keep32.has(v)) continue;
      const uses = [...v.uses()];
      const nv = g.addInitializer(halfTensor(v.constValue!, name), name);
      for (const u of uses) u.node.setInput(u.index, nv);
      weights++;
    }
    let casts = 0;
    for (const n of g.nodes) {
      if (n.opType === 'Constant' && n.attrTensor('value')?.dtype === 'float32' && !keep32.has(n.outputs[0]!)) n.setAttr('value', { type: 'tensor', value: halfTensor(n.attrTensor('value')!) });
      if (n.opType === 'Cast' && n.attrInt('to') === FLOAT && !keep32.has(n.outputs[0]!)) n.setAttr('to', { type: 'int', value: FLOAT16 }), casts++;
    }
    const outputs = new Set(g.outputs);
    for (const n of g.nodes) for (const o of n.outputs) if (!outputs.has(o) && o.dtype === 'float32') o.type = undefined;
    let boundary = 0;
    for (const x of [...g.inputs]) {
      if (x.dtype !== 'float32' || g.initializers.has(x.name)) continue;
      if (opts.io === 'fp16') {
        x.type = { ...(x.type as { kind: 'tensor' }), kind: 'tensor', dtype: 'float16', shape: x.shape && [...x.shape] };
        continue;
      }
      const cast = new Node({ opType: 'Cast', name: `${x.name}_to_fp16`, inputs: [], outputs: [`${x.name}_fp16`], attributes: { to: { type: 'int', value: FLOAT16 } } });
      for (const u of [...x.uses()]) u.node.setInput(u.index, cast.outputs[0]!);
      cast.appendInput(x);
      g.insertNode(cast, { before: g.nodes[0]! });
      boundary++;
    }
    for (const y of [...g.outputs]) {
      if (y.dtype !== 'float32' || !y.producer) continue;
      if (opts.io === 'fp16') {
        y.type = { ...(y.type as { kind: 'tensor' }), kind: 'tensor', dtype: 'float16', shape: y.shape && [...y.shape] };
        continue;
      }
      // The producer writes a new fp16 value; a Cast restores the float32 output under its name.
      const p = y.producer;
      const half = new Node({ opType: p.opType, domain: p.domain, name: p.name, inputs: [...p.inputs], outputs: p.outputs.map((o) => (o === y ? `${y.name}_fp16` : o.name)), attributes: [...p.attributes.values()] });
      g.insertNode(half, { before: p });
      p.outputs.forEach((o, i) => o !== y && o.replaceAllUsesWith(half.outputs[i]!));
      const other = p.outputs.filter((o) => o !== y && outputs.has(o));
      if (other.length) throw new ShearsError('E_GRAPH', `float16: node ${p.label} writes several graph outputs; use io: 'fp16'`, { node: p.label, op: p.opType });
      const yIndex = p.outputs.indexOf(y);
      for (const u of [...y.uses()]) u.node.setInput(u.index, half.outputs[yIndex]!);
      g.removeNode(p, { force: true });
      y.producer = null;
      const cast = new Node({ opType: 'Cast', name: `${y.name}_to_fp32`, inputs: [half.outputs[yIndex]!], outputs: [y], attributes: { to: { type: 'int', value: FLOAT } } });
      g.insertNode(cast, { after: half });
      boundary++;
    }
    g.sortTopologically();
    return { changed: weights + casts + boundary, weights, casts, boundaryCasts: boundary, io: opts.io };
  },
};

// ---------------------------------------------------------------- plugin factories

export const stripTraining = passPlugin(stripTrainingPass);
export const foldBatchNorm = passPlugin(foldBatchNormPass);
export const foldConstantsDeploy = passPlugin(foldConstantsPass);
export const removeDead = passPlugin(removeDeadPass);
export const dedupeInitializers = passPlugin(dedupeInitializersPass);
export const fixDims = passPlugin(fixDimsPass);
export const float16 = passPlugin(float16Pass);

/** Every deployment pass, by plugin name (for the CLI's built-in map). */
export const DEPLOY_PASSES = {
  'strip-training': stripTraining,
  'fold-batchnorm': foldBatchNorm,
  'fold-constants': foldConstantsDeploy,
  'remove-dead': removeDead,
  'dedupe-initializers': dedupeInitializers,
  'fix-dims': fixDims,
  float16,
} as const;

export type { PassReport };
