#!/usr/bin/env node
// Packed-tarball smoke test: what a new user gets from npm.
//
//   node scripts/smoke-packed.mjs [--stage 1|2] [--no-build] [--keep] [--json]
//
// Stage 1 packs @shears/core, onnx, criteria and prune-filter (and the
// @shears packages they depend on) with `pnpm pack`, installs the tarballs
// with npm into a clean folder outside the workspace, checks the install
// (under 20 MB, no onnxruntime-node, no install scripts; a second install
// into another clean folder with --offline must succeed too; every package
// that takes @shears/runtime as an optional peer, installed in a third folder
// without it, must import), then runs
// scripts/smoke-packed/l1-filter.mjs there: the demo CNN pruned by L1 to at
// most half its MACs through pipeline().
//
// Stage 2 adds the packed @shears/runtime and @shears/prune-channel (with
// ONNXRUNTIME_NODE_INSTALL=skip: the CPU binaries ship inside the npm package)
// and runs scripts/smoke-packed/channel.mjs: the channel strategy on the
// demo's training images (calibration) through ctx.runtime, to at most half
// the MACs, then top-1 on 1,000 held-out images.
//
// Every tarball must carry LICENSE and no `workspace:` range. The vitest suite
// in tooling/smoke-packed runs this in `pnpm test` (it builds first); run
// alone, the script builds what it packs (turbo, cached) unless --no-build.
// Exit code 0 when every check passed, 1 otherwise (each failure on stderr).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const consumers = join(root, 'scripts', 'smoke-packed');

/** What each stage asks for; the @shears packages these depend on come along. */
export const STAGES = {
  1: ['@shears/core', '@shears/onnx', '@shears/criteria', '@shears/prune-filter'],
  2: ['@shears/runtime', '@shears/prune-channel'],
};
// Targets land within ±0.02 of the goal (0.5 of the MACs), on either side.
export const LIMITS = { stage1Bytes: 20e6, macsRatio: 0.5, macsTolerance: 0.02 };
const MODEL = join(root, 'examples', 'demo', 'fmnist-cnn.onnx');
const CALIB = join(root, 'examples', 'demo', 'train.npz');
const VAL = join(root, 'examples', 'demo', 'val.npz');

/** name → folder of every workspace package under packages/. */
function workspacePackages() {
  const map = new Map();
  for (const d of readdirSync(join(root, 'packages'))) {
    const f = join(root, 'packages', d, 'package.json');
    if (existsSync(f)) map.set(JSON.parse(readFileSync(f, 'utf8')).name, join(root, 'packages', d));
  }
  return map;
}

/** The packages plus the workspace packages they (transitively) depend on, dependencies first. */
export function closure(names, dirs = workspacePackages()) {
  const out = [];
  const visit = (name) => {
    if (out.includes(name)) return;
    const dir = dirs.get(name);
    if (!dir) throw new Error(`smoke-packed: ${name} is not a workspace package`);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    // Peers are the user's to install (core is asked for explicitly; runtime is optional).
    for (const [dep, range] of Object.entries(pkg.dependencies ?? {})) if (String(range).startsWith('workspace:')) visit(dep);
    out.push(name);
  };
  for (const n of names) visit(n);
  return out;
}

