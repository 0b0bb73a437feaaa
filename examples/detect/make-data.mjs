#!/usr/bin/env node
// A synthetic detection set in YOLO format, seeded and offline: Fashion-MNIST
// items (Debian's dataset-fashion-mnist) pasted at random scales and positions
// onto 256×256 RGB canvases with a noisy colour-gradient background.
//   node examples/detect/make-data.mjs [--out <dir>] [--train N] [--val N] [--seed S]
// Writes <out>/train and <out>/val, each images/<i>.png + labels/<i>.txt
// (`class cx cy w h`, normalized; tight boxes around the pasted item's inked
// pixels). Train items come from the Fashion-MNIST training file, val items
// from the t10k file: the splits share no source item.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, crc32, deflateSync, gunzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const SRC = process.env.FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
export const CLASSES = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'ankle-boot'];
export const SIZE = 256;
const MIN_SIDE = 24;
const MAX_SIDE = 96;
const INK = 40; // an item pixel above this (of 255) counts as inked for its box

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readIdx(file) {
  const buf = gunzipSync(readFileSync(file));
  const dims = buf[3];
  const shape = [];
  for (let i = 0; i < dims; i++) shape.push(buf.readUInt32BE(4 + 4 * i));
  return { shape, data: buf.subarray(4 + 4 * dims) };
}

function loadSplit(prefix) {
  const x = readIdx(join(SRC, `${prefix}-images-idx3-ubyte.gz`));
  const y = readIdx(join(SRC, `${prefix}-labels-idx1-ubyte.gz`));
  return { count: x.shape[0], pixels: x.data, labels: y.data };
}

/** Bilinear resize of a 28×28 item to side×side (alpha in 0..255). */
function resizeItem(src, side, out) {
  const s = 28 / side;
  for (let y = 0; y < side; y++) {
    const fy = Math.min(Math.max((y + 0.5) * s - 0.5, 0), 27);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, 27);
    const wy = fy - y0;
    for (let x = 0; x < side; x++) {
      const fx = Math.min(Math.max((x + 0.5) * s - 0.5, 0), 27);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, 27);
      const wx = fx - x0;
      const top = src[y0 * 28 + x0] * (1 - wx) + src[y0 * 28 + x1] * wx;
      const bot = src[y1 * 28 + x0] * (1 - wx) + src[y1 * 28 + x1] * wx;
      out[y * side + x] = top * (1 - wy) + bot * wy;
    }
  }
}

const NOISE_BITS = 18;
/** Roughly normal noise (sum of three uniforms), unit amplitude, read at random row offsets. */
function noiseTable(rand) {
  const t = new Float32Array(1 << NOISE_BITS);
  for (let i = 0; i < t.length; i++) t[i] = rand() + rand() + rand() - 1.5;
  return t;
}

/** Noisy linear gradient between two random colours. */
function background(rand, rgb, table) {
  const c0 = [0, 1, 2].map(() => 40 + rand() * 175);
  const c1 = [0, 1, 2].map(() => 40 + rand() * 175);
  const ang = rand() * Math.PI * 2;
  const dx = Math.cos(ang) / SIZE;
  const dy = Math.sin(ang) / SIZE;
  const noise = 4 + rand() * 12;
  const mask = (1 << NOISE_BITS) - 1;
  for (let y = 0, p = 0; y < SIZE; y++) {
    let q = Math.floor(rand() * (1 << NOISE_BITS));
    for (let x = 0; x < SIZE; x++, p += 3) {
      const t = Math.min(Math.max(0.5 + (x - SIZE / 2) * dx + (y - SIZE / 2) * dy, 0), 1);
      for (let c = 0; c < 3; c++, q++) rgb[p + c] = c0[c] * (1 - t) + c1[c] * t + table[q & mask] * noise;
    }
  }
  return [0, 1, 2].map((c) => (c0[c] + c1[c]) / 2);
}

const iou = (a, b) => {
  const ix = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
};

