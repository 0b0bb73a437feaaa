// Per-node equivalence of a structured result with its masked twin, in
// float32, without the error growth of an end-to-end run. Every float
// activation the pruned model shares with the twin is fed from the twin
// (its kept channels gathered), so each node of the pruned model computes
// from exactly the inputs its twin node saw. End to end, float32 rounding
// (~1e-7) is amplified by ill-conditioned layers (least-squares refits whose
// weights grow 4–10× per layer), and a comparison op (M-LSD's local-maximum
// mask `x == MaxPool(x)`) turns it into whole flipped scores; per node, both
// stay at rounding level. A wrong applier shows here as a large error at the
// first node it touches.
/**
 * @param core   the @shears/core module
 * @param Session the @shears/runtime Session class
 * @returns {{ rel: number, value: string, values: number }} the worst per-value
 *   max|twin − pruned| / max|twin| over the pruned model's float activations.
 */
export async function forcedEquivalence(core, Session, twin, pruned, feeds, plan) {
  const removals = plan.actions.filter((a) => a.type === 'remove-channels');
  const sel = new Map();
  for (const a of removals) sel.set(a.group, [...(sel.get(a.group) ?? []), ...a.channels]);
  const graph = core.buildDependencyGraph(twin, removals[0]?.structure ?? {});
  const removed = graph.removedRoots(sel);
  const tv = twin.graph.valuesByName();
  const names = [];
  for (const n of pruned.graph.nodes) for (const o of n.outputs) if (o.name && tv.get(o.name)?.producer) names.push(o.name);
  const [want, got] = [await capture(core, Session, twin, feeds, names), await capture(core, Session, pruned, feeds, names)];
  // The twin's value on the pruned model's kept channels.
  const expected = new Map();
  for (const name of names) {
    const t = want[name];
    const p = got[name];
    if (!t || !p || !(t.data instanceof Float32Array) || !(p.data instanceof Float32Array)) continue;
    const s = graph.build.spaceOf.get(tv.get(name));
    const data = s ? keptOf(t, s, graph.root, removed) : t.data;
    if (data.length === p.data.length) expected.set(name, { dims: p.dims, data });
  }
  const forced = core.cloneModel(pruned);
  const inputs = new Map();
  for (const node of forced.graph.nodes) {
    node.inputs.forEach((v, i) => {
      if (!v?.producer || !expected.has(v.name)) return;
      let x = inputs.get(v.name);
      if (!x) {
        x = forced.graph.addInput(new core.Value(`${v.name}::forced`, core.tensorType('float32', expected.get(v.name).dims)));
        inputs.set(v.name, x);
      }
      node.setInput(i, x);
    });
  }
  const forcedFeeds = { ...feeds };
  for (const [name, x] of inputs) forcedFeeds[x.name] = expected.get(name);
  const out = await capture(core, Session, forced, forcedFeeds, [...expected.keys()]);
  let worst = { rel: 0, value: '', values: expected.size };
  for (const [name, e] of expected) {
    const y = out[name].data;
    let d = 0;
    let m = 0;
    for (let i = 0; i < y.length; i++) {
      const diff = Math.abs(e.data[i] - y[i]);
      d = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(d, diff);
      m = Math.max(m, Math.abs(e.data[i]));
    }
    const rel = m > 0 ? d / m : d;
    if (rel > worst.rel) worst = { ...worst, rel, value: name };
  }
  return worst;
}

async function capture(core, Session, model, feeds, names) {
  const s = await Session.create(core.withOutputs(model, names), { threads: 2 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

/** The elements of `t` whose channel (position on the space's axes) is kept, in order. */
function keptOf(t, s, root, removed) {
  const dims = t.dims;
  const keep = new Uint8Array(s.size);
  let n = 0;
  for (let i = 0; i < s.size; i++) if (!removed[root[s.elem[i]]]) (keep[i] = 1), n++;
  if (n === s.size) return t.data;
  const strides = dims.map((_, a) => dims.slice(a + 1).reduce((p, q) => p * q, 1));
  const sStrides = s.dims.map((_, k) => s.dims.slice(k + 1).reduce((p, q) => p * q, 1));
  const out = new Float32Array((t.data.length / s.size) * n);
  let k = 0;
  for (let p = 0; p < t.data.length; p++) {
    let si = 0;
    for (let j = 0; j < s.axes.length; j++) si += (Math.floor(p / strides[s.axes[j]]) % dims[s.axes[j]]) * sStrides[j];
    if (keep[si]) out[k++] = t.data[p];
  }
  return out;
}
