import { Graph, Model, Tensor } from '@shears/core';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, readModel } from './index.js';

/** Plain numbers (or bigints) of a tensor, for toEqual. */
const values = (t: Tensor): (number | bigint)[] => [...(t.data as Iterable<number | bigint>)];

/** Initializers of several element sizes and lengths (1- and 2-byte length prefixes), after a name that shifts their offsets. */
function model(nameLength: number): { model: Model; expected: Map<string, (number | bigint)[]> } {
  const g = new Graph('main');
  const expected = new Map<string, (number | bigint)[]>();
  const add = (t: Tensor) => {
    g.addInitializer(t);
    expected.set(t.name, values(t));
  };
  const pad = 'p'.repeat(nameLength);
  for (const n of [2, 3, 200]) {
    add(Tensor.fromFloat32(`${pad}f${n}`, [n], Float32Array.from({ length: n }, (_, i) => i - n / 2 + 0.25)));
    add(new Tensor({ name: `${pad}d${n}`, dtype: 'float64', dims: [n], data: Float64Array.from({ length: n }, (_, i) => i * 1.5 - 7) }));
    add(Tensor.fromInt64(`${pad}i${n}`, [n], Array.from({ length: n }, (_, i) => BigInt(i) * -3_000_000_000n)));
  }
  return { model: new Model({ graph: g, irVersion: 8, opsetImports: { '': 17 } }), expected };
}


describe('misaligned raw_data', () => {
  it('readModel moves it into place instead of copying, at every offset, values exact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-align-'));
    let inPlace = 0;
    for (let len = 1; len <= 8; len++) {
      const { model: m, expected } = model(len);
      const path = join(dir, `m${len}.onnx`);
      writeFileSync(path, encodeModel(m));
      const back = await readModel(path);
      const size = statSync(path).size;
      for (const [name, want] of expected) {
        const t = back.graph.initializer(name)!;
        const misaligned = !t.loaded;
        expect(values(t), `${name} (name length ${len})`).toEqual(want);
        // A view of the file's own bytes (not a fresh copy) for the float32 tensors with a 2-byte length prefix.
        if (misaligned && name.endsWith('f200')) {
          expect((t.data as Float32Array).buffer.byteLength).toBeGreaterThanOrEqual(size);
          inPlace++;
        }
      }
    }
    expect(inPlace).toBeGreaterThanOrEqual(6); // the offsets mod 4 of 1, 2 and 3 each occur
  });

  it('decodeModel leaves bytes it does not own untouched', () => {
    for (let len = 1; len <= 4; len++) {
      const { model: m, expected } = model(len);
      const bytes = encodeModel(m);
      const copy = bytes.slice();
      const back = decodeModel(bytes);
      for (const [name, want] of expected) expect(values(back.graph.initializer(name)!)).toEqual(want);
      expect(Buffer.compare(Buffer.from(bytes), Buffer.from(copy))).toBe(0);
      // Owned: the same values, but the bytes change.
      const owned = decodeModel(copy.slice(), { ownsBytes: true });
      for (const [name, want] of expected) expect(values(owned.graph.initializer(name)!)).toEqual(want);
    }
  });
});