/** One canvas: 1–6 items, each overlapping earlier ones by IoU ≤ 0.15. */
function canvas(rand, split, rgb, alpha, table) {
  const bgMean = background(rand, rgb, table);
  const boxes = [];
  const lines = [];
  const n = 1 + Math.floor(rand() * 6);
  for (let k = 0; k < n; k++) {
    const item = Math.floor(rand() * split.count);
    const side = MIN_SIDE + Math.floor(rand() * (MAX_SIDE - MIN_SIDE + 1));
    resizeItem(split.pixels.subarray(item * 784, item * 784 + 784), side, alpha);
    let x0 = 0;
    let y0 = 0;
    let x1 = -1;
    let y1 = -1;
    for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) if (alpha[y * side + x] > INK) { if (x1 < 0) { x0 = x; y0 = y; x1 = x; y1 = y; } else { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); } }
    if (x1 < 0) continue;
    let placed = null;
    for (let tries = 0; tries < 20 && !placed; tries++) {
      const ox = Math.floor(rand() * (SIZE - side + 1));
      const oy = Math.floor(rand() * (SIZE - side + 1));
      const box = [ox + x0, oy + y0, ox + x1 + 1, oy + y1 + 1];
      if (boxes.every((b) => iou(b, box) <= 0.15)) placed = { ox, oy, box };
    }
    if (!placed) continue;
    // An item colour that contrasts with the background mean.
    let col;
    do col = [0, 1, 2].map(() => rand() * 255);
    while (Math.abs(col[0] + col[1] + col[2] - bgMean[0] - bgMean[1] - bgMean[2]) < 150);
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const a = alpha[y * side + x] / 255;
        if (a <= 0) continue;
        const p = ((placed.oy + y) * SIZE + placed.ox + x) * 3;
        for (let c = 0; c < 3; c++) rgb[p + c] = rgb[p + c] * (1 - a) + col[c] * a;
      }
    }
    boxes.push(placed.box);
    const [bx0, by0, bx1, by1] = placed.box;
    const f = (v) => (v / SIZE).toFixed(6);
    lines.push(`${split.labels[item]} ${f((bx0 + bx1) / 2)} ${f((by0 + by1) / 2)} ${f(bx1 - bx0)} ${f(by1 - by0)}`);
  }
  return lines;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(head.subarray(4))) >>> 0);
  return Buffer.concat([head, data, crc]);
}

/** An 8-bit RGB PNG: the Sub filter on every row, Huffman-only deflate (fast on noisy images). */
export function encodePng(rgb, width, height) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  const row = width * 3;
  for (let y = 0; y < height; y++) {
    const o = y * (row + 1);
    const s = y * row;
    raw[o] = 1;
    for (let i = 0; i < 3; i++) raw[o + 1 + i] = rgb[s + i];
    for (let i = 3; i < row; i++) raw[o + 1 + i] = (rgb[s + i] - rgb[s + i - 3]) & 255;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 1, strategy: constants.Z_HUFFMAN_ONLY })), chunk('IEND', Buffer.alloc(0))]);
}

export function makeSplit(dir, split, count, seed) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'images'), { recursive: true });
  mkdirSync(join(dir, 'labels'), { recursive: true });
  const rand = rng(seed);
  const rgb = new Uint8ClampedArray(SIZE * SIZE * 3);
  const alpha = new Float32Array(MAX_SIDE * MAX_SIDE);
  const table = noiseTable(rand);
  let objects = 0;
  for (let i = 0; i < count; i++) {
    const lines = canvas(rand, split, rgb, alpha, table);
    objects += lines.length;
    const name = String(i).padStart(5, '0');
    writeFileSync(join(dir, 'images', `${name}.png`), encodePng(rgb, SIZE, SIZE));
    writeFileSync(join(dir, 'labels', `${name}.txt`), lines.length ? `${lines.join('\n')}\n` : '');
  }
  return objects;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name, dflt) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : dflt;
  };
  const out = resolve(arg('out', join(here, 'data')));
  const seed = Number(arg('seed', 1));
  const t0 = performance.now();
  for (const [name, prefix, count, s] of [['train', 'train', Number(arg('train', 4000)), seed], ['val', 't10k', Number(arg('val', 500)), seed + 1000]]) {
    const objects = makeSplit(join(out, name), loadSplit(prefix), count, s);
    console.log(`${join(out, name)}: ${count} images, ${objects} boxes`);
  }
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
