// Building blocks shared by the spec files.
import type { DType } from '../../ir/dtype.js';
import type { Dim } from '../../ir/types.js';
import { isNum } from '../../shape/dims.js';
import type { FoldRule, Known, OpContext, OpSpec, ShapeRule, TensorInfo } from '../types.js';

export const t = (dtype: DType | undefined, shape?: Dim[]): TensorInfo | undefined => (dtype ? { dtype, shape } : undefined);

/** Output 0 has input i's type (activations, normalizations, pools with global shape…). */
export const sameAs =
  (i = 0): ShapeRule =>
  (ctx) => {
    const ti = ctx.type(i);
    return [ti && { dtype: ti.dtype, shape: ti.shape && [...ti.shape] }];
  };

/** Fold that forwards input 0's contents (Identity, Dropout in inference). */
export const foldPass: FoldRule = (ctx) => [ctx.known(0)];

/**
 * An int list from an attribute (older opsets) or an input (newer opsets).
 * Returns undefined when absent, null when present but not known.
 */
export function intsFrom(ctx: OpContext, attr: string, input: number, inputSince: number): number[] | null | undefined {
  if (ctx.opset >= inputSince) {
    if (!ctx.has(input)) return undefined;
    return ctx.ints(input) ?? null;
  }
  return ctx.node.attrInts(attr);
}

/** Make many specs sharing fields: spec list from op names. */
export function many(opTypes: string[], base: Omit<OpSpec, 'opType'>): OpSpec[] {
  return opTypes.map((opType) => ({ ...base, opType }));
}

export const DEFAULT: Pick<OpSpec, 'domain' | 'since'> = { domain: '', since: 1 };

export function scalarNum(k: Known | undefined): number | undefined {
  if (!k || k.data.length !== 1) return undefined;
  const v = k.data[0];
  return isNum(v) ? v : undefined;
}

export function numsOrUndefined(v: Dim[] | undefined): number[] | undefined {
  return v && v.every(isNum) ? (v as number[]) : undefined;
}
