import { spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from '../args.js';
import { table } from '../format.js';
import { bold, dim, out, printJson, type CliIO } from '../io.js';
import type { Command } from './types.js';

export interface DoctorCheck {
  name: string;
  /** found: works; missing: not installed; broken: installed but fails to load. */
  status: 'found' | 'missing' | 'broken';
  version?: string;
  /** Providers, backends, paths: what was found, in a few words. */
  detail?: string;
  /** What this runtime gives Shears. */
  enables: string;
  /** How to get what is missing (printed under the table). */
  hint?: string;
}

const PYTHON = '/usr/bin/python3';
const CHROMIUM = '/usr/bin/chromium';

/**
 * Where optional runtimes may be installed: beside the CLI, or as
 * dependencies of the Shears packages that use them (pnpm keeps each
 * package's dependencies private, so look from each of them).
 */
function resolvers(): NodeRequire[] {
  // The CLI's own dependencies, then the project it runs in.
  const roots = [createRequire(import.meta.url), createRequire(join(process.cwd(), 'package.json'))];
  const list = [...roots];
  for (const root of roots)
    for (const pkg of ['@shears/runtime', '@shears/finetune', '@shears/export-tflite']) {
      try {
        list.push(createRequire(root.resolve(pkg)));
      } catch {
        // not installed there
      }
    }
  return list;
}

function resolveFrom(name: string): string | undefined {
  for (const r of resolvers()) {
    try {
      return r.resolve(name);
    } catch (e) {
      // ESM-only packages have no "require" condition; find their folder by their package.json.
      if ((e as NodeJS.ErrnoException).code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') {
        for (const p of r.resolve.paths(name) ?? []) {
          const dir = join(p, name);
          if (existsSync(join(dir, 'package.json'))) return dir;
        }
      }
    }
  }
  return undefined;
}

/** The folder and package.json version of the package `name` that holds `entry`. */
function packageOf(name: string, entry: string): { dir: string; version?: string } | undefined {
  let dir = dirname(entry);
  for (let i = 0; i < 8; i++) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) {
      try {
        const p = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
        if (p.name === name) return { dir, version: p.version };
      } catch {
        // keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

function versionOf(name: string, entry: string): string | undefined {
  return packageOf(name, entry)?.version;
}

/** The ESM entry file of a package folder, from its exports map (import/node/default) or main. */
function entryOfDir(dir: string): string {
  const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports?: unknown; module?: string; main?: string };
  const pick = (e: unknown): string | undefined => {
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object') {
      const o = e as Record<string, unknown>;
      for (const k of ['.', 'import', 'node', 'default']) if (k in o) return pick(o[k]);
    }
    return undefined;
  };
  return join(dir, pick(p.exports) ?? p.module ?? p.main ?? 'index.js');
}

/** import() a package, with console output muted (tfjs greets on the console, which would break --json). */
async function load(name: string): Promise<{ mod?: any; entry?: string; error?: string }> {
  const found = resolveFrom(name);
  if (!found) return {};
  const entry = existsSync(join(found, 'package.json')) ? entryOfDir(found) : found;
  const saved = { log: console.log, warn: console.warn, info: console.info };
  console.log = console.warn = console.info = () => {};
  try {
    return { mod: await import(pathToFileURL(entry).href), entry };
  } catch (e) {
    return { entry, error: (e as Error).message.split('\n')[0] };
  } finally {
    Object.assign(console, saved);
  }
}

async function onnxruntime(): Promise<DoctorCheck> {
  const enables = 'evaluation, benchmarks, calibration data for criteria, export verification (onnxruntime-node)';
  const { mod, entry, error } = await load('onnxruntime-node');
  if (!entry) return { name: 'onnxruntime-node', status: 'missing', enables, detail: 'not installed (npm i onnxruntime-node)' };
  if (error || !mod) return { name: 'onnxruntime-node', status: 'broken', enables, detail: error };
  const ort = mod.default ?? mod;
  const version: string | undefined = ort.env?.versions?.node ?? ort.env?.versions?.common ?? versionOf('onnxruntime-node', entry);
  let providers: { name: string; bundled?: boolean }[] = [];
  try {
    providers = ort.listSupportedBackends?.() ?? [];
  } catch {
    // older releases have no listSupportedBackends
  }
  const ready = providers.filter((b) => b.bundled !== false).map((b) => b.name);
  const extra = providers.filter((b) => b.bundled === false).map((b) => b.name);
  const detail = `providers: ${ready.length ? ready.join(', ') : 'cpu'}${extra.length ? ` (${extra.join(', ')} need separately installed binaries)` : ''}`;
  return { name: 'onnxruntime-node', status: 'found', version, enables, detail };
}

/** tfjs-node, tfjs (when tfjs-node does not load) and the backend fine-tuning picks from them. */
async function tfjs(): Promise<DoctorCheck[]> {
  const node = await load('@tensorflow/tfjs-node');
  const checks = node.mod ? [tfjsNodeFound(node.mod, node.entry!)] : [tfjsNodeMissing(node), await tfjsJs()];
  checks.push(await finetuneBackend(node));
  return checks;
}

function tfjsNodeFound(mod: any, entry: string): DoctorCheck {
  const tf = mod.default ?? mod;
  const version = tf.version?.['tfjs-node'] ?? versionOf('@tensorflow/tfjs-node', entry);
  return { name: '@tensorflow/tfjs-node', status: 'found', version, enables: 'fine-tuning and distillation (TensorFlow.js), native TensorFlow backend (fastest)', detail: 'backend: tensorflow' };
}

function tfjsNodeMissing(node: { entry?: string; error?: string }): DoctorCheck {
  const name = '@tensorflow/tfjs-node';
  if (!node.entry) return { name, status: 'missing', enables: 'native TensorFlow backend for fine-tuning (optional; tfjs wasm/cpu is the fallback)', detail: 'not installed' };
  // The usual failure: the install script could not download libtensorflow, so the addon was never built.
  const unbuilt = /native addon module \(tfjs_binding\.node\) can not be found/.test(node.error ?? '');
  return { name, status: 'broken', enables: 'native TensorFlow backend for fine-tuning', detail: unbuilt ? 'installed, but its native addon (tfjs_binding.node) is not built' : node.error };
}

async function tfjsJs(): Promise<DoctorCheck> {
  const name = '@tensorflow/tfjs';
  const enables = 'fine-tuning and distillation (TensorFlow.js)';
  const js = await load('@tensorflow/tfjs');
  if (!js.entry) return { name, status: 'missing', enables, detail: 'not installed (npm i @tensorflow/tfjs @tensorflow/tfjs-backend-wasm)' };
  if (!js.mod) return { name, status: 'broken', enables, detail: js.error };
  const tf = js.mod.default ?? js.mod;
  const wasm = await load('@tensorflow/tfjs-backend-wasm');
  let backends: string[] = [];
  try {
    backends = Object.keys(tf.engine().registryFactory ?? {});
  } catch {
    backends = ['cpu'];
  }
  if (wasm.mod && !backends.includes('wasm')) backends.push('wasm');
  const fallback = backends.includes('wasm') ? 'wasm' : 'cpu';
  return {
    name,
    status: 'found',
    version: tf.version?.tfjs ?? versionOf('@tensorflow/tfjs', js.entry),
    enables: `${enables} on the ${fallback} backend`,
    detail: `backends: ${backends.join(', ')}${wasm.entry && !wasm.mod ? ` (wasm failed: ${wasm.error})` : ''}`,
  };
}

const LIBTENSORFLOW_HOST = 'storage.googleapis.com';

/** Whether tfjs-node's install script could download libtensorflow from here (DNS only; a proxy may still reach it). */
async function libtensorflowReachable(): Promise<boolean> {
  const timeout = new Promise<false>((done) => setTimeout(done, 3000, false).unref());
  return Promise.race([lookup(LIBTENSORFLOW_HOST).then(() => true, () => false), timeout]);
}

/** How to get the native backend, for a machine where tfjs-node is missing or its addon did not build. */
async function nativeHint(node: { entry?: string }, finetuneDir?: string): Promise<string> {
  const script = finetuneDir && join(finetuneDir, 'scripts', 'build-tfjs-node.sh');
  const wheel = `build the addon from the tensorflow-cpu Python wheel (pip, unzip, g++; about a minute): bash ${script && existsSync(script) ? script : 'node_modules/@shears/finetune/scripts/build-tfjs-node.sh'}`;
  const proxy = process.env.HTTPS_PROXY || process.env.https_proxy;
  const blocked = !proxy && !(await libtensorflowReachable());
  const download = `its install script downloads libtensorflow from ${LIBTENSORFLOW_HOST}${blocked ? ', which cannot be reached from here' : ' and builds the addon'}`;
  const head = 'native TensorFlow backend: ';
  if (node.entry) return `${head}@tensorflow/tfjs-node is installed but its native addon is not built (${download}). ${blocked ? 'Instead, ' : 'Rerun its install script (npm rebuild @tensorflow/tfjs-node), or '}${wheel}`;
  const install = 'install @tensorflow/tfjs-node@4.22.0, an optional dependency of @shears/finetune';
  if (!blocked) return `${head}${install} (${download}); where that download fails, ${wheel}`;
  return `${head}${install}, without its script (${download}): npm i @tensorflow/tfjs-node@4.22.0 --ignore-scripts; then ${wheel}`;
}

const BACKEND_WHAT: Record<string, string> = {
  tensorflow: 'native TensorFlow (tfjs-node)',
  wasm: 'WebAssembly (tfjs-backend-wasm, XNNPACK)',
  cpu: 'plain JavaScript (tfjs cpu)',
};

/** The backend fine-tuning runs on here: @shears/finetune's own choice (initBackend('auto')), and how to get the native one. */
async function finetuneBackend(node: { entry?: string }): Promise<DoctorCheck> {
  const name = 'fine-tuning backend';
  const enables = 'shears finetune and the finetune step of recipes';
  const ft = await load('@shears/finetune');
  if (!ft.entry) return { name, status: 'missing', enables, detail: '@shears/finetune not installed' };
  const pkg = packageOf('@shears/finetune', ft.entry);
  if (!ft.mod?.initBackend) return { name, status: 'broken', enables, detail: ft.error ?? '@shears/finetune has no initBackend' };
  const saved = { log: console.log, warn: console.warn, info: console.info };
  console.log = console.warn = console.info = () => {};
  let info: { name: string; notes: string[] };
  try {
    info = await ft.mod.initBackend('auto');
  } catch (e) {
    return { name, status: 'broken', enables, detail: (e as Error).message.split('\n')[0], hint: await nativeHint(node, pkg?.dir) };
  } finally {
    Object.assign(console, saved);
  }
  const detail = `active: ${info.name}, ${BACKEND_WHAT[info.name] ?? info.name}`;
  if (info.name === 'tensorflow') return { name, status: 'found', enables: `${enables}, on native TensorFlow (fastest)`, detail };
  return { name, status: 'found', enables: `${enables}, on ${info.name} (native TensorFlow is faster)`, detail, hint: await nativeHint(node, pkg?.dir) };
}

async function tflite(): Promise<DoctorCheck> {
  const enables = 'TFLite export verification (run the .tflite file and compare outputs)';
  for (const name of ['@litertjs/core', '@tensorflow/tfjs-tflite']) {
    const r = await load(name);
    if (r.mod) return { name: `TFLite validator (${name})`, status: 'found', version: versionOf(name, r.entry!), enables };
    if (r.entry) return { name: `TFLite validator (${name})`, status: 'broken', enables, detail: r.error };
  }
  return { name: 'TFLite validator', status: 'missing', enables, detail: 'not installed (@litertjs/core or @tensorflow/tfjs-tflite)' };
}

function pythonOnnx(): DoctorCheck {
  const enables = "the official ONNX checker on exported models (onnx.checker), besides Shears' own validation";
  if (!existsSync(PYTHON)) return { name: 'python3 onnx', status: 'missing', enables, detail: `${PYTHON} not found` };
  const r = spawnSync(PYTHON, ['-c', 'import onnx; print(onnx.__version__)'], { encoding: 'utf8', timeout: 30_000 });
  if (r.status === 0) return { name: 'python3 onnx', status: 'found', version: r.stdout.trim(), enables, detail: PYTHON };
  const last = (r.stderr || r.error?.message || '').trim().split('\n').pop();
  return { name: 'python3 onnx', status: /No module named/.test(last ?? '') ? 'missing' : 'broken', enables, detail: last || `exit ${r.status}` };
}

function chromium(): DoctorCheck {
  const enables = 'the HTML report browser test (playwright-core drives it headless)';
  if (!existsSync(CHROMIUM)) return { name: 'chromium', status: 'missing', enables, detail: `${CHROMIUM} not found (apt-get install chromium)` };
  const r = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const version = r.status === 0 ? r.stdout.trim().replace(/^Chromium\s+/, '').split(/\s/)[0] : undefined;
  return { name: 'chromium', status: r.status === 0 ? 'found' : 'broken', version, enables, detail: CHROMIUM };
}

export async function runDoctor(): Promise<DoctorCheck[]> {
  return [await onnxruntime(), ...(await tfjs()), await tflite(), pythonOnnx(), chromium()];
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'Report the runtimes found (onnxruntime-node, TensorFlow.js and the fine-tuning backend, TFLite validator, python onnx, chromium) and what each enables',
  usage: 'shears doctor [--json]',
  help: [],
  examples: ['shears doctor', 'shears doctor --json'],
  options: {},
  async run(argv: string[], io: CliIO) {
    parse('doctor', argv, this.options);
    const checks = await runDoctor();
    const node = { version: process.versions.node, platform: `${process.platform}-${process.arch}` };
    if (io.json) return printJson(io, { node, checks });
    out(io, `${bold(io, 'shears doctor')}  node ${node.version} ${node.platform}`);
    out(io, '');
    const mark = (s: DoctorCheck['status']) => (s === 'found' ? 'ok' : s === 'missing' ? 'not installed' : 'broken');
    out(io, table(['runtime', 'status', 'version', 'details'], checks.map((c) => [c.name, mark(c.status), c.version ?? '-', c.detail ?? ''])));
    out(io, '');
    for (const c of checks) out(io, `${c.status === 'found' ? '+' : '-'} ${c.name}: ${c.status === 'found' ? c.enables : dim(io, `unavailable: ${c.enables}`)}`);
    const hints = checks.filter((c) => c.hint);
    if (hints.length) out(io, '');
    for (const c of hints) out(io, `hint: ${c.hint}`);
  },
};