function run(cmd, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64e6, ...opts });
  const seconds = (performance.now() - t0) / 1000;
  const output = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}`;
  return { ok: r.status === 0, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', output, seconds };
}

const tail = (s, n = 15) => s.trim().split('\n').slice(-n).join('\n');

function build(names) {
  const r = run('pnpm', ['exec', 'turbo', 'run', 'build', '--output-logs=errors-only', ...names.map((n) => `--filter=${n}`)], { cwd: root });
  if (!r.ok) throw new Error(`smoke-packed: build failed:\n${tail(r.output)}`);
}

/** `pnpm pack` one package into dir; returns the tarball's path and what its package.json and file list show. */
function pack(name, dir, dirs) {
  const r = run('pnpm', ['pack', '--pack-destination', dir], { cwd: dirs.get(name) });
  if (!r.ok) throw new Error(`smoke-packed: pnpm pack ${name} failed:\n${tail(r.output)}`);
  const version = JSON.parse(readFileSync(join(dirs.get(name), 'package.json'), 'utf8')).version;
  const file = join(dir, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
  if (!existsSync(file)) throw new Error(`smoke-packed: pnpm pack ${name} wrote no ${file}`);
  const files = run('tar', ['tzf', file]).stdout.split('\n').filter(Boolean);
  const manifest = JSON.parse(run('tar', ['xzf', file, '-O', 'package/package.json']).stdout);
  const entry = `package/${String(manifest.module ?? manifest.main).replace(/^\.\//, '')}`;
  if (!files.includes(entry)) throw new Error(`smoke-packed: ${name} is not built (its tarball has no ${entry.slice(8)}): run pnpm build, or drop --no-build`);
  return { name, file, files, manifest };
}

/** What is wrong with a packed tarball (LICENSE missing, a workspace: range left, an exact @shears pin, core not a ^ peer). */
export function tarballProblems(t) {
  const problems = [];
  if (!t.files.includes('package/LICENSE')) problems.push(`${t.name}: the tarball has no LICENSE`);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'])
    for (const [dep, range] of Object.entries(t.manifest[field] ?? {}))
      if (String(range).startsWith('workspace:')) problems.push(`${t.name}: ${field}.${dep} is still ${range}`);
  // An exact pin ("0.1.0", what workspace:* packs to) would nest a second copy as soon as versions drift.
  for (const [dep, range] of Object.entries(t.manifest.dependencies ?? {}))
    if (dep.startsWith('@shears/') && /^\d/.test(String(range))) problems.push(`${t.name}: dependencies.${dep} is pinned to ${range}, expected a ^ range`);
  if (t.name !== '@shears/core') {
    const peer = t.manifest.peerDependencies?.['@shears/core'];
    if (peer !== '^0.1.0') problems.push(`${t.name}: peerDependencies.@shears/core is ${peer ?? 'missing'}, expected ^0.1.0`);
    if (t.manifest.dependencies?.['@shears/core']) problems.push(`${t.name}: @shears/core is a dependency (a second copy of core); it must be a peer`);
  }
  return problems;
}

/** Bytes of every file under dir (sizes, as npm's "unpacked size"; symlinks not followed). */
export function treeBytes(dir) {
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) bytes += treeBytes(p);
    else if (e.isFile()) bytes += lstatSync(p).size;
  }
  return bytes;
}

/** The installed packages (name@version) whose package.json has a preinstall, install or postinstall script. */
function installScripts(modules) {
  const found = [];
  const visit = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.name.startsWith('@')) {
        visit(p);
        continue;
      }
      const f = join(p, 'package.json');
      if (!existsSync(f)) continue;
      const pkg = JSON.parse(readFileSync(f, 'utf8'));
      if (['preinstall', 'install', 'postinstall'].some((s) => pkg.scripts?.[s])) found.push(`${pkg.name}@${pkg.version}`);
      if (existsSync(join(p, 'node_modules'))) visit(join(p, 'node_modules'));
    }
  };
  visit(modules);
  return found;
}

function npmInstall(app, tarballs, mode = '--prefer-offline') {
  // --prefer-offline: npm's cache first (--offline: nothing but the cache). ONNXRUNTIME_NODE_INSTALL=skip: no CUDA download (stage 2).
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_update_notifier: 'false' };
  const r = run('npm', ['install', mode, '--no-audit', '--no-fund', ...tarballs], { cwd: app, env });
  const modules = join(app, 'node_modules');
  const there = existsSync(modules);
  return {
    ok: r.ok,
    seconds: r.seconds,
    log: tail(r.output, 30),
    bytes: there ? treeBytes(modules) : 0,
    onnxruntime: existsSync(join(modules, 'onnxruntime-node')),
    installScripts: there ? installScripts(modules) : [],
  };
}

