import { definePlugin, definePluginFactory, parseOptions, stateKey, type PassPlugin } from '@shears/core';
import type { Dataset } from '@shears/data';
import { z } from 'zod';
import { scanSensitivity, type SensitivityResult } from './scan.js';

const NAME = 'sensitivity';

/** Where the `sensitivity` pass leaves its result in the run state (for reports and the CLI). */
export const SENSITIVITY = stateKey<SensitivityResult>('sensitivity');

const amount = z.number().min(0, 'must be in [0, 1)').lt(1, 'must be in [0, 1)');

const schema = z
  .object({
    /** A labelled dataset, or a spec for openDataset. */
    data: z.union([z.string().min(1), z.custom<Dataset>((v) => typeof v === 'object' && v !== null && typeof (v as Dataset).batches === 'function', 'must be a dataset or a spec')]),
    strategy: z.enum(['filter', 'unstructured']).default('filter'),
    amounts: z.array(amount).min(1).default([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
    tolerance: z.number().min(0).max(1).default(0.01),
    layers: z
      .string()
      .refine((s) => {
        try {
          new RegExp(s);
          return true;
        } catch {
          return false;
        }
      }, 'must be a regular expression')
      .optional(),
    workers: z.number().int().min(0).optional(),
    limit: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(1).optional(),
    inputShapes: z.record(z.string(), z.array(z.number().int().positive())).optional(),
    strategyOptions: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type SensitivityOptions = z.input<typeof schema>;

/**
 * A pass that measures, for every prunable layer, the accuracy with that
 * layer alone pruned at each amount, and stores the result under
 * `SENSITIVITY` in the run state. The model passes through unchanged.
 */
export const sensitivity = definePluginFactory(
  { name: NAME, kind: 'pass', description: 'sensitivity scan: accuracy with each layer pruned alone at each amount, and a proposed amount table' },
  (options?: SensitivityOptions): PassPlugin => {
    const opts = parseOptions(NAME, schema, options);
    return definePlugin({
      name: NAME,
      kind: 'pass',
      version: '0.1.0',
      options: { ...opts, data: typeof opts.data === 'string' ? opts.data : opts.data.name },
      mutates: false,
      async run(model, ctx) {
        let task: ReturnType<typeof ctx.progress.start> | undefined;
        const result = await scanSensitivity({
          ...opts,
          model,
          registry: ctx.ops,
          signal: ctx.signal,
          onProgress: (done, total) => {
            task ??= ctx.progress.start(`${NAME}: ${opts.strategy}`, total);
            task.tick();
            if (done === total) task.done();
          },
        });
        ctx.state.set(SENSITIVITY, result);
        ctx.logger.info(`${NAME}: baseline ${(100 * result.baseline).toFixed(2)}%, ${result.curves.length} layers × ${result.amounts.length} amounts in ${result.seconds.toFixed(1)}s`);
        return { model, modified: false, details: { baseline: result.baseline, layers: result.curves.length, evaluations: result.evaluations, proposal: result.proposal } };
      },
    });
  },
);
