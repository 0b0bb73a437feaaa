#!/usr/bin/env node
// ONNX codec benchmark: decode + encode of a ~100 MB model with protobufjs
// and @bufbuild/protobuf (code generated from packages/onnx/src/gen/onnx.proto),
// next to a plain fs read+write of the same bytes and @shears/onnx's own
// read/write path; plus peak RSS of each, in fresh child processes.
//
//   pnpm --filter @shears/core --filter @shears/onnx build
//   node --expose-gc bench/onnx-codec.bench.mjs [--model file.onnx] [--runs 7]
//
// The model: --model, else $SHEARS_BENCH_MODEL, else the resnet50 fixture
// (`node scripts/fixtures.mjs`), else a synthetic ~100 MB model written with
// @shears/onnx into the OS temp dir.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = join(root, 'packages/onnx');
const require = createRequire(join(pkg, 'package.json'));
const url = (p) => pathToFileURL(p).href;

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};

async function libs() {
  const protobuf = (await import(url(require.resolve('protobufjs/minimal.js')))).default;
  const { onnx } = await import(url(join(pkg, 'src/gen/onnx.pbjs.js')));
  const es = await import(url(require.resolve('@bufbuild/protobuf')));
  const { ModelProtoSchema } = await import(url(join(pkg, 'src/gen/onnx_pb.js')));
  const distPath = join(pkg, 'dist/index.js');
  if (!existsSync(distPath)) throw new Error('build first: pnpm --filter @shears/core --filter @shears/onnx build');
  const shears = await import(url(distPath));
  return {
    protobufjs: {
      decode: (b) => {
        const r = protobuf.Reader.create(b);
        r.discardUnknown = false;
        return onnx.ModelProto.decode(r);
      },
      encode: (m) => onnx.ModelProto.encode(m).finish(),
    },
    bufbuild: {
      decode: (b) => es.fromBinary(ModelProtoSchema, b),
      encode: (m) => es.toBinary(ModelProtoSchema, m),
    },
    shears,
  };
}

async function findModel() {
  const given = opt('model', process.env.SHEARS_BENCH_MODEL);
  if (given) return { path: given, how: 'given' };
  try {
    const { fixture } = await import(url(join(root, 'tooling/fixtures/index.js')));
    const p = fixture('resnet50');
    if (p) return { path: p, how: 'resnet50 fixture' };
  } catch {
    // no fixture tooling
  }
  const { shears } = await libs();
  const { Graph, Model, Node, Tensor, Value } = await import(url(require.resolve('@shears/core')));
  const g = new Graph('synthetic');
  let x = g.addInput(new Value('x', { kind: 'tensor', dtype: 'float32', shape: [1, 512] }));
  for (let i = 0; i < 100; i++) {
    const w = new Float32Array(512 * 512);
    for (let k = 0; k < w.length; k++) w[k] = Math.sin(k * 0.001 + i);
    const wv = g.addInitializer(Tensor.fromFloat32(`w${i}`, [512, 512], w));
    x = g.appendNode(new Node({ opType: 'MatMul', name: `mm${i}`, inputs: [x, wv], outputs: [`h${i}`] })).outputs[0];
  }
  g.outputs.push(x);
  const dir = mkdtempSync(join(tmpdir(), 'shears-bench-'));
  const path = join(dir, 'synthetic-100mb.onnx');
  shears.writeModelSync(new Model({ graph: g, irVersion: 8, opsetImports: { '': 17 } }), path);
  return { path, how: 'synthetic', cleanup: dir };
}

