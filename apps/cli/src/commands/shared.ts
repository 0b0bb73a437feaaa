import { dynamicShapeError, primaryInput, resolveInputShapes, type Model } from '@shears/core';
import { checkFits, checkLabels, openDataset, type Dataset, type OpenOptions } from '@shears/data';

/**
 * Open --data/--calib for a model and check that its samples fit the model's
 * input (and its labels the model's classes, when both are known). Sizes the
 * model leaves dynamic come from the model itself where it says (a dynamic
 * batch, dims bound by other inputs, metadata); `random:N` needs every other
 * dim, and says which --input-shape gives them.
 */
export async function datasetFor(model: Model, spec: string, open: Pick<OpenOptions, 'resize'> = {}): Promise<Dataset> {
  const input = model.graph.inputs.find((v) => v.name === primaryInput(model).name)!;
  const r = resolveInputShapes(model, undefined);
  const missing = r.unresolved.filter((d) => d.name === input.name);
  if (/^random:/.test(spec) && missing.length) throw dynamicShapeError(missing, `random calibration data (${spec})`);
  const shape = r.shapes[input.name] ?? input.shape;
  const data = await openDataset(spec, { ...open, inputShape: shape });
  checkFits(data, input.shape ?? [], { file: spec, inputName: input.name });
  const classes = model.graph.outputs[0]?.shape?.at(-1);
  if (typeof classes === 'number' && model.graph.outputs[0]!.shape!.length === 2) checkLabels(data, classes);
  return data;
}

/**
 * Input shapes taken from a dataset's samples (batch 1) for the model's
 * primary input when neither --input-shape nor the model sizes it: data whose
 * samples fit the input fixes its dynamic dims (MACs in reports). Undefined
 * when nothing is missing or the samples do not fit the declared rank.
 */
export function shapesFromData(model: Model, data: Dataset, given: Record<string, number[]> | undefined): Record<string, number[]> | undefined {
  const input = model.graph.inputs.find((v) => v.name === primaryInput(model).name)!;
  if (!resolveInputShapes(model, given).unresolved.some((d) => d.name === input.name)) return given;
  const shape = [1, ...data.sampleShape];
  const declared = input.shape;
  if (!declared || declared.length !== shape.length || declared.some((d, i) => typeof d === 'number' && d >= 0 && d !== shape[i] && i > 0)) return given;
  return { ...given, [input.name]: shape };
}
