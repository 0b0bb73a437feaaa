#!/usr/bin/env node
// Cached driver for the large real-model fixtures made by scripts/export_models.py.
//
//   node scripts/fixtures.mjs [--only resnet18,mobilenet_v2]
//
// Cache scheme: <cache>/<key>/ where <cache> is $SHEARS_FIXTURES_CACHE or
// ~/.cache/shears/fixtures (outside the repo, so fresh clones on the same
// machine, CI among them, reuse it) and key = sha256(export_models.py and
// yolo_models.py bytes + torch/torchvision/onnx versions), first 16 hex digits.
// After a successful run the absolute path of that directory is written (atomically) to the repo's
// gitignored .cache/fixtures/current, which is what tooling/fixtures reads;
// key directories unused for a day are then deleted (a set is ~0.6 GB).
// export_models.py skips models already complete in the directory, so a warm run
// costs two short python starts (no torch import) and finishes well under 1 s.
//
// Without torch for /usr/bin/python3 this prints one line naming the apt packages
// and exits 0 (tests needing these fixtures skip), or 1 with SHEARS_REQUIRE_FIXTURES=1.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const script = join(root, 'scripts', 'export_models.py');
const cacheRoot = process.env.SHEARS_FIXTURES_CACHE || join(homedir(), '.cache', 'shears', 'fixtures');
const pointerDir = join(root, '.cache', 'fixtures');
const python = process.env.SHEARS_PYTHON || '/usr/bin/python3'; // not the pyenv python3: no torch there

function usage(msg) {
  console.error(`fixtures: ${msg}\nusage: node scripts/fixtures.mjs [--only name1,name2]`);
  process.exit(2);
}

let only = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--only') only = (args[++i] ?? usage('--only needs a value')).split(',');
  else if (a.startsWith('--only=')) only = a.slice(7).split(',');
  else usage(`unknown argument ${a}`);
}
only = only.map((s) => s.trim()).filter(Boolean);

// Versions via package metadata: cheap, unlike `import torch` (~2 s).
const probe = spawnSync(python, ['-c', [
  'import importlib.metadata as m, json',
  "print(json.dumps({p: m.version(p) for p in ('torch', 'torchvision', 'onnx')}))",
].join('\n')], { encoding: 'utf8' });
if (probe.status !== 0) {
  const required = process.env.SHEARS_REQUIRE_FIXTURES === '1';
  console.error(`fixtures: ${python} cannot import torch/torchvision/onnx; large model fixtures ` +
    `${required ? 'are required (SHEARS_REQUIRE_FIXTURES=1)' : 'skipped'}: ` +
    'apt-get install python3-torch python3-torchvision python3-onnx');
  process.exit(required ? 1 : 0);
}

const key = createHash('sha256').update(readFileSync(script)).update(readFileSync(join(root, 'scripts', 'yolo_models.py'))).update(probe.stdout.trim())
  .digest('hex').slice(0, 16);
const dir = join(cacheRoot, key);
mkdirSync(dir, { recursive: true });

const t0 = Date.now();
const run = spawnSync(python, [script, dir, ...only], { stdio: 'inherit' });
if (run.status !== 0) {
  console.error(`fixtures: export_models.py failed (${run.error?.message ?? `exit ${run.status}`}); ` +
    `partial output in ${dir}`);
  process.exit(1);
}

mkdirSync(pointerDir, { recursive: true });
const tmp = join(pointerDir, `current.tmp-${process.pid}`);
writeFileSync(tmp, `${dir}\n`);
renameSync(tmp, join(pointerDir, 'current'));
// Other keys belong to other checkouts (a fresh CI clone, an older branch):
// only sets unused for a day are removed, so concurrent trees keep theirs.
writeFileSync(join(dir, '.last-used'), new Date().toISOString());
const DAY = 24 * 3600 * 1000;
for (const name of readdirSync(cacheRoot)) {
  if (!/^[0-9a-f]{16}$/.test(name) || name === key) continue;
  let used = 0;
  try {
    used = statSync(join(cacheRoot, name, '.last-used')).mtimeMs;
  } catch {
    /* never stamped: treat as old */
  }
  if (Date.now() - used > DAY) rmSync(join(cacheRoot, name), { recursive: true, force: true });
}
const secs = (Date.now() - t0) / 1000;
if (secs > 2) console.error(`fixtures: ready in ${dir} (${secs.toFixed(0)} s)`);
