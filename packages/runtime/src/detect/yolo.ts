import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { ShearsError } from '@shears/core';
import { decodeImage, letterboxGeometry, writePixels, type RgbaImage } from '@shears/data';
import type { Letterbox } from './decode.js';
import type { ImageGroundTruth } from './map.js';

/** One image of a YOLO-format folder and its ground truth (original-image pixels). */
export interface YoloSample extends ImageGroundTruth {
  image: string;
  /** The label file, or null when the image has none (no objects, YOLO's convention). */
  labelFile: string | null;
  /** 1-based line of each box in the label file. */
  lines: Int32Array;
}

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png']);

/** `<root>/images` and `<root>/labels`; `root` may also be the images folder itself. */
function yoloDirs(root: string): { images: string; labels: string } {
  if (existsSync(join(root, 'images')) && statSync(join(root, 'images')).isDirectory()) return { images: join(root, 'images'), labels: join(root, 'labels') };
  if (basename(root) === 'images' && existsSync(root)) return { images: root, labels: join(dirname(root), 'labels') };
  throw new ShearsError('E_DATA', `${root}: not a YOLO-format folder; expected ${join(root, 'images')}/ (JPEG/PNG) and ${join(root, 'labels')}/<name>.txt`);
}

/** Parse one label file: `class cx cy w h` per line, normalized to the image size. */
export function parseYoloLabels(text: string, file: string, width: number, height: number): { boxes: Float64Array; classes: Int32Array; lines: Int32Array } {
  const rows = text.split(/\r?\n/);
  const boxes: number[] = [];
  const classes: number[] = [];
  const lines: number[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.trim();
    if (row === '') continue;
    const where = `${file}:${i + 1}`;
    const f = row.split(/\s+/);
    if (f.length !== 5) throw new ShearsError('E_DATA', `${where}: expected "class cx cy w h" (5 numbers), found ${f.length} field${f.length === 1 ? '' : 's'}${f.length > 5 ? ' (segment polygons are not supported)' : ''}`, { file });
    const v = f.map(Number);
    if (!Number.isInteger(v[0]) || v[0]! < 0) throw new ShearsError('E_DATA', `${where}: class "${f[0]}" is not a non-negative integer`, { file });
    for (let k = 1; k < 5; k++) {
      if (!Number.isFinite(v[k]) || v[k]! < 0 || v[k]! > 1) throw new ShearsError('E_DATA', `${where}: "${f[k]}" is not a number in [0, 1] (YOLO labels are normalized cx cy w h)`, { file });
    }
    const [c, cx, cy, w, h] = v as [number, number, number, number, number];
    boxes.push((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height);
    classes.push(c);
    lines.push(i + 1);
  }
  return { boxes: Float64Array.from(boxes), classes: Int32Array.from(classes), lines: Int32Array.from(lines) };
}

/** The images of a YOLO-format folder (recursive, sorted) and where their label files are. */
export function listYoloImages(root: string): { image: string; label: string }[] {
  const dirs = yoloDirs(root);
  const rels = (readdirSync(dirs.images, { recursive: true }) as string[]).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
  if (rels.length === 0) throw new ShearsError('E_DATA', `${dirs.images}: no JPEG or PNG images`);
  return rels.map((r) => ({ image: join(dirs.images, r), label: join(dirs.labels, `${r.slice(0, -extname(r).length)}.txt`) }));
}

/** Read one image and its labels; a missing label file means no objects. */
export function readYoloSample(entry: { image: string; label: string }, root = ''): { sample: YoloSample; pixels: RgbaImage } {
  const pixels = decodeImage(new Uint8Array(readFileSync(entry.image)), entry.image);
  const has = existsSync(entry.label);
  const shown = root ? relative(root, entry.label) : entry.label;
  const gt = has ? parseYoloLabels(readFileSync(entry.label, 'utf8'), shown, pixels.width, pixels.height) : { boxes: new Float64Array(0), classes: new Int32Array(0), lines: new Int32Array(0) };
  return { sample: { image: entry.image, labelFile: has ? entry.label : null, ...gt }, pixels };
}

/**
 * Letterbox `img` into a `height`×`width` RGB NCHW float input in [0, 1]:
 * aspect-preserving bilinear resize, centered, gray (114) padding — as
 * Ultralytics' validation preprocessing does. The pixels are @shears/data's
 * `resize: 'letterbox'` (the same as a letterboxed flat image folder). Returns where the image went.
 */
export function letterbox(img: RgbaImage, height: number, width: number, out = new Float32Array(3 * height * width)): { data: Float32Array; box: Letterbox } {
  writePixels(img, out, 0, { height, width, channels: 3, layout: 'nchw', mean: [0, 0, 0], std: [1, 1, 1], resize: 'letterbox', cropFraction: 1 });
  const g = letterboxGeometry(img.width, img.height, width, height);
  return { data: out, box: { scale: g.scale, padX: g.padX, padY: g.padY, width: img.width, height: img.height } };
}
