/** Image decoding (PNG via pngjs, JPEG via jpeg-js) and resampling into typed arrays. */
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';
import { dataError, reason } from './errors.js';

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, 8 bits per channel, row-major. */
  data: Uint8Array;
}

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}
export function isJpeg(b: Uint8Array): boolean {
  return b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

/** Decode a PNG or JPEG (sniffed from the bytes, not the extension). Errors name `file`. */
export function decodeImage(bytes: Uint8Array, file: string): RgbaImage {
  let img: RgbaImage;
  try {
    if (isPng(bytes)) {
      const p = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      img = { width: p.width, height: p.height, data: p.data };
    } else if (isJpeg(bytes)) {
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      img = { width: j.width, height: j.height, data: j.data };
    } else {
      throw dataError(file, `unreadable image: not a PNG or JPEG file${bytes.length === 0 ? ' (empty)' : ''}`);
    }
  } catch (e) {
    if ((e as { code?: string }).code === 'E_DATA') throw e;
    const kind = isPng(bytes) ? 'PNG' : 'JPEG';
    let why = reason(e);
    if (/read requests waitng|finished stream|unexpected end|end of (file|data)/i.test(why)) why = `truncated ${kind} data`;
    else if (!why.includes(kind)) why = `${kind}: ${why}`;
    throw dataError(file, `unreadable image (${why})`, e);
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length < img.width * img.height * 4) throw dataError(file, 'unreadable image (no pixel data)');
  return img;
}

/** Separable resampling filter taps for one axis (PIL-style antialiased bilinear). */
export interface Taps {
  start: Int32Array;
  count: Int32Array;
  /** `out * ksize` weights, normalized per output position. */
  weights: Float32Array;
  ksize: number;
}

/**
 * Triangle-filter taps mapping the source window [in0, in1) of an axis of
 * length `inSize` onto `outSize` samples. Upsampling is plain bilinear with
 * half-pixel centers; downsampling widens the filter (antialiasing), as PIL's
 * `Image.resize(..., BILINEAR)` and torchvision's Resize do.
 */
export function bilinearTaps(inSize: number, outSize: number, in0 = 0, in1 = inSize): Taps {
  const scale = (in1 - in0) / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float32Array(outSize * ksize);
  const ss = 1 / filterscale;
  for (let o = 0; o < outSize; o++) {
    const center = in0 + (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    const base = o * ksize;
    let n = 0;
    for (let x = 0; x < xmax && x < ksize; x++) {
      const w = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) * ss));
      weights[base + x] = w;
      sum += w;
      n = x + 1;
    }
    if (sum > 0) for (let x = 0; x < n; x++) weights[base + x] = weights[base + x]! / sum;
    else {
      // degenerate window: nearest pixel
      weights[base] = 1;
      n = 1;
    }
    start[o] = Math.min(xmin, inSize - 1);
    count[o] = n;
  }
  return { start, count, weights, ksize };
}

export interface PixelOptions {
  height: number;
  width: number;
  channels: 1 | 3;
  layout: 'nchw' | 'nhwc';
  /** Per output channel, applied to values in [0, 1]: (v - mean) / std. */
  mean: readonly number[];
  std: readonly number[];
  /**
   * 'stretch' resizes the whole image; 'crop' takes a centered window of the
   * target aspect ratio; 'letterbox' keeps the aspect ratio and pads (centered)
   * with gray 114/255, as Ultralytics does (see `letterboxGeometry`).
   */
  resize: 'stretch' | 'crop' | 'letterbox';
  /** With 'crop': the fraction of the shorter matching side kept (0.875 = resize 256 + center crop 224). */
  cropFraction: number;
}

/** The gray that letterboxing pads with (Ultralytics' 114 of 255). */
export const LETTERBOX_GRAY = 114;

/** Where a `width`×`height` image goes in a `dstWidth`×`dstHeight` letterbox: scaled by `scale` to `inner` size, placed at (padX, padY). */
export interface LetterboxGeometry {
  scale: number;
  innerWidth: number;
  innerHeight: number;
  padX: number;
  padY: number;
}

/**
 * Ultralytics' letterbox geometry: scale = min(dstH/h, dstW/w), the scaled
 * size rounded, and the padding split around it (left/top = round(pad/2 - 0.1)).
 */
export function letterboxGeometry(width: number, height: number, dstWidth: number, dstHeight: number): LetterboxGeometry {
  const scale = Math.min(dstHeight / height, dstWidth / width);
  const innerWidth = Math.min(dstWidth, Math.max(1, Math.round(width * scale)));
  const innerHeight = Math.min(dstHeight, Math.max(1, Math.round(height * scale)));
  const padX = Math.round((dstWidth - innerWidth) / 2 - 0.1) || 0; // no -0
  const padY = Math.round((dstHeight - innerHeight) / 2 - 0.1) || 0;
  return { scale, innerWidth, innerHeight, padX, padY };
}

