import { dirname, join } from 'node:path';
import { pipeline, ShearsError, StateBag } from '@shears/core';
import { FINETUNE_DATA, FINETUNE_VAL, finetunePlugin, parseIterativeSchedule, parseKdSlice, parseRewind, TEACHER, type FinetunePluginOptions, type RoundRecord } from '@shears/finetune';
import { onnxWrite } from '@shears/onnx';
import { needOne, numberOption, parse, parseInputShapes } from '../args.js';
import { pct } from '../format.js';
import { createLogger, createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { datasetFor } from './shared.js';
import type { Command } from './types.js';

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'Fine-tune a pruned model in tfjs (pruned weights stay zero), optionally distilling from the dense model',
  usage:
    'shears finetune <pruned.onnx> -o <tuned.onnx> --data <train> [--val <data>] [--teacher dense.onnx --alpha 0.7 --temperature 4] [--kd outputs --kd-slice output0:4:84] [--epochs N] [--lr x] [--json]',
  help: [
    ['-o, --output <file>', 'fine-tuned model (never the input; written atomically)'],
    ['--data <spec>', 'training data: file.npz (x, y), MNIST-style IDX (dir:train), an image folder (class sub-folders, or flat: no labels); without labels, --teacher is needed'],
    ['--resize <letterbox|stretch|crop>', 'image folders: fit images to the input size (default letterbox for flat folders, stretch for class folders)'],
    ['--val <spec>', 'evaluated after every epoch (accuracy, early stopping, best checkpoint)'],
    ['--teacher <dense.onnx>', 'distill from this model (KL on temperature-softened logits)'],
    ['--alpha <a>', 'weight of the distillation term: a·KD + (1-a)·CE (default 0.7)'],
    ['--temperature <T>', 'distillation temperature (default 4)'],
    ['--kd <auto|logits|outputs>', "outputs: match every raw output of the teacher (detectors, segmenters, OCR; labels unused); logits: KL on a classifier's logits; auto (default): outputs when the data has no labels and the model is not a classifier"],
    ['--kd-loss <mse|smooth-l1>', 'output matching loss per output, in units of the teacher\'s per-channel spread (default mse)'],
    ['--kd-slice <out:start:end[:mode]>', 'class scores in an output (axis 1, e.g. output0:4:84 for YOLO), matched with KL: sigmoid (binary, the default when the teacher\'s values are in [0,1]) or softmax; repeatable'],
    ['--kd-normalize <channel|output|none>', 'scale of the output differences: the teacher\'s per-channel input-driven std (default), one std per output, or none'],
    ['--features <a,b>', 'also match these intermediate tensors of student and teacher (MSE)'],
    ['--epochs <n>', 'passes over the training data (default 1)'],
    ['--batch-size <n>', 'samples per step (default 32)'],
    ['--lr <x>', 'learning rate (default 0.01 for sgd, 0.001 for adam/adamw)'],
    ['--optimizer <sgd|adam|adamw>', 'default sgd (momentum 0.9)'],
    ['--momentum <m>', 'SGD momentum'],
    ['--weight-decay <w>', 'L2 (sgd, adam) or decoupled (adamw) weight decay'],
    ['--schedule <constant|cosine|step|iterative:k>', 'learning-rate schedule (default constant), or iterative:k: k rounds of global magnitude pruning to --sparsity then --epochs epochs of training each (lottery-ticket IMP)'],
    ['--sparsity <s>', 'iterative:k: final fraction of prunable weights at zero (each round removes the same fraction of the remaining ones)'],
    ['--rewind <lr|weights:N>', 'iterative:k, between rounds: lr (default) keeps the weights and replays the learning-rate schedule; weights:N rewinds the survivors to step N of round 1'],
    ['--lr-schedule <constant|cosine|step>', 'the learning-rate schedule when --schedule is iterative:k'],
    ['--warmup <steps>', 'linear learning-rate warm-up'],
    ['--augment <flip,crop=N>', 'random horizontal flips and/or random crops after padding N pixels'],
    ['--bn <train|freeze>', 'BatchNormalization: batch statistics with running-stat updates, or frozen'],
    ['--masks <auto|mask|zeros|none>', 'which weights stay zero (default auto: pruned weights of prunable layers)'],
    ['--patience <n>', 'early stopping after n epochs without validation improvement'],
    ['--checkpoint-dir <dir>', 'last.onnx/best.onnx after each epoch and on Ctrl-C (default <output>.ckpt)'],
    ['--resume', 'continue from <checkpoint-dir>/last.onnx'],
    ['--log <file>', 'append one JSON line per epoch'],
    ['--backend <auto|node|wasm|cpu>', 'tfjs backend (auto: tfjs-node when installed, else wasm)'],
    ['--workers <1|2|auto>', 'wasm/cpu: 2 puts a worker thread on half of every batch (data parallel; tfjs-node ignores it); auto (default): 2 when a step is big enough'],
    ['--limit <n>', 'use at most n training samples per epoch'],
    ['--seed <n>', 'shuffling and augmentation seed'],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
  ],
  examples: [
    'shears finetune pruned.onnx -o tuned.onnx --data train.npz --val val.npz --teacher dense.onnx --epochs 3',
    'shears finetune pruned.onnx -o tuned.onnx --data /usr/share/datasets/fashion-mnist:train --teacher dense.onnx --optimizer adam --lr 0.003 --batch-size 128 --json',
    'shears finetune dense.onnx -o ticket.onnx --data train.npz --val val.npz --schedule iterative:3 --sparsity 0.9 --rewind lr --epochs 1',
    'shears finetune yolo-pruned.onnx -o tuned.onnx --teacher yolo.onnx --data images/ --kd-slice output0:4:84 --optimizer adam --lr 0.001',
  ],
  options: {
    output: { type: 'string', short: 'o' },
    data: { type: 'string' },
    val: { type: 'string' },
    teacher: { type: 'string' },
    alpha: { type: 'string' },
    temperature: { type: 'string' },
    features: { type: 'string' },
    kd: { type: 'string' },
    'kd-loss': { type: 'string' },
    'kd-slice': { type: 'string', multiple: true },
    'kd-normalize': { type: 'string' },
    resize: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    optimizer: { type: 'string' },
    momentum: { type: 'string' },
    'weight-decay': { type: 'string' },
    schedule: { type: 'string' },
    sparsity: { type: 'string' },
    rewind: { type: 'string' },
    'lr-schedule': { type: 'string' },
    warmup: { type: 'string' },
    augment: { type: 'string' },
    bn: { type: 'string' },
    masks: { type: 'string' },
    patience: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'boolean' },
    log: { type: 'string' },
    backend: { type: 'string' },
    workers: { type: 'string' },
    limit: { type: 'string' },
    seed: { type: 'string' },
    'input-shape': { type: 'string', multiple: true },
  },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('finetune', argv, this.options);
    const file = needOne('finetune', positionals, 'model file');
    const output = values.output as string | undefined;
    if (!output) throw new ShearsError('E_OPTION', 'finetune: option -o/--output is required', { option: 'output' });
    if (!values.data) throw new ShearsError('E_OPTION', 'finetune: option --data is required (training samples)', { option: 'data' });
    const num = (name: string, check?: (n: number) => string | undefined) => numberOption('finetune', name, values[name], check);
    const positive = (n: number) => (n > 0 ? undefined : 'must be positive');
    const int = (n: number) => (Number.isInteger(n) && n >= 0 ? undefined : 'must be a non-negative integer');
    const inputShapes = parseInputShapes(values['input-shape'] as string[] | undefined);
    const choice = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
      const v = values[name] as string | undefined;
      if (v !== undefined && !allowed.includes(v as T)) throw new ShearsError('E_OPTION', `finetune: option --${name}: must be ${allowed.join(', ')} (got ${v})`, { option: name });
      return v as T | undefined;
    };
    const resize = choice('resize', ['letterbox', 'stretch', 'crop'] as const);
    const iterative = iterativeOptions(values, num);
    const kdSlices = ((values['kd-slice'] as string[] | undefined) ?? []).map(parseKdSlice);
    const model = await loadModel(file, { inputShapes });
    const state = new StateBag();
    state.set(FINETUNE_DATA, await datasetFor(model, values.data as string, { resize }));
    if (values.val) state.set(FINETUNE_VAL, await datasetFor(model, values.val as string, { resize }));
    if (values.teacher) state.set(TEACHER, await loadModel(values.teacher as string, { inputShapes }));
    const opts: FinetunePluginOptions = {
      alpha: num('alpha'),
      temperature: num('temperature', positive),
      features: values.features ? String(values.features).split(',').filter(Boolean) : undefined,
      kd: choice('kd', ['auto', 'logits', 'outputs'] as const),
      kdLoss: choice('kd-loss', ['mse', 'smooth-l1'] as const),
      kdNormalize: choice('kd-normalize', ['channel', 'output', 'none'] as const),
      kdSlices: kdSlices.length ? kdSlices : undefined,
      epochs: num('epochs', int),
      batchSize: num('batch-size', positive),
      lr: num('lr', positive),
      optimizer: values.optimizer as FinetunePluginOptions['optimizer'],
      momentum: num('momentum'),
      weightDecay: num('weight-decay'),
      lrSchedule: choice('lr-schedule', ['constant', 'cosine', 'step'] as const) ?? (iterative.schedule ? undefined : (values.schedule as FinetunePluginOptions['lrSchedule'])),
      ...iterative,
      warmupSteps: num('warmup', int),
      augment: values.augment ? parseAugment(String(values.augment)) : undefined,
      bn: values.bn as FinetunePluginOptions['bn'],
      masks: values.masks as FinetunePluginOptions['masks'],
      earlyStopping: values.patience !== undefined ? { patience: num('patience', positive)! } : undefined,
      checkpointDir: (values['checkpoint-dir'] as string | undefined) ?? join(dirname(output), `${output.split(/[\\/]/).pop()}.ckpt`),
      resume: Boolean(values.resume),
      log: values.log as string | undefined,
      backend: values.backend as FinetunePluginOptions['backend'],
      workers: values.workers === 'auto' ? 'auto' : num('workers', (n) => (n === 1 || n === 2 ? undefined : 'must be 1, 2 or auto')),
      limit: num('limit', positive),
      seed: num('seed'),
    };
    for (const k of Object.keys(opts) as (keyof typeof opts)[]) if (opts[k] === undefined) delete opts[k];
    const plugin = finetunePlugin(opts);
    const t0 = performance.now();
    const r = await pipeline(plugin, onnxWrite({ out: output })).run(model, {
      logger: createLogger(io),
      progress: createProgress(io),
      protect: [file],
      state,
      signal: io.signal,
    });
    const d = (r.steps[0]!.details ?? {}) as Record<string, any>;
    const epochs = (d.epochs ?? []) as { epoch: number; trainLoss: number; valAccuracy?: number; stepsPerSecond: number }[];
    const report = { input: file, output, seconds: (performance.now() - t0) / 1000, ...d };
    if (io.json) return printJson(io, report);
    const last = epochs.at(-1);
    out(
      io,
      `fine-tuned ${epochs.length} epoch(s) on ${d.backend}${d.teacher ? ` with a teacher (${d.teacher === 'ort' ? 'onnxruntime' : 'tfjs'}${d.kd === 'outputs' ? ', matching its outputs' : ''})` : ''}: ${d.steps} steps` +
        `${last ? `, ${last.stepsPerSecond.toFixed(1)} steps/s, loss ${last.trainLoss.toFixed(4)}` : ''}` +
        `${last?.valAccuracy !== undefined ? `, val accuracy ${pct(last.valAccuracy, 2)}` : ''}`,
    );
    for (const rd of (d.rounds ?? []) as RoundRecord[])
      out(io, `  round ${rd.round}: sparsity ${pct(rd.sparsity, 2)}${rd.valAccuracy !== undefined ? `, val accuracy ${pct(rd.valAccuracy, 2)}` : ''}${rd.round > 1 ? ` (rewind ${d.rewind})` : ''}`);
    out(io, `wrote ${output} in ${report.seconds.toFixed(1)}s`);
  },
};

