// `shears finetune` with no labels on a detector: a flat PNG folder
// (letterboxed), the YOLO-style tiny detector of @shears/finetune's tests
// pruned by `shears prune`, distilled by output matching against the dense one.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { crc32 } from '@shears/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const BACKEND = ['--backend', process.env.SHEARS_FINETUNE_BACKEND ?? 'wasm'];
const DENSE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'packages', 'finetune', 'test-fixtures', 'tiny-detector.onnx');
let dir: string;
let images: string;
let pruned: string;

/** A minimal RGBA PNG (8-bit, filter 0 on every row). */
function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const raw = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (1 + width * 4) + 1);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** 24 seeded 80x60 PNG scenes (gray noise, one colored block): letterboxed to 64x64 (rows 8..55). */
function writeImages(folder: string): void {
  mkdirSync(folder);
  let s = 5;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  for (let i = 0; i < 24; i++) {
    const p = { data: new Uint8Array(80 * 60 * 4) };
    const [bx, by, bw, bh, c] = [Math.floor(r() * 50), Math.floor(r() * 30), 10 + Math.floor(r() * 20), 10 + Math.floor(r() * 20), [r(), r(), r()].map((v) => Math.floor(255 * v))];
    for (let y = 0; y < 60; y++)
      for (let x = 0; x < 80; x++) {
        const inBox = x >= bx && x < bx + bw && y >= by && y < by + bh;
        const k = (y * 80 + x) * 4;
        for (let ch = 0; ch < 3; ch++) p.data[k + ch] = inBox ? c[ch]! : 90 + Math.floor(40 * r());
        p.data[k + 3] = 255;
      }
    writeFileSync(join(folder, `${String(i).padStart(2, '0')}.png`), encodePng(80, 60, p.data));
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shears-cli-kd-'));
  images = join(dir, 'images');
  writeImages(images);
  pruned = join(dir, 'pruned.onnx');
  const p = shears(['prune', DENSE, '-o', pruned, '--strategy', 'filter', '--amount', '0.3', '--input-shape', 'images:1x3x64x64']);
  expect(p.stderr).not.toMatch(/error/i);
  expect(p.status).toBe(0);
});

describe('shears finetune without labels (output matching)', () => {
  it('distills a pruned detector from its teacher on a flat image folder', { timeout: 180_000 }, () => {
    const out = join(dir, 'tuned.onnx');
    const r = shears(['finetune', pruned, '--teacher', DENSE, '--data', images, '-o', out, '--kd-slice', 'output0:4:7', '--epochs', '2', '--batch-size', '8', '--optimizer', 'adam', '--lr', '0.003', '--json', ...BACKEND]);
    expect(r.stderr).not.toMatch(/warning|error/i);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/matching the teacher's outputs \(mse, normalized per channel\): output0 \(KL on 4:7\)/);
    expect(r.stderr).toMatch(/output0 4:7 \(axis 1\) matched as independent probabilities \(binary KL\)/);
    const report = r.json();
    expect(report).toMatchObject({ kd: 'outputs', teacher: 'ort', steps: 6, kdOutputs: [{ name: 'output0', loss: 'mse', slices: [{ axis: 1, start: 4, end: 7, mode: 'sigmoid' }] }] });
    expect(report.epochs[1].trainLoss).toBeLessThan(report.epochs[0].trainLoss);
  });

  it('refuses label-free fine-tuning without a teacher, and bad slices, with the fix (exit 2)', () => {
    const o = join(dir, 'x.onnx');
    const none = shears(['finetune', pruned, '--data', images, '-o', o, ...BACKEND]);
    expect(none.status).toBe(2);
    expect(none.stderr.trim().split('\n').at(-1)).toMatch(/^shears: error: finetune: .*images has no labels: label-free fine-tuning distills from a teacher; give the dense model as teacher \(--teacher dense.onnx/);
    const cases: [string, RegExp][] = [
      ['output9:4:7', /option kdSlices: output9:4:7: the model has no output 'output9' \(outputs: output0\)/],
      ['output0:4:9', /option kdSlices: output0:4:9: \[4, 9\) is outside axis 1 of 1x7x84 \(0\.\.7\)/],
      ['output0:4:7:axis=3', /option kdSlices: output0:4:7: axis 3 is outside 1\.\.2 of the output's 1x7x84 \(axis 0 is the batch\)/],
      ['output0:4', /--kd-slice output0:4: expected output:start:end\[:sigmoid\|softmax\]\[:axis=N\], e\.g\. output0:4:84/],
    ];
    for (const [spec, msg] of cases) {
      const r = shears(['finetune', pruned, '--teacher', DENSE, '--data', images, '-o', o, '--kd-slice', spec, ...BACKEND]);
      expect(r.status, spec).toBe(2);
      expect(r.stderr.trim().split('\n').at(-1), spec).toMatch(msg);
    }
    const bad = shears(['finetune', pruned, '--teacher', DENSE, '--data', images, '-o', o, '--resize', 'fit']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/option --resize: must be letterbox, stretch, crop \(got fit\)/);
  });
});
