import { buildDependencyGraph, type ChannelGraph, type Model, type StructureOptions } from '@shears/core';
import { blockedReason } from './filter.js';

export interface GroupSummary {
  id: string;
  /** Group channels, and activation channels per group channel. */
  size: number;
  width: number;
  prunable: number;
  layers: string[];
  macs: number;
  /** Why the pinned channels must stay, when some are pinned. */
  blocked?: string;
}

/**
 * The channel groups of a model, for review before planning (dry runs,
 * interactive use): ids, sizes, layers, MACs, and why any channels are pinned.
 */
export function listGroups(model: Model, opts: StructureOptions = {}): { graph: ChannelGraph; groups: GroupSummary[] } {
  const graph = buildDependencyGraph(model, opts);
  const groups = graph.groups.map((g) => ({
    id: g.id,
    size: g.size,
    width: g.width,
    prunable: g.prunable,
    layers: g.layers,
    macs: g.macs,
    ...(g.prunable < g.size ? { blocked: blockedReason(g) } : {}),
  }));
  return { graph, groups };
}
