import { appendFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { analyzeModel, ShearsError, silentLogger, silentProgress, type Dataset, type Logger, type Model, type ProgressReporter } from '@shears/core';
import { checkFits, checkLabels } from '@shears/data';
import { augmentBatch, rng, type AugmentOptions } from './augment.js';
import { initBackend, type BackendChoice, type BackendInfo, type BackendName } from './backend.js';
import { loadCheckpoint, loadWeights, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import { TfGraph, type MaskPolicy } from './graph/graph.js';
import { findSoftmaxEnd, overClasses, type LogitsFrom, type LogitsMode } from './logits.js';
import type { Param } from './graph/types.js';
import { correct, crossEntropy, distillation } from './losses.js';
import { createOptimizer, learningRate, type LrScheduleName, type LrScheduleOptions, type Optimizer, type OptimizerName } from './optim.js';
import { magnitudeReprune, type PruneScheduleOptions, type Repruner, type RepruneTarget } from './schedule.js';
import { StepWorker, teacherRows } from './parallel.js';
import { calibrateTerms, outputTerms, type KdLoss, type KdMode, type KdNormalize, type KdSlice, type OutputTerm } from './outputs.js';
import { batchLoss, stepValues, trainStep, type LossOptions, type Prepared, type StepResult } from './step.js';
import { checkTeacher, ortTeacher, tfjsTeacher, type Teacher, type TeacherOutputs } from './teacher.js';

export interface FinetuneOptions {
  /** Training samples (NCHW float batches, labels optional: without labels, distill from the teacher). */
  data: Dataset;
  /** Evaluated after each epoch (accuracy needs labels). */
  val?: Dataset;
  epochs?: number;
  batchSize?: number;
  /** Stop an epoch after this many samples (default: the whole dataset). */
  limit?: number;
  valLimit?: number;
  /** Learning rate (default 0.01 for SGD, 0.001 for Adam/AdamW). */
  lr?: number;
  /** Default 'sgd' (lr 0.01, momentum 0.9): see the README's "Defaults". */
  optimizer?: OptimizerName;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  lrSchedule?: LrScheduleName;
  /** Linear warm-up over this many steps. */
  warmupSteps?: number;
  /** step schedule: decay by `gamma` every `stepEpochs` epochs. */
  stepEpochs?: number;
  gamma?: number;
  minLr?: number;
  labelSmoothing?: number;
  /** The dense model to distill from. */
  teacher?: Model;
  /** Where the teacher runs (default onnxruntime-node, which overlaps with training). */
  teacherBackend?: 'ort' | 'tfjs';
  /**
   * What the losses take as logits. 'auto' (default): when the output is made by
   * a Softmax/LogSoftmax over the classes (Keras, CNTK and many zoo exports),
   * its input, for student and teacher (the model written out keeps its Softmax);
   * 'output': the graph output as it is (softmax applied to probabilities: only for comparisons).
   */
  logits?: LogitsMode;
  /** Weight of the distillation term: α·KD + (1−α)·CE (default 0.7; 1 without labels). */
  alpha?: number;
  temperature?: number;
  /**
   * What distillation matches. 'logits': KL on a classifier's softened logits
   * (with CE on the labels); 'outputs': every graph output, raw (detectors,
   * segmenters, OCR maps; labels are not used): `kdLoss` per output in units
   * of the teacher's per-channel std, plus KL on `kdSlices`. 'auto' (default):
   * 'outputs' when kdSlices are given, or the data has no labels and the model
   * is not a classifier (one [N, classes] output); else 'logits'.
   */
  kd?: KdMode;
  /** Output matching: 'mse' (default) or 'smooth-l1' (β = 1, in teacher-std units). */
  kdLoss?: KdLoss;
  /** Output matching: output slices that hold class scores, matched with KL instead of kdLoss. */
  kdSlices?: KdSlice[];
  /**
   * Output matching: scale the differences by the teacher's per-channel
   * input-driven spread ('channel', default: its deviation from the batch mean
   * at each position, so a YOLO head's anchor grid does not count), one plain
   * std per output ('output'), or not at all ('none'). README, "Label-free distillation".
   */
  kdNormalize?: KdNormalize;
  /** Intermediate tensors (same names and shapes in student and teacher) to match with MSE. */
  features?: string[];
  featureWeight?: number;
  augment?: AugmentOptions;
  /** BatchNormalization: train (batch stats, running stats updated) or freeze (running stats). */
  bn?: 'train' | 'freeze';
  masks?: MaskPolicy;
  /** Weights whose names match stay constant. */
  freeze?: string | RegExp;
  /**
   * Threads that share each batch on the pure-JS backends (wasm, cpu), which
   * run one thread under Node: 2 puts a worker thread on the second half of
   * every batch. 'auto' (default): 2 when the machine has a second core and a
   * step is big enough to pay for the messaging (AUTO_STEP_MACS), else 1.
   * tfjs-node already uses every core and ignores it.
   */
  workers?: number | 'auto';
  /** Gradual re-pruning during training. */
  prune?: PruneScheduleOptions;
  earlyStopping?: { patience: number; minDelta?: number };
  /** Keep the weights of the best validation epoch at the end (default true). */
  restoreBest?: boolean;
  /** Checkpoints (`last.onnx`, `best.onnx`) are written here after each epoch and on interrupt. */
  checkpointDir?: string;
  /** Continue from `checkpointDir/last.onnx`. */
  resume?: boolean;
  /** Append one JSON line per epoch to this file. */
  log?: string;
  onEpoch?(record: EpochRecord): void;
  /**
   * Called before each optimizer step (after any re-pruning) with the step
   * number and access to the trainable weights: lottery-ticket rewinding
   * (iterative.ts) keeps a copy at an early step and writes it back later.
   */
  onStep?(step: number, weights: StepWeights): void;
  backend?: BackendChoice | BackendInfo;
  seed?: number;
  /** onnxruntime threads for the teacher. */
  teacherThreads?: number;
  logger?: Logger;
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

/** The trainable weights during a run, by IR name, in the variables' layout (read and write back the same arrays). */
export interface StepWeights {
  read(): Map<string, Float32Array>;
  /** Assign the given tensors, then zero the pruned weights again. */
  write(values: Map<string, Float32Array>): void;
  /** Prunable weights and their masks (ONNX order; undefined: nothing pruned). */
  prunable(): { name: string; size: number; mask?: Uint8Array }[];
}

export interface EpochRecord {
  epoch: number;
  steps: number;
  lr: number;
  trainLoss: number;
  trainAccuracy?: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  stepsPerSecond: number;
  sparsity?: number;
  backend: BackendName;
}

export interface FinetuneResult {
  model: Model;
  backend: BackendName;
  backendNotes: string[];
  epochs: EpochRecord[];
  steps: number;
  stopped: 'completed' | 'early-stopping';
  best?: { epoch: number; metric: string; value: number };
  resumedFrom?: string;
  checkpoint?: string;
  seconds: number;
  trainable: { tensors: number; params: number; masked: number; pruned: number };
  teacher?: 'ort' | 'tfjs';
  /** Set when the output ends in a Softmax/LogSoftmax over the classes and training used its input as the logits. */
  logitsFrom?: LogitsFrom;
  /** The same for the teacher. */
  teacherLogitsFrom?: LogitsFrom;
  /** What distillation matched ('logits' also without a teacher). */
  kd: 'logits' | 'outputs';
  /** Output matching: the outputs matched and the class-score slices with their modes. */
  kdOutputs?: { name: string; loss: KdLoss; slices: { axis: number; start: number; end: number; mode?: 'sigmoid' | 'softmax' }[] }[];
  /** Threads that computed each step (1, or 2 with the data-parallel worker). */
  workers: number;
}

const fmt = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

/** The options finetune() reads throughout a run, with their defaults. */
interface Settings {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  seed: number;
  features: string[];
  freeze?: RegExp;
}

/** What a run is set up with; it does not change once training starts. */
interface RunSetup {
  model: Model;
  opts: FinetuneOptions;
  s: Settings;
  backend: BackendInfo;
  graph: TfGraph;
  optimizer: Optimizer;
  teacher?: Teacher;
  /** The value trained as the logits, and where it came from when it is not the output. */
  logits: { value: string; from?: LogitsFrom };
  /** Output matching: the terms (calibrated on the first batch). */
  terms?: OutputTerm[];
  logger: Logger;
  progress: ProgressReporter;
}

/** One run: its setup, the step plan, and the state that training updates (one object per call, never shared). */
interface Run extends RunSetup {
  trainParams: Param[];
  vars: Param['variable'][];
  stepsPerEpoch: number;
  schedule: LrScheduleOptions;
  /** The validation figure that picks the best epoch and drives early stopping. */
  metric?: 'valAccuracy' | 'valLoss';
  reprune?: Repruner;
  pruneEvery: number;
  random: () => number;
  helper?: StepWorker;
  startEpoch: number;
  step: number;
  history: EpochRecord[];
  best?: FinetuneResult['best'];
  bestWeights?: Map<Param, Float32Array>;
  sinceBest: number;
  resumedFrom?: string;
  lastCheckpoint?: string;
  sparsity?: number;
}

/** Where a resumed run picks up. */
type Resumed = Pick<Run, 'startEpoch' | 'step' | 'history' | 'best' | 'resumedFrom'>;

/** Running sums of one epoch's training steps. */
interface EpochSums {
  loss: number;
  correct: number;
  labelled: number;
  seen: number;
  steps: number;
  lr: number;
}

/**
 * Fine-tune `model` in place: translate it to tfjs, train with masks held at
 * zero (and optional distillation, re-pruning, checkpoints), and write the
 * weights back into the IR.
 */
export async function finetune(model: Model, opts: FinetuneOptions): Promise<FinetuneResult> {
  const t0 = performance.now();
  const backend = opts.backend && typeof opts.backend === 'object' ? opts.backend : await initBackend(opts.backend ?? 'auto');
  const freeze = typeof opts.freeze === 'string' ? new RegExp(opts.freeze) : opts.freeze;
  const graph = TfGraph.build(model, { backend, masks: opts.masks, bn: opts.bn, freeze: freeze ? (n) => freeze.test(n) : undefined });
  const held: { teacher?: Teacher; helper?: StepWorker; optimizer?: Optimizer } = {};
  try {
    const logger = opts.logger ?? silentLogger;
    const shapes = checkInputs(graph, opts, opts.features ?? []);
    const kd = resolveKd(opts, shapes);
    const s = resolveOptions(opts, kd, logger);
    const optimizer = (held.optimizer = createOptimizer(backend.tf, { name: s.optimizer, momentum: opts.momentum, nesterov: opts.nesterov, weightDecay: opts.weightDecay }));
    if (kd === 'logits') checkClasses(shapes, graph, opts);
    if (!opts.teacher && opts.data.size > 0 && (kd === 'outputs' || !hasLabels(opts.data)))
      throw new ShearsError(
        'E_OPTION',
        `finetune: ${hasLabels(opts.data) ? "output matching (kd 'outputs')" : `${opts.data.name} has no labels: label-free fine-tuning`} distills from a teacher; give the dense model as teacher (--teacher dense.onnx, or a teacher-snapshot step before pruning)`,
        { option: 'teacher' },
      );
    const terms = kd === 'outputs' ? outputTerms(shapes, opts.kdSlices ?? [], opts.kdLoss ?? 'mse') : undefined;
    if (terms) logOutputs(terms, opts, logger);
    const logits = terms ? { value: graph.outputNames[0]! } : studentLogits(model, graph, opts.data, opts.logits ?? 'auto', logger);
    held.teacher = await createTeacher(model, opts, backend, s.features, terms);
    if (held.teacher && !terms) await teacherLogits(held.teacher, opts.data, logits.from, logger);
    const run = await startRun({ model, opts, s, backend, graph, optimizer, teacher: held.teacher, logits, terms, logger, progress: opts.progress ?? silentProgress });
    held.helper = run.helper = await startHelper(model, graph, backend.name, opts, freeze, Boolean(run.resumedFrom), logger);
    let stopped: FinetuneResult['stopped'] = 'completed';
    for (let epoch = run.startEpoch; epoch < s.epochs; epoch++) {
      const rec = await runEpoch(run, epoch);
      if (await closeEpoch(run, rec, epoch)) {
        stopped = 'early-stopping';
        break;
      }
    }
    return finish(run, stopped, t0);
  } finally {
    held.optimizer?.dispose();
    await held.teacher?.dispose();
    await held.helper?.close();
    graph.dispose();
  }
}

/** Defaults for the options the run reads throughout (the learning rate's depends on the optimizer). */
function resolveOptions(opts: FinetuneOptions, kd: 'logits' | 'outputs', logger: Logger): Settings {
  // SGD stays the default for classifiers: Adam at 1e-3 was not clearly better on normalized or raw-pixel models (README, "Defaults").
  // Output matching defaults to Adam: on the detector demo's model, 15 steps reached 17.5 mAP50-95 with Adam 1e-3 and 1.2 with SGD 0.01 (README).
  const optimizer = opts.optimizer ?? (kd === 'outputs' ? 'adam' : 'sgd');
  if (kd === 'outputs' && !opts.optimizer) logger.info(`finetune: output matching trains with Adam (lr ${opts.lr ?? 1e-3}) by default; optimizer 'sgd' to change`);
  return {
    epochs: opts.epochs ?? 1,
    batchSize: opts.batchSize ?? 32,
    optimizer,
    lr: opts.lr ?? (optimizer === 'sgd' ? 0.01 : 1e-3),
    seed: opts.seed ?? 0,
    features: opts.features ?? [],
    freeze: typeof opts.freeze === 'string' ? new RegExp(opts.freeze) : opts.freeze,
  };
}

/** The data and validation sets fit the model's input and the feature names exist; returns the outputs' shapes for one sample. */
function checkInputs(graph: TfGraph, opts: FinetuneOptions, features: readonly string[]): Record<string, number[]> {
  checkData(graph, opts.data, 'data');
  if (opts.val) checkData(graph, opts.val, 'val');
  for (const f of features) if (!graph.hasValue(f)) throw new ShearsError('E_OPTION', `finetune: option features: the model has no value '${f}'`, { option: 'features' });
  return probeOutputs(graph, opts.data);
}

/**
 * 'outputs' when asked, or when kdSlices are given; with 'auto', also when the
 * data has no labels and the model is not a classifier (one [N, K] output).
 */
function resolveKd(opts: FinetuneOptions, shapes: Record<string, number[]>): 'logits' | 'outputs' {
  const kd = opts.kd ?? 'auto';
  if (kd !== 'auto' && kd !== 'logits' && kd !== 'outputs') throw new ShearsError('E_OPTION', `finetune: option kd: '${kd}' must be auto, logits or outputs`, { option: 'kd' });
  if (kd === 'logits') {
    if (opts.kdSlices?.length) throw new ShearsError('E_OPTION', "finetune: option kdSlices needs kd 'outputs' (or 'auto'), not 'logits'", { option: 'kdSlices' });
    return 'logits';
  }
  if (kd === 'outputs' || opts.kdSlices?.length) return 'outputs';
  const outs = Object.values(shapes);
  const classifier = outs.length === 1 && outs[0]!.length === 2;
  return hasLabels(opts.data) || classifier ? 'logits' : 'outputs';
}

/** Say what output matching matches. */
function logOutputs(terms: OutputTerm[], opts: FinetuneOptions, logger: Logger): void {
  const what = terms.map((t) => `${t.name}${t.slices.length ? ` (KL on ${t.slices.map((s) => `${s.start}:${s.end}${s.axis !== 1 ? ` of axis ${s.axis}` : ''}`).join(', ')})` : ''}`);
  logger.info(`finetune: matching the teacher's outputs (${opts.kdLoss ?? 'mse'}, normalized per ${opts.kdNormalize ?? 'channel'}): ${what.join(', ')}`);
  if (hasLabels(opts.data)) logger.info('finetune: output matching does not use the labels');
}

/** The first output is a classifier's [N, classes] and the labels fit its classes. */
function checkClasses(shapes: Record<string, number[]>, graph: TfGraph, opts: FinetuneOptions): void {
  const name = graph.outputNames[0]!;
  const out = shapes[name]!;
  if (out.length !== 2)
    throw new ShearsError('E_DATA', `finetune: output ${name} is ${out.join('x')}; classification losses need [N, classes] (for other outputs, distill from a teacher with kd 'outputs')`, { option: 'kd' });
  const classes = out[1]!;
  for (const [d, name] of [
    [opts.data, 'data'],
    [opts.val, 'val'],
  ] as const) {
    if (!d) continue;
    if (d.numClasses !== undefined && d.numClasses > classes)
      throw new ShearsError('E_DATA', `${d.name}: labels go up to ${d.numClasses - 1} but the model has ${classes} outputs`, { option: name });
    checkLabels(d as never, classes);
  }
}

const describeEnd = (f: LogitsFrom) => `${f.op} (node ${f.node})`;

/**
 * The value the losses take as the student's logits: the input of a final
 * Softmax/LogSoftmax over the classes (checked on the shapes of one forward
 * pass), else the graph output. Says so in the log.
 */
function studentLogits(model: Model, graph: TfGraph, data: Dataset, mode: LogitsMode, logger: Logger): RunSetup['logits'] {
  const output = graph.outputNames[0]!;
  const end = findSoftmaxEnd(model);
  if (!end) return { value: output };
  if (mode === 'output') {
    logger.info(`finetune: output ${output} ends in ${end.op} (node ${end.node}); training on the output as it is (logits: 'output')`);
    return { value: output };
  }
  const tf = graph.tf;
  const [pre, out] = tf.tidy(() => {
    const r = graph.forward(tf.zeros([1, ...data.sampleShape]), { training: false, outputs: [end.value, output] }).outputs;
    return [r[end.value]!.shape, r[output]!.shape];
  });
  if (!overClasses(end, pre, out)) {
    logger.info(`finetune: output ${output} ends in ${end.op} (node ${end.node}) over axis ${end.axis} of ${pre.join('x')}, not over the classes; training on the output as it is`);
    return { value: output };
  }
  const from: LogitsFrom = { output, node: end.node, op: end.op, value: end.value };
  logger.info(`finetune: output ${output} ends in ${describeEnd(from)}; training on its input logits ${end.value}`);
  return { value: end.value, from };
}

/** Run the teacher once (it decides where its logits come from on its first batch) and log that when it differs from the student. */
async function teacherLogits(teacher: Teacher, data: Dataset, student: LogitsFrom | undefined, logger: Logger): Promise<void> {
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  await teacher.run(new Float32Array(per), [1, ...data.sampleShape]);
  const t = teacher.logitsFrom;
  if (t) logger.info(`finetune: the teacher's output ends in ${describeEnd(t)}; distilling from its input logits ${t.value}`);
  else if (student) logger.info("finetune: the teacher's output has no final Softmax; distilling from it as logits");
}

/** The distillation teacher, checked against the student (onnxruntime by default, or tfjs); undefined without one. */
async function createTeacher(model: Model, opts: FinetuneOptions, backend: BackendInfo, features: string[], terms: OutputTerm[] | undefined): Promise<Teacher | undefined> {
  if (!opts.teacher) {
    if (features.length) throw new ShearsError('E_OPTION', 'finetune: option features needs a teacher', { option: 'features' });
    return undefined;
  }
  checkTeacher(model, opts.teacher, Boolean(terms));
  const logits = opts.logits ?? 'auto';
  const outputs = terms?.map((t) => t.name) ?? [];
  return opts.teacherBackend === 'tfjs' ? tfjsTeacher(opts.teacher, backend, features, logits, outputs) : await ortTeacher(opts.teacher, features, opts.teacherThreads, logits, outputs);
}

/** The trainable weights, steps and learning-rate schedule, and the run state: fresh, or from the last checkpoint. */
async function startRun(setup: RunSetup): Promise<Run> {
  const { opts, s, graph, teacher } = setup;
  const trainParams = graph.trainable();
  if (trainParams.length === 0) throw new ShearsError('E_GRAPH', 'finetune: the model has no trainable weights');
  const stepsPerEpoch = Math.ceil(Math.min(opts.data.size, opts.limit ?? Infinity) / s.batchSize);
  const schedule: LrScheduleOptions = {
    name: opts.lrSchedule ?? 'constant',
    lr: s.lr,
    totalSteps: stepsPerEpoch * s.epochs,
    warmupSteps: opts.warmupSteps,
    minLr: opts.minLr,
    stepSize: (opts.stepEpochs ?? 1) * stepsPerEpoch,
    gamma: opts.gamma,
  };
  const state = (await resume(setup, stepsPerEpoch)) ?? { startEpoch: 0, step: 0, history: [] };
  return {
    ...setup,
    ...state,
    trainParams,
    vars: trainParams.map((p) => p.variable),
    stepsPerEpoch,
    schedule,
    metric: opts.val && hasLabels(opts.val) && !setup.terms ? 'valAccuracy' : opts.val && teacher ? 'valLoss' : undefined,
    reprune: opts.prune ? (opts.prune.reprune ?? opts.prune.schedule.reprune ?? magnitudeReprune(opts.prune.scope)) : undefined,
    pruneEvery: opts.prune?.every ?? 100,
    random: rng(s.seed * 7919 + state.startEpoch + 1),
    sinceBest: 0,
  };
}

/**
 * With `resume`, load checkpointDir/last.onnx when it exists (weights, masks
 * and optimizer state) and say where the run picks up; undefined for a fresh start.
 */
async function resume(setup: RunSetup, stepsPerEpoch: number): Promise<Resumed | undefined> {
  const { opts, graph } = setup;
  if (!opts.resume) return undefined;
  if (!opts.checkpointDir) throw new ShearsError('E_OPTION', 'finetune: option resume needs checkpointDir', { option: 'resume' });
  const ck = await loadCheckpoint(opts.checkpointDir, 'last');
  if (!ck) return undefined;
  loadWeights(graph, ck.model);
  graph.applyMasks();
  const startEpoch = ck.state.epoch;
  if (ck.optimizer) setup.optimizer.load(ck.optimizer);
  setup.logger.info(`resuming from ${ck.file}: ${startEpoch} epoch(s) done${ck.optimizer ? '' : ' (optimizer state not found; momentum restarts)'}`);
  return { startEpoch, step: startEpoch * stepsPerEpoch, history: [...(ck.state.history as EpochRecord[])], best: ck.state.best, resumedFrom: ck.file };
}

/** One epoch: train, evaluate on the validation set, and record (history, onEpoch, log file, logger). */
async function runEpoch(run: Run, epoch: number): Promise<EpochRecord> {
  const te = performance.now();
  const rec = await trainEpoch(run, epoch, te);
  const { opts, s } = run;
  if (opts.val) {
    const ev = await evaluateGraph(run.graph, opts.val, {
      batchSize: Math.max(s.batchSize, 64),
      limit: opts.valLimit,
      teacher: run.teacher,
      temperature: opts.temperature ?? 4,
      logits: run.logits.value,
      loss: run.terms?.[0]?.scale ? { ...lossOptions(run, {} as Prepared), features: [] } : undefined,
    });
    rec.valLoss = ev.loss;
    rec.valAccuracy = ev.accuracy;
  }
  rec.seconds = (performance.now() - te) / 1000;
  run.history.push(rec);
  opts.onEpoch?.(rec);
  if (opts.log) appendFileSync(opts.log, `${JSON.stringify(rec)}\n`);
  run.logger.info(
    `epoch ${rec.epoch}/${s.epochs}: loss ${fmt(rec.trainLoss)}${rec.trainAccuracy !== undefined ? ` acc ${(100 * rec.trainAccuracy).toFixed(2)}%` : ''}` +
      `${rec.valAccuracy !== undefined ? `  val acc ${(100 * rec.valAccuracy).toFixed(2)}%` : ''}${rec.valLoss !== undefined ? ` val loss ${fmt(rec.valLoss)}` : ''}` +
      `  ${rec.stepsPerSecond.toFixed(1)} steps/s (${run.backend.name})`,
  );
  return rec;
}

/** Train on every batch of one epoch (the next batch and its teacher outputs are prepared during each step); validation and time are filled in by runEpoch. */
async function trainEpoch(run: Run, epoch: number, te: number): Promise<EpochRecord> {
  const task = run.progress.start(`finetune epoch ${epoch + 1}/${run.s.epochs}`, run.stepsPerEpoch);
  const sums: EpochSums = { loss: 0, correct: 0, labelled: 0, seen: 0, steps: 0, lr: run.s.lr };
  const prepare = batchSource(run, epoch);
  let pending = prepare();
  pending.catch(() => {});
  try {
    for (;;) {
      const b = await pending;
      if (!b) break;
      if (run.opts.signal?.aborted) throw await interruption(run, epoch);
      pending = prepare();
      pending.catch(() => {});
      await trainBatch(run, b, epoch, sums);
      const secs = (performance.now() - te) / 1000;
      task.tick(1, `loss ${fmt(sums.loss / sums.seen)}${sums.labelled ? ` acc ${((100 * sums.correct) / sums.labelled).toFixed(1)}%` : ''} ${(sums.steps / secs).toFixed(1)} steps/s`);
    }
  } finally {
    pending.then(() => {}, () => {});
  }
  const trainSecs = (performance.now() - te) / 1000;
  task.done();
  return {
    epoch: epoch + 1,
    steps: sums.steps,
    lr: sums.lr,
    trainLoss: sums.loss / Math.max(1, sums.seen),
    trainAccuracy: sums.labelled ? sums.correct / sums.labelled : undefined,
    seconds: 0,
    stepsPerSecond: sums.steps / Math.max(1e-9, trainSecs),
    sparsity: run.sparsity,
    backend: run.backend.name,
  };
}

/** The epoch's batches, shuffled and augmented, each with its teacher outputs started as soon as it is read. */
function batchSource(run: Run, epoch: number): () => Promise<Prepared | undefined> {
  const { opts, s, teacher, random } = run;
  const it = opts.data.batches(s.batchSize, { shuffle: true, seed: s.seed + epoch, limit: opts.limit })[Symbol.asyncIterator]();
  return async () => {
    const r = await it.next();
    if (r.done) return undefined;
    const b = r.value;
    const x = opts.augment ? augmentBatch(b.x, b.dims, opts.augment, random) : b.x;
    const p: Prepared = { x, dims: b.dims, y: b.y };
    if (teacher) {
      p.teacher = teacher.run(x, b.dims);
      p.teacher.catch(() => {});
    }
    return p;
  };
}

/** How a batch's loss is made: the distillation weight depends on whether it has labels. */
function lossOptions(run: Run, b: Prepared): LossOptions {
  const { opts } = run;
  return {
    logits: run.logits.value,
    alpha: b.y ? (opts.alpha ?? (run.teacher ? 0.7 : 0)) : 1,
    temperature: opts.temperature ?? 4,
    features: run.s.features,
    featureWeight: opts.featureWeight ?? 1,
    labelSmoothing: opts.labelSmoothing ?? 0,
    outputs: run.terms,
  };
}

/** One optimizer step on a batch (re-pruning first when the schedule is due), added to the epoch's sums. */
async function trainBatch(run: Run, b: Prepared, epoch: number, sums: EpochSums): Promise<void> {
  const { graph, trainParams, vars, helper } = run;
  if (sums.steps === 0 && epoch === run.startEpoch) warnUnnormalized(run, b.x);
  if (run.reprune && run.step % run.pruneEvery === 0)
    run.sparsity = await repruneStep(graph, run.reprune, run.opts.prune!.schedule.sparsityAt(Math.floor(run.step / run.pruneEvery)), run.step);
  run.opts.onStep?.(run.step, stepWeights(graph));
  const tOut = b.teacher ? await b.teacher : undefined;
  if (run.terms && !run.terms[0]?.scale && tOut?.outputs) calibrate(run, tOut.outputs);
  sums.lr = learningRate(run.schedule, run.step);
  const n = b.dims[0]!;
  const r = helper && n > 1 ? await parallelStep(helper, graph, trainParams, vars, b, tOut, lossOptions(run, b)) : trainStep(graph, trainParams, vars, b, tOut, lossOptions(run, b));
  if (!Number.isFinite(r.loss)) throw divergence(run, r.loss, epoch, sums.lr);
  run.optimizer.apply(vars, r.grads, sums.lr);
  for (const g of r.grads) g.dispose();
  graph.applyMasks();
  graph.applyStats(r.stats);
  run.step++;
  sums.steps++;
  sums.seen += n;
  sums.loss += r.loss * n;
  if (b.y) {
    sums.correct += r.correct;
    sums.labelled += n;
  }
}

/** The onStep view of the graph's trainable weights. */
function stepWeights(graph: TfGraph): StepWeights {
  const params = graph.trainable();
  const tf = graph.tf;
  return {
    read: () => new Map(params.map((p) => [p.name, Float32Array.from(p.variable.dataSync() as Float32Array)])),
    write(values) {
      for (const p of params) {
        const d = values.get(p.name);
        if (d) tf.tidy(() => p.variable.assign(tf.tensor(d, p.variable.shape, 'float32')));
      }
      graph.applyMasks();
    },
    prunable: () => params.filter((p) => p.prunable).map((p) => ({ name: p.name, size: p.variable.size, mask: graph.readMask(p) })),
  };
}

/** Output matching: the per-channel scales and the slice modes, from the teacher's first batch (logged). */
function calibrate(run: Run, outputs: NonNullable<TeacherOutputs['outputs']>): void {
  run.terms = calibrateTerms(run.terms!, outputs, run.opts.kdNormalize ?? 'channel');
  for (const t of run.terms) for (const s of t.slices) run.logger.info(`finetune: ${t.name} ${s.start}:${s.end} (axis ${s.axis}) matched as ${s.mode === 'sigmoid' ? 'independent probabilities (binary KL)' : `logits (softmax KL, T ${run.opts.temperature ?? 4})`}`);
}

/** Inputs whose magnitude exceeds this look like raw pixels (0–255) rather than normalized ones. */
export const UNNORMALIZED_INPUT = 10;

/**
 * Warn, on the first batch, when SGD trains on inputs that look unnormalized
 * (raw pixels): its large first steps move the first BatchNorm's running
 * statistics; issue 15 measured 42–50% against Adam's 63–67% on a raw-pixel
 * CIFAR-10 ResNet-8 (README, "Defaults").
 */
function warnUnnormalized(run: Run, x: Float32Array): void {
  if (run.s.optimizer !== 'sgd') return;
  let max = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a > max) max = a;
  }
  if (max > UNNORMALIZED_INPUT)
    run.logger.warn(
      `finetune: the inputs look unnormalized (first batch max |x| ${max.toPrecision(3)}); SGD (lr ${run.s.lr}) can swing the first BatchNorm's running statistics on them: if accuracy drops, try optimizer 'adam' with lr 0.001`,
    );
}

/** The error for a non-finite loss, once the last good weights (the step was not applied) are written back to the model. */
function divergence(run: Run, loss: number, epoch: number, lr: number): ShearsError {
  run.graph.writeBack(run.model);
  const dir = run.opts.checkpointDir;
  const kept = run.lastCheckpoint ?? (dir && existsSync(join(dir, 'last.onnx')) ? join(dir, 'last.onnx') : undefined);
  return new ShearsError(
    'E_RUNTIME',
    `finetune: the loss is ${loss} in epoch ${epoch + 1} at step ${run.step} (learning rate ${lr.toPrecision(3)}; try a lower one); stopped with the last good weights${kept ? `, last checkpoint ${kept} kept` : ''}`,
  );
}

/** The error for an aborted run, once a resumable checkpoint is written (with checkpointDir). */
async function interruption(run: Run, epoch: number): Promise<ShearsError> {
  const file = await saveLast(run, epoch, false);
  return new ShearsError('E_ABORTED', `finetune: interrupted in epoch ${epoch + 1} at step ${run.step}${file ? `; checkpoint ${file} (resume from it)` : ''}`);
}

/** What a checkpoint records of the run. */
function stateOf(run: Run, epoch: number, complete: boolean): CheckpointState {
  return { version: 1, epoch, step: run.step, complete, best: run.best, history: run.history };
}

/** Write the weights back and save checkpointDir/last.onnx (nothing without checkpointDir); returns the file. */
async function saveLast(run: Run, epoch: number, complete: boolean): Promise<string | undefined> {
  const dir = run.opts.checkpointDir;
  if (!dir) return undefined;
  run.graph.writeBack(run.model);
  run.lastCheckpoint = await saveCheckpoint(dir, 'last', run.model, stateOf(run, epoch, complete), run.optimizer);
  return run.lastCheckpoint;
}

/** Whether `rec` is the best epoch so far by the run's metric; if so, keep its weights (restoreBest), else count it towards early stopping. */
function trackBest(run: Run, rec: EpochRecord): boolean {
  const { metric, opts } = run;
  if (!metric) return false;
  const v = rec[metric]!;
  const minDelta = opts.earlyStopping?.minDelta ?? 0;
  const better = metric === 'valLoss' ? (b: number) => v < b - minDelta : (b: number) => v > b + minDelta;
  if (run.best && !better(run.best.value)) {
    run.sinceBest++;
    return false;
  }
  run.best = { epoch: rec.epoch, metric, value: v };
  run.sinceBest = 0;
  if (opts.restoreBest !== false) run.bestWeights = run.graph.snapshot();
  return true;
}

/** After an epoch: track the best one, write the checkpoints, and say whether early stopping ends the run. */
async function closeEpoch(run: Run, rec: EpochRecord, epoch: number): Promise<boolean> {
  const { opts, metric } = run;
  const improved = trackBest(run, rec);
  await saveLast(run, epoch + 1, true);
  if (improved && opts.checkpointDir) await saveCheckpoint(opts.checkpointDir, 'best', run.model, stateOf(run, epoch + 1, true));
  if (!opts.earlyStopping || !metric || run.sinceBest < opts.earlyStopping.patience || epoch + 1 >= run.s.epochs) return false;
  run.logger.info(`early stopping: no improvement of ${metric} for ${run.sinceBest} epoch(s); best epoch ${run.best!.epoch}`);
  return true;
}

/** Restore the best epoch's weights (when it was not the last), write the weights into the model, and sum up the run. */
function finish(run: Run, stopped: FinetuneResult['stopped'], t0: number): FinetuneResult {
  const { graph, best, history, opts, trainParams } = run;
  if (run.bestWeights && best && history.at(-1)?.epoch !== best.epoch) graph.restore(run.bestWeights);
  graph.writeBack(run.model);
  const masked = graph.params.filter((p) => p.mask);
  let pruned = 0;
  for (const p of masked) for (const m of graph.readMask(p) ?? []) if (!m) pruned++;
  return {
    model: run.model,
    backend: run.backend.name,
    backendNotes: run.backend.notes,
    epochs: history,
    steps: run.step,
    stopped,
    best,
    resumedFrom: run.resumedFrom,
    checkpoint: run.lastCheckpoint ?? (opts.checkpointDir ? join(opts.checkpointDir, 'last.onnx') : undefined),
    seconds: (performance.now() - t0) / 1000,
    trainable: { tensors: trainParams.length, params: trainParams.reduce((a, p) => a + p.variable.size, 0), masked: masked.length, pruned },
    teacher: run.teacher?.kind,
    logitsFrom: run.logits.from,
    teacherLogitsFrom: run.teacher?.logitsFrom,
    kd: run.terms ? 'outputs' : 'logits',
    kdOutputs: run.terms?.map((t) => ({ name: t.name, loss: t.loss, slices: t.slices })),
    workers: run.helper ? 2 : 1,
  };
}

/**
 * Multiply-accumulates per training step (forward + backward ≈ 3 × forward,
 * × batch) from which `workers: 'auto'` starts a second thread. Measured on
 * wasm: a 24 M-MAC step (the finetune bench's small CNN, batch 32, ~9 ms)
 * runs 0.9× as fast on two threads; 107 M (fmnist_cnn, batch 64) 1.29×;
 * 1.4 G (the demo CNN, batch 64) 1.56×.
 */
export const AUTO_STEP_MACS = 50e6;

/** Forward MACs per sample, or 0 when the shapes do not tell. */
function macsPerSample(model: Model): number {
  try {
    return analyzeModel(model).macs;
  } catch {
    return 0;
  }
}

/** The data-parallel helper when `workers` asks for one (or 'auto' finds it worth it) and the backend can use it. */
async function startHelper(model: Model, graph: TfGraph, backend: BackendName, opts: FinetuneOptions, freeze: RegExp | undefined, resumed: boolean, logger: Logger): Promise<StepWorker | undefined> {
  const workers = opts.workers ?? 'auto';
  if (!(workers === 'auto' || (Number.isInteger(workers) && workers >= 1 && workers <= 2)))
    throw new ShearsError('E_OPTION', `finetune: option workers: ${workers} must be 1, 2 or 'auto'`, { option: 'workers' });
  if (workers === 1) return undefined;
  const auto = workers === 'auto';
  if (backend === 'tensorflow') {
    if (!auto) logger.info('finetune: workers: tfjs-node already uses every core; no worker thread started');
    return undefined;
  }
  if (opts.prune) {
    if (!auto) logger.info('finetune: workers: not with a pruning schedule (masks change during training); training on one thread');
    return undefined;
  }
  if (auto) {
    if (availableParallelism() < 2) return undefined;
    const stepMacs = 3 * macsPerSample(model) * (opts.batchSize ?? 32);
    if (stepMacs < AUTO_STEP_MACS) return undefined;
    logger.info(`finetune: 2 threads (workers auto: ${(stepMacs / 1e6).toFixed(0)} M MACs per step; workers: 1 keeps one)`);
  }
  // The worker copies the model as it is now: frozen weights and BatchNorm statistics included.
  if (resumed) graph.writeBack(model);
  const sizes = graph.trainable().map((p) => p.variable.size);
  return StepWorker.start(model, {
    backend,
    bn: opts.bn,
    freeze: freeze ? { source: freeze.source, flags: freeze.flags } : undefined,
    sizes,
  });
}

/**
 * One step with the batch split in two: the worker takes the second half at
 * the current weights while this thread computes the first; the gradients
 * (and loss) are averaged by rows, masked, and the running statistics are this
 * thread's. Same contract as trainStep.
 */
async function parallelStep(helper: StepWorker, graph: TfGraph, params: Param[], vars: Param['variable'][], b: Prepared, t: TeacherOutputs | undefined, loss: LossOptions): Promise<StepResult> {
  const tf = graph.tf;
  const n = b.dims[0]!;
  const n0 = Math.ceil(n / 2);
  const per = b.x.length / n;
  const rest = b.dims.slice(1);
  const pending = helper.step({
    weights: vars.map((v) => v.dataSync() as Float32Array),
    x: b.x.slice(n0 * per),
    dims: [n - n0, ...rest],
    y: b.y?.slice(n0),
    teacher: t && teacherRows(t, n, n0, n),
    loss,
  });
  pending.catch(() => {});
  const r0 = trainStep(graph, params, vars, { x: b.x.subarray(0, n0 * per), dims: [n0, ...rest], y: b.y?.subarray(0, n0) }, t && teacherRows(t, n, 0, n0), loss);
  const r1 = await pending;
  const w0 = n0 / n;
  const w1 = 1 - w0;
  const total = w0 * r0.loss + w1 * r1.loss;
  if (!Number.isFinite(total)) {
    for (const g of r0.grads) g.dispose();
    for (const s of r0.stats) s.value.dispose();
    return { loss: total, correct: r0.correct + r1.correct, grads: [], stats: [] };
  }
  const grads = r0.grads.map((g, i) =>
    tf.tidy(() => {
      const sum = tf.add(tf.mul(g, w0), tf.mul(tf.tensor(r1.grads[i]!, g.shape, 'float32'), w1));
      const m = params[i]!.mask;
      return m ? tf.mul(sum, m) : sum;
    }),
  );
  for (const g of r0.grads) g.dispose();
  return { loss: total, correct: r0.correct + r1.correct, grads, stats: r0.stats };
}

function hasLabels(d: Dataset): boolean {
  return (d as { labels?: unknown }).labels !== undefined || d.numClasses !== undefined;
}

function checkData(graph: TfGraph, d: Dataset, option: string): void {
  if (d.size === 0) throw new ShearsError('E_DATA', `${d.name}: dataset is empty`, { option });
  checkFits(d as never, graph.inputShape, { inputName: graph.inputName });
}

/** The shape of every graph output for one sample (one forward pass on zeros). */
function probeOutputs(graph: TfGraph, d: Dataset): Record<string, number[]> {
  const tf = graph.tf;
  const shape = [1, ...d.sampleShape];
  return tf.tidy(() => {
    const r = graph.forward(tf.zeros(shape), { training: false }).outputs;
    return Object.fromEntries(graph.outputNames.map((n) => [n, [...r[n]!.shape]]));
  });
}

async function repruneStep(graph: TfGraph, reprune: NonNullable<PruneScheduleOptions['reprune']>, sparsity: number, step: number): Promise<number> {
  const targets: (RepruneTarget & { p: Param })[] = graph
    .trainable()
    .filter((p) => p.prunable)
    .map((p) => ({ p, name: p.name, dims: p.dims, weights: graph.readParam(p), mask: graph.readMask(p) ?? new Uint8Array(p.variable.size).fill(1) }));
  await reprune(targets, sparsity, step);
  for (const t of targets) graph.setMask(t.p, t.mask, t.p.maskSource === 'mask' ? 'mask' : 'schedule');
  return sparsity;
}

export interface GraphEvalResult {
  loss?: number;
  accuracy?: number;
  samples: number;
}

/** Accuracy and loss of the tfjs model (inference mode) on a dataset. */
export async function evaluateGraph(
  graph: TfGraph,
  data: Dataset,
  o: {
    batchSize?: number;
    limit?: number;
    teacher?: Teacher;
    temperature?: number;
    /** The value taken as logits (default the output). */
    logits?: string;
    /** Output matching (with `outputs` terms, calibrated): the loss is the training loss against the teacher. */
    loss?: LossOptions;
  } = {},
): Promise<GraphEvalResult> {
  const tf = graph.tf;
  if (o.loss?.outputs) return evaluateOutputs(graph, data, o.loss, o.teacher, o.batchSize ?? 64, o.limit);
  const name = o.logits ?? graph.outputNames[0]!;
  let samples = 0;
  let lossSum = 0;
  let right = 0;
  let labelled = 0;
  let lossCount = 0;
  for await (const b of data.batches(o.batchSize ?? 64, { limit: o.limit })) {
    const n = b.dims[0]!;
    const t = !b.y && o.teacher ? await o.teacher.run(b.x, b.dims) : undefined;
    const [l, c] = tf.tidy(() => {
      const head = graph.forward(tf.tensor(b.x, b.dims, 'float32'), { training: false, outputs: [name] }).outputs[name]!;
      const logits = head.rank === 2 ? head : tf.reshape(head, [n, -1]);
      if (b.y) {
        const y = tf.tensor1d(b.y, 'int32');
        return [crossEntropy(tf, logits, y).dataSync()[0]!, correct(tf, logits, y).dataSync()[0]!];
      }
      if (t) return [distillation(tf, logits, tf.tensor(t.logits.data, t.logits.dims), o.temperature ?? 4).dataSync()[0]!, 0];
      return [NaN, 0];
    });
    samples += n;
    if (b.y) {
      right += c;
      labelled += n;
    }
    if (!Number.isNaN(l)) {
      lossSum += l * n;
      lossCount += n;
    }
  }
  return { samples, loss: lossCount ? lossSum / lossCount : undefined, accuracy: labelled ? right / labelled : undefined };
}

/** Mean output-matching loss against the teacher (inference mode). */
async function evaluateOutputs(graph: TfGraph, data: Dataset, loss: LossOptions, teacher: Teacher | undefined, batchSize: number, limit?: number): Promise<GraphEvalResult> {
  if (!teacher) throw new ShearsError('E_OPTION', 'finetune: output matching needs a teacher', { option: 'teacher' });
  const tf = graph.tf;
  let samples = 0;
  let sum = 0;
  for await (const b of data.batches(batchSize, { limit })) {
    const n = b.dims[0]!;
    const t = await teacher.run(b.x, b.dims);
    const l = tf.tidy(() => {
      const r = graph.forward(tf.tensor(b.x, b.dims, 'float32'), { training: false, outputs: stepValues(loss, true) }).outputs;
      return batchLoss(tf, r, undefined, t, loss).loss.dataSync()[0]!;
    });
    sum += l * n;
    samples += n;
  }
  return { samples, loss: samples ? sum / samples : undefined };
}
