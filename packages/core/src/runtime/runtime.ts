import type { Batch } from '../data/dataset.js';
import { ShearsError } from '../errors.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import type { ModelRuntime, NamedTensor, PluginContext, RuntimeSession, RuntimeSessionOptions } from '../plugin/context.js';

/**
 * The run's runtime, or one line saying what to install. Data-aware steps
 * (activation criteria, Wanda, SparseGPT, channel reconstruction, the
 * sensitivity scan) call this; data-free pruning never does, so strategies
 * install and run without onnxruntime.
 */
export function requireRuntime(ctx: Pick<PluginContext, 'runtime'>, who: string): ModelRuntime {
  if (ctx.runtime) return ctx.runtime;
  throw new ShearsError(
    'E_NO_RUNTIME',
    `${who} runs the model on calibration data and needs a runtime: npm install @shears/runtime, then pass { runtime: createRuntime() } to pipeline().run()`,
    { plugin: who },
  );
}

/**
 * A copy of `model` (weights shared) whose graph outputs also expose the
 * named intermediate values, so a runtime returns them.
 */
export function withOutputs(model: Model, names: readonly string[]): Model {
  const copy = cloneModel(model, { shareWeights: true });
  const byName = copy.graph.valuesByName();
  for (const name of names) {
    const v = byName.get(name);
    if (!v) throw new ShearsError('E_GRAPH', `cannot capture ${name}: the graph has no value of that name`, { node: name });
    if (copy.graph.outputs.includes(v)) continue;
    // ONNX graph outputs need a type; an element type without a shape is enough.
    if (!v.type) v.type = { kind: 'tensor', dtype: v.dtype ?? 'float32' };
    copy.graph.outputs.push(v);
  }
  return copy;
}

/** A session that returns the named intermediate values of each run. */
export interface CaptureSession {
  readonly names: readonly string[];
  readonly threads: number;
  run(feeds: Record<string, NamedTensor>): Promise<Record<string, NamedTensor>>;
  release(): Promise<void>;
}

/** Load `model` on `runtime` so that each run returns the values `names` (for calibration). */
export async function captureSession(runtime: ModelRuntime, model: Model, names: readonly string[], opts?: RuntimeSessionOptions): Promise<CaptureSession> {
  const session: RuntimeSession = await runtime.session(withOutputs(model, names), opts);
  const fetch = [...names];
  return {
    names: fetch,
    threads: session.threads,
    run: (feeds) => session.run(feeds, fetch),
    release: () => session.release(),
  };
}

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
