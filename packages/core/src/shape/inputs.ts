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

/**
 * The `--input-shape` to suggest for a dynamic input: its fixed dims, 1 for a
 * dynamic leading (batch) dim, `?` for any other, with a note to fill those in.
 */
export function inputShapeHint(name: string, shape: readonly Dim[] | undefined): string {
  const dims = (shape ?? []).map((d, i) => (typeof d === 'number' && d >= 0 ? d : i === 0 ? 1 : '?')).join('x');
  const hint = `--input-shape ${name}:${dims || '1x3x224x224'}`;
  return dims.includes('?') ? `${hint} with the ? dims filled in` : hint;
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
