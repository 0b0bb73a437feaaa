#!/usr/bin/env node
// `pnpm demo`: what Shears does today, on a bundled model, in a few seconds.
// It grows into the full prune → fine-tune → export demo (issue #10).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'apps/cli/dist/bin.js');
const model = join(root, 'fixtures/tiny-cnn.onnx');
const plugin = join(root, 'examples/shears-plugin-threshold/dist/index.js');
const out = join(mkdtempSync(join(tmpdir(), 'shears-demo-')), 'pruned.onnx');

function shears(title, args) {
  console.log(`\n$ shears ${args.join(' ')}    # ${title}`);
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

shears('inspect a bundled model', ['inspect', model]);
shears('prune it with the example third-party strategy', ['prune', model, '-o', out, '--strategy', plugin, '--set', 'threshold=0.05']);
shears('how far did the outputs move?', ['compare', model, out]);
shears('latency in onnxruntime-node', ['bench', out, '--runs', '20']);
console.log(`\npruned model: ${out}`);
