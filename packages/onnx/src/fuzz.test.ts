// Mutated and truncated copies of the small fixtures: the reader must return a
// model or throw a ShearsError, never anything else, never hang. A model it
// accepts must also write and re-read.
import { smallFixture } from '@shears/fixtures';
import { ShearsError } from '@shears/core';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel } from './decode-model.js';
import { encodeModel } from './encode-model.js';
import { protoBytes, rng } from './test-utils.js';

const SEED = 0x5eed;
const PER_MODEL = 40;
const names = ['tiny-cnn', 'tiny-mlp', 'typed-fields', 'int8-weights', 'if-subgraph', 'function', 'shape-subgraph', 'externaldata', 'unknown-op', 'explicit-empty'];
const dir = dirname(smallFixture('tiny-cnn.onnx'));
const present = existsSync(smallFixture('tiny-cnn.onnx'));

/** A hand-built model used when the fixtures are missing, so the fuzz test always runs. */
function builtIn(): Uint8Array {
  return protoBytes({
    ir_version: 8,
    opset_import: [{ domain: '', version: 17 }],
    graph: {
      name: 'g',
      input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_value: 4 }] } } } }],
      initializer: [
        { name: 'w', dims: [4], data_type: 1, raw_data: new Uint8Array(16).fill(7) },
        { name: 'i', dims: [2], data_type: 7, int64_data: [1, -1] },
      ],
      node: [
        { op_type: 'Add', input: ['x', 'w'], output: ['a'] },
        { op_type: 'If', input: ['c'], output: ['y'], attribute: [{ name: 'then_branch', type: 5, g: { name: 't', node: [{ op_type: 'Neg', input: ['a'], output: ['z'] }], output: [{ name: 'z' }] } }] },
      ],
      output: [{ name: 'y' }],
    },
  });
}

type Mutation = (b: Uint8Array, r: () => number) => Uint8Array;
const pick = (r: () => number, n: number) => Math.floor(r() * n);
const mutations: Mutation[] = [
  (b, r) => b.subarray(0, pick(r, b.length)), // truncate
  (b, r) => {
    const c = b.slice();
    for (let k = 0, n = 1 + pick(r, 8); k < n; k++) c[pick(r, c.length)] = pick(r, 256); // flip bytes
    return c;
  },
  (b, r) => {
    const c = b.slice();
    c[pick(r, c.length)] ^= 1 << pick(r, 8); // one bit
    return c;
  },
  (b, r) => {
    const at = pick(r, b.length); // insert a huge varint (length / tag)
    const junk = [0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0x7f].slice(0, 1 + pick(r, 10));
    return Uint8Array.from([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
  },
  (b, r) => {
    const at = pick(r, b.length); // delete a run
    return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + pick(r, 16))]);
  },
  (b, r) => {
    const from = pick(r, b.length); // duplicate a run
    const run = b.subarray(from, from + 1 + pick(r, 64));
    const at = pick(r, b.length);
    return Uint8Array.from([...b.subarray(0, at), ...run, ...b.subarray(at)]);
  },
  (_b, r) => Uint8Array.from({ length: 1 + pick(r, 512) }, () => pick(r, 256)), // random bytes
];

function check(bytes: Uint8Array, label: string): 'ok' | 'error' {
  let model: ReturnType<typeof decodeModel>;
  try {
    model = decodeModel(bytes, { fileName: label, baseDir: dir });
  } catch (e) {
    if (!(e instanceof ShearsError)) throw new Error(`${label}: threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    expect(e.message.startsWith(`${label}: `), e.message).toBe(true);
    expect(e.message).not.toContain('\n');
    return 'error';
  }
  let out: Uint8Array;
  try {
    out = encodeModel(model);
  } catch (e) {
    if (!(e instanceof ShearsError)) throw new Error(`${label}: encode threw ${(e as Error)?.message}`);
    return 'ok';
  }
  expect(() => decodeModel(out, { baseDir: dir }), label).not.toThrow();
  return 'ok';
}

describe('fuzz: corrupt models', () => {
  it(`${present ? names.length : 1} models x ${PER_MODEL} mutations (seed ${SEED})`, () => {
    const r = rng(SEED);
    const sources = present ? names.map((n) => [n, readFileSync(smallFixture(`${n}.onnx`))] as const) : [['built-in', builtIn()] as const];
    const tally = { ok: 0, error: 0 };
    for (const [name, bytes] of sources) {
      for (let i = 0; i < PER_MODEL; i++) {
        const m = pick(r, mutations.length);
        const started = performance.now();
        tally[check(mutations[m]!(bytes, r), `${name}#${i}.m${m}`)]++;
        expect(performance.now() - started).toBeLessThan(5000);
      }
    }
    expect(tally.error).toBeGreaterThan(0);
    expect(tally.ok + tally.error).toBe(sources.length * PER_MODEL);
  });

  it('every truncation of a small model is handled', () => {
    const bytes = present ? readFileSync(smallFixture('if-subgraph.onnx')) : builtIn();
    for (let n = 0; n < bytes.length; n++) check(bytes.subarray(0, n), `cut${n}`);
  });
});
