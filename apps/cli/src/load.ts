import { checkKnownOps, inferShapes, isShearsError, normalizeModel, ShearsError, type Logger, type Model } from '@shears/core';
import { readModel } from '@shears/onnx';

export interface LoadOptions {
  inputShapes?: Record<string, number[]>;
  /** Refuse ops and domains the IR does not know (default true). */
  checkOps?: boolean;
  /**
   * Run the normalize pass (Constant nodes and constant-only weight subgraphs
   * become initializers) before shape inference: the commands that prune do,
   * unless --no-normalize; convert and inspect never do (they stay lossless).
   */
  normalize?: boolean;
  /** Where normalize says what it changed (info level). */
  logger?: Logger;
}

/**
 * Read a model the way every command needs it: parsed, ops checked against
 * the op table, `--input-shape` applied and shapes inferred. Every error
 * names the file.
 */
export async function loadModel(file: string, opts: LoadOptions = {}): Promise<Model> {
  return withFile(file, async () => {
    const model = await readModel(file);
    if (opts.checkOps !== false) checkKnownOps(model);
    if (opts.normalize) logNormalize(normalizeModel(model), opts.logger);
    inferShapes(model, { inputShapes: bindInputShapes(model, opts.inputShapes) });
    return model;
  });
}

function logNormalize(r: ReturnType<typeof normalizeModel>, logger: Logger | undefined): void {
  if (!logger || r.constants + r.foldedNodes === 0) return;
  const eg = r.examples.subgraphs.length ? ` (e.g. ${r.examples.subgraphs.slice(0, 3).join(', ')})` : '';
  logger.info(`normalize: ${r.constants} Constant node(s) became initializers; ${r.subgraphs} weight subgraph(s) folded${eg}`);
}

/** `--no-normalize` for the commands that normalize after import. */
export const NO_NORMALIZE_HELP: [string, string] = ['--no-normalize', 'do not run the normalize pass after import (Constant nodes and constant-only weight subgraphs to initializers)'];

/** Prefix ShearsErrors that do not name a file with `file: `. */
export async function withFile<T>(file: string, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isShearsError(e) && !e.message.startsWith(file)) throw new ShearsError(e.code, `${file}: ${e.message}`, { ...e.context(), file, cause: e.cause });
    throw e;
  }
}

/** An unnamed `--input-shape 1x3x32x32` applies to the only runtime input. */
function bindInputShapes(model: Model, shapes: Record<string, number[]> | undefined): Record<string, number[]> | undefined {
  if (!shapes || !('' in shapes)) return shapes;
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  if (inputs.length !== 1)
    throw new ShearsError('E_OPTION', `the model has ${inputs.length} inputs; name one in --input-shape (${inputs.map((v) => v.name).join(', ')})`, { option: 'input-shape' });
  const { '': unnamed, ...rest } = shapes;
  return { ...rest, [inputs[0]!.name]: unnamed! };
}