/** A clean npm project folder dir/name (ESM). */
function project(dir, name) {
  const app = join(dir, name);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: `shears-smoke-${name}`, private: true, type: 'module' }, null, 2)}\n`);
  return app;
}

function consumer(app, script, args) {
  copyFileSync(join(consumers, script), join(app, script));
  const r = run(process.execPath, [script, ...args], { cwd: app, timeout: 300_000 });
  let result = null;
  try {
    result = JSON.parse(r.stdout.trim().split('\n').at(-1));
  } catch {
    // no JSON line: the run failed; its output says why
  }
  return { ok: r.ok && result !== null, seconds: r.seconds, result, log: r.ok ? '' : tail(r.output) };
}

/** The packages a stage asks for: its own and every earlier stage's (core is everyone's peer). */
const upTo = (s) => Object.keys(STAGES).filter((k) => Number(k) <= s).flatMap((k) => STAGES[k]);

/** The packages that take @shears/runtime as an optional peer: they must load without it. */
export function optionalRuntimePeers(dirs = workspacePackages()) {
  return [...dirs].filter(([, dir]) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).peerDependenciesMeta?.['@shears/runtime']?.optional).map(([name]) => name);
}

/** Tarballs for these packages, packing each once per run (ctx.packed: name → tarball). */
function tarballsFor(names, ctx) {
  const fresh = names.filter((n) => !ctx.packed.has(n));
  const t0 = performance.now();
  for (const n of fresh) ctx.packed.set(n, pack(n, ctx.tgz, ctx.dirs));
  return { tarballs: names.map((n) => ctx.packed.get(n)), fresh: fresh.map((n) => ctx.packed.get(n)), packSeconds: (performance.now() - t0) / 1000 };
}

/** Every optional-runtime-peer package installed without @shears/runtime, and imported: which fail, and why. */
function importsWithoutRuntime(ctx) {
  const names = optionalRuntimePeers(ctx.dirs);
  const { tarballs } = tarballsFor(closure(['@shears/core', ...names], ctx.dirs), ctx);
  const dir = project(ctx.tmp, 'imports');
  const install = npmInstall(dir, tarballs.map((t) => t.file));
  const code = 'const out = {}; for (const n of JSON.parse(process.argv[1])) { try { await import(n); out[n] = null; } catch (e) { out[n] = String(e.message).split("\\n")[0]; } } console.log(JSON.stringify(out));';
  const r = install.ok ? run(process.execPath, ['--input-type=module', '-e', code, JSON.stringify(names)], { cwd: dir }) : null;
  let failures = null;
  try {
    failures = r && Object.fromEntries(Object.entries(JSON.parse(r.stdout.trim())).filter(([, e]) => e));
  } catch {
    // no JSON: the import script itself failed (its output is in log)
  }
  return { packages: names, install, failures, log: r && !r.ok ? tail(r.output) : '' };
}

function runStage(s, ctx, log) {
  const names = closure(upTo(s), ctx.dirs).filter((n) => !ctx.installed.has(n));
  log(`stage ${s}: packing ${names.join(', ')}`);
  const { tarballs, packSeconds } = tarballsFor(names, ctx);
  log(`stage ${s}: npm install (${tarballs.length} tarballs)`);
  const install = npmInstall(ctx.app, tarballs.map((t) => t.file));
  for (const n of names) ctx.installed.add(n);
  const stage = { packed: names, packSeconds, tarballProblems: tarballs.flatMap(tarballProblems), install };
  if (!install.ok) return stage;
  if (s === 1) {
    // Once more into another clean folder with --offline: npm's cache (just filled) is all it needs.
    stage.offline = npmInstall(project(ctx.tmp, 'offline'), tarballs.map((t) => t.file), '--offline');
    log('stage 1: importing every package that takes @shears/runtime as an optional peer, without it');
    stage.imports = importsWithoutRuntime(ctx);
  }
  log(`stage ${s}: running the pipeline`);
  stage.run = s === 1 ? consumer(ctx.app, 'l1-filter.mjs', [MODEL, join(ctx.tmp, 'l1-filter.onnx')]) : consumer(ctx.app, 'channel.mjs', [MODEL, CALIB, VAL, join(ctx.tmp, 'channel.onnx')]);
  return stage;
}

/**
 * Run the stages into a fresh temp folder. Returns what was measured; never
 * throws for a failed check (see problems()), only when packing cannot start.
 */
export function smokePacked({ stages = [1, 2], build: doBuild = true, keep = false, log = () => {} } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'shears-smoke-'));
  const ctx = { tmp, dirs: workspacePackages(), tgz: join(tmp, 'tarballs'), app: project(tmp, 'app'), packed: new Map(), installed: new Set() };
  mkdirSync(ctx.tgz);
  const report = { dir: tmp, stages: {} };
  try {
    if (doBuild) {
      const all = closure([...upTo(Math.max(...stages)), ...optionalRuntimePeers(ctx.dirs)], ctx.dirs);
      log(`building ${all.join(', ')}`);
      build(all);
    }
    for (const s of stages) report.stages[s] = runStage(s, ctx, log);
  } finally {
    if (!keep) rmSync(tmp, { recursive: true, force: true });
  }
  return report;
}

/** Every failed check of a report, one line each. */
export function problems(report) {
  const out = [];
  for (const [s, st] of Object.entries(report.stages)) {
    out.push(...st.tarballProblems.map((p) => `stage ${s}: ${p}`));
    if (!st.install.ok) {
      out.push(`stage ${s}: npm install failed:\n${st.install.log}`);
      continue;
    }
    if (s === '1') {
      if (st.install.bytes >= LIMITS.stage1Bytes) out.push(`stage 1: node_modules is ${(st.install.bytes / 1e6).toFixed(1)} MB (limit ${LIMITS.stage1Bytes / 1e6} MB)`);
      if (st.install.onnxruntime) out.push('stage 1: onnxruntime-node was installed');
      if (st.install.installScripts.length) out.push(`stage 1: packages with install scripts: ${st.install.installScripts.join(', ')}`);
      if (!st.offline?.ok) out.push(`stage 1: npm install --offline (from the cache alone) failed:\n${st.offline?.log ?? 'not run'}`);
      const im = st.imports;
      if (!im?.install.ok) out.push(`stage 1: npm install of the optional-runtime-peer packages failed:\n${im?.install.log ?? 'not run'}`);
      else {
        if (im.install.onnxruntime) out.push('stage 1: installing the optional-runtime-peer packages brought onnxruntime-node');
        if (!im.failures) out.push(`stage 1: the import check failed:\n${im.log}`);
        for (const [n, e] of Object.entries(im.failures ?? {})) out.push(`stage 1: ${n} does not load without @shears/runtime (an optional peer): ${e}`);
      }
    }
    if (s === '2' && !st.install.onnxruntime) out.push('stage 2: @shears/runtime installed without onnxruntime-node');
    if (!st.run?.ok) out.push(`stage ${s}: the pipeline failed:\n${st.run?.log ?? 'not run'}`);
    else if (!(Math.abs(st.run.result.ratio - LIMITS.macsRatio) <= LIMITS.macsTolerance)) out.push(`stage ${s}: MACs ${st.run.result.before} → ${st.run.result.after} (${st.run.result.ratio.toFixed(3)}×), not within ±${LIMITS.macsTolerance} of ${LIMITS.macsRatio}×`);
  }
  return out;
}

function main(argv) {
  const opts = { stages: [1, 2], build: true, keep: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stage') opts.stages = [Number(argv[++i])];
    else if (a === '--no-build') opts.build = false;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--json') opts.json = true;
    else {
      console.error(`smoke-packed: unknown argument ${a}\nusage: node scripts/smoke-packed.mjs [--stage 1|2] [--no-build] [--keep] [--json]`);
      process.exit(2);
    }
  }
  if (!opts.stages.every((s) => s in STAGES)) {
    console.error('smoke-packed: --stage must be 1 or 2');
    process.exit(2);
  }
  let report;
  try {
    report = smokePacked({ ...opts, log: (m) => console.error(`smoke-packed: ${m}`) });
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  const failed = problems(report);
  if (opts.json) console.log(JSON.stringify(report, null, 2));
  else
    for (const [s, st] of Object.entries(report.stages)) {
      const i = st.install;
      console.log(`stage ${s}: ${st.packed.length} tarballs packed in ${st.packSeconds.toFixed(1)} s; npm install ${i.ok ? 'ok' : 'FAILED'} in ${i.seconds.toFixed(1)} s, node_modules ${(i.bytes / 1e6).toFixed(1)} MB, onnxruntime-node ${i.onnxruntime ? 'present' : 'absent'}`);
      if (st.offline) console.log(`stage ${s}: npm install --offline into another clean folder ${st.offline.ok ? 'ok' : 'FAILED'} in ${st.offline.seconds.toFixed(1)} s`);
      if (st.imports?.failures) console.log(`stage ${s}: without @shears/runtime, ${st.imports.packages.length - Object.keys(st.imports.failures).length}/${st.imports.packages.length} optional-peer packages load (${(st.imports.install.bytes / 1e6).toFixed(1)} MB installed)`);
      if (st.run?.ok) console.log(`stage ${s}: ${st.run.result.steps.join(' → ')}: MACs ${st.run.result.before} → ${st.run.result.after} (${st.run.result.ratio.toFixed(3)}×) in ${st.run.seconds.toFixed(1)} s${st.run.result.accuracy === undefined ? '' : `, top-1 ${(st.run.result.denseAccuracy * 100).toFixed(1)}% → ${(st.run.result.accuracy * 100).toFixed(1)}%`}`);
    }
  if (opts.keep) console.error(`smoke-packed: kept ${report.dir}`);
  for (const p of failed) console.error(`smoke-packed: FAIL ${p}`);
  process.exit(failed.length ? 1 : 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
