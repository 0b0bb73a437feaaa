// The embedded model says which script made it, and that script exists.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repo = resolve(here, '../..');
const file = join(here, 'fmnist-cnn.onnx');

describe('fmnist-cnn.onnx metadata', () => {
  it('names the training script that exists (examples/demo/train-model.mjs), and the source writes the same name', async () => {
    const m = await readModel(file);
    const script = /^shears (\S+\.mjs)$/.exec(m.producerName ?? '')?.[1];
    expect(script).toBe('examples/demo/train-model.mjs');
    expect(existsSync(join(repo, script!))).toBe(true);
    expect(readFileSync(join(here, 'train-model.mjs'), 'utf8')).toContain(`producerName: '${m.producerName}'`);
  });

  it('reads and writes back byte for byte (the metadata was rewritten losslessly)', async () => {
    expect(Buffer.from(encodeModel(await readModel(file))).equals(readFileSync(file))).toBe(true);
  });
});
