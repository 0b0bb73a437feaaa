import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from '@shears/core';
import { assertConformance } from '@shears/core/testing';
import { smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { onnxImport, onnxWrite } from './plugins.js';
import { readModel } from './read.js';

describe('onnx-write plugin', () => {
  it('passes the conformance kit', async () => {
    await assertConformance({ factory: onnxWrite, options: (dir) => ({ out: join(dir, 'o.onnx') }), badOptions: [{}, { out: '' }, { out: 'x.onnx', colour: 1 }] });
  });
});

describe('onnx-import plugin', () => {
  it('passes the conformance kit', async () => {
    await assertConformance({ factory: onnxImport, options: { inputShape: { input: [1, 3, 8, 8] } }, badOptions: [{ inputShape: { input: [1, -3] } }, { shape: {} }] });
  });

  it('imports a file, applies input shapes, and round-trips through a pipeline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-plugins-'));
    const out = join(dir, 'copy.onnx');
    const r = await pipeline(onnxImport({ inputShape: { input: [4, 3, 8, 8] } }), onnxWrite({ out })).run(smallFixture('shape-subgraph.onnx'));
    expect(r.model.graph.inputs[0]!.shape).toEqual([4, 3, 8, 8]);
    expect(r.files).toEqual([out]);
    expect(existsSync(out)).toBe(true);
    const back = await readModel(out);
    expect(back.graph.nodes.length).toBe(r.model.graph.nodes.length);
  });

  it('accepts .onnx paths and bytes only', () => {
    const p = onnxImport();
    expect(p.accepts!('m.onnx')).toBe(true);
    expect(p.accepts!('m.tflite')).toBe(false);
    expect(p.accepts!(new Uint8Array(1))).toBe(true);
  });
});
