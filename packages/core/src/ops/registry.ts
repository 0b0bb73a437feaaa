import { errors } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { KNOWN_DOMAINS } from './known-ops.js';
import { BUILTIN_SPECS } from './specs/index.js';
import type { OpSpec } from './types.js';

export function normalizeDomain(domain: string | undefined): string {
  return !domain || domain === 'ai.onnx' ? '' : domain;
}

function keyOf(opType: string, domain: string): string {
  return `${normalizeDomain(domain)}::${opType}`;
}

/**
 * The op metadata table: the one place where per-op knowledge lives.
 * Immutable; extend() returns a new registry whose specs take precedence
 * over earlier ones for the opsets they cover.
 */
export class OpRegistry {
  readonly #byKey: ReadonlyMap<string, readonly OpSpec[]>;
  readonly #known: ReadonlyMap<string, ReadonlySet<string>>;

  private constructor(byKey: Map<string, OpSpec[]>, known: ReadonlyMap<string, ReadonlySet<string>>) {
    for (const list of byKey.values()) Object.freeze(list);
    this.#byKey = byKey;
    this.#known = known;
    Object.freeze(this);
  }

  static of(specs: readonly OpSpec[], known: ReadonlyMap<string, ReadonlySet<string>> = new Map()): OpRegistry {
    return OpRegistry.#build(new Map(), specs, known);
  }

  static #build(base: ReadonlyMap<string, readonly OpSpec[]>, specs: readonly OpSpec[], known: ReadonlyMap<string, ReadonlySet<string>>): OpRegistry {
    const byKey = new Map<string, OpSpec[]>();
    for (const [k, v] of base) byKey.set(k, [...v]);
    for (const s of specs) {
      validateSpec(s);
      const spec = Object.freeze({ ...s, domain: normalizeDomain(s.domain), weights: freezeList(s.weights), dataInputs: freezeList(s.dataInputs) });
      const k = keyOf(spec.opType, spec.domain);
      const list = byKey.get(k) ?? [];
      list.push(spec);
      byKey.set(k, list);
    }
    return new OpRegistry(byKey, known);
  }

  /** A new registry with `specs` added; they win over existing specs where opsets overlap. */
  extend(specs: readonly OpSpec[]): OpRegistry {
    return OpRegistry.#build(this.#byKey, specs, this.#known);
  }

  /** The spec for an op at an opset (undefined opset: the newest spec). */
  lookup(opType: string, domain = '', opset?: number): OpSpec | undefined {
    const list = this.#byKey.get(keyOf(opType, domain));
    if (!list) return undefined;
    const v = opset ?? Number.POSITIVE_INFINITY;
    for (let i = list.length - 1; i >= 0; i--) {
      const s = list[i]!;
      if (s.since <= v && (s.until === undefined || v <= s.until)) return s;
    }
    return undefined;
  }

  /** The spec for a node of `model`, using the model's opset imports. */
  lookupNode(node: Node, model: Model): OpSpec | undefined {
    return this.lookup(node.opType, node.domain, model.opset(node.domain) ?? 1);
  }

  /** Known ops: anything with a spec, plus the standard op lists of known domains. */
  isKnown(opType: string, domain = ''): boolean {
    const d = normalizeDomain(domain);
    return this.#byKey.has(keyOf(opType, d)) || !!this.#known.get(d)?.has(opType);
  }

  /** All specs, oldest first (for docs and tests). */
  specs(): OpSpec[] {
    return [...this.#byKey.values()].flat();
  }
}

const BUILTIN = OpRegistry.of(BUILTIN_SPECS, KNOWN_DOMAINS);

/** The built-in table (frozen, so sharing one instance is safe). */
export function defaultOpRegistry(): OpRegistry {
  return BUILTIN;
}

/** Whether an op is known to the built-in table or the standard op lists. */
export function isKnownOp(opType: string, domain = ''): boolean {
  return defaultOpRegistry().isKnown(opType, domain);
}

/**
 * Throw E_UNKNOWN_OP for the first node (subgraphs included) whose op is
 * neither known to `registry` nor a model-local function.
 */
export function checkKnownOps(model: Model, registry = defaultOpRegistry()): void {
  const fns = new Set(model.functions.map((f) => keyOf(f.name, f.domain)));
  for (const n of model.graph.allNodes()) {
    if (registry.isKnown(n.opType, n.domain) || fns.has(keyOf(n.opType, n.domain))) continue;
    throw errors.unknownOp(n.opType, n.domain, n.label);
  }
}

/** Static weight/data-input lists are frozen too, so a spec can't be edited through lookup(). */
function freezeList<T>(v: T): T {
  if (Array.isArray(v)) {
    for (const x of v) if (x && typeof x === 'object') Object.freeze(x);
    Object.freeze(v);
  }
  return v;
}

function validateSpec(s: OpSpec): void {
  if (!s.opType || typeof s.since !== 'number' || (s.until !== undefined && s.until < s.since))
    throw new Error(`invalid op spec ${s.domain ?? ''}::${s.opType} (since ${s.since}, until ${s.until})`);
}
