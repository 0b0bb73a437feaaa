import { ShearsError } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Dim } from '../ir/types.js';
import type { Value } from '../ir/value.js';

/** Graph inputs that must be fed at run time (initializers listed as inputs excluded). */
export function runtimeInputs(graph: Graph): Value[] {
  return graph.inputs.filter((v) => !v.constValue);
}

export interface DynamicInput {
  name: string;
  /** Declared shape; undefined when even the rank is unknown. */
  shape: Dim[] | undefined;
}

/**
 * Inputs whose shape is dynamic: the rank is unknown, or some dimension is
 * not a fixed number (a symbolic dim_param such as "batch", or unknown).
 * Analysis needs static shapes, so these need --input-shape.
 */
export function dynamicInputs(model: Model): DynamicInput[] {
  return runtimeInputs(model.graph)
    .filter((v) => {
      const s = v.shape;
      return !s || s.some((d) => typeof d !== 'number' || d < 0);
    })
    .map((v) => ({ name: v.name, shape: v.shape && [...v.shape] }));
}

/**
 * Static shapes, with a leading dim of `batch`, for the inputs whose only
 * dynamic dim is the leading (batch) one and that `given` does not name;
 * undefined when there are none (or batch ≤ 0). For analyses (MACs) that
 * need numbers but must leave the model's dynamic batch alone.
 */
export function batchOnlyShapes(model: Model, given: Record<string, readonly number[]> | undefined, batch = 1): Record<string, number[]> | undefined {
  if (!(batch > 0)) return undefined;
  const out: Record<string, number[]> = {};
  for (const d of dynamicInputs(model)) {
    if (given && d.name in given) continue;
    const rest = d.shape?.slice(1);
    if (rest && rest.length > 0 && rest.every((x) => typeof x === 'number' && x >= 0)) out[d.name] = [batch, ...(rest as number[])];
  }
  return Object.keys(out).length ? out : undefined;
}

const isFixed = (d: Dim | undefined): d is number => typeof d === 'number' && d >= 0;

/** How an input's shape was found when it was not given: a dim param bound by a given input, model metadata, or a dynamic batch taken as `batch`. */
export type AssumedShapeSource = 'bound' | 'metadata' | 'batch';

export interface InputShapeResolution {
  /** Static shapes for the given inputs and for every dynamic input the model itself sizes. */
  shapes: Record<string, number[]>;
  /** The dynamic inputs sized without being given, and how. */
  assumed: Record<string, AssumedShapeSource>;
  /** Dynamic inputs that still have unknown dims (their declared shape, given dim params substituted). */
  unresolved: DynamicInput[];
}

/** Metadata keys an exporter (or a user) may record input shapes under, as JSON `{"x": [1, 3, 224, 224]}`. */
export const INPUT_SHAPES_METADATA_KEYS = ['shears.input_shapes', 'input_shapes'] as const;

function metadataShapes(model: Model): Record<string, number[]> {
  for (const key of INPUT_SHAPES_METADATA_KEYS) {
    const raw = model.getMetadata(key);
    if (!raw) continue;
    try {
      const o = JSON.parse(raw) as unknown;
      if (o && typeof o === 'object' && !Array.isArray(o))
        return Object.fromEntries(Object.entries(o).filter(([, v]) => Array.isArray(v) && v.length > 0 && v.every((d) => Number.isInteger(d) && d > 0))) as Record<string, number[]>;
    } catch {
      /* not JSON: ignored */
    }
  }
  return {};
}

/**
 * Concrete sizes for the graph inputs, in order: `given` (e.g.
 * --input-shape), then what the model itself says: dim params that a given
 * input binds (`N` of x given as 4 is 4 in y too), shapes recorded in the
 * metadata (INPUT_SHAPES_METADATA_KEYS), and a dynamic leading (batch) dim
 * alone taken as `batch` (skipped when batch ≤ 0). Never guesses any other dim.
 */
