import { appendFileSync, existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { analyzeModel, ShearsError, silentLogger, silentProgress, type Dataset, type Logger, type Model, type ProgressReporter } from '@shears/core';
import { checkFits, checkLabels } from '@shears/data';
import { augmentBatch, rng, type AugmentOptions } from './augment.js';
import { initBackend, type BackendChoice, type BackendInfo, type BackendName } from './backend.js';
import { loadCheckpoint, loadWeights, saveCheckpoint, type CheckpointState } from './checkpoint.js';
import { TfGraph, type MaskPolicy } from './graph/graph.js';
import type { Param } from './graph/types.js';
import { correct, crossEntropy, distillation } from './losses.js';
import { createOptimizer, learningRate, type LrScheduleName, type OptimizerName } from './optim.js';
import { magnitudeReprune, type PruneScheduleOptions, type RepruneTarget } from './schedule.js';
import { StepWorker, teacherRows } from './parallel.js';
import { trainStep, type LossOptions, type Prepared, type StepResult } from './step.js';
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
  /** Weight of the distillation term: α·KD + (1−α)·CE (default 0.7; 1 without labels). */
  alpha?: number;
  temperature?: number;
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
  backend?: BackendChoice | BackendInfo;
  seed?: number;
  /** onnxruntime threads for the teacher. */
  teacherThreads?: number;
  logger?: Logger;
  progress?: ProgressReporter;
  signal?: AbortSignal;
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
  /** Threads that computed each step (1, or 2 with the data-parallel worker). */
  workers: number;
}

const fmt = (x: number | undefined, d = 4) => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

/**
 * Fine-tune `model` in place: translate it to tfjs, train with masks held at
 * zero (and optional distillation, re-pruning, checkpoints), and write the
 * weights back into the IR.
 */
