import {
  cloneModel,
  definePlugin,
  definePluginFactory,
  parseOptions,
  ShearsError,
  stateKey,
  type Dataset,
  type FinetunerPlugin,
  type Model,
  type PassPlugin,
  type PluginContext,
} from '@shears/core';
import { openDataset } from '@shears/data';
import { readModel } from '@shears/onnx';
import { z } from 'zod';
import { parseKdSlice } from './outputs.js';
import { iterativeFinetune, parseIterativeSchedule, type IterativeResult } from './iterative.js';
import { finetune, type FinetuneOptions, type FinetuneResult } from './train.js';

/** Training data for a `finetune` step when its options name none (the CLI sets it from --data). */
export const FINETUNE_DATA = stateKey<Dataset>('shears.finetune.data');
/** Validation data for a `finetune` step (the CLI sets it from --val). */
export const FINETUNE_VAL = stateKey<Dataset>('shears.finetune.val');
/** The dense teacher: set by `teacher-snapshot` earlier in the pipeline, or by the CLI from --teacher. */
export const TEACHER = stateKey<Model>('shears.finetune.teacher');

const NAME = 'finetune';

const optionsSchema = z
  .object({
    /** Training data spec (npz, IDX, image folder); default: the pipeline's FINETUNE_DATA. */
    data: z.string().min(1).optional(),
    val: z.string().min(1).optional(),
    /** Image folders given as data/val: 'stretch', 'crop' or 'letterbox' (default: letterbox for flat folders, stretch for class folders). */
    resize: z.enum(['stretch', 'crop', 'letterbox']).optional(),
    /** Path of the dense teacher ONNX; default: the model `teacher-snapshot` kept, if any. */
    teacher: z.string().min(1).optional(),
    /** Distill from the snapshot/--teacher when there is one (default true). */
    distill: z.boolean().optional(),
    teacherBackend: z.enum(['ort', 'tfjs']).optional(),
    /** 'auto' (default): train on the input of a final Softmax/LogSoftmax over the classes; 'output': on the output as it is. */
    logits: z.enum(['auto', 'output']).optional(),
    /** 'outputs': match every raw output (detectors, segmenters, OCR); 'logits': KL on a classifier's logits; 'auto' (default): outputs when the data has no labels and the model is not a classifier, or kdSlices are given. */
    kd: z.enum(['auto', 'logits', 'outputs']).optional(),
    kdLoss: z.enum(['mse', 'smooth-l1']).optional(),
    kdNormalize: z.enum(['channel', 'output', 'none']).optional(),
    /** Class-score slices matched with KL: { output, axis (default 1), start, end, mode ('sigmoid' | 'softmax', default by the teacher's values) }, or the CLI form 'output0:4:84'. */
    kdSlices: z
      .array(
        z.union([
          z.string().min(1),
          z.object({ output: z.string().min(1), axis: z.number().int().optional(), start: z.number().int().nonnegative(), end: z.number().int().positive(), mode: z.enum(['sigmoid', 'softmax']).optional() }).strict(),
        ]),
      )
      .optional(),
    alpha: z.number().min(0).max(1).optional(),
    temperature: z.number().positive().optional(),
    features: z.array(z.string().min(1)).optional(),
    featureWeight: z.number().nonnegative().optional(),
    epochs: z.number().int().nonnegative().optional(),
    batchSize: z.number().int().positive().optional(),
    limit: z.number().int().positive().optional(),
    valLimit: z.number().int().positive().optional(),
    lr: z.number().positive().optional(),
    optimizer: z.enum(['sgd', 'adam', 'adamw']).optional(),
    momentum: z.number().min(0).max(1).optional(),
    nesterov: z.boolean().optional(),
    weightDecay: z.number().nonnegative().optional(),
    lrSchedule: z.enum(['constant', 'cosine', 'step']).optional(),
    warmupSteps: z.number().int().nonnegative().optional(),
    stepEpochs: z.number().int().positive().optional(),
    gamma: z.number().positive().optional(),
    minLr: z.number().nonnegative().optional(),
    labelSmoothing: z.number().min(0).max(1).optional(),
    augment: z.object({ flip: z.boolean().optional(), crop: z.number().int().nonnegative().optional() }).strict().optional(),
    bn: z.enum(['train', 'freeze']).optional(),
    masks: z.enum(['auto', 'mask', 'zeros', 'none']).optional(),
    freeze: z.string().optional(),
    earlyStopping: z.object({ patience: z.number().int().positive(), minDelta: z.number().nonnegative().optional() }).strict().optional(),
    restoreBest: z.boolean().optional(),
    checkpointDir: z.string().min(1).optional(),
    resume: z.boolean().optional(),
    log: z.string().min(1).optional(),
    backend: z.enum(['auto', 'node', 'tensorflow', 'wasm', 'cpu']).optional(),
    /** 2: a worker thread takes half of every batch on the pure-JS backends (tfjs-node ignores it); 'auto' (default): 2 when a step is big enough. */
    workers: z.union([z.literal('auto'), z.number().int().min(1).max(2)]).optional(),
    seed: z.number().int().optional(),
    teacherThreads: z.number().int().positive().optional(),
    /** Iterative magnitude pruning with rewinding: 'iterative:<rounds>' (README, "Lottery-ticket rewinding"); epochs are per round. */
    schedule: z.string().regex(/^iterative:\d+$/, "expected 'iterative:<rounds>'").optional(),
    /** The iterative schedule's final sparsity (fraction of prunable weights at zero). */
    sparsity: z.number().min(0).lt(1).optional(),
    /** Between rounds: 'lr' (default: keep the weights, replay the LR schedule) or 'weights:<step>' (rewind the survivors to step <step> of round 1). */
    rewind: z.string().regex(/^(lr|weights:-?\d+)$/, "expected 'lr' or 'weights:<step>'").optional(),
    /** Gradual re-pruning (API only: any object with sparsityAt(step)). */
    prune: z
      .object({
        schedule: z.custom<{ sparsityAt(step: number): number }>((s) => !!s && typeof (s as { sparsityAt?: unknown }).sparsityAt === 'function', 'needs sparsityAt(step)'),
        every: z.number().int().positive().optional(),
        reprune: z.custom<NonNullable<FinetuneOptions['prune']>['reprune']>((f) => f === undefined || typeof f === 'function').optional(),
        scope: z.enum(['layer', 'global']).optional(),
      })
      .optional(),
  })
  .strict();

