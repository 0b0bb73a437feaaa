import {
  CURRENT_CRITERION,
  definePlugin,
  definePluginFactory,
  findPruneTargets,
  parseOptions,
  type PlanAction,
  type PruningPlan,
  type StrategyPlugin,
} from '@shears/core';
import { z } from 'zod';

const NAME = 'threshold';

const optionsSchema = z
  .object({
    /** Weights scoring below this are pruned. */
    threshold: z.number().nonnegative(),
    /** Layers (node names) matching this regex stay dense. */
    exclude: z.string().optional(),
  })
  .strict();

export type ThresholdOptions = z.input<typeof optionsSchema>;

/**
 * A strategy plugin: prune every weight whose importance is below a fixed
 * threshold. Importance comes from the criterion used before it in the
 * pipeline, or |w| when there is none. It only plans; Shears applies.
 */
export const thresholdPruning = definePluginFactory({ name: NAME, kind: 'strategy', description: 'zero every weight whose score is below a threshold' }, (options?: ThresholdOptions): StrategyPlugin => {
  const opts = parseOptions(NAME, optionsSchema, options);
  const exclude = opts.exclude ? new RegExp(opts.exclude) : undefined;
  return definePlugin({
    name: NAME,
    kind: 'strategy',
    version: '0.1.0',
    options: { ...opts },
    async plan(model, ctx): Promise<PruningPlan> {
      const criterion = ctx.state.get(CURRENT_CRITERION);
      const { targets, skipped } = findPruneTargets(model, ctx.ops);
      const actions: PlanAction[] = [];
      for (const t of targets) {
        if (exclude?.test(t.node.name)) {
          skipped.push({ target: t.node.label, reason: `excluded by ${opts.exclude}` });
          continue;
        }
        const w = t.tensor.floats();
        const scores = criterion ? await criterion.score({ model, node: t.node, input: t.input, weight: t.tensor, granularity: { kind: 'element' } }, ctx) : undefined;
        // Two passes over typed arrays: count, then fill. No per-weight objects.
        let n = 0;
        for (let i = 0; i < w.length; i++) if ((scores ? scores[i]! : Math.abs(w[i]!)) < opts.threshold) n++;
        const prune = new Uint32Array(n);
        for (let i = 0, k = 0; i < w.length; i++) if ((scores ? scores[i]! : Math.abs(w[i]!)) < opts.threshold) prune[k++] = i;
        actions.push({ type: 'mask', tensor: t.value.name, prune, layer: t.node.label });
      }
      return { version: 1, strategy: NAME, criterion: criterion?.name, options: { ...opts }, actions, skipped };
    },
  });
});

export default thresholdPruning;
