import type { Attribute } from './attribute.js';
import { Graph } from './graph.js';

/** A model-local function (FunctionProto). Its body is a Graph over the formal inputs. */
export interface ModelFunction {
  name: string;
  domain: string;
  overload?: string;
  attributes: string[];
  attributeDefaults: Attribute[];
  opsetImports: Map<string, number>;
  body: Graph;
  docString?: string;
  metadataProps?: [string, string][];
}

export interface ModelInit {
  graph?: Graph;
  irVersion?: number;
  opsetImports?: Map<string, number> | Record<string, number>;
  producerName?: string;
  producerVersion?: string;
}

const MODEL_BRAND = Symbol.for('shears:model');

/**
 * Is `x` a Shears Model? A brand, not `instanceof`, so a model made by one
 * copy of @shears/core (another version, or the CJS build beside the ESM one)
 * is still recognized by another.
 */
export function isModel(x: unknown): x is Model {
  return typeof x === 'object' && x !== null && (x as { [MODEL_BRAND]?: unknown })[MODEL_BRAND] === true;
}

export class Model {
  /** The brand `isModel` checks (shared by every copy of core through Symbol.for). */
  readonly [MODEL_BRAND] = true;
  irVersion: number;
  opsetImports: Map<string, number>;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadataProps: [string, string][] = [];
  functions: ModelFunction[] = [];
  graph: Graph;
  /** TrainingInfoProto entries kept as encoded bytes, written back unchanged. */
  trainingInfo: Uint8Array[] = [];

  constructor(init: ModelInit = {}) {
    this.graph = init.graph ?? new Graph('main');
    this.irVersion = init.irVersion ?? 8;
    const ops = init.opsetImports ?? { '': 17 };
    this.opsetImports = ops instanceof Map ? new Map(ops) : new Map(Object.entries(ops));
    this.producerName = init.producerName;
    this.producerVersion = init.producerVersion;
  }

  /** Opset version for a domain ('' and 'ai.onnx' are the default domain). */
  opset(domain = ''): number | undefined {
    const d = domain === 'ai.onnx' ? '' : domain;
    return this.opsetImports.get(d) ?? (d === '' ? this.opsetImports.get('ai.onnx') : undefined);
  }

  getMetadata(key: string): string | undefined {
    return this.metadataProps.find(([k]) => k === key)?.[1];
  }

  setMetadata(key: string, value: string): void {
    const e = this.metadataProps.find(([k]) => k === key);
    if (e) e[1] = value;
    else this.metadataProps.push([key, value]);
  }
}
