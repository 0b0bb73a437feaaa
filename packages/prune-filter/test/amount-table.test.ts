import { applyPlan, cloneModel, ShearsError, type PruningPlan, type RemoveChannelsAction } from '@shears/core';
import { testContext } from '@shears/core/testing';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { filterPruning, listGroups, tableAmount } from '../src/index.js';

const removes = (plan: PruningPlan) => plan.actions.filter((a): a is RemoveChannelsAction => a.type === 'remove-channels');
const group = (id: string, layers: string[]) => ({ id, size: 8, width: 1, layers, members: [], sites: [], pinned: [], prunable: 8, macs: 0 });

describe('filter amountTable', () => {
  it('matches exact ids and layer names before regexes, first key wins', () => {
    const table = { 'conv.*': 0.1, conv10: 0.5, '/b/out': 0.3 };
    expect(tableAmount(group('/a/out', ['conv10']), table)).toBe(0.5);
    expect(tableAmount(group('/a/out', ['conv1']), table)).toBe(0.1);
    expect(tableAmount(group('/b/out', ['conv2']), table)).toBe(0.3);
    expect(tableAmount(group('/c/out', ['fc']), table)).toBeUndefined();
    expect(tableAmount(group('/c/out', ['toString']), {})).toBeUndefined();
  });

  it('prunes only the groups in the table; the others take amount, or stay whole', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const groups = listGroups(model).groups.filter((g) => g.prunable > 0);
    expect(groups.length).toBeGreaterThanOrEqual(2);
    const [first, second] = groups;
    const label = first!.layers[0] ?? first!.id;
    const only = await filterPruning({ amountTable: { [label]: 0.5 }, roundTo: 1 }).plan(model, testContext());
    expect(removes(only).map((a) => [a.group, a.channels.length])).toEqual([[first!.id, Math.round(first!.size * 0.5)]]);
    const byId = await filterPruning({ amountTable: { [second!.id]: 0.5 }, roundTo: 1 }).plan(model, testContext());
    expect(removes(byId).map((a) => a.group)).toEqual([second!.id]);
    const withDefault = await filterPruning({ amountTable: { [label]: 0.75 }, amount: 0.25, roundTo: 1 }).plan(model, testContext());
    const sizes = new Map(removes(withDefault).map((a) => [a.group, a.channels.length]));
    expect(sizes.get(first!.id)).toBe(Math.round(first!.size * 0.75));
    expect(sizes.get(second!.id)).toBe(Math.round(second!.size * 0.25));
    const m = cloneModel(model);
    applyPlan(m, only);
    expect(m.graph.nodes.length).toBe(model.graph.nodes.length);
  });

  it('an empty table prunes nothing; bad tables name the option', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    expect(removes(await filterPruning({ amountTable: {} }).plan(model, testContext()))).toEqual([]);
    expect(() => filterPruning({ amountTable: { a: 0.5 }, targetMacs: 0.5 })).toThrow(/option amountTable: give either amountTable/);
    expect(() => filterPruning({ amountTable: { a: 0.5 }, amount: 0.2, scope: 'global' })).toThrow(/option scope:/);
    expect(() => filterPruning({ amountTable: { a: 1 } })).toThrow(ShearsError);
    expect(() => filterPruning({ amountTable: { '(': 0.5 } })).toThrow(/option amountTable: key "\(" is neither a layer name nor a regular expression/);
  });
});
