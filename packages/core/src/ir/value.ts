import { bitIndices, countBits } from './bitset.js';
import type { DType } from './dtype.js';
import type { Graph } from './graph.js';
import type { Node } from './node.js';
import type { Tensor } from './tensor.js';
import type { Dim, ValueType } from './types.js';

export interface Use {
  node: Node;
  index: number;
}

/**
 * A named edge of the graph: a graph input, an initializer (constValue set),
 * or a node output (producer set). Uses are kept by Node.setInput.
 */
export class Value {
  name: string;
  type?: ValueType;
  docString?: string;
  metadataProps?: [string, string][];
  /** The initializer's tensor, when this value is a graph initializer. */
  constValue?: Tensor;
  #mask?: Uint8Array;
  /** Pruned elements not yet in #mask: a bitset (bit i of word i >> 5), and the element count. */
  #pendingBits?: Int32Array;
  #pendingSize = 0;
  /** Graph that owns this value as an input or initializer. */
  graph?: Graph;
  producer: Node | null = null;
  outputIndex = -1;
  /** @internal maintained by Node */
  readonly _uses: Use[] = [];

  constructor(name: string, type?: ValueType) {
    this.name = name;
    this.type = type;
  }

  /**
   * Pruning mask beside an initializer (1 keep, 0 pruned), so that fine-tuning
   * keeps pruned weights at zero. Never written to ONNX. Built on first read
   * when the pruner gave a bitset (markPruned).
   */
  get mask(): Uint8Array | undefined {
    const bits = this.#pendingBits;
    if (bits) {
      const mask = this.#mask ?? new Uint8Array(this.#pendingSize).fill(1);
      clearBits(bits, mask);
      this.#mask = mask;
      this.#pendingBits = undefined;
    }
    return this.#mask;
  }

  set mask(m: Uint8Array | undefined) {
    this.#mask = m;
    this.#pendingBits = undefined;
  }

  /** Whether a mask is set, without building it. */
  get hasMask(): boolean {
    return this.#mask !== undefined || this.#pendingBits !== undefined;
  }

  /**
   * Marks the elements whose bits are set (bit i of word i >> 5) as pruned in
   * the mask of `size` elements. The byte mask is only built if someone reads
   * `mask` (a fine-tuner): pruning and writing a model never pay for it.
   * `bits` is kept, not copied: do not change it afterwards.
   */
  markPruned(bits: Int32Array, size: number): void {
    if (bits.length !== (size + 31) >>> 5) throw new RangeError(`markPruned: ${bits.length} words do not cover ${size} elements`);
    if (this.#mask) {
      if (this.#mask.length !== size) throw new RangeError(`markPruned: mask has ${this.#mask.length} elements, not ${size}`);
      if (!this.#pendingBits) {
        clearBits(bits, this.#mask);
        return;
      }
    }
    const pending = this.#pendingBits;
    if (!pending) {
      this.#pendingBits = bits;
      this.#pendingSize = size;
      return;
    }
    if (this.#pendingSize !== size) throw new RangeError(`markPruned: mask has ${this.#pendingSize} elements, not ${size}`);
    const merged = pending.slice();
    for (let w = 0; w < merged.length; w++) merged[w]! |= bits[w]!;
    this.#pendingBits = merged;
  }

  uses(): readonly Use[] {
    return this._uses;
  }

  get dtype(): DType | undefined {
    if (this.constValue) return this.constValue.dtype;
    const t = this.type;
    return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t.dtype : undefined;
  }

  get shape(): Dim[] | undefined {
    if (this.constValue) return this.constValue.dims;
    const t = this.type;
    return t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t.shape : undefined;
  }

  /** Point every use of this value at `other`. */
  replaceAllUsesWith(other: Value): void {
    for (const use of [...this._uses]) use.node.setInput(use.index, other);
  }
}


/** Clear the mask bytes of the set bits (built from bitIndices: masks are built rarely, when a fine-tuner reads one). */
function clearBits(bits: Int32Array, mask: Uint8Array): void {
  const idx = bitIndices(bits, countBits(bits));
  if (idx.length && idx[idx.length - 1]! >= mask.length) throw new RangeError(`mask bit ${idx[idx.length - 1]} is past the ${mask.length} elements`);
  for (let i = 0; i < idx.length; i++) mask[idx[i]!] = 0;
}
