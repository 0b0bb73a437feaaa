import {
  constantNodeTensor,
  defaultOpRegistry,
  resolveFlag,
  ShearsError,
  Tensor as IrTensor,
  weightRolesOf,
  type Model,
  type Node,
  type OpRegistry,
  type Value,
  type WeightKind,
} from '@shears/core';
import type { BackendInfo, Tensor, TF, Variable } from '../backend.js';
import { HOST_OPS } from './host.js';
import { TRANSLATIONS } from './ops.js';
import type { OpCtx, OpTranslation, Param, StatUpdate } from './types.js';
import { hostTensor, logical, nhwc, permute, sizeOf, tval, type HVal, type TVal, type Val } from './values.js';

/** Detection post-processing ops (not differentiable selections): the error says to fine-tune before them. */
const POSTPROCESS = new Set(['TopK', 'NonMaxSuppression', 'GatherElements', 'ArgMax', 'GatherND']);

/**
 * Which weights stay at zero:
 * - `auto` (default): `Value.mask` where a pruner left one; otherwise, for the
 *   weight of a prunable op (Conv, Gemm, MatMul… per the op table) that holds
 *   exact zeros, those zeros (a trained dense weight is never exactly 0.0, so
 *   zeros there mean pruned, e.g. a model read back from ONNX, where masks are not stored).
 * - `mask`: only `Value.mask`.
 * - `zeros`: `Value.mask`, and the exact zeros of every trainable tensor (biases and BN too).
 * - `none`: nothing is held at zero.
 */
export type MaskPolicy = 'auto' | 'mask' | 'zeros' | 'none';

export interface BuildOptions {
  backend: BackendInfo;
  registry?: OpRegistry;
  masks?: MaskPolicy;
  /** BatchNormalization in training: batch statistics + running-stat updates, or frozen (running stats). */
  bn?: 'train' | 'freeze';
  /** Weights (by IR name) kept constant. */
  freeze?: (name: string) => boolean;
}

export interface ForwardOptions {
  training: boolean;
  /** Values to return by IR name (default: the graph outputs). */
  outputs?: readonly string[];
}

export interface ForwardResult {
  outputs: Record<string, Tensor>;
  /** Running-stat updates from BatchNormalization in train mode (apply after the step). */
  stats: StatUpdate[];
}

interface Step {
  node: Node;
  tr?: OpTranslation;
  opset: number;
  /** All outputs are provided otherwise (an Identity of a weight that became its own parameter). */
  skip: boolean;
}

const TRAINABLE_ROLES = new Set<string>(['weight', 'bias', 'scale', 'elementwise']);
const HOST_LIMIT = 4096;
let uid = 0;

function shearsFail(node: Node, message: string): never {
  throw new ShearsError('E_GRAPH', `finetune: node ${node.label} (${node.opType}): ${message}`, { node: node.label, op: node.opType });
}

/** The initializer behind v, directly or through an Identity (the torch exporter's copies of shared initializers). */
function paramSource(v: Value | null): { tensor: IrTensor; untie?: Node; origin: Value } | undefined {
  if (!v) return undefined;
  if (v.constValue && v.graph?.initializers.get(v.name) === v) return { tensor: v.constValue, origin: v };
  const p = v.producer;
  if (p && p.opType === 'Identity' && p.domain === '') {
    const src = p.input(0);
    if (src?.constValue && src.graph?.initializers.get(src.name) === src) return { tensor: src.constValue, untie: p, origin: src };
  }
  return undefined;
}

function irToHost(t: IrTensor): HVal {
  const float = t.dtype.startsWith('float') || t.dtype === 'bfloat16';
  const dtype = float ? 'float' : t.dtype === 'bool' ? 'bool' : 'int';
  return { kind: 'h', dtype, dims: [...t.dims], data: t.toNumbers(), static: true };
}

/**
 * An ONNX graph translated op by op into a differentiable tfjs function.
 * Weights are tf.Variables (converted to the layout their op wants once, here);
 * `forward` runs the graph; `writeBack` puts trained weights into the IR.
 */
