import { isShearsError, ShearsError, type Model } from '@shears/core';
import { Chunks, joinParts, type Part } from './chunks.js';
import { GraphEncoder, opsetParts } from './encode-graph.js';
import { metadataParts, unknownParts, type ExternalTarget } from './encode-tensor.js';
import { int64Halves } from './int64.js';
import { isPresent, PRESENT, sourcePaths } from './side-tables.js';

/** protobuf cannot parse messages of 2 GiB or more. */
export const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Encodes a model as parts (see Chunks): nothing big is copied or loaded yet. */
export function encodeModelParts(model: Model, external?: ExternalTarget): { parts: Part[]; size: number } {
  const enc = new GraphEncoder({ file: sourcePaths.get(model) ?? '<memory>', external, initializersAsInputs: model.irVersion >= 1 && model.irVersion < 4 });
  const c = new Chunks();
  if (model.irVersion !== 0 || isPresent(model, PRESENT.irVersion)) c.int64(1, ...int64Halves(model.irVersion));
  if (model.producerName !== undefined) c.string(2, model.producerName);
  if (model.producerVersion !== undefined) c.string(3, model.producerVersion);
  if (model.domain !== undefined) c.string(4, model.domain);
  if (model.modelVersion !== undefined) c.int64(5, ...int64Halves(model.modelVersion));
  if (model.docString !== undefined) c.string(6, model.docString);
  c.message(7, enc.graph(model.graph, true));
  opsetParts(c, 8, model.opsetImports, isPresent(model, PRESENT.defaultOpsetDomain));
  metadataParts(c, 14, model.metadataProps);
  for (const t of model.trainingInfo) c.bytes(20, t);
  for (const f of model.functions) c.message(25, enc.function(f));
  unknownParts(c, model);
  const size = c.size;
  return { parts: c.finish(), size };
}

export function tooLarge(file: string, size: number): ShearsError {
  const gb = (size / 2 ** 30).toFixed(2);
  return new ShearsError(
    'E_IO',
    `${file}: model is ${gb} GiB, over protobuf's 2 GiB limit; write its weights to an external data file, e.g. writeModel(model, path, { externalData: { location: 'model.onnx.data' } })`,
    { file },
  );
}

/** The whole model as ONNX protobuf bytes (one buffer; use writeModel to stream big models to disk). */
export function encodeModel(model: Model): Uint8Array {
  try {
    const { parts, size } = encodeModelParts(model);
    if (size > PROTOBUF_LIMIT) throw tooLarge('<memory>', size);
    return joinParts(parts, size);
  } catch (e) {
    if (isShearsError(e)) throw e;
    throw new ShearsError('E_INTERNAL', `encoding the model failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
