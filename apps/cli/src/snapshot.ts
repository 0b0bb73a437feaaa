// `use: snapshot` in a recipe: keep a copy of the model as it is at that
// step, to be measured with the input and the outputs (a recipe's
// `evaluate:`) and shown as its own row in the report, e.g. right after
// pruning and before fine-tuning.
import { cloneModel, definePlugin, definePluginFactory, parseOptions, stateKey, type Model, type PassPlugin } from '@shears/core';
import { z } from 'zod';

/** The models `snapshot` steps kept, in step order. */
export const SNAPSHOTS = stateKey<{ name: string; model: Model }[]>('shears.run.snapshots');

const optionsSchema = z.object({ name: z.string().min(1).optional() }).strict();

export const snapshot = definePluginFactory(
  { name: 'snapshot', kind: 'pass', description: "keep a copy of the current model, measured with the run's evaluate: and shown as a row of the report (e.g. pruned, before fine-tuning)" },
  (options?: { name?: string }): PassPlugin => {
    const opts = parseOptions('snapshot', optionsSchema, options);
    return definePlugin({
      name: 'snapshot',
      kind: 'pass',
      version: '0.1.0',
      mutates: false,
      options: { ...opts },
      async run(model, ctx) {
        const list = ctx.state.get(SNAPSHOTS) ?? [];
        const name = opts.name ?? `snapshot ${list.length + 1}`;
        list.push({ name, model: cloneModel(model) });
        ctx.state.set(SNAPSHOTS, list);
        return { model, modified: false, details: { name } };
      },
    });
  },
);