export class TfGraph {
  readonly tf: TF;
  readonly backend: BackendInfo;
  readonly params: Param[] = [];
  readonly inputName: string;
  readonly outputNames: string[];
  /** Static batch of the IR's input (the exporter's batch), if fixed. */
  readonly irBatch: number | undefined;
  readonly inputShape: (number | string | null)[];
  readonly #byValue = new Map<Value, Param>();
  readonly #statics = new Map<Value, Val>();
  readonly #steps: Step[] = [];
  readonly #values: Map<string, Value>;
  readonly #input: Value;
  readonly #bn: 'train' | 'freeze';
  /** Values that depend on a trainable weight. */
  readonly #trained = new Set<Value>();
  #disposed = false;

  private constructor(model: Model, opts: BuildOptions) {
    this.tf = opts.backend.tf;
    this.backend = opts.backend;
    this.#bn = opts.bn ?? 'train';
    const g = model.graph;
    const inputs = g.inputs.filter((v) => !g.initializers.has(v.name));
    if (inputs.length !== 1) throw new ShearsError('E_GRAPH', `finetune: the model has ${inputs.length} data inputs (${inputs.map((v) => v.name).join(', ')}); one is supported`);
    this.#input = inputs[0]!;
    this.inputName = this.#input.name;
    this.inputShape = [...(this.#input.shape ?? [])];
    const b0 = this.#input.shape?.[0];
    this.irBatch = typeof b0 === 'number' ? b0 : undefined;
    this.outputNames = g.outputs.map((v) => v.name);
    this.#values = g.valuesByName();
    this.#build(model, opts.registry ?? defaultOpRegistry(), opts);
  }

  static build(model: Model, opts: BuildOptions): TfGraph {
    const g = new TfGraph(model, opts);
    return g;
  }

  #build(model: Model, registry: OpRegistry, opts: BuildOptions): void {
    const tf = this.tf;
    const g = model.graph;
    const policy = opts.masks ?? 'auto';
    const roles = new Map<Value, { role: WeightKind | 'elementwise'; node: Node; input: number; prunable: boolean }>();
    // 1. Check every op, find the weights (the op table says which inputs are weights).
    for (const node of g.nodes) {
      if (node.subgraphs().length) shearsFail(node, 'control flow (subgraphs) cannot be trained');
      const opset = model.opset(node.domain) ?? 1;
      const tr = node.domain === '' ? TRANSLATIONS[node.opType] : undefined;
      if (!tr && !(node.domain === '' && (HOST_OPS[node.opType] || node.opType === 'Constant')))
        throw new ShearsError('E_UNKNOWN_OP', `finetune: no tfjs translation for op ${node.domain ? `${node.domain}::` : ''}${node.opType} (node ${node.label})${POSTPROCESS.has(node.opType) ? '; it selects detections (an end-to-end head): fine-tune the model exported without it (the raw [N, 4+classes, anchors] output), then add it back' : ''}`, {
          node: node.label,
          op: node.opType,
        });
      this.#steps.push({ node, tr, opset, skip: false });
      const spec = registry.lookupNode(node, model);
      if (!spec) continue;
      for (const r of weightRolesOf(spec, node)) {
        const v = node.input(r.input);
        if (!v || roles.has(v) || r.role === 'param') continue;
        const src = paramSource(v);
        if (src && src.tensor.dtype === 'float32') roles.set(v, { role: r.role, node, input: r.input, prunable: r.role === 'weight' && resolveFlag(spec.prunable, node) });
      }
      if (spec.channel === 'elementwise' || node.opType === 'PRelu') {
        node.inputs.forEach((v, i) => {
          if (!v || roles.has(v)) return;
          const src = paramSource(v);
          if (src && src.tensor.dtype === 'float32' && src.tensor.size > 1) roles.set(v, { role: 'elementwise', node, input: i, prunable: false });
        });
      }
    }
    // 2. Variables, in the layout of their first consumer.
    for (const [v, r] of roles) {
      const src = paramSource(v)!;
      const dims = [...src.tensor.dims];
      const tr = TRANSLATIONS[r.node.opType];
      const perm = tr?.layout?.(r.node, r.input, dims) ?? null;
      const stat = r.role === 'mean' || r.role === 'var';
      const trainable = !stat && TRAINABLE_ROLES.has(r.role) && !opts.freeze?.(v.name);
      const data = src.tensor.floats();
      const variable = tf.tidy(() => {
        const t = tf.tensor(data, dims.length ? dims : [], 'float32');
        return tf.variable(perm ? permute(tf, t, perm) : t, trainable, `shears/${v.name}#${uid++}`);
      });
      const p: Param = { name: v.name, value: v, role: r.role, dims, perm, variable, trainable, prunable: r.prunable, stat, untie: src.untie };
      const irMask = v.mask ?? src.origin.mask;
      let mask: Uint8Array | undefined;
      let source: Param['maskSource'];
      if (policy !== 'none' && trainable) {
        if (irMask && irMask.length === data.length) [mask, source] = [irMask, 'mask'];
        if ((policy === 'auto' && !mask && r.prunable) || policy === 'zeros') {
          let zeros = false;
          for (let i = 0; i < data.length; i++) if (data[i] === 0) { zeros = true; break; }
          if (zeros) {
            const z = new Uint8Array(data.length);
            for (let i = 0; i < data.length; i++) z[i] = data[i] === 0 ? 0 : (mask ? mask[i]! : 1);
            [mask, source] = [z, mask ? 'mask' : 'zeros'];
          }
        }
      }
      if (mask) this.setMask(p, mask, source!);
      this.params.push(p);
      this.#byValue.set(v, p);
      if (src.untie) {
        const step = this.#steps.find((s) => s.node === src.untie);
        if (step) step.skip = true;
      }
    }
    // Which values a gradient can flow into (they depend on a trainable weight).
    for (const p of this.params) if (p.trainable) this.#trained.add(p.value);
    for (const s of this.#steps) if (s.node.inputs.some((v) => v && this.#trained.has(v))) for (const o of s.node.outputs) this.#trained.add(o);
    // 3. Static values: other initializers and Constant nodes.
    for (const [, v] of g.initializers) {
      if (this.#byValue.has(v) || !v.constValue) continue;
      this.#statics.set(v, this.#constVal(v.constValue));
    }
    for (const s of this.#steps) {
      if (s.node.opType !== 'Constant' || s.node.domain !== '') continue;
      const t = constantNodeTensor(s.node);
      if (!t) shearsFail(s.node, 'unsupported Constant attribute');
      this.#statics.set(s.node.outputs[0]!, this.#constVal(t));
      s.skip = true;
    }
  }

  #constVal(t: IrTensor): Val {
    if (t.size <= HOST_LIMIT || !t.dtype.startsWith('float')) return irToHost(t);
    const tf = this.tf;
    return tval(tf.keep(tf.tensor(t.floats(), t.dims, 'float32')));
  }

  /** Set (or replace) a param's mask (logical order, 1 keep / 0 pruned); zeroes the pruned weights. */
  setMask(p: Param, mask: Uint8Array, source: Param['maskSource']): void {
    const tf = this.tf;
    p.mask?.dispose();
    p.mask = tf.tidy(() => {
      const t = tf.tensor(Float32Array.from(mask), p.dims.length ? p.dims : [], 'float32');
      return tf.keep(p.perm ? permute(tf, t, p.perm) : t);
    });
    p.maskSource = source;
    tf.tidy(() => p.variable.assign(tf.mul(p.variable, p.mask!)));
  }

  /** Variables the optimizer updates. */
  trainable(): Param[] {
    return this.params.filter((p) => p.trainable);
  }

  /** The logical (ONNX-order) value of a param, as a tensor. */
  paramLogical(p: Param): Tensor {
    if (!p.perm) return p.variable;
    const inv = new Array<number>(p.perm.length);
    p.perm.forEach((a, i) => (inv[a] = i));
    return permute(this.tf, p.variable, inv);
  }

  /** Look up an IR value by name (for feature distillation). */
  hasValue(name: string): boolean {
    return this.#values.has(name);
  }

  /**
   * Run the graph on `x` ([N, ...] in the model's NCHW layout). Call inside
   * tf.tidy or a gradient function: intermediate tensors are not disposed here.
   */
  forward(x: Tensor, opts: ForwardOptions): ForwardResult {
    if (this.#disposed) throw new Error('TfGraph was disposed');
    const tf = this.tf;
    const env = new Map<Value, Val>(this.#statics);
    env.set(this.#input, tval(x));
    const stats: StatUpdate[] = [];
    const bnTrain = opts.training && this.#bn === 'train';
    const paramVal = (p: Param): TVal => tval(this.paramLogical(p));
    for (const step of this.#steps) {
      if (step.skip) continue;
      const node = step.node;
      const ins: (Val | undefined)[] = node.inputs.map((v) => {
        if (!v) return undefined;
        const p = this.#byValue.get(v);
        if (p) return paramVal(p);
        const got = env.get(v);
        if (!got) shearsFail(node, `input ${v.name} was not computed (is it a second graph input?)`);
        return got;
      });
      const present = ins.filter((v): v is Val => v !== undefined);
      const host = HOST_OPS[node.opType];
      if (host && present.every((v) => v.kind === 'h')) {
        const r = host(node, ins as (HVal | undefined)[], step.opset);
        if (r) {
          node.outputs.forEach((o, i) => r[i] && env.set(o, r[i]!));
          continue;
        }
      }
      if (!step.tr) shearsFail(node, 'this op is only supported on constant inputs');
      const ctx: OpCtx = {
        tf,
        node,
        opset: step.opset,
        training: opts.training,
        bnTrain,
        customGrad: this.backend.customConvGrad,
        irBatch: this.irBatch,
        batch: x.shape[0]!,
        has: (i) => ins[i] !== undefined,
        needsGrad: (i) => {
          const v = node.input(i);
          return !!v && this.#trained.has(v);
        },
        val: (i) => ins[i],
        tv(i) {
          const v = ins[i];
          if (!v) shearsFail(node, `input ${i} is missing`);
          if (v.kind === 't') return v;
          const t = tval(hostTensor(tf, v));
          ins[i] = t;
          return t;
        },
        logical: (i) => logical(tf, ctx.tv(i)),
        nhwc: (i) => nhwc(tf, ctx.tv(i)),
        host: (i) => {
          const v = ins[i];
          return v?.kind === 'h' ? v : undefined;
        },
        nums: (i) => {
          const v = ins[i];
          return v?.kind === 'h' ? v.data : undefined;
        },
        param: (i) => {
          const v = node.input(i);
          return v ? this.#byValue.get(v) : undefined;
        },
        stored: (i) => {
          const v = node.input(i);
          const p = v ? this.#byValue.get(v) : undefined;
          return p ? p.variable : ctx.logical(i);
        },
        statUpdate: (u) => stats.push(u),
        fail: (m) => shearsFail(node, m),
      };
      let outs: Val[];
      try {
        outs = step.tr.impl(ctx);
      } catch (e) {
        if (e instanceof ShearsError) throw e;
        shearsFail(node, e instanceof Error ? e.message.split('\n')[0]! : String(e));
      }
      node.outputs.forEach((o, i) => outs[i] && env.set(o, outs[i]!));
    }
    const names = opts.outputs ?? this.outputNames;
    const outputs: Record<string, Tensor> = {};
    for (const name of names) {
      const v = this.#values.get(name);
      const val = v && (this.#byValue.has(v) ? paramVal(this.#byValue.get(v)!) : env.get(v));
      if (!val) throw new ShearsError('E_GRAPH', `finetune: the graph has no value ${name}`, { node: name });
      outputs[name] = val.kind === 'h' ? hostTensor(tf, val) : logical(tf, val);
    }
    return { outputs, stats };
  }

  /** Apply BatchNormalization running-stat updates (and dispose them). */
  applyStats(stats: StatUpdate[]): void {
    for (const s of stats) {
      s.param.variable.assign(s.value);
      s.value.dispose();
    }
  }

  /** Zero the pruned weights of every masked param. */
  applyMasks(): void {
    const tf = this.tf;
    tf.tidy(() => {
      for (const p of this.params) if (p.mask) p.variable.assign(tf.mul(p.variable, p.mask));
    });
  }

  /** A param's values in logical (ONNX) order. */
  readParam(p: Param): Float32Array {
    const t = this.tf.tidy(() => this.paramLogical(p).clone());
    const d = t.dataSync() as Float32Array;
    t.dispose();
    return Float32Array.from(d);
  }

  /** Logical-order mask of a param (1 keep, 0 pruned). */
  readMask(p: Param): Uint8Array | undefined {
    if (!p.mask) return undefined;
    const tf = this.tf;
    const t = tf.tidy(() => {
      if (!p.perm) return p.mask!.clone();
      const inv = new Array<number>(p.perm.length);
      p.perm.forEach((a, i) => (inv[a] = i));
      return permute(tf, p.mask!, inv).clone();
    });
    const d = t.dataSync();
    t.dispose();
    return Uint8Array.from(d, (x) => (x ? 1 : 0));
  }

  /** Snapshot of every variable (for restoring the last good state). */
  snapshot(): Map<Param, Float32Array> {
    const out = new Map<Param, Float32Array>();
    for (const p of this.params) out.set(p, Float32Array.from(p.variable.dataSync() as Float32Array));
    return out;
  }

  restore(s: Map<Param, Float32Array>): void {
    const tf = this.tf;
    for (const [p, d] of s) tf.tidy(() => p.variable.assign(tf.tensor(d, p.variable.shape, 'float32')));
  }

  /**
   * Write the trained weights (and BN running stats) into `model`, which must
   * be the model this graph was built from. Masks stay on Value.mask (a mask
   * derived from zeros or a schedule is attached there too). An Identity of a
   * shared initializer gets its own initializer, since the copies trained apart.
   */
  writeBack(model: Model): { tensors: number; untied: number } {
    const g = model.graph;
    let untied = 0;
    for (const p of this.params) {
      const data = this.readParam(p);
      const mask = this.readMask(p);
      if (p.untie) {
        const t = new IrTensor({ name: p.name, dtype: 'float32', dims: p.dims, data });
        const v = p.value;
        const node = p.untie;
        if (node.graph !== g) continue;
        const src = node.input(0)!;
        const nv = g.addInitializer(t, v.name);
        if (mask) nv.mask = mask;
        else if (src.mask) nv.mask = src.mask;
        v.replaceAllUsesWith(nv);
        const asOutput = g.outputs.indexOf(v);
        if (asOutput >= 0) g.outputs[asOutput] = nv;
        g.removeNode(node, { force: true });
        if (src.uses().length === 0 && !g.outputs.includes(src)) g.removeInitializer(src.name);
        this.#byValue.delete(v);
        p.value = nv;
        p.untie = undefined;
        this.#byValue.set(nv, p);
        untied++;
        continue;
      }
      const t = p.value.constValue!;
      t.data = data;
      if (mask) p.value.mask = mask;
    }
    return { tensors: this.params.length, untied };
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const p of this.params) {
      p.variable.dispose();
      p.mask?.dispose();
    }
    for (const v of this.#statics.values()) {
      if (v.kind === 't') v.t.dispose();
      else v.tensor?.dispose();
    }
  }
}

export function paramCount(params: readonly Param[]): number {
  return params.reduce((a, p) => a + sizeOf(p.dims), 0);
}

export type { Variable };
