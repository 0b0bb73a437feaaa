import { ShearsError } from '../errors.js';
import { applyChannelRemoval } from '../structure/apply.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import type { PluginContext } from './context.js';
import { BitOutOfRange, zeroBits as zeroSetBits } from '../ir/bitset.js';
import { isBitsetMask, type PruningPlan } from './plan.js';
import type { PassResult } from './types.js';

/**
 * Handles `remove-channels` actions. The default is core's structural applier
 * (`applyChannelRemoval`, built on the dependency graph); a plugin may pass
 * its own.
 */
export type ChannelApplier = (model: Model, plan: PruningPlan, ctx?: PluginContext) => PassResult;

export interface ApplyOptions {
  /** Replaces the built-in structural applier for remove-channels actions. */
  channelApplier?: ChannelApplier;
  ctx?: PluginContext;
}

/** The one applier: executes a plan's actions on the model, in place. */
export function applyPlan(model: Model, plan: PruningPlan, opts: ApplyOptions = {}): PassResult {
  let modified = false;
  const masked: Record<string, number> = {};
  for (const action of plan.actions) {
    if (action.type === 'mask') {
      const v = floatInitializer(model, action.tensor, plan.strategy);
      const data = v.constValue!.values as Float32Array;
      let n: number;
      if (isBitsetMask(action)) {
        n = zeroBits(action.bits, data, action.tensor, plan.strategy);
        // The byte mask is built only if someone reads it (a fine-tuner).
        v.markPruned(fitWords(action.bits, data.length), data.length);
      } else n = applyIndices(action.prune, data, v.mask ?? (v.mask = new Uint8Array(data.length).fill(1)), action.tensor, plan.strategy);
      masked[action.tensor] = (masked[action.tensor] ?? 0) + n;
      modified ||= n > 0;
    } else if (action.type === 'set-tensor') {
      const v = floatInitializer(model, action.tensor, plan.strategy);
      const data = v.constValue!.values as Float32Array;
      if (action.data.length !== data.length)
        throw new ShearsError('E_PLUGIN', `${plan.strategy}: new data for ${action.tensor} has ${action.data.length} elements, expected ${data.length}`, { plugin: plan.strategy });
      data.set(action.data);
      // Keep masked weights at zero even if the update touched them.
      if (v.mask) for (let i = 0; i < data.length; i++) if (v.mask[i] === 0) data[i] = 0;
      modified = true;
    }
  }
  if (plan.actions.some((a) => a.type === 'remove-channels')) {
    const r = (opts.channelApplier ?? applyChannelRemoval)(model, plan, opts.ctx);
    modified ||= r.modified;
    return { model: r.model, modified, details: { masked, ...r.details } };
  }
  return { model, modified, details: { masked } };
}

function floatInitializer(model: Model, name: string, plugin: string): Value {
  const v = model.graph.initializers.get(name);
  if (!v?.constValue) throw new ShearsError('E_PLUGIN', `${plugin}: plan names tensor ${name}, which is not an initializer`, { plugin });
  if (v.constValue.dtype !== 'float32') throw new ShearsError('E_DTYPE', `${plugin}: tensor ${name} is ${v.constValue.dtype}; only float32 weights can be pruned`, { plugin });
  return v;
}

const outOfRange = (strategy: string, k: number, tensor: string, n: number) =>
  new ShearsError('E_PLUGIN', `${strategy}: plan prunes index ${k} of ${tensor}, which has ${n} elements`, { plugin: strategy });

function applyIndices(idx: Uint32Array, data: Float32Array, mask: Uint8Array, tensor: string, strategy: string): number {
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i]!;
    if (k >= data.length) throw outOfRange(strategy, k, tensor, data.length);
    data[k] = 0;
    mask[k] = 0;
  }
  return idx.length;
}

/** A bitset of exactly the words `size` elements need (words past the data hold no set bits: zeroBits checked). */
function fitWords(bits: Int32Array, size: number): Int32Array {
  const words = (size + 31) >>> 5;
  if (bits.length === words) return bits;
  if (bits.length > words) return bits.subarray(0, words);
  const out = new Int32Array(words);
  out.set(bits);
  return out;
}

/** Zero the elements whose bits are set; returns how many. */
function zeroBits(bits: Int32Array, data: Float32Array, tensor: string, strategy: string): number {
  try {
    return zeroSetBits(bits, data);
  } catch (e) {
    if (e instanceof BitOutOfRange) throw outOfRange(strategy, e.index, tensor, data.length);
    throw e;
  }
}
