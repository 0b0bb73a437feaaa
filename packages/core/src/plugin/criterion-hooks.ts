import type { Model } from '../ir/model.js';
import type { ChannelGroup, DependencyGraph } from '../structure/types.js';
import type { PluginContext } from './context.js';
import type { ScoreTarget } from './types.js';

/**
 * Optional criterion hooks beyond `score()`. A strategy that supports them
 * calls `prepare` once per plan with every target it will score, and, for a
 * criterion with `reconstruct`, asks it to realize each layer's budget.
 * Strategies that only know `score()` still work with every criterion.
 */
export interface CriterionHooks {
  /**
   * Called once per plan, before any score() or reconstruct(), with every
   * target the strategy will look at. Data-aware criteria gather calibration
   * statistics here in one runtime pass for all layers (and drop stale ones,
   * since the model may have changed since their last plan). Without it they
   * prepare lazily on their first score().
   */
  prepare?(model: Model, targets: ScoreTarget[], ctx: PluginContext): Promise<void>;
  /**
   * Layer-wise reconstruction (OBS / SparseGPT): prune exactly `budget.count`
   * elements of the target's weight (respecting `budget.pattern` when given),
   * choosing which as the method does, and return new values for the whole
   * tensor (pruned elements zero). The strategy decides how many per layer;
   * the criterion decides which, and how the rest compensate.
   */
  reconstruct?(target: ScoreTarget, budget: PruneBudget, ctx: PluginContext): Promise<Reconstruction>;
  /**
   * Structured pruning: one score per channel of a group of coupled channels
   * (higher = more important), seeing every member of the group (filters,
   * the input channels that read them, BatchNorm scales, activations…).
   * Strategies fall back to averaging score() over the group's filters when
   * a criterion has no scoreGroup.
   */
  scoreGroup?(target: GroupScoreTarget, ctx: PluginContext): Promise<Float32Array>;
}

/** A channel group to score, with the graph it belongs to. */
export interface GroupScoreTarget {
  model: Model;
  graph: DependencyGraph;
  group: ChannelGroup;
}

/** How much of one weight tensor to prune. */
export interface PruneBudget {
  /** Number of elements to prune (exactly). */
  count: number;
  /**
   * N:M semi-structured: in every group of `m` consecutive elements along
   * `axis` of the weight, prune exactly m − n (keep n). `count` then equals
   * size·(m−n)/m.
   */
  pattern?: { n: number; m: number; axis: number };
}

/** A criterion's answer to a PruneBudget. */
export interface Reconstruction {
  /** Flat indices of the pruned elements, ascending, `budget.count` of them. */
  prune: Uint32Array;
  /** The tensor's new values (same length as the weight; pruned elements 0). */
  data: Float32Array;
  /** Free-form numbers for reports (e.g. reconstruction error). */
  details?: Record<string, number | string>;
}
