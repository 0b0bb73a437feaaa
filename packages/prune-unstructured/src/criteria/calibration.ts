// Calibration for data-aware criteria: the dataset (from ctx.state CALIBRATION,
// else random:32 with a warning), and one runtime pass that captures every
// layer input the criterion needs, batch by batch.

import { CALIBRATION, captureSession, chunkBatch, primaryInput, requireRuntime, ShearsError, type Dataset, type Model, type NamedTensor, type PluginContext } from '@shears/core';
import { checkFits, openDataset } from '@shears/data';

export const DEFAULT_CALIBRATION = 'random:32';

/** The calibration set, checked against the model input. */
export async function calibrationSet(model: Model, ctx: PluginContext, plugin: string): Promise<Dataset> {
  const { name } = primaryInput(model);
  const input = model.graph.inputs.find((v) => v.name === name)!;
  let data = ctx.state.get(CALIBRATION);
  if (!data) {
    ctx.logger.warn(
      `${plugin}: no calibration data given (--calib, or calibration: in a recipe); using ${DEFAULT_CALIBRATION}. Random data is a poor calibration set: its activations are not those of real inputs, so expect worse results than with real samples`,
    );
    data = await openDataset(DEFAULT_CALIBRATION, { inputShape: input.shape });
  }
  try {
    checkFits(data, input.shape ?? [], { inputName: input.name });
  } catch (e) {
    throw new ShearsError('E_DATA', `${plugin}: calibration data does not fit the model: ${(e as Error).message}`, { plugin, cause: e });
  }
  return data;
}

export interface CaptureOptions {
  plugin: string;
  /** Use at most this many samples. */
  samples?: number;
  /** Samples per runtime call (models with a fixed batch use theirs). */
  batchSize?: number;
  /** Rough budget for the captured activations of one batch, in floats. */
  budgetFloats?: number;
}

/** One batch of captured layer inputs; only the first `rows` samples are real (the rest is padding). */
export interface ActivationBatch {
  get(name: string): NamedTensor;
  rows: number;
  /** Index of the batch's first sample in the calibration set. */
  offset: number;
}

function perSample(model: Model, names: readonly string[]): number {
  const byName = model.graph.valuesByName();
  let total = 0;
  for (const n of names) {
    const dims = byName.get(n)?.shape?.slice(1) ?? [];
    total += dims.reduce<number>((a, d) => a * (typeof d === 'number' && d > 0 ? d : 64), 1);
  }
  return total;
}

/**
 * Run the calibration set through the model once, capturing the named values
 * (graph inputs come straight from the feeds), and hand each batch to `fn`.
 */
export async function forEachActivationBatch(
  model: Model,
  names: readonly string[],
  data: Dataset,
  ctx: PluginContext,
  opts: CaptureOptions,
  fn: (batch: ActivationBatch) => void | Promise<void>,
): Promise<{ samples: number }> {
  const runtime = requireRuntime(ctx, opts.plugin);
  const { name: inputName, batch: fixed } = primaryInput(model);
  const unique = [...new Set(names)];
  const captured = unique.filter((n) => n !== inputName);
  const total = Math.min(data.size, opts.samples ?? Infinity);
  if (total === 0) throw new ShearsError('E_DATA', `${opts.plugin}: the calibration set ${data.name} is empty`, { plugin: opts.plugin });
  const budget = opts.budgetFloats ?? 48 * 1024 * 1024;
  const bs = fixed ?? opts.batchSize ?? Math.max(1, Math.min(64, Math.floor(budget / Math.max(1, perSample(model, unique)))));
  const capture = captured.length ? await captureSession(runtime, model, captured) : undefined;
  const task = ctx.progress.start(`${opts.plugin}: calibration`, total);
  let seen = 0;
  try {
    for await (const b of data.batches(bs, { limit: total })) {
      for (const { feeds, rows, offset } of chunkBatch(b, inputName, fixed)) {
        if (ctx.signal.aborted) throw new ShearsError('E_ABORTED', `${opts.plugin}: aborted during calibration`, { plugin: opts.plugin });
        const out = capture ? await capture.run(feeds) : {};
        const get = (n: string): NamedTensor => {
          const t = n === inputName ? feeds[inputName] : out[n];
          if (!t) throw new ShearsError('E_RUNTIME', `${opts.plugin}: the runtime did not return ${n}`, { plugin: opts.plugin });
          if (!(t.data instanceof Float32Array)) throw new ShearsError('E_DTYPE', `${opts.plugin}: activation ${n} is not float32`, { plugin: opts.plugin });
          return t;
        };
        await fn({ get, rows, offset: seen + offset });
      }
      seen += b.dims[0]!;
      task.tick(b.dims[0]!);
    }
  } finally {
    task.done();
    await capture?.release();
  }
  return { samples: seen };
}
