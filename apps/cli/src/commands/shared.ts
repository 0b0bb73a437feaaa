import { primaryInput, type Model } from '@shears/core';
import { checkFits, checkLabels, openDataset, type Dataset } from '@shears/data';

/**
 * Open --data/--calib for a model and check that its samples fit the model's
 * input (and its labels the model's classes, when both are known).
 */
export async function datasetFor(model: Model, spec: string): Promise<Dataset> {
  const input = model.graph.inputs.find((v) => v.name === primaryInput(model).name)!;
  const data = await openDataset(spec, { inputShape: input.shape });
  checkFits(data, input.shape ?? [], { file: spec, inputName: input.name });
  const classes = model.graph.outputs[0]?.shape?.at(-1);
  if (typeof classes === 'number' && model.graph.outputs[0]!.shape!.length === 2) checkLabels(data, classes);
  return data;
}
