import { ShearsError, type ChannelGraph, type ChannelGroup, type CriterionPlugin, type Model, type PluginContext, type ScoreTarget } from '@shears/core';
import { normalizeScores } from '@shears/criteria';

/**
 * One score per channel of each group. Criteria with scoreGroup see the whole
 * group; others are asked for channel scores of each filter (producer
 * weight) and averaged, then normalized per group.
 */
export async function scoreGroups(model: Model, graph: ChannelGraph, groups: ChannelGroup[], criterion: CriterionPlugin, ctx: PluginContext): Promise<Float32Array[]> {
  if (!criterion.scoreGroup && criterion.prepare) {
    const targets: ScoreTarget[] = groups.flatMap((g) => g.members.filter((m) => m.role === 'producer').map((m) => target(model, m)));
    await criterion.prepare(model, targets, ctx);
  }
  const out: Float32Array[] = [];
  for (const g of groups) {
    if (ctx.signal.aborted) throw new ShearsError('E_ABORTED', `${criterion.name}: aborted while scoring`, { plugin: criterion.name });
    const s = criterion.scoreGroup ? await criterion.scoreGroup({ model, graph, group: g }, ctx) : await viaScore(model, g, criterion, ctx);
    if (!(s instanceof Float32Array) || s.length !== g.size)
      throw new ShearsError('E_PLUGIN', `${criterion.name}: scored group ${g.id} with ${s?.length} values, expected ${g.size}`, { plugin: criterion.name });
    for (let i = 0; i < s.length; i++)
      if (!Number.isFinite(s[i]!)) throw new ShearsError('E_PLUGIN', `${criterion.name}: score ${s[i]} for channel ${i} of group ${g.id}`, { plugin: criterion.name });
    out.push(s);
  }
  return out;
}

function target(model: Model, m: ChannelGroup['members'][number]): ScoreTarget {
  return { model, node: m.node, input: m.input, weight: m.tensor, granularity: { kind: 'channel', axis: m.axis } };
}

async function viaScore(model: Model, g: ChannelGroup, criterion: CriterionPlugin, ctx: PluginContext): Promise<Float32Array> {
  const producers = g.members.filter((m) => m.role === 'producer' && m.tensor.dtype === 'float32');
  const parts = producers.length ? producers : g.members.filter((m) => m.tensor.dtype === 'float32');
  const acc = new Float64Array(g.size);
  const n = new Float64Array(g.size);
  for (const m of parts) {
    const s = await criterion.score(target(model, m), ctx);
    if (s.length !== m.tensor.dims[m.axis]) throw new ShearsError('E_PLUGIN', `${criterion.name}: channel scores for ${m.node.label} have length ${s.length}, expected ${m.tensor.dims[m.axis]}`, { plugin: criterion.name });
    for (let j = 0; j < s.length; j++) {
      const c = m.channelOf[j]!;
      if (c < 0) continue;
      acc[c] += s[j]!;
      n[c] += 1;
    }
  }
  return normalizeScores(Float32Array.from(acc, (x, c) => (n[c] ? x / n[c]! : 0)), 'mean');
}
