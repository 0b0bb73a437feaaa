// Running calibration data through a model and handing sampled rows to the
// strategy: only the requested activations are computed (the graph is cut
// down to what they need), one batch at a time.
import { chunkBatch, cloneModel, primaryInput, requireRuntime, ShearsError, type Dataset, type Model, type NamedTensor, type Node, type PluginContext, type Value } from '@shears/core';

/**
 * A copy of `model` (weights shared) computing only `names`, as its outputs.
 * Values named in `cut` that the computation needs become graph inputs (fed
 * by the caller) instead of being computed.
 */
export function captureModel(model: Model, names: readonly string[], cut: ReadonlySet<string> = new Set()): Model {
  const copy = cloneModel(model, { shareWeights: true });
  const byName = copy.graph.valuesByName();
  const outs = names.map((n) => {
    const v = byName.get(n);
    if (!v) throw new ShearsError('E_GRAPH', `cannot capture ${n}: the graph has no value of that name`, { node: n });
    if (!v.type) v.type = { kind: 'tensor', dtype: v.dtype ?? 'float32' };
    return v;
  });
  const need = new Set<Node>();
  const fed = new Set<Value>();
  const stack = outs.map((v) => v.producer).filter((n): n is Node => !!n);
  while (stack.length) {
    const n = stack.pop()!;
    if (need.has(n)) continue;
    need.add(n);
    for (const v of n.inputs) {
      if (v && cut.has(v.name)) fed.add(v);
      else if (v?.producer && !need.has(v.producer)) stack.push(v.producer);
    }
    // Subgraphs read outer values directly.
    for (const g of n.subgraphs()) for (const sn of g.nodes) for (const v of sn.inputs) if (v?.producer && v.producer.graph === copy.graph) stack.push(v.producer);
  }
  copy.graph.outputs.length = 0;
  copy.graph.outputs.push(...outs);
  copy.graph.removeNodes(copy.graph.nodes.filter((n) => !need.has(n)));
  for (const v of fed) {
    if (v.producer && need.has(v.producer)) continue; // computed anyway
    v.producer = null;
    if (!v.type) v.type = { kind: 'tensor', dtype: v.dtype ?? 'float32' };
    copy.graph.addInput(v);
  }
  for (const [name, v] of [...copy.graph.initializers]) {
    if (v.uses().length > 0 || copy.graph.outputs.includes(v)) continue;
    copy.graph.removeInitializer(name);
    // IR < 4 lists initializers as graph inputs too: an unused one must not be left to feed.
    const at = copy.graph.inputs.indexOf(v);
    if (at >= 0) copy.graph.inputs.splice(at, 1);
  }
  return copy;
}

export interface CutOptions {
  /** Activations fed instead of computed, per chunk (in chunk order, the same in every pass). */
  cut?: Map<string, NamedTensor[]>;
  /** Activations to return per chunk (copied) for a later pass. */
  keep?: readonly string[];
}

/**
 * Run up to `samples` calibration images through `model`, calling `fn` with
 * the named activations of each chunk, its real row count, and the index of
 * its first image in the calibration order (stable across passes).
 */
export async function forEachBatch(
  model: Model,
  names: readonly string[],
  data: Dataset,
  samples: number,
  batchSize: number,
  ctx: PluginContext,
  label: string,
  fn: (out: Record<string, NamedTensor>, rows: number, image0: number) => void | Promise<void>,
  opts: CutOptions = {},
): Promise<Map<string, NamedTensor[]>> {
  const { name: inputName, batch } = primaryInput(model);
  const cut = opts.cut ?? new Map<string, NamedTensor[]>();
  const keep = opts.keep ?? [];
  const outputs = [...new Set([...names, ...keep])].filter((n) => !cut.has(n));
  const capture = outputs.length ? captureModel(model, outputs, new Set(cut.keys())) : undefined;
  const fedNames = capture ? capture.graph.inputs.map((v) => v.name).filter((n) => cut.has(n)) : [];
  const session = capture ? await requireRuntime(ctx, 'channel').session(capture) : undefined;
  const task = ctx.progress.start(label, Math.min(samples, data.size));
  const kept = new Map<string, NamedTensor[]>(keep.map((n) => [n, []]));
  let image = 0;
  let chunk = 0;
  // Outputs of the previous chunk, reused (written in place) when the feeds have the same dims: saves allocating and
  // first touching hundreds of MB per batch on large models. Kept outputs are copied first.
  let last: { key: string; out: Record<string, NamedTensor> } | undefined;
  try {
    for await (const bt of data.batches(batchSize, { limit: samples })) {
      for (const { feeds, rows } of chunkBatch(bt, inputName, batch)) {
        if (ctx.signal.aborted) throw new ShearsError('E_ABORTED', `${label}: aborted`);
        for (const n of fedNames) feeds[n] = cut.get(n)![chunk]!;
        const key = JSON.stringify(Object.entries(feeds).map(([k, t]) => [k, t.dims]));
        const out: Record<string, NamedTensor> = session ? await session.run(feeds, outputs, last?.key === key ? { into: last.out } : {}) : {};
        if (session) last = { key, out: { ...out } };
        for (const n of names) if (cut.has(n)) out[n] = cut.get(n)![chunk]!;
        for (const n of keep) kept.get(n)!.push(cut.has(n) ? cut.get(n)![chunk]! : { dims: [...out[n]!.dims], data: out[n]!.data.slice() as NamedTensor['data'] });
        await fn(out, rows, image);
        image += rows;
        chunk++;
        task.tick(rows);
      }
    }
  } finally {
    task.done();
    await session?.release();
  }
  return kept;
}
