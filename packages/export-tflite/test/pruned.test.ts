import { pipeline, type Model, type Plugin, type PluginFactory } from '@shears/core';
import { readModel } from '@shears/onnx';
import { fixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { convertToTflite, verifyTflite } from '../src/index.js';

// Pruned models: a filter-pruned model has fewer channels, an unstructured-
// pruned one zeros that --sparse encodes. Both must still match onnxruntime.
// (Skipped if a pruning package cannot be loaded.)
async function strategy(pkg: string, name: string): Promise<PluginFactory | undefined> {
  try {
    return ((await import(pkg)) as Record<string, PluginFactory>)[name];
  } catch {
    return undefined;
  }
}

const filter = await strategy('@shears/prune-filter', 'filterPruning');
const unstructured = await strategy('@shears/prune-unstructured', 'unstructuredPruning');

async function prune(model: Model, plugin: Plugin): Promise<Model> {
  return (await pipeline(plugin).run(model)).model;
}

describe('pruned models', () => {
  for (const name of ['resnet18', 'mobilenet_v2', 'regnet_y_400mf']) {
    it.skipIf(!filter || !fixture(name))(`${name}, filter-pruned 50%: exports and matches`, async () => {
      const m = await readModel(fixture(name)!);
      const before = convertToTflite(m).bytes.byteLength;
      const pruned = await prune(m, filter!({ amount: 0.5 })); // edits m in place
      const conv = convertToTflite(pruned);
      expect(conv.bytes.byteLength).toBeLessThan(before * 0.8);
      const v = await verifyTflite(pruned, conv);
      expect(v.maxRelDiff).toBeLessThan(1e-4);
    });
  }

  it.skipIf(!unstructured || !fixture('mobilenet_v2'))('mobilenet_v2, unstructured 80%: --sparse shrinks the file and matches', async () => {
    const m = await readModel(fixture('mobilenet_v2')!);
    const pruned = await prune(m, unstructured!({ amount: 0.8 }));
    const dense = convertToTflite(pruned);
    const sparse = convertToTflite(pruned, { sparse: true });
    // Every 1x1 conv (the XNNPACK rule) is stored sparse, behind a DENSIFY.
    expect(sparse.ops.DENSIFY).toBe(sparse.sparse.length);
    expect(sparse.sparse.length).toBeGreaterThanOrEqual(30);
    expect(sparse.bytes.byteLength).toBeLessThan(dense.bytes.byteLength * 0.75);
    const v = await verifyTflite(pruned, sparse);
    expect(v.maxRelDiff).toBeLessThan(1e-4);
    const both = convertToTflite(pruned, { sparse: true, fp16: true });
    expect((await verifyTflite(pruned, both)).maxRelDiff).toBeLessThan(1e-2);
  });
});
