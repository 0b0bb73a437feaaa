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
  /**
   * Pruning mask beside an initializer (1 keep, 0 pruned), so that fine-tuning
   * keeps pruned weights at zero. Never written to ONNX.
   */
  mask?: Uint8Array;
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
