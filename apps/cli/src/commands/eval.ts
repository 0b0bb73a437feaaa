import { ShearsError, type Model } from '@shears/core';
import { evaluate, evaluateDetection, type DetectEvalResult } from '@shears/runtime';
import { needOne, numberOption, parse, parseInputShapes } from '../args.js';
import { pct } from '../format.js';
import { createProgress, out, printJson, type CliIO } from '../io.js';
import { loadModel } from '../load.js';
import { datasetFor } from './shared.js';
import type { Command } from './types.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Top-1 and top-5 accuracy of a classifier, or COCO mAP of a detector, on labelled data',
  usage: 'shears eval <model.onnx> --data <data> [--task classify|detect] [--limit N] [--json]',
  help: [
    ['--data <spec>', 'labelled data: file.npz (x, y), MNIST-style IDX, or an image folder with class sub-folders; with --task detect, a YOLO folder (images/ + labels/<name>.txt)'],
    ['--task <task>', 'classify (default: top-1/top-5) or detect (COCO mAP@0.5 and mAP@0.5:0.95)'],
    ['--conf <x>', 'detect: drop boxes scoring at or below x before NMS (default 0.001)'],
    ['--iou <x>', 'detect: NMS IoU threshold (default 0.7)'],
    ['--limit <n>', 'evaluate at most n samples'],
    ['--batch-size <n>', 'samples per run (a fixed model batch wins)'],
    ['--threads <n>', 'onnxruntime intra-op threads'],
    ['--input-shape <name:AxBxC>', 'static size for a dynamic input'],
  ],
  examples: ['shears eval model.onnx --data val.npz', 'shears eval mnist.onnx --data /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz --json', 'shears eval yolo.onnx --task detect --data datasets/val'],
  options: { data: { type: 'string' }, task: { type: 'string' }, conf: { type: 'string' }, iou: { type: 'string' }, limit: { type: 'string' }, 'batch-size': { type: 'string' }, threads: { type: 'string' }, 'input-shape': { type: 'string', multiple: true } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('eval', argv, this.options);
    const file = needOne('eval', positionals, 'model file');
    if (!values.data) throw new ShearsError('E_OPTION', 'eval: option --data is required (labelled samples to score)', { option: 'data' });
    const positive = (n: number) => (Number.isInteger(n) && n > 0 ? undefined : 'must be a positive integer');
    const limit = numberOption('eval', 'limit', values.limit, positive);
    const batchSize = numberOption('eval', 'batch-size', values['batch-size'], positive);
    const threads = numberOption('eval', 'threads', values.threads, positive);
    const taskName = (values.task as string | undefined) ?? 'classify';
    if (taskName !== 'classify' && taskName !== 'detect') throw new ShearsError('E_OPTION', `eval: --task must be classify or detect, got "${taskName}"`, { option: 'task' });
    const model = await loadModel(file, { inputShapes: parseInputShapes(values['input-shape'] as string[] | undefined) });
    if (taskName === 'detect') return evalDetect(model, values, { limit, threads }, io);
    const data = await datasetFor(model, values.data as string);
    const task = createProgress(io).start('eval', Math.min(data.size, limit ?? Infinity));
    let last = 0;
    const r = await evaluate(model, data, { limit, batchSize, threads, onProgress: (done) => (task.tick(done - last), (last = done)) });
    task.done();
    if (io.json) return printJson(io, r);
    out(io, `accuracy ${pct(r.accuracy, 2)}  top-5 ${pct(r.top5, 2)}  on ${r.samples} samples`);
  },
};

const unit = (n: number) => (n >= 0 && n <= 1 ? undefined : 'must be a number in [0, 1]');

/** `--task detect`: COCO mAP of a detector on a YOLO-format folder. */
async function evalDetect(model: Model, values: Record<string, unknown>, o: { limit?: number; threads?: number }, io: CliIO): Promise<void> {
  const conf = numberOption('eval', 'conf', values.conf, unit);
  const iou = numberOption('eval', 'iou', values.iou, unit);
  const task = createProgress(io).start('eval');
  let last = 0;
  const r: DetectEvalResult = await evaluateDetection(model, values.data as string, { ...o, conf, iou, onProgress: (done) => (task.tick(done - last), (last = done)) });
  task.done();
  if (io.json) {
    const num = (x: number) => (Number.isNaN(x) ? null : x);
    const perClass = Array.from(r.ap, (ap, c) => ({ class: c, ap: num(ap), ap50: num(r.ap50[c]!), gt: r.gtCount[c]!, detections: r.dtCount[c]! }));
    return printJson(io, { map50: r.map50, map: r.map, images: r.images, boxes: r.boxes, classes: r.numClasses, format: r.format, perClass });
  }
  out(io, `mAP@0.5 ${pct(r.map50, 2)}  mAP@0.5:0.95 ${pct(r.map, 2)}  on ${r.images} images (${r.boxes} boxes)`);
}