export function resolveInputShapes(model: Model, given: Record<string, readonly number[]> | undefined, opts: { batch?: number } = {}): InputShapeResolution {
  const batch = opts.batch ?? 1;
  const shapes: Record<string, number[]> = {};
  const assumed: Record<string, AssumedShapeSource> = {};
  const unresolved: DynamicInput[] = [];
  const bound = new Map<string, number>();
  const inputs = runtimeInputs(model.graph);
  for (const v of inputs) {
    const g = given?.[v.name];
    if (!g) continue;
    shapes[v.name] = [...g];
    v.shape?.forEach((d, i) => {
      if (typeof d === 'string' && g[i] !== undefined) bound.set(d, g[i]!);
    });
  }
  const meta = metadataShapes(model);
  for (const d of dynamicInputs(model)) {
    if (d.name in shapes) continue;
    const sub = d.shape?.map((x) => (typeof x === 'string' && bound.has(x) ? bound.get(x)! : x));
    const m = meta[d.name];
    if (sub && sub.every(isFixed)) [shapes[d.name], assumed[d.name]] = [sub as number[], 'bound'];
    else if (m && (!sub || (m.length === sub.length && sub.every((x, i) => !isFixed(x) || x === m[i])))) [shapes[d.name], assumed[d.name]] = [[...m], 'metadata'];
    else if (batch > 0 && sub && sub.length > 1 && sub.slice(1).every(isFixed)) [shapes[d.name], assumed[d.name]] = [[batch, ...(sub.slice(1) as number[])], 'batch'];
    else unresolved.push({ name: d.name, shape: sub ?? d.shape });
  }
  return { shapes, assumed, unresolved };
}

/** Channel counts that make a rank-4 input look like an image. */
const IMAGE_CHANNELS = new Set([1, 3, 4]);
/** Default side of an image whose spatial dims are both unknown (the common ImageNet size). */
const DEFAULT_IMAGE_SIDE = 224;
/** Default length of any other unknown non-batch dim (a sequence or feature length). */
const DEFAULT_LENGTH = 128;

/**
 * A realistic example shape for a dynamic input, for error hints: fixed dims
 * kept, a dynamic leading (batch) dim as 1; for an image-like input (rank 4,
 * 1/3/4 channels on axis 1, NCHW, or axis 3, NHWC) an unknown spatial dim
 * takes its sibling's size when that one is fixed (a square image), else 224;
 * an unknown channel dim of a rank-4 input is 3; other unknown dims 128.
 * Without a known rank: 1x3x224x224. Never a 1×1 image.
 */
export function suggestInputShape(shape: readonly Dim[] | undefined): number[] {
  if (!shape || shape.length === 0) return [1, 3, DEFAULT_IMAGE_SIDE, DEFAULT_IMAGE_SIDE];
  const out = shape.map((d) => (isFixed(d) ? d : -1));
  if (out[0] === -1) out[0] = 1;
  if (shape.length === 4) {
    const nhwc = !IMAGE_CHANNELS.has(out[1]!) && IMAGE_CHANNELS.has(out[3]!);
    const [c, h, w] = nhwc ? [3, 1, 2] : [1, 2, 3];
    if (out[c] === -1) out[c] = 3;
    const side = out[h]! > 0 ? out[h]! : out[w]! > 0 ? out[w]! : DEFAULT_IMAGE_SIDE;
    if (out[h] === -1) out[h] = side;
    if (out[w] === -1) out[w] = side;
  }
  return out.map((d) => (d === -1 ? DEFAULT_LENGTH : d));
}

const IDENT = /^[A-Za-z_$][\w$]*$/;

/** Input shapes in the API's syntax: `inputShapes: { x: [1, 3, 224, 224] }`. */
export function formatInputShapesOption(inputs: Record<string, readonly number[]>): string {
  const entries = Object.entries(inputs).map(([k, v]) => `${IDENT.test(k) ? k : `'${k.replace(/'/g, "\\'")}'`}: [${v.join(', ')}]`);
  return `inputShapes: { ${entries.join(', ')} }`;
}

/** Facts of an E_DYNAMIC_SHAPE error (ShearsError.details), for callers that word the fix in their own syntax (the CLI: --input-shape). */
export interface DynamicShapeDetails {
  /** A realistic example shape per unresolved input (suggestInputShape). */
  inputs: Record<string, number[]>;
  /** The hint as the message spells it (formatInputShapesOption(inputs)), to be replaced. */
  hint: string;
  /** Per input: the indices of its unknown dims. */
  unknownDims: Record<string, number[]>;
}

const shapeText = (s: readonly Dim[] | undefined) => (s ? `[${s.map((d) => (d === null || d === undefined ? '?' : d)).join(',')}]` : '(unknown rank)');

/**
 * The E_DYNAMIC_SHAPE error for inputs whose sizes are needed (`need`: what
 * needs them, e.g. "MACs") but unknown. It names the first input and its
 * unknown dims, counts the rest, and gives a realistic example in the API's
 * syntax; `details` (DynamicShapeDetails) lets the CLI say `--input-shape`.
 */
