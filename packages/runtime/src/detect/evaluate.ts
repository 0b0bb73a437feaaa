import { ShearsError, type Model } from '@shears/core';
import { primaryInput } from '../feeds.js';
import { Session, type RuntimeOptions } from '../session.js';
import { decodeDetections, detectorLayout, type DecodeOptions, type DetectorFormat, type DetectorLayout } from './decode.js';
import { computeMap, type ImageDetections, type MapResult } from './map.js';
import { letterbox, listYoloImages, readYoloSample, type YoloSample } from './yolo.js';

export interface DetectEvalOptions extends RuntimeOptions, DecodeOptions {
  /** Stop after this many images. */
  limit?: number;
  /** Detections per image and class scored by mAP (COCOeval maxDets). Default 100. */
  mapMaxDets?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface DetectEvalResult extends MapResult {
  images: number;
  /** Ground-truth boxes over all images. */
  boxes: number;
  numClasses: number;
  format: DetectorFormat;
}

/** The detector's raw output for one letterboxed image. */
export interface DetectorOutput {
  data: Float32Array;
  dims: readonly number[];
}

/**
 * Runs the detector on one letterboxed `[1, 3, H, W]` image (NCHW float in
 * [0, 1], a buffer reused between calls): any runtime (onnxruntime, LiteRT…).
 */
export type DetectorRun = (input: Float32Array) => Promise<DetectorOutput>;

/** The model's input height and width (NCHW, batch 1 or dynamic). */
export function detectionInputSize(model: Model, name = primaryInput(model).name): { height: number; width: number } {
  const shape = model.graph.inputs.find((v) => v.name === name)?.shape;
  const [, c, h, w] = shape ?? [];
  if (shape?.length !== 4 || typeof h !== 'number' || typeof w !== 'number') {
    throw new ShearsError('E_DYNAMIC_SHAPE', `input ${name} has shape [${(shape ?? []).join(', ')}]; detection evaluation needs a static [1, 3, H, W] input (give one with --input-shape ${name}:1x3x640x640)`);
  }
  if (c !== 3 && typeof c === 'number') throw new ShearsError('E_DATA', `input ${name} has ${c} channels; detection evaluation feeds RGB images (3 channels, NCHW)`);
  return { height: h, width: w };
}

/** Phase: check ground-truth class ids against the model's class count. */
function checkClasses(s: YoloSample, numClasses: number | null): void {
  if (numClasses === null) return;
  for (let i = 0; i < s.classes.length; i++) {
    if (s.classes[i]! >= numClasses) {
      throw new ShearsError('E_DATA', `${s.labelFile}:${s.lines[i]}: class ${s.classes[i]} is outside the model's ${numClasses} classes (0-${numClasses - 1})`, { file: s.labelFile ?? undefined });
    }
  }
}

/**
 * The first image of a YOLO folder, letterboxed to `height`×`width` as
 * evaluation feeds it: a real input for latency benchmarks.
 */
export function letterboxedImage(folder: string, height: number, width: number): Float32Array {
  const [first] = listYoloImages(folder);
  return letterbox(readYoloSample(first!, folder).pixels, height, width).data;
}

/**
 * COCO mAP of any detector runtime on a YOLO folder: each image letterboxed
 * to `size`, given to `run`, its output decoded (class-aware NMS, or as it
 * is for end-to-end outputs) and mapped back to the original image.
 * `outputShape`, when static and known, is checked before any image runs.
 */
export async function evaluateDetectionWith(
  run: DetectorRun,
  size: { height: number; width: number },
  folder: string,
  opts: DetectEvalOptions & { outputShape?: readonly (number | string | null | undefined)[]; outputName?: string } = {},
): Promise<DetectEvalResult> {
  const where = `model output '${opts.outputName ?? 'output'}'`;
  const known = opts.outputShape && opts.outputShape.every((d) => typeof d === 'number');
  let layout: DetectorLayout | null = known ? detectorLayout(opts.outputShape!, where) : null;
  const entries = listYoloImages(folder).slice(0, opts.limit ?? Infinity);
  const dets: ImageDetections[] = [];
  const gts: YoloSample[] = [];
  const input = new Float32Array(3 * size.height * size.width);
  for (const entry of entries) {
    opts.signal?.throwIfAborted();
    const { sample, pixels } = readYoloSample(entry, folder);
    const lb = letterbox(pixels, size.height, size.width, input);
    const out = await run(lb.data);
    layout ??= detectorLayout(out.dims, where);
    checkClasses(sample, layout.numClasses);
    dets.push(decodeDetections(out.data, out.dims, lb.box, opts));
    gts.push(sample);
    opts.onProgress?.(gts.length, entries.length);
  }
  return scoreDetections(dets, gts, layout!, folder, opts.mapMaxDets);
}

/** Phase: mAP over all images, with the class count from the layout (or the ids seen, for end-to-end outputs). */
function scoreDetections(dets: ImageDetections[], gts: YoloSample[], layout: DetectorLayout, folder: string, maxDets: number | undefined): DetectEvalResult {
  let numClasses = layout.numClasses ?? 0;
  if (layout.numClasses == null) for (const s of [...dets, ...gts]) for (const c of s.classes) numClasses = Math.max(numClasses, c + 1);
  const r = computeMap(dets, gts, { numClasses, maxDets });
  const boxes = gts.reduce((n, s) => n + s.classes.length, 0);
  if (boxes === 0) throw new ShearsError('E_DATA', `${folder}: no labelled objects in ${gts.length} images (an image without a label file has no objects), so mAP is undefined`);
  return { ...r, images: gts.length, boxes, numClasses, format: layout.format };
}

/**
 * COCO-style mAP@0.5 and mAP@0.5:0.95 of a detector on a YOLO-format folder
 * (`images/` + `labels/<name>.txt`). Images are letterboxed to the model input;
 * Ultralytics-style outputs are decoded with class-aware NMS, end-to-end
 * `[1, N, 6]` outputs as they are; boxes are mapped back to the original image.
 */
export async function evaluateDetection(model: Model, folder: string, opts: DetectEvalOptions = {}): Promise<DetectEvalResult> {
  const { name } = primaryInput(model);
  const size = detectionInputSize(model, name);
  const out0 = model.graph.outputs[0]!;
  const outName = out0.name;
  if (out0.shape && out0.shape.every((d) => typeof d === 'number')) detectorLayout(out0.shape, `model output '${outName}'`);
  listYoloImages(folder); // a bad folder fails before the session is built
  const session = await Session.create(model, opts);
  try {
    const dims = [1, 3, size.height, size.width];
    const run: DetectorRun = async (data) => {
      const out = (await session.run({ [name]: { dims, data } }, [outName]))[outName]!;
      return { data: out.data as Float32Array, dims: out.dims };
    };
    return await evaluateDetectionWith(run, size, folder, { ...opts, outputShape: out0.shape, outputName: outName });
  } finally {
    await session.release();
  }
}
