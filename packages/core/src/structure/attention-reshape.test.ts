// An SVTR-style attention (PaddleOCR rec): qkv [N,L,360] is Reshaped to
// [N,L,3,8,15] and transposed so that q, k and v are cut out of the channel
// axis (Gather or Slice) and mixed by MatMul. The qkv group is pinned with the
// reason, and a masked twin cannot be built on a graph that pins what a plan
// removes (maskChannels refuses pinned channels as removeChannels does).
import { describe, expect, it } from 'vitest';
import { cloneModel } from '../ir/clone.js';
import type { Value } from '../ir/value.js';
import { Kit } from '../shape/test-kit.js';
import { removeChannels } from './apply.js';
import { buildDependencyGraph } from './graph.js';
import { maskChannels } from './mask.js';

const L = 6;

function attention(cut: 'gather' | 'slice', batch: number | string = 1): { k: Kit; qkv: Value; pre: Value } {
  const k = new Kit(13);
  const x = k.input('x', [batch, L, 16]);
  const pre = k.one('MatMul', [x, k.floats([16, 32])]);
  const mm = k.one('MatMul', [k.one('Relu', [pre]), k.floats([32, 360])]);
  const qkv = k.one('Add', [mm, k.floats([360])]);
  const r = k.one('Reshape', [qkv, k.ints([0, -1, 3, 8, 15])]);
  const t = k.one('Transpose', [r], { perm: [2, 0, 3, 1, 4] });
  const part = (i: number) =>
    cut === 'gather' ? k.one('Gather', [t, k.ints([i], [])], { axis: 0 }) : k.one('Squeeze', [k.one('Slice', [t, k.ints([i]), k.ints([i + 1]), k.ints([0])]), k.ints([0])]);
  const [q, kk, v] = [part(0), part(1), part(2)];
  const att = k.one('Softmax', [k.one('MatMul', [q, k.one('Transpose', [kk], { perm: [0, 1, 3, 2] })])], { axis: -1 });
  const o = k.one('Transpose', [k.one('MatMul', [att, v])], { perm: [0, 2, 1, 3] });
  k.output(k.one('MatMul', [k.one('Reshape', [o, k.ints([0, -1, 120])]), k.floats([120, 4])]));
  return { k, qkv: mm, pre };
}

describe('a channel axis split into [3, heads, dim] and mixed by MatMul', () => {
  for (const cut of ['gather', 'slice'] as const) {
    it(`pins the qkv group with the reason (q, k, v cut by ${cut}), sized or not`, () => {
      for (const batch of [1, 'N']) {
        const { k, qkv, pre } = attention(cut, batch);
        const g = buildDependencyGraph(k.model);
        const group = g.group(qkv.name)!;
        // MatMul couples q, k and v channel by channel: fewer classes than 360, every one pinned.
        expect(group.size).toBeGreaterThan(0);
        expect(group.prunable).toBe(0);
        expect(group.pinned.every(Boolean)).toBe(true);
        const why = group.pinned.find(Boolean)!;
        expect(why).toMatch(cut === 'gather' ? /gathers along the channel axis/ : /Reshape .*cannot follow|cuts a channel axis of a reshaped layout/);
        // The group before it stays prunable, and removing from it keeps shapes.
        const first = g.group(pre.name)!;
        expect(first.prunable).toBe(32);
        const removed = cloneModel(k.model);
        removeChannels(removed, new Map([[pre.name, [0, 5, 31]]]));
        expect(removed.graph.nodes.find((n) => n.input(1)?.constValue?.dims[1] === 360)!.input(1)!.constValue!.dims).toEqual([29, 360]);
      }
    });
  }

  it('maskChannels refuses pinned channels, as removeChannels does', () => {
    const { k, qkv } = attention('gather');
    const g = buildDependencyGraph(k.model);
    const id = g.group(qkv.name)!.id;
    const selection = new Map([[id, [0]]]);
    expect(() => maskChannels(cloneModel(k.model), selection)).toThrow(/channel 0 cannot be removed: .*gathers along the channel axis/);
    expect(() => removeChannels(cloneModel(k.model), selection)).toThrow(/channel 0 cannot be removed/);
    expect(() => maskChannels(cloneModel(k.model), new Map([['nope', [0]]]))).toThrow(/no channel group nope/);
  });
});