export function dynamicShapeError(unresolved: readonly DynamicInput[], need: string): ShearsError {
  const inputs = Object.fromEntries(unresolved.map((d) => [d.name, suggestInputShape(d.shape)]));
  const unknownDims = Object.fromEntries(unresolved.map((d) => [d.name, (d.shape ?? []).flatMap((x, i) => (isFixed(x) ? [] : [i]))]));
  const hint = formatInputShapesOption(inputs);
  const first = unresolved[0]!;
  const more = unresolved.length > 1 ? ` (and ${unresolved.length - 1} more input${unresolved.length > 2 ? 's' : ''})` : '';
  const details: DynamicShapeDetails = { inputs, hint, unknownDims };
  return new ShearsError('E_DYNAMIC_SHAPE', `${need} need concrete sizes, but input ${first.name} has dynamic dims ${shapeText(first.shape)}${more}; pass your real sizes, e.g. ${hint}`, {
    option: 'inputShapes',
    details: details as unknown as Record<string, unknown>,
  });
}

/**
 * Concrete sizes for every runtime input of `model` (resolveInputShapes:
 * `given`, then what the model says), or the E_DYNAMIC_SHAPE error naming
 * what `need`s them (a plural noun, e.g. "MAC targets (targetMacs)").
 */
export function requireInputSizes(model: Model, need: string, given?: Record<string, readonly number[]>): Record<string, number[]> {
  const r = resolveInputShapes(model, given);
  if (r.unresolved.length) throw dynamicShapeError(r.unresolved, need);
  return r.shapes;
}

/**
 * @deprecated Core errors give the example shape in `details` (see
 * dynamicShapeError); callers word it. Kept for plugins: the `--input-shape`
 * flag for a realistic example shape (suggestInputShape).
 */
export function inputShapeHint(name: string, shape: readonly Dim[] | undefined): string {
  return `--input-shape ${name}:${suggestInputShape(shape).join('x')}`;
}

const fmt = (s: readonly Dim[]) => `[${s.map((d) => (d === null ? '?' : d)).join(',')}]`;

/**
 * Set static shapes on graph inputs. Checks the rank and every fixed dim;
 * symbolic dims bound here (e.g. batch=4) are also substituted in other inputs.
 */
export function applyInputShapes(graph: Graph, shapes: Record<string, readonly number[]>): void {
  const inputs = runtimeInputs(graph);
  const bound = new Map<string, number>();
  for (const [name, given] of Object.entries(shapes)) {
    const v = inputs.find((x) => x.name === name);
    if (!v) throw new ShearsError('E_SHAPE', `input ${name}: no such graph input (inputs: ${inputs.map((x) => x.name).join(', ') || 'none'})`);
    if (!Array.isArray(given) || given.some((d) => !Number.isInteger(d) || d < 0))
      throw new ShearsError('E_SHAPE', `input ${name}: shape ${JSON.stringify(given)} must be non-negative integers`);
    const declared = v.shape;
    if (declared) {
      if (declared.length !== given.length)
        throw new ShearsError('E_SHAPE', `input ${name}: rank ${given.length} given ${fmt(given)}, the model declares rank ${declared.length} ${fmt(declared)}`);
      declared.forEach((d, i) => {
        if (typeof d === 'number' && d >= 0 && d !== given[i])
          throw new ShearsError('E_SHAPE', `input ${name}: dimension ${i} is fixed to ${d} in the model, ${given[i]} given`);
        if (typeof d === 'string') {
          const prev = bound.get(d);
          if (prev !== undefined && prev !== given[i])
            throw new ShearsError('E_SHAPE', `input ${name}: dimension ${d} is ${prev} in another input, ${given[i]} given`);
          bound.set(d, given[i]!);
        }
      });
    }
    const t = v.type;
    const dtype = t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t.dtype : 'float32';
    v.type = { ...(t && t.kind === 'tensor' ? t : {}), kind: 'tensor', dtype, shape: [...given] };
  }
  for (const v of inputs) {
    if (v.name in shapes) continue;
    const t = v.type;
    if (t?.kind === 'tensor' && t.shape?.some((d) => typeof d === 'string' && bound.has(d)))
      v.type = { ...t, shape: t.shape.map((d) => (typeof d === 'string' && bound.has(d) ? bound.get(d)! : d)) };
  }
}