export type FinetunePluginOptions = z.input<typeof optionsSchema>;

function requireSparsity(sparsity: number | undefined): number {
  if (sparsity === undefined) throw new ShearsError('E_OPTION', `${NAME}: option schedule 'iterative:k' needs sparsity (the final fraction of prunable weights at zero, e.g. 0.9)`, { option: 'sparsity', plugin: NAME });
  return sparsity;
}

/** sparsity and rewind only go with the iterative schedule. */
function noIterative<T>(opts: T, sparsity: number | undefined, rewind: string | undefined): T {
  const extra = rewind !== undefined ? 'rewind' : sparsity !== undefined ? 'sparsity' : undefined;
  if (extra) throw new ShearsError('E_OPTION', `${NAME}: option ${extra} belongs to the iterative schedule; add schedule: 'iterative:<rounds>'`, { option: extra, plugin: NAME });
  return opts;
}

function inputShapeOf(model: Model) {
  const g = model.graph;
  return g.inputs.find((v) => !g.initializers.has(v.name))?.shape;
}

/**
 * The `finetune` plugin (kind 'finetuner'): fine-tune the pruned model in
 * tfjs, masks held at zero, optionally distilling from the dense model, and
 * write the weights back (in place). Recipes chain it after a strategy:
 * `teacher-snapshot → filter → finetune → onnx-write`.
 */
export const finetunePlugin = definePluginFactory(
  { name: NAME, kind: 'finetuner', description: 'fine-tune in tfjs (masks kept at zero, optional distillation from the dense model)' },
  (options?: FinetunePluginOptions): FinetunerPlugin => {
    const opts = parseOptions(NAME, optionsSchema, options);
    return definePlugin({
      name: NAME,
      kind: 'finetuner',
      version: '0.1.0',
      mutates: true,
      options: { ...opts },
      async finetune(model: Model, ctx: PluginContext) {
        if (opts.epochs === 0) return { model, modified: false, details: { epochs: 0 } };
        const shape = inputShapeOf(model);
        const data = opts.data ? await openDataset(opts.data, { inputShape: shape, resize: opts.resize }) : ctx.state.get(FINETUNE_DATA);
        if (!data) throw new ShearsError('E_OPTION', `${NAME}: option data: no training data (give data, or --data on the command line)`, { option: 'data', plugin: NAME });
        const val = opts.val ? await openDataset(opts.val, { inputShape: shape, resize: opts.resize }) : ctx.state.get(FINETUNE_VAL);
        let teacher: Model | undefined;
        if (opts.distill !== false) teacher = opts.teacher ? await readModel(opts.teacher) : ctx.state.get(TEACHER);
        const { data: _d, val: _v, teacher: _t, distill: _x, resize: _r, kdSlices, schedule, sparsity, rewind, ...rest } = opts;
        const slices = kdSlices?.map((k) => (typeof k === 'string' ? parseKdSlice(k) : k));
        const base = { ...rest, kdSlices: slices, data, val, teacher, logger: ctx.logger, progress: ctx.progress, signal: ctx.signal };
        const r: FinetuneResult & Partial<Pick<IterativeResult, 'rounds' | 'rewind'>> = schedule ? await iterativeFinetune(model, { ...base, rounds: parseIterativeSchedule(schedule), sparsity: requireSparsity(sparsity), rewind }) : await finetune(model, noIterative(base, sparsity, rewind));
        return {
          model: r.model,
          modified: r.steps > 0,
          details: {
            backend: r.backend,
            backendNotes: r.backendNotes,
            teacher: r.teacher ?? null,
            logitsFrom: r.logitsFrom ?? null,
            teacherLogitsFrom: r.teacherLogitsFrom ?? null,
            kd: r.kd,
            kdOutputs: r.kdOutputs ?? null,
            workers: r.workers,
            steps: r.steps,
            stopped: r.stopped,
            best: r.best ?? null,
            epochs: r.epochs,
            trainable: r.trainable,
            checkpoint: r.checkpoint ?? null,
            resumedFrom: r.resumedFrom ?? null,
            seconds: r.seconds,
            ...(r.rounds ? { rounds: r.rounds, rewind: r.rewind } : {}),
          },
        };
      },
    });
  },
);

/**
 * `teacher-snapshot` (a pass): keep a copy of the model as it is now (dense)
 * as the teacher of a later `finetune` step in the same pipeline.
 */
export const teacherSnapshot = definePluginFactory(
  { name: 'teacher-snapshot', kind: 'pass', description: 'keep a copy of the current (dense) model as the teacher for a later finetune step' },
  (options?: Record<string, never>): PassPlugin => {
    parseOptions('teacher-snapshot', z.object({}).strict(), options);
    return definePlugin({
      name: 'teacher-snapshot',
      kind: 'pass',
      version: '0.1.0',
      mutates: false,
      options: {},
      async run(model, ctx) {
        ctx.state.set(TEACHER, cloneModel(model));
        return { model, modified: false };
      },
    });
  },
);