/** Resample `img` into `out` (one sample starting at `offset`) as normalized floats. */
export function writePixels(img: RgbaImage, out: Float32Array, offset: number, o: PixelOptions): void {
  if (o.resize === 'letterbox') return writeLetterbox(img, out, offset, o);
  resample(img, out, offset, o, { x: 0, y: 0, width: o.width, height: o.height });
}

/** Letterbox: fill the sample with the normalized gray, then resample the image into its centered rectangle. */
function writeLetterbox(img: RgbaImage, out: Float32Array, offset: number, o: PixelOptions): void {
  const g = letterboxGeometry(img.width, img.height, o.width, o.height);
  const C = o.channels;
  const plane = o.width * o.height;
  for (let c = 0; c < C; c++) {
    const v = (LETTERBOX_GRAY / 255 - o.mean[c]!) / o.std[c]!;
    if (o.layout === 'nchw' || C === 1) out.fill(v, offset + c * plane, offset + (c + 1) * plane);
    else for (let p = 0; p < plane; p++) out[offset + p * C + c] = v;
  }
  resample(img, out, offset, { ...o, resize: 'stretch' }, { x: g.padX, y: g.padY, width: g.innerWidth, height: g.innerHeight });
}

/** Bilinear resample of `img` (or its crop window) into the rectangle `to` of the `o.width`×`o.height` sample. */
function resample(img: RgbaImage, out: Float32Array, offset: number, o: PixelOptions, to: { x: number; y: number; width: number; height: number }): void {
  const { width: sw, height: sh, data } = img;
  const { width: dw, height: dh } = to;
  const fw = o.width;
  // source window
  let x0 = 0;
  let x1 = sw;
  let y0 = 0;
  let y1 = sh;
  if (o.resize === 'crop') {
    const f = o.cropFraction;
    const target = dw / dh;
    let cw = sw;
    let ch = sh;
    if (sw / sh > target) cw = sh * target;
    else ch = sw / target;
    cw *= f;
    ch *= f;
    x0 = (sw - cw) / 2;
    x1 = x0 + cw;
    y0 = (sh - ch) / 2;
    y1 = y0 + ch;
  }
  const tx = bilinearTaps(sw, dw, x0, x1);
  const ty = bilinearTaps(sh, dh, y0, y1);
  // rows of the source the vertical pass needs
  const rowLo = ty.start[0]!;
  const rowHi = ty.start[dh - 1]! + ty.count[dh - 1]!;
  const rows = rowHi - rowLo;
  // horizontal pass: rows x dw x 3 (RGB), values 0..255
  const tmp = new Float32Array(rows * dw * 3);
  for (let r = 0; r < rows; r++) {
    const srow = (rowLo + r) * sw * 4;
    const trow = r * dw * 3;
    for (let ox = 0; ox < dw; ox++) {
      const s = tx.start[ox]!;
      const n = tx.count[ox]!;
      const wb = ox * tx.ksize;
      let cr = 0;
      let cg = 0;
      let cb = 0;
      for (let k = 0; k < n; k++) {
        const w = tx.weights[wb + k]!;
        const p = srow + (s + k) * 4;
        cr += w * data[p]!;
        cg += w * data[p + 1]!;
        cb += w * data[p + 2]!;
      }
      const t = trow + ox * 3;
      tmp[t] = cr;
      tmp[t + 1] = cg;
      tmp[t + 2] = cb;
    }
  }
  // vertical pass, channel conversion and normalization
  const C = o.channels;
  const plane = o.height * fw;
  const scale = new Float64Array(C);
  const bias = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    scale[c] = 1 / (255 * o.std[c]!);
    bias[c] = -o.mean[c]! / o.std[c]!;
  }
  const nchw = o.layout === 'nchw';
  for (let oy = 0; oy < dh; oy++) {
    const s = ty.start[oy]! - rowLo;
    const n = ty.count[oy]!;
    const wb = oy * ty.ksize;
    for (let ox = 0; ox < dw; ox++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < n; k++) {
        const w = ty.weights[wb + k]!;
        const t = ((s + k) * dw + ox) * 3;
        r += w * tmp[t]!;
        g += w * tmp[t + 1]!;
        b += w * tmp[t + 2]!;
      }
      const pix = (oy + to.y) * fw + ox + to.x;
      if (C === 1) {
        const l = 0.299 * r + 0.587 * g + 0.114 * b;
        out[offset + pix] = l * scale[0]! + bias[0]!;
      } else if (nchw) {
        out[offset + pix] = r * scale[0]! + bias[0]!;
        out[offset + plane + pix] = g * scale[1]! + bias[1]!;
        out[offset + 2 * plane + pix] = b * scale[2]! + bias[2]!;
      } else {
        const q = offset + pix * 3;
        out[q] = r * scale[0]! + bias[0]!;
        out[q + 1] = g * scale[1]! + bias[1]!;
        out[q + 2] = b * scale[2]! + bias[2]!;
      }
    }
  }
}
