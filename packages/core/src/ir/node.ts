import type { Attribute, AttributeValue } from './attribute.js';
import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import { Value } from './value.js';

export interface NodeInit {
  opType: string;
  domain?: string;
  name?: string;
  overload?: string;
  inputs?: (Value | null)[];
  /** Output values, or names for new ones. */
  outputs?: (Value | string)[];
  attributes?: Attribute[] | Record<string, AttributeValue>;
  docString?: string;
  metadataProps?: [string, string][];
}

/** One operator call. Inputs may be null for omitted optional inputs. */
export class Node {
  opType: string;
  domain: string;
  name: string;
  overload?: string;
  docString?: string;
  metadataProps?: [string, string][];
  attributes: Map<string, Attribute>;
  graph: Graph | null = null;
  #inputs: (Value | null)[] = [];
  #outputs: Value[] = [];

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.domain = init.domain === 'ai.onnx' ? '' : (init.domain ?? '');
    this.name = init.name ?? '';
    this.overload = init.overload;
    this.docString = init.docString;
    this.metadataProps = init.metadataProps;
    this.attributes = new Map();
    if (Array.isArray(init.attributes)) for (const a of init.attributes) this.attributes.set(a.name, a);
    else if (init.attributes) for (const [k, v] of Object.entries(init.attributes)) this.attributes.set(k, { name: k, ...v } as Attribute);
    for (const v of init.inputs ?? []) this.appendInput(v);
    for (const o of init.outputs ?? []) this.appendOutput(typeof o === 'string' ? new Value(o) : o);
  }

  get inputs(): readonly (Value | null)[] {
    return this.#inputs;
  }

  get outputs(): readonly Value[] {
    return this.#outputs;
  }

  /** A readable id for messages: the node name, or op type and first output. */
  get label(): string {
    return this.name || `${this.opType}(${this.#outputs[0]?.name ?? '?'})`;
  }

  input(i: number): Value | null {
    return this.#inputs[i] ?? null;
  }

  setInput(index: number, value: Value | null): void {
    const old = this.#inputs[index];
    if (old) {
      const k = old._uses.findIndex((u) => u.node === this && u.index === index);
      if (k >= 0) old._uses.splice(k, 1);
    }
    while (this.#inputs.length <= index) this.#inputs.push(null);
    this.#inputs[index] = value;
    if (value) value._uses.push({ node: this, index });
  }

  appendInput(value: Value | null): void {
    this.setInput(this.#inputs.length, value);
  }

  /** Drop trailing inputs from `count` on. */
  truncateInputs(count: number): void {
    for (let i = this.#inputs.length - 1; i >= count; i--) this.setInput(i, null);
    this.#inputs.length = Math.min(this.#inputs.length, count);
  }

  appendOutput(value: Value): void {
    if (value.producer && value.producer !== this) throw new Error(`value ${value.name} already has producer ${value.producer.label}`);
    value.producer = this;
    value.outputIndex = this.#outputs.length;
    this.#outputs.push(value);
  }

  /** Detach all inputs (used when removing the node). */
  clearInputs(): void {
    for (let i = 0; i < this.#inputs.length; i++) this.setInput(i, null);
    this.#inputs.length = 0;
  }

  attr(name: string): Attribute | undefined {
    return this.attributes.get(name);
  }

  attrInt(name: string, fallback: number): number;
  attrInt(name: string): number | undefined;
  attrInt(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'int' ? a.value : fallback;
  }

  attrFloat(name: string, fallback: number): number;
  attrFloat(name: string): number | undefined;
  attrFloat(name: string, fallback?: number): number | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'float' ? a.value : fallback;
  }

  attrInts(name: string): number[] | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'ints' ? a.value : undefined;
  }

  attrString(name: string, fallback: string): string;
  attrString(name: string): string | undefined;
  attrString(name: string, fallback?: string): string | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'string' ? a.value : fallback;
  }

  attrTensor(name: string): Tensor | undefined {
    const a = this.attributes.get(name);
    return a?.type === 'tensor' ? a.value : undefined;
  }

  setAttr(name: string, value: AttributeValue): void {
    this.attributes.set(name, { name, ...value } as Attribute);
  }

  /** Subgraphs held in graph attributes (If, Loop, Scan). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes.values()) {
      if (a.type === 'graph') out.push(a.value);
      else if (a.type === 'graphs') out.push(...a.value);
    }
    return out;
  }
}
