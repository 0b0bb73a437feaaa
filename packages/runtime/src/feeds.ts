import { ShearsError, type Model, type NamedTensor } from '@shears/core';
import type { Batch } from '@shears/data';

/** The one real (non-initializer) input of a classifier-like model. */
export function primaryInput(model: Model): { name: string; batch: number | null } {
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  if (inputs.length !== 1) throw new ShearsError('E_DATA', `model has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ')}); datasets feed models with exactly one input`);
  const d0 = inputs[0]!.shape?.[0];
  return { name: inputs[0]!.name, batch: typeof d0 === 'number' ? d0 : null };
}

/**
 * Feed a dataset batch to a model whose batch dimension may be fixed: the
 * batch is cut into chunks of that size, the last one zero-padded. Yields the
 * feed and how many of its rows are real.
 */
export function* chunkBatch(batch: Batch, inputName: string, fixedBatch: number | null): Generator<{ feeds: Record<string, NamedTensor>; rows: number; offset: number }> {
  const n = batch.dims[0]!;
  const per = batch.x.length / n;
  const step = fixedBatch ?? n;
  for (let offset = 0; offset < n; offset += step) {
    const rows = Math.min(step, n - offset);
    let data = batch.x.subarray(offset * per, (offset + rows) * per);
    if (rows < step) {
      const padded = new Float32Array(step * per);
      padded.set(data);
      data = padded;
    }
    yield { feeds: { [inputName]: { dims: [step, ...batch.dims.slice(1)], data } }, rows, offset };
  }
}