/**
 * --schedule iterative:k with --sparsity and --rewind (lottery-ticket IMP);
 * --sparsity/--rewind without it, or k < 1, are usage errors.
 */
function iterativeOptions(values: Record<string, unknown>, num: (name: string, check?: (n: number) => string | undefined) => number | undefined): Pick<FinetunePluginOptions, 'schedule' | 'sparsity' | 'rewind'> {
  const schedule = values.schedule as string | undefined;
  if (!schedule?.startsWith('iterative')) {
    const extra = values.rewind !== undefined ? 'rewind' : values.sparsity !== undefined ? 'sparsity' : undefined;
    if (extra) throw new ShearsError('E_OPTION', `finetune: option --${extra} needs --schedule iterative:<rounds> (iterative magnitude pruning), e.g. --schedule iterative:3 --sparsity 0.9`, { option: extra });
    return {};
  }
  parseIterativeSchedule(schedule);
  const sparsity = num('sparsity', (n) => (n >= 0 && n < 1 ? undefined : 'must be in [0, 1)'));
  if (sparsity === undefined) throw new ShearsError('E_OPTION', 'finetune: --schedule iterative:k needs --sparsity (the final fraction of prunable weights at zero, e.g. 0.9)', { option: 'sparsity' });
  const rewind = values.rewind as string | undefined;
  if (rewind !== undefined) parseRewind(rewind);
  return { schedule, sparsity, ...(rewind !== undefined ? { rewind } : {}) };
}

function parseAugment(spec: string): { flip?: boolean; crop?: number } {
  const o: { flip?: boolean; crop?: number } = {};
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, v] = part.split('=');
    if (k === 'flip') o.flip = true;
    else if (k === 'crop' && v !== undefined && /^\d+$/.test(v)) o.crop = Number(v);
    else throw new ShearsError('E_OPTION', `finetune: option --augment: '${part}' is not flip or crop=N`, { option: 'augment' });
  }
  return o;
}