const LABELS = {
  fs: 'fs only (readFileSync + writeFileSync)',
  protobufjs: 'protobufjs decode + encode',
  bufbuild: '@bufbuild/protobuf decode + encode',
  shears: '@shears/onnx readModelSync + writeModelSync',
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const gc = () => globalThis.gc?.();

function time(runs, f) {
  const ms = [];
  for (let i = 0; i < runs; i++) {
    gc();
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  return median(ms);
}

/**
 * Peak RSS of this process. Linux's getrusage maxrss keeps the parent's
 * figure across fork+exec, so read the per-process high-water mark instead.
 */
function peakBytes() {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** One read+write in a fresh process; prints its peak RSS in bytes. */
async function child(mode, path, out) {
  const { protobufjs, bufbuild, shears } = mode === 'baseline' ? {} : await libs();
  const before = peakBytes();
  if (mode === 'fs') writeFileSync(out, readFileSync(path));
  if (mode === 'shears') shears.writeModelSync(shears.readModelSync(path), out);
  if (mode === 'protobufjs') writeFileSync(out, protobufjs.encode(protobufjs.decode(readFileSync(path))));
  if (mode === 'bufbuild') writeFileSync(out, bufbuild.encode(bufbuild.decode(readFileSync(path))));
  process.stdout.write(JSON.stringify({ before, peak: peakBytes() }));
}

function peakRss(mode, path, out) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, path, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`child ${mode} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

async function main() {
  const runs = Number(opt('runs', '7'));
  const model = await findModel();
  const size = statSync(model.path).size;
  const mb = (n) => (n / 1e6).toFixed(1);
  const tmp = mkdtempSync(join(tmpdir(), 'shears-bench-out-'));
  const out = join(tmp, 'out.onnx');
  const { protobufjs, bufbuild, shears } = await libs();
  console.log(`model: ${model.path} (${model.how}), ${mb(size)} MB; median of ${runs} runs; node ${process.version}${globalThis.gc ? '' : ' (run with --expose-gc for steadier numbers)'}`);

  const bytes = readFileSync(model.path);
  const rows = [];
  const fsRead = time(runs, () => readFileSync(model.path));
  const fsWrite = time(runs, () => writeFileSync(out, bytes));
  rows.push(['fs only (readFileSync + writeFileSync)', fsRead, fsWrite]);
  const fsWriteSync = time(runs, () => {
    const fd = openSync(out, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
  });
  rows.push(['fs only, write with fsync (as writeModel does)', fsRead, fsWriteSync]);
  for (const [name, lib] of [
    ['protobufjs 8 (static code)', protobufjs],
    ['@bufbuild/protobuf 2 (protoc-gen-es)', bufbuild],
  ]) {
    const msg = lib.decode(bytes);
    const check = lib.encode(msg);
    if (check.length !== size) console.log(`  note: ${name} re-encoded ${check.length} bytes (input ${size})`);
    rows.push([name, time(runs, () => lib.decode(bytes)), time(runs, () => lib.encode(msg))]);
  }
  const m = shears.decodeModel(bytes);
  rows.push(['@shears/onnx decodeModel / encodeModel', time(runs, () => shears.decodeModel(bytes)), time(runs, () => shears.encodeModel(m))]);
  rows.push(['@shears/onnx readModelSync / writeModelSync (files)', time(runs, () => shears.readModelSync(model.path)), time(runs, () => shears.writeModelSync(m, out))]);

  console.log('\n| codec | decode ms | encode ms | total ms |\n| --- | ---: | ---: | ---: |');
  for (const [name, d, e] of rows) console.log(`| ${name} | ${d.toFixed(1)} | ${e.toFixed(1)} | ${(d + e).toFixed(1)} |`);

  console.log('\n| peak RSS, read + write in a fresh process | MB | x file size |\n| --- | ---: | ---: |');
  const base = peakRss('baseline', model.path, out).peak;
  console.log(`| node baseline (no work) | ${mb(base)} | ${(base / size).toFixed(2)} |`);
  for (const mode of ['fs', 'protobufjs', 'bufbuild', 'shears']) {
    const { peak } = peakRss(mode, model.path, out);
    console.log(`| ${LABELS[mode]} | ${mb(peak)} | ${(peak / size).toFixed(2)} |`);
  }
  const [pj, bb] = [rows[2], rows[3]];
  const winner = pj[1] + pj[2] <= bb[1] + bb[2] ? pj[0] : bb[0];
  console.log(`\nfaster library (decode + encode): ${winner}`);
  rmSync(tmp, { recursive: true, force: true });
  if (model.cleanup) rmSync(model.cleanup, { recursive: true, force: true });
}

if (args[0] === '--child') await child(args[1], args[2], args[3]);
else await main();
