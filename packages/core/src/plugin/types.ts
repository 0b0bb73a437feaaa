import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { OpSpec } from '../ops/types.js';
import type { PluginContext } from './context.js';
import type { CriterionHooks } from './criterion-hooks.js';
import type { PruningPlan } from './plan.js';

export const PLUGIN_KINDS = ['importer', 'pass', 'strategy', 'criterion', 'finetuner', 'exporter'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** What a hook returns (onnx/ir-py's PassResult): the model and whether it changed. */
export interface PassResult {
  model: Model;
  modified: boolean;
  /** What changed, for reports (per-layer numbers, names, …). */
  details?: Record<string, unknown>;
}

export interface PluginBase {
  name: string;
  kind: PluginKind;
  version?: string;
  /** Options the factory was called with, after validation (for reports and recipes). */
  options?: Record<string, unknown>;
  /**
   * Whether hooks edit the model they are given in place. A plugin that says
   * false must return a new model when it changes something.
   */
  mutates?: boolean;
  /**
   * Ops this plugin teaches Shears (a custom or contrib op's channel kind,
   * weights, shape rule…). The pipeline extends the run's op table with the
   * specs of every plugin it holds before the first step, so every step sees
   * them through `ctx.ops`.
   */
  ops?: readonly OpSpec[];
  /**
   * Precondition, checked by the pipeline just before the hook (and by
   * `shears run --dry-run`): throw a ShearsError to refuse the model or the
   * run (e.g. no calibration data, no runtime) before any work is done.
   */
  requires?(model: Model, ctx: PluginContext): void | Promise<void>;
}

/** Where a pipeline's model comes from. */
export type PipelineInput = string | Uint8Array | Model;

export interface ImporterPlugin extends PluginBase {
  kind: 'importer';
  /** Can this importer read the input (e.g. by extension or magic bytes)? */
  accepts?(input: PipelineInput): boolean;
  import(input: Exclude<PipelineInput, Model>, ctx: PluginContext): Promise<Model>;
}

export interface PassPlugin extends PluginBase {
  kind: 'pass';
  run(model: Model, ctx: PluginContext): Promise<PassResult>;
}

export interface StrategyPlugin extends PluginBase {
  kind: 'strategy';
  /** Decide what to prune; must not edit the model. */
  plan(model: Model, ctx: PluginContext): Promise<PruningPlan>;
}

/** One thing a criterion scores: a weight tensor seen along an axis. */
export interface ScoreTarget {
  model: Model;
  node: Node;
  /** Input index of the weight on `node`. */
  input: number;
  weight: Tensor;
  /** 'element': one score per weight element; 'channel': one per index of `axis`. */
  granularity: { kind: 'element' } | { kind: 'channel'; axis: number };
  /**
   * Optional scratch of the result's length, owned by the caller: a criterion
   * may write its scores into it and return it instead of allocating (large
   * models score many millions of weights, several times for a global
   * threshold). The caller reuses it after the next call.
   */
  out?: Float32Array;
}

/**
 * What a criterion promises about its scores, so a strategy may take a
 * shortcut instead of calling score(). A strategy that uses a capability must
 * get exactly the result the scored path would give; one that does not know
 * it calls score() as usual. Declare only what holds bit for bit.
 */
export interface CriterionCapabilities {
  /**
   * Element scores are exactly |w| of the float32 weight (the sign bit
   * cleared), with no calibration and no prepare() state: a strategy may rank
   * the weights' own bits and never call score() for element granularity
   * (prune-unstructured's fast path). Channel and group scores still come
   * from score() and scoreGroup().
   */
  elementMagnitude?: boolean;
}

/** See CriterionHooks for the optional prepare() and reconstruct() hooks. */
export interface CriterionPlugin extends PluginBase, CriterionHooks {
  kind: 'criterion';
  /** Needs calibration activations through the runtime. */
  needsData?: boolean;
  /** Declared properties of the scores that strategies may use (see CriterionCapabilities). */
  capabilities?: CriterionCapabilities;
  /** Higher score = more important (kept). */
  score(target: ScoreTarget, ctx: PluginContext): Promise<Float32Array>;
}

export interface FinetunerPlugin extends PluginBase {
  kind: 'finetuner';
  finetune(model: Model, ctx: PluginContext): Promise<PassResult>;
}

export interface ExportResult {
  /** Files written (final paths). */
  files: string[];
  details?: Record<string, unknown>;
}

export interface ExporterPlugin extends PluginBase {
  kind: 'exporter';
  export(model: Model, ctx: PluginContext): Promise<ExportResult>;
}

export type Plugin = ImporterPlugin | PassPlugin | StrategyPlugin | CriterionPlugin | FinetunerPlugin | ExporterPlugin;

/** A plugin factory: how packages ship plugins (`filterPruning({amount: 0.5})`). */
export type PluginFactory<O = any, P extends Plugin = Plugin> = ((options?: O) => P) & {
  /** Name the factory's plugins carry, for listings before calling it. */
  pluginName?: string;
  kind?: PluginKind;
  description?: string;
};
