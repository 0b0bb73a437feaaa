import { ShearsError, type Model } from '@shears/core';
import { primaryInput } from '../feeds.js';
import { Session, type RuntimeOptions } from '../session.js';
import { decodeDetections, detectorLayout, type DecodeOptions, type DetectorFormat } from './decode.js';
import { computeMap, type ImageDetections, type MapResult } from './map.js';
import { letterbox, listYoloImages, readYoloSample, type YoloSample } from './yolo.js';

export interface DetectEvalOptions extends RuntimeOptions, DecodeOptions {
  /** Stop after this many images. */
  limit?: number;
  /** Detections per image and class scored by mAP (COCOeval maxDets). Default 100. */
  mapMaxDets?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface DetectEvalResult extends MapResult {
  images: number;
  /** Ground-truth boxes over all images. */
  boxes: number;
  numClasses: number;
  format: DetectorFormat;
}

/** The model's input height and width (NCHW, batch 1 or dynamic). */
function inputSize(model: Model, name: string): { height: number; width: number } {
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
 * COCO-style mAP@0.5 and mAP@0.5:0.95 of a detector on a YOLO-format folder
 * (`images/` + `labels/<name>.txt`). Images are letterboxed to the model input;
 * Ultralytics-style outputs are decoded with class-aware NMS, end-to-end
 * `[1, N, 6]` outputs as they are; boxes are mapped back to the original image.
 */
export async function evaluateDetection(model: Model, folder: string, opts: DetectEvalOptions = {}): Promise<DetectEvalResult> {
  const { name } = primaryInput(model);
  const { height, width } = inputSize(model, name);
  const outName = model.graph.outputs[0]!.name;
  const staticShape = model.graph.outputs[0]!.shape;
  let layout = staticShape && staticShape.every((d) => typeof d === 'number') ? detectorLayout(staticShape, `model output '${outName}'`) : null;
  const entries = listYoloImages(folder).slice(0, opts.limit ?? Infinity);
  const session = await Session.create(model, opts);
  const dets: ImageDetections[] = [];
  const gts: YoloSample[] = [];
  const input = new Float32Array(3 * height * width);
  try {
    for (const entry of entries) {
      const { sample, pixels } = readYoloSample(entry, folder);
      const lb = letterbox(pixels, height, width, input);
      const out = (await session.run({ [name]: { dims: [1, 3, height, width], data: lb.data } }, [outName]))[outName]!;
      layout ??= detectorLayout(out.dims, `model output '${outName}'`);
      checkClasses(sample, layout.numClasses);
      dets.push(decodeDetections(out.data as Float32Array, out.dims, lb.box, opts));
      gts.push(sample);
      opts.onProgress?.(gts.length, entries.length);
    }
  } finally {
    await session.release();
  }
  let numClasses = layout?.numClasses ?? 0;
  if (layout?.numClasses == null) for (const s of [...dets, ...gts]) for (const c of s.classes) numClasses = Math.max(numClasses, c + 1);
  const r = computeMap(dets, gts, { numClasses, maxDets: opts.mapMaxDets });
  const boxes = gts.reduce((n, s) => n + s.classes.length, 0);
  if (boxes === 0) throw new ShearsError('E_DATA', `${folder}: no labelled objects in ${gts.length} images (an image without a label file has no objects), so mAP is undefined`);
  return { ...r, images: gts.length, boxes, numClasses, format: layout!.format };
}
