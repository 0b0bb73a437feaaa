// Data-free filter pruning needs no runtime (no onnxruntime-node installed);
// a data-aware criterion under it says, in one line, what to install.
import { analyzeModel, pipeline, type Model } from '@shears/core';
import { apoz, l1, meanActivation } from '@shears/criteria';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { filterPruning } from '../src/index.js';

const channelsOf = (m: Model) => m.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => n.inputs[1]!.constValue!.dims[0]);

describe('filter pruning without a runtime', () => {
  it('L1 (the default, or l1() given) plans and removes channels through pipeline().run() with no runtime', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const before = channelsOf(model);
    const macs = analyzeModel(model).macs;
    for (const steps of [[filterPruning({ amount: 0.5, roundTo: 1 })], [l1(), filterPruning({ amount: 0.5, roundTo: 1 })]]) {
      const r = await pipeline(...steps).run(await readModel(smallFixture('tiny-cnn.onnx')));
      const after = channelsOf(r.model);
      expect(after.some((c, i) => c! < before[i]!)).toBe(true);
      expect(analyzeModel(r.model).macs).toBeLessThan(macs);
    }
  });

  for (const criterion of [meanActivation, apoz]) {
    it(`${criterion.pluginName} under filter stops with E_NO_RUNTIME, one line naming it and @shears/runtime`, async () => {
      const model = await readModel(smallFixture('tiny-cnn.onnx'));
      const e = await pipeline(criterion({ samples: 2 }), filterPruning({ amount: 0.5, roundTo: 1 }))
        .run(model)
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(e).toBeInstanceOf(Error);
      expect((e as { code?: string }).code).toBe('E_NO_RUNTIME');
      expect((e as Error).message).not.toContain('\n');
      expect((e as Error).message).toContain(criterion.pluginName!);
      expect((e as Error).message).toContain('npm install @shears/runtime');
    });
  }
});
