import { ShearsError, type Model, type NamedTensor } from '@shears/core';
import type { BackendInfo, Tensor } from './backend.js';
import { TfGraph } from './graph/graph.js';
import { findSoftmaxEnd, overClasses, type LogitsFrom, type LogitsMode } from './logits.js';

/** Teacher outputs for one batch: logits (and named features, and the graph outputs when matching outputs), as float arrays. */
export interface TeacherOutputs {
  logits: { dims: number[]; data: Float32Array };
  features: Record<string, { dims: number[]; data: Float32Array }>;
  /** The graph outputs by name (output matching, kd 'outputs'). */
  outputs?: Record<string, { dims: number[]; data: Float32Array }>;
}

export interface Teacher {
  readonly kind: 'ort' | 'tfjs';
  /** Set once a batch has run when the logits are the input of the teacher's final Softmax. */
  readonly logitsFrom?: LogitsFrom;
  run(x: Float32Array, dims: number[]): Promise<TeacherOutputs>;
  dispose(): Promise<void>;
}

/**
 * The dense model in onnxruntime-node (through @shears/runtime). It runs on
 * onnxruntime's own threads, so the trainer starts it for the next batch
 * while tfjs trains on this one. A teacher with a fixed batch size runs in chunks.
 */
export async function ortTeacher(model: Model, features: readonly string[], threads?: number, logits: LogitsMode = 'auto', outputs: readonly string[] = []): Promise<Teacher> {
  // onnxruntime loads only when a teacher runs (importing this package stays light).
  const { Session, withOutputs } = await import('@shears/runtime');
  const picker = logitsPicker(model, logits);
  const names = [...new Set([...picker.names, ...features, ...outputs])];
  const extra = names.slice(1);
  const m = extra.length ? withOutputs(model, extra) : model;
  const session = await Session.create(m, threads ? { threads } : {});
  const input = session.inputNames[0]!;
  const inValue = model.graph.inputs.find((v) => v.name === input);
  const b0 = inValue?.shape?.[0];
  const fixed = typeof b0 === 'number' ? b0 : null;
  return {
    kind: 'ort',
    get logitsFrom() {
      return picker.from();
    },
    async run(x, dims) {
      const n = dims[0]!;
      const per = x.length / n;
      const step = fixed ?? n;
      const parts: Record<string, NamedTensor>[] = [];
      const rows: number[] = [];
      for (let off = 0; off < n; off += step) {
        const r = Math.min(step, n - off);
        let data = x.subarray(off * per, (off + r) * per);
        if (r < step) {
          const p = new Float32Array(step * per);
          p.set(data);
          data = p;
        }
        parts.push(await session.run({ [input]: { dims: [step, ...dims.slice(1)], data } }, names));
        rows.push(r);
      }
      const join = (name: string) => {
        const first = parts[0]![name]!;
        const perRow = first.data.length / first.dims[0]!;
        const out = new Float32Array(n * perRow);
        let o = 0;
        parts.forEach((p, k) => {
          const d = p[name]!.data as Float32Array;
          out.set(d.subarray(0, rows[k]! * perRow), o);
          o += rows[k]! * perRow;
        });
        return { dims: [n, ...first.dims.slice(1)], data: out };
      };
      const joined: TeacherOutputs['features'] = {};
      for (const f of names) joined[f] = join(f);
      const out: TeacherOutputs = { logits: picker.pick(joined), features: {} };
      for (const f of features) out.features[f] = joined[f]!;
      if (outputs.length) out.outputs = Object.fromEntries(outputs.map((o) => [o, joined[o]!]));
      return out;
    },
    dispose: () => session.release(),
  };
}

/** The teacher translated to tfjs too (frozen weights, inference mode). */
export function tfjsTeacher(model: Model, backend: BackendInfo, features: readonly string[], logits: LogitsMode = 'auto', outputs: readonly string[] = []): Teacher {
  const graph = TfGraph.build(model, { backend, masks: 'none', freeze: () => true });
  const tf = backend.tf;
  const picker = logitsPicker(model, logits);
  const names = [...new Set([...picker.names, ...features, ...outputs])];
  return {
    kind: 'tfjs',
    get logitsFrom() {
      return picker.from();
    },
    async run(x, dims) {
      const outs = tf.tidy(() => {
        const r = graph.forward(tf.tensor(x, dims, 'float32'), { training: false, outputs: names });
        return Object.fromEntries(Object.entries(r.outputs).map(([k, t]) => [k, tf.keep(t.clone())])) as Record<string, Tensor>;
      });
      const read = async (t: Tensor) => ({ dims: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) });
      const heads: TeacherOutputs['features'] = {};
      for (const n of picker.names) heads[n] = await read(outs[n]!);
      const res: TeacherOutputs = { logits: picker.pick(heads), features: {} };
      for (const f of features) res.features[f] = await read(outs[f]!);
      if (outputs.length) res.outputs = Object.fromEntries(await Promise.all(outputs.map(async (o) => [o, await read(outs[o]!)] as const)));
      for (const t of Object.values(outs)) t.dispose();
      return res;
    },
    async dispose() {
      graph.dispose();
    },
  };
}

type Head = TeacherOutputs['logits'];

/**
 * The teacher's logits: the input of its final Softmax/LogSoftmax when that
 * normalizes over the classes (decided on the first batch, from the shapes),
 * else its first output. `names` are the values to fetch (the output first).
 */
function logitsPicker(model: Model, mode: LogitsMode): { names: string[]; pick(outs: Record<string, Head>): Head; from(): LogitsFrom | undefined } {
  const output = model.graph.outputs[0]!.name;
  const end = mode === 'auto' ? findSoftmaxEnd(model) : undefined;
  let use: boolean | undefined;
  return {
    names: end ? [output, end.value] : [output],
    pick(outs) {
      const out = outs[output]!;
      if (!end) return out;
      const pre = outs[end.value]!;
      use ??= overClasses(end, pre.dims, out.dims);
      return use ? { dims: [...out.dims], data: pre.data } : out;
    },
    from: () => (use && end ? { output, node: end.node, op: end.op, value: end.value } : undefined),
  };
}

export function checkTeacher(student: Model, teacher: Model, outputs = false): void {
  if (outputs) {
    const names = new Set(teacher.graph.outputs.map((v) => v.name));
    const missing = student.graph.outputs.find((v) => !names.has(v.name));
    if (missing)
      throw new ShearsError('E_DATA', `finetune: the teacher has no output '${missing.name}' (its outputs: ${[...names].join(', ')}); output matching pairs outputs by name`, { option: 'teacher' });
    return;
  }
  const s = student.graph.outputs[0]?.shape;
  const t = teacher.graph.outputs[0]?.shape;
  const ks = s?.at(-1);
  const kt = t?.at(-1);
  if (typeof ks === 'number' && typeof kt === 'number' && ks !== kt)
    throw new ShearsError('E_DATA', `finetune: the teacher has ${kt} outputs per sample but the student has ${ks}`, { option: 'teacher' });
}
