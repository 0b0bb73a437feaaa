// Control flow: shapes pass through If/Loop bodies where inference can see them.
import type { Graph } from '../../ir/graph.js';
import type { Dim } from '../../ir/types.js';
import { joinShape } from '../../shape/dims.js';
import type { OpContext, OpSpec, SubgraphResult, TensorInfo } from '../types.js';
import { DEFAULT, scalarNum, t } from './common.js';

function branch(ctx: OpContext, name: string): Graph | undefined {
  const a = ctx.node.attr(name);
  return a?.type === 'graph' ? a.value : undefined;
}

function joinInfo(a: TensorInfo | undefined, b: TensorInfo | undefined): TensorInfo | undefined {
  if (!a || !b) return a ?? b;
  return { dtype: a.dtype, shape: joinShape(a.shape, b.shape) };
}

/** Branch results; with a known condition only the taken branch. */
function ifBranches(ctx: OpContext): { then?: SubgraphResult; else?: SubgraphResult; taken?: SubgraphResult } {
  const cond = scalarNum(ctx.known(0));
  const thenG = branch(ctx, 'then_branch');
  const elseG = branch(ctx, 'else_branch');
  if (cond !== undefined) {
    const g = cond ? thenG : elseG;
    return { taken: g && ctx.inferSubgraph(g, []) };
  }
  // biome-ignore lint/suspicious/noThenProperty: the If branch is called 'then' in ONNX
  return { then: thenG && ctx.inferSubgraph(thenG, []), else: elseG && ctx.inferSubgraph(elseG, []) };
}

function loopShape(ctx: OpContext): (TensorInfo | undefined)[] {
  const body = branch(ctx, 'body');
  const carried = Math.max(ctx.inputCount - 2, 0);
  const init: (TensorInfo | undefined)[] = [];
  for (let i = 0; i < carried; i++) init.push(ctx.type(i + 2));
  if (!body) return ctx.node.outputs.map((_, i) => init[i]);
  const res = ctx.inferSubgraph(body, [t('int64', []), t('bool', []), ...init]);
  // Body outputs: cond, carried..., scan outputs...
  const trips = ctx.has(1) || !ctx.has(0) ? null : (scalarNum(ctx.known(0)) ?? null);
  return ctx.node.outputs.map((_, i) => {
    if (i < carried) return joinInfo(init[i], res.outputs[i + 1]);
    const s = res.outputs[i + 1];
    return s && { dtype: s.dtype, shape: s.shape && ([trips, ...s.shape] as Dim[]) };
  });
}

export const CONTROL_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'If',
    channel: 'opaque',
    infer: (ctx) => {
      const r = ifBranches(ctx);
      if (r.taken) return r.taken.outputs;
      return ctx.node.outputs.map((_, i) => joinInfo(r.then?.outputs[i], r.else?.outputs[i]));
    },
    // Only a known condition folds; the taken branch is small, so re-inferring it is cheap.
    fold: (ctx) => (scalarNum(ctx.known(0)) === undefined ? undefined : ifBranches(ctx).taken?.known),
  },
  { ...DEFAULT, opType: 'Loop', channel: 'opaque', infer: loopShape },
];