export async function finetune(model: Model, opts: FinetuneOptions): Promise<FinetuneResult> {
  const t0 = performance.now();
  const logger = opts.logger ?? silentLogger;
  const progress = opts.progress ?? silentProgress;
  const signal = opts.signal;
  const backend = opts.backend && typeof opts.backend === 'object' ? opts.backend : await initBackend(opts.backend ?? 'auto');
  const tf = backend.tf;
  const epochs = opts.epochs ?? 1;
  const batchSize = opts.batchSize ?? 32;
  const optimizerName = opts.optimizer ?? 'sgd';
  const lr = opts.lr ?? (optimizerName === 'sgd' ? 0.01 : 1e-3);
  const seed = opts.seed ?? 0;
  const features = opts.features ?? [];
  const freeze = typeof opts.freeze === 'string' ? new RegExp(opts.freeze) : opts.freeze;
  const graph = TfGraph.build(model, { backend, masks: opts.masks, bn: opts.bn, freeze: freeze ? (n) => freeze.test(n) : undefined });
  let teacher: Teacher | undefined;
  const optimizer = createOptimizer(tf, { name: optimizerName, momentum: opts.momentum, nesterov: opts.nesterov, weightDecay: opts.weightDecay });
  let cleanup: (() => Promise<void> | undefined) | undefined;
  try {
    checkData(graph, opts.data, 'data');
    if (opts.val) checkData(graph, opts.val, 'val');
    for (const f of features) if (!graph.hasValue(f)) throw new ShearsError('E_OPTION', `finetune: option features: the model has no value '${f}'`, { option: 'features' });
    const classes = probeClasses(graph, opts.data);
    for (const [d, name] of [
      [opts.data, 'data'],
      [opts.val, 'val'],
    ] as const) {
      if (!d) continue;
      if (d.numClasses !== undefined && d.numClasses > classes)
        throw new ShearsError('E_DATA', `${d.name}: labels go up to ${d.numClasses - 1} but the model has ${classes} outputs`, { option: name });
      checkLabels(d as never, classes);
    }
    if (opts.teacher) {
      checkTeacher(model, opts.teacher);
      teacher = opts.teacherBackend === 'tfjs' ? tfjsTeacher(opts.teacher, backend, features) : await ortTeacher(opts.teacher, features, opts.teacherThreads);
    } else if (features.length) throw new ShearsError('E_OPTION', 'finetune: option features needs a teacher', { option: 'features' });
    if (!teacher && opts.data.size > 0 && !hasLabels(opts.data))
      throw new ShearsError('E_DATA', `${opts.data.name}: the training data has no labels; give a teacher for label-free distillation`, { option: 'data' });

    const trainParams = graph.trainable();
    if (trainParams.length === 0) throw new ShearsError('E_GRAPH', 'finetune: the model has no trainable weights');
    const vars = trainParams.map((p) => p.variable);
    const trainSize = Math.min(opts.data.size, opts.limit ?? Infinity);
    const stepsPerEpoch = Math.ceil(trainSize / batchSize);
    const totalSteps = stepsPerEpoch * epochs;
    const schedule = {
      name: opts.lrSchedule ?? 'constant',
      lr,
      totalSteps,
      warmupSteps: opts.warmupSteps,
      minLr: opts.minLr,
      stepSize: (opts.stepEpochs ?? 1) * stepsPerEpoch,
      gamma: opts.gamma,
    } as const;

    let startEpoch = 0;
    let step = 0;
    const history: EpochRecord[] = [];
    let best: FinetuneResult['best'];
    let resumedFrom: string | undefined;
    if (opts.resume) {
      if (!opts.checkpointDir) throw new ShearsError('E_OPTION', 'finetune: option resume needs checkpointDir', { option: 'resume' });
      const ck = await loadCheckpoint(opts.checkpointDir, 'last');
      if (ck) {
        loadWeights(graph, ck.model);
        graph.applyMasks();
        startEpoch = ck.state.epoch;
        step = startEpoch * stepsPerEpoch;
        history.push(...(ck.state.history as EpochRecord[]));
        best = ck.state.best;
        if (ck.optimizer) optimizer.load(ck.optimizer);
        resumedFrom = ck.file;
        logger.info(`resuming from ${ck.file}: ${startEpoch} epoch(s) done${ck.optimizer ? '' : ' (optimizer state not found; momentum restarts)'}`);
      }
    }

    const helper = await startHelper(model, graph, backend.name, opts, freeze, Boolean(resumedFrom), logger);
    const lossOpts = (b: Prepared): LossOptions => ({
      alpha: b.y ? (opts.alpha ?? (teacher ? 0.7 : 0)) : 1,
      temperature: opts.temperature ?? 4,
      features,
      featureWeight: opts.featureWeight ?? 1,
      labelSmoothing: opts.labelSmoothing ?? 0,
    });
    cleanup = () => helper?.close();

    const metric = opts.val && hasLabels(opts.val) ? 'valAccuracy' : opts.val && teacher ? 'valLoss' : undefined;
    const better = (a: number, b: number) => (metric === 'valLoss' ? a < b - (opts.earlyStopping?.minDelta ?? 0) : a > b + (opts.earlyStopping?.minDelta ?? 0));
    let bestWeights: Map<Param, Float32Array> | undefined;
    let sinceBest = 0;
    let stopped: FinetuneResult['stopped'] = 'completed';
    let lastCheckpoint: string | undefined;
    const random = rng(seed * 7919 + startEpoch + 1);
    const reprune = opts.prune ? (opts.prune.reprune ?? opts.prune.schedule.reprune ?? magnitudeReprune(opts.prune.scope)) : undefined;
    const pruneEvery = opts.prune?.every ?? 100;
    let sparsity: number | undefined;
    const stateOf = (epoch: number, complete: boolean): CheckpointState => ({ version: 1, epoch, step, complete, best, history });

    const saveLast = async (epoch: number, complete: boolean) => {
      if (!opts.checkpointDir) return undefined;
      graph.writeBack(model);
      lastCheckpoint = await saveCheckpoint(opts.checkpointDir, 'last', model, stateOf(epoch, complete), optimizer);
      return lastCheckpoint;
    };

    for (let epoch = startEpoch; epoch < epochs; epoch++) {
      const te = performance.now();
      const task = progress.start(`finetune epoch ${epoch + 1}/${epochs}`, stepsPerEpoch);
      let lossSum = 0;
      let correctSum = 0;
      let labelled = 0;
      let seen = 0;
      let steps = 0;
      let curLr = lr;
      const it = opts.data.batches(batchSize, { shuffle: true, seed: seed + epoch, limit: opts.limit })[Symbol.asyncIterator]();
      const prepare = async (): Promise<Prepared | undefined> => {
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
      let pending = prepare();
      pending.catch(() => {});
      try {
        for (;;) {
          const b = await pending;
          if (!b) break;
          if (signal?.aborted) {
            const file = await saveLast(epoch, false);
            throw new ShearsError('E_ABORTED', `finetune: interrupted in epoch ${epoch + 1} at step ${step}${file ? `; checkpoint ${file} (resume from it)` : ''}`);
          }
          pending = prepare();
          pending.catch(() => {});
          if (reprune && step % pruneEvery === 0) sparsity = await repruneStep(graph, reprune, opts.prune!.schedule.sparsityAt(Math.floor(step / pruneEvery)), step);
          const tOut = b.teacher ? await b.teacher : undefined;
          curLr = learningRate(schedule, step);
          const n = b.dims[0]!;
          const r = helper && n > 1 ? await parallelStep(helper, graph, trainParams, vars, b, tOut, lossOpts(b)) : trainStep(graph, trainParams, vars, b, tOut, lossOpts(b));
          if (!Number.isFinite(r.loss)) {
            // The step was not applied: the weights are the last good ones.
            graph.writeBack(model);
            const kept = lastCheckpoint ?? (opts.checkpointDir && existsSync(join(opts.checkpointDir, 'last.onnx')) ? join(opts.checkpointDir, 'last.onnx') : undefined);
            throw new ShearsError(
              'E_RUNTIME',
              `finetune: the loss is ${r.loss} in epoch ${epoch + 1} at step ${step} (learning rate ${curLr.toPrecision(3)}; try a lower one); stopped with the last good weights${kept ? `, last checkpoint ${kept} kept` : ''}`,
            );
          }
          optimizer.apply(vars, r.grads, curLr);
          for (const g of r.grads) g.dispose();
          graph.applyMasks();
          graph.applyStats(r.stats);
          step++;
          steps++;
          seen += n;
          lossSum += r.loss * n;
          if (b.y) {
            correctSum += r.correct;
            labelled += n;
          }
          const secs = (performance.now() - te) / 1000;
          task.tick(1, `loss ${fmt(lossSum / seen)}${labelled ? ` acc ${((100 * correctSum) / labelled).toFixed(1)}%` : ''} ${(steps / secs).toFixed(1)} steps/s`);
        }
      } finally {
        pending.then(() => {}, () => {});
      }
      const trainSecs = (performance.now() - te) / 1000;
      task.done();
      const rec: EpochRecord = {
        epoch: epoch + 1,
        steps,
        lr: curLr,
        trainLoss: lossSum / Math.max(1, seen),
        trainAccuracy: labelled ? correctSum / labelled : undefined,
        seconds: 0,
        stepsPerSecond: steps / Math.max(1e-9, trainSecs),
        sparsity,
        backend: backend.name,
      };
      if (opts.val) {
        const ev = await evaluateGraph(graph, opts.val, { batchSize: Math.max(batchSize, 64), limit: opts.valLimit, teacher, temperature: opts.temperature ?? 4 });
        rec.valLoss = ev.loss;
        rec.valAccuracy = ev.accuracy;
      }
      rec.seconds = (performance.now() - te) / 1000;
      history.push(rec);
      opts.onEpoch?.(rec);
      if (opts.log) appendFileSync(opts.log, `${JSON.stringify(rec)}\n`);
      logger.info(
        `epoch ${rec.epoch}/${epochs}: loss ${fmt(rec.trainLoss)}${rec.trainAccuracy !== undefined ? ` acc ${(100 * rec.trainAccuracy).toFixed(2)}%` : ''}` +
          `${rec.valAccuracy !== undefined ? `  val acc ${(100 * rec.valAccuracy).toFixed(2)}%` : ''}${rec.valLoss !== undefined ? ` val loss ${fmt(rec.valLoss)}` : ''}` +
          `  ${rec.stepsPerSecond.toFixed(1)} steps/s (${backend.name})`,
      );
      let improved = false;
      if (metric) {
        const v = rec[metric]!;
        if (!best || better(v, best.value)) {
          best = { epoch: rec.epoch, metric, value: v };
          improved = true;
          sinceBest = 0;
          if (opts.restoreBest !== false) bestWeights = graph.snapshot();
        } else sinceBest++;
      }
      await saveLast(epoch + 1, true);
      if (improved && opts.checkpointDir) await saveCheckpoint(opts.checkpointDir, 'best', model, stateOf(epoch + 1, true));
      if (opts.earlyStopping && metric && sinceBest >= opts.earlyStopping.patience && epoch + 1 < epochs) {
        logger.info(`early stopping: no improvement of ${metric} for ${sinceBest} epoch(s); best epoch ${best!.epoch}`);
        stopped = 'early-stopping';
        break;
      }
    }
    if (bestWeights && best && history.at(-1)?.epoch !== best.epoch) graph.restore(bestWeights);
    graph.writeBack(model);
    const masked = graph.params.filter((p) => p.mask);
    let pruned = 0;
    for (const p of masked) for (const m of graph.readMask(p) ?? []) if (!m) pruned++;
    return {
      model,
      backend: backend.name,
      backendNotes: backend.notes,
      epochs: history,
      steps: step,
      stopped,
      best,
      resumedFrom,
      checkpoint: lastCheckpoint ?? (opts.checkpointDir ? join(opts.checkpointDir, 'last.onnx') : undefined),
      seconds: (performance.now() - t0) / 1000,
      trainable: { tensors: trainParams.length, params: trainParams.reduce((a, p) => a + p.variable.size, 0), masked: masked.length, pruned },
      teacher: teacher?.kind,
      workers: helper ? 2 : 1,
    };
  } finally {
    optimizer.dispose();
    await teacher?.dispose();
    await cleanup?.();
    graph.dispose();
  }
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

/** Number of classes: the last dim of the output for one sample (the output must be [N, K]). */
function probeClasses(graph: TfGraph, d: Dataset): number {
  const tf = graph.tf;
  const shape = [1, ...d.sampleShape];
  const out = tf.tidy(() => graph.forward(tf.zeros(shape), { training: false }).outputs[graph.outputNames[0]!]!.shape);
  if (out.length !== 2) throw new ShearsError('E_DATA', `finetune: output ${graph.outputNames[0]} is ${out.join('x')}; classification losses need [N, classes]`);
  return out[1]!;
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
export async function evaluateGraph(graph: TfGraph, data: Dataset, o: { batchSize?: number; limit?: number; teacher?: Teacher; temperature?: number } = {}): Promise<GraphEvalResult> {
  const tf = graph.tf;
  const name = graph.outputNames[0]!;
  let samples = 0;
  let lossSum = 0;
  let right = 0;
  let labelled = 0;
  let lossCount = 0;
  for await (const b of data.batches(o.batchSize ?? 64, { limit: o.limit })) {
    const n = b.dims[0]!;
    const t = !b.y && o.teacher ? await o.teacher.run(b.x, b.dims) : undefined;
    const [l, c] = tf.tidy(() => {
      const logits = graph.forward(tf.tensor(b.x, b.dims, 'float32'), { training: false }).outputs[name]!;
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
