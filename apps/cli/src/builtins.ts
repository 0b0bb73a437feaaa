import type { PluginFactory, PluginKind, PluginMap } from '@shears/core';

/**
 * The built-in plugins, by the names recipes and --strategy use. Only the CLI
 * assembles this map; the packages themselves register nothing.
 *
 * Packages load on demand: the index below names, for each built-in, the
 * module that provides it and the listing metadata (kind, description), so
 * `shears prune --strategy unstructured` imports @shears/prune-unstructured
 * and not tfjs, LiteRT.js, Chart.js or the other strategies. A test checks
 * the index against the factories themselves.
 */
type Module = Record<string, unknown>;

const core = () => import('@shears/core') as Promise<Module>;
const onnx = () => import('@shears/onnx') as Promise<Module>;
const exportOnnx = () => import('@shears/export-onnx') as Promise<Module>;
const tensorrt = () => import('@shears/export-tensorrt') as Promise<Module>;
const tflite = () => import('@shears/export-tflite') as Promise<Module>;
const report = () => import('@shears/report') as Promise<Module>;
const criteria = () => import('@shears/criteria') as Promise<Module>;
const pruneChannel = () => import('@shears/prune-channel') as Promise<Module>;
const pruneFilter = () => import('@shears/prune-filter') as Promise<Module>;
const pruneUnstructured = () => import('@shears/prune-unstructured') as Promise<Module>;
const sensitivity = () => import('@shears/sensitivity') as Promise<Module>;
const finetune = () => import('@shears/finetune') as Promise<Module>;
const snapshot = () => import('./snapshot.js') as Promise<Module>;

interface Entry {
  load: () => Promise<Module>;
  /** The factory's export name (a key of DEPLOY_PASSES for `deploy`). */
  from: string;
  kind: PluginKind;
  description: string;
  deploy?: true;
}

const pass = (from: string, description: string): Entry => ({ load: exportOnnx, from, kind: 'pass', description, deploy: true });

/** Every built-in: where it comes from and what `shears plugins` lists. */
export const BUILTIN_INDEX: Readonly<Record<string, Entry>> = {
  'onnx-import': { load: onnx, from: 'onnxImport', kind: 'importer', description: 'read an ONNX model (path or bytes) and infer shapes' },
  'onnx-write': { load: onnx, from: 'onnxWrite', kind: 'exporter', description: 'write the model as ONNX (atomically, never over the input)' },
  'onnx-export': { load: exportOnnx, from: 'onnxExport', kind: 'exporter', description: 'deployable ONNX: strip, fold BN and constants, dedupe, opset conversion, fp16, metadata' },
  'tensorrt-export': { load: tensorrt, from: 'tensorrtExport', kind: 'exporter', description: 'TensorRT-ready ONNX with 2:4 sparsity report, trtexec recipe and optional 2:4 enforcement' },
  'tflite-export': { load: tflite, from: 'exportTflite', kind: 'exporter', description: 'write a .tflite (NHWC, fused activations, optional fp16/sparse), verified in LiteRT.js' },
  report: { load: report, from: 'htmlReport', kind: 'exporter', description: 'a self-contained HTML report: before/after summary, per-layer sparsity and channels, plans' },
  // Runs right after import in prune, run, sensitivity and export unless --no-normalize (or a recipe's normalize: false).
  normalize: { load: core, from: 'normalize', kind: 'pass', description: 'Constant nodes become initializers; constant-only weight subgraphs (Reshape, Transpose, Cast, elementwise…) fold into initializers' },
  // Deployment passes (@shears/export-onnx's DEPLOY_PASSES).
  'strip-training': pass('strip-training', 'drop pruning masks, training-info blocks, training-only nodes and training_mode flags'),
  'fold-batchnorm': pass('fold-batchnorm', 'fold BatchNormalization into the preceding Conv, ConvTranspose or Gemm'),
  'fold-constants': pass('fold-constants', 'fold constant and shape sub-graphs into initializers; Constant nodes become initializers'),
  'remove-dead': pass('remove-dead', 'remove Identity, Dropout (ops the table marks as identity at inference), dead nodes and unused initializers'),
  'dedupe-initializers': pass('dedupe-initializers', 'merge initializers with identical dtype, shape and bytes'),
  'fix-dims': pass('fix-dims', 'fix dynamic input dims to given sizes (by input shape or by symbolic dim name)'),
  float16: pass('float16', 'convert float32 weights and activations to float16 (Cast at the inputs and outputs, or float16 I/O)'),
  'onnx-sparse-write': { load: pruneUnstructured, from: 'onnxSparseWrite', kind: 'exporter', description: 'write ONNX, storing pruned weights as sparse initializers where that saves bytes' },
  unstructured: { load: pruneUnstructured, from: 'unstructuredPruning', kind: 'strategy', description: 'unstructured / N:M weight pruning: per layer or global threshold, ERK/LAMP/table allocation' },
  filter: { load: pruneFilter, from: 'filterPruning', kind: 'strategy', description: 'structured filter pruning: remove whole channels of coupled groups (amount or target MACs)' },
  compact: { load: pruneFilter, from: 'compactPruning', kind: 'strategy', description: 'lossless compaction: remove channels that provably contribute nothing' },
  // A pass: accuracy with each layer pruned alone (state key SENSITIVITY).
  sensitivity: { load: sensitivity, from: 'sensitivity', kind: 'pass', description: 'sensitivity scan: accuracy with each layer pruned alone at each amount, and a proposed amount table' },
  // Channel pruning with least-squares reconstruction (needs --calib).
  channel: { load: pruneChannel, from: 'channelPruning', kind: 'strategy', description: 'channel pruning with least-squares reconstruction (ThiNet / He et al.): needs --calib' },
  // Fine-tuning (tfjs loads only when a finetune step runs): teacher-snapshot → strategy → finetune.
  finetune: { load: finetune, from: 'finetunePlugin', kind: 'finetuner', description: 'fine-tune in tfjs (masks kept at zero, optional distillation from the dense model)' },
  'teacher-snapshot': { load: finetune, from: 'teacherSnapshot', kind: 'pass', description: 'keep a copy of the current (dense) model as the teacher for a later finetune step' },
  // A row of the run's report mid-pipeline (e.g. pruned, before fine-tuning), measured with the recipe's evaluate:.
  snapshot: { load: snapshot, from: 'snapshot', kind: 'pass', description: "keep a copy of the current model, measured with the run's evaluate: and shown as a row of the report (e.g. pruned, before fine-tuning)" },
  // Criteria from @shears/criteria score single weights (element or
  // channel, for unstructured) and groups of coupled channels (filter).
  l1: { load: criteria, from: 'l1', kind: 'criterion', description: 'L1 magnitude: |w|; channels and groups by the sum of |w| (mean or sum over the group, normalized per group)' },
  l2: { load: criteria, from: 'l2', kind: 'criterion', description: 'L2 magnitude: channels and groups by the L2 norm of their weights (mean or sum over the group, normalized per group)' },
  fpgm: { load: criteria, from: 'fpgm', kind: 'criterion', description: 'FPGM: distance of each filter to the geometric median of its layer (near the median = redundant)' },
  'bn-scale': { load: criteria, from: 'bnScale', kind: 'criterion', description: 'Network Slimming: |γ| of the BatchNormalization (or other norm) scale on each channel; L1 where there is none' },
  random: { load: criteria, from: 'random', kind: 'criterion', description: 'seeded uniform random scores (a baseline)' },
  'mean-activation': { load: criteria, from: 'meanActivation', kind: 'criterion', description: 'mean |activation| of each channel on calibration data' },
  apoz: { load: criteria, from: 'apoz', kind: 'criterion', description: '1 − average percentage of zeros of each channel on calibration data (APoZ)' },
  hrank: { load: criteria, from: 'hrank', kind: 'criterion', description: 'average rank of each channel’s feature maps on calibration data (HRank)' },
  wanda: { load: pruneUnstructured, from: 'wanda', kind: 'criterion', description: '|W| × ‖X‖₂ of the input feature (needs calibration data)' },
  sparsegpt: { load: pruneUnstructured, from: 'sparsegpt', kind: 'criterion', description: 'SparseGPT: OBS layer-wise reconstruction with the input Hessian (needs calibration data; updates weights)' },
};

/**
 * Old names of built-ins, still accepted wherever a plugin name goes (recipes,
 * --strategy, …) with a one-line deprecation warning. Built-ins are named
 * `<format>-<verb>` (onnx-import, onnx-export, tensorrt-export, tflite-export).
 */
export const BUILTIN_ALIASES: Readonly<Record<string, string>> = {
  'export-tflite': 'tflite-export',
};

/** A factory listed under an old name: the new one's, marked with the name it stands for. */
export type AliasFactory = PluginFactory & { aliasOf: string };

export const isAlias = (f: PluginFactory): f is AliasFactory => typeof (f as Partial<AliasFactory>).aliasOf === 'string';

/** The one-line warning for a deprecated name. */
export const aliasWarning = (alias: string) => `'${alias}' is a deprecated name of the built-in plugin '${BUILTIN_ALIASES[alias]}'; use '${BUILTIN_ALIASES[alias]}' (built-ins are named <format>-<verb>)`;

function aliasFactory(alias: string, target: PluginFactory): AliasFactory {
  const f = (options?: unknown) => target(options);
  return Object.assign(f, { pluginName: target.pluginName, kind: target.kind, description: `deprecated alias of ${BUILTIN_ALIASES[alias]}`, aliasOf: BUILTIN_ALIASES[alias]! });
}

async function factoryOf(name: string, e: Entry): Promise<PluginFactory> {
  const m = await e.load();
  const f = (e.deploy ? (m.DEPLOY_PASSES as Record<string, unknown>)[e.from] : m[e.from]) as PluginFactory | undefined;
  if (typeof f !== 'function') throw new Error(`built-in plugin ${name}: ${e.from} is not exported by its package`);
  return f;
}

/** A placeholder for a built-in that was not loaded: listed, never called. */
function unloaded(name: string, e: Entry): PluginFactory {
  const f = () => {
    throw new Error(`built-in plugin ${name} was not loaded (loadBuiltins([${JSON.stringify(name)}]))`);
  };
  return Object.assign(f, { pluginName: name, kind: e.kind, description: e.description }) as unknown as PluginFactory;
}

let all: PluginMap | undefined;

export interface LoadBuiltinsOptions {
  /** Where the deprecation warning for an old name goes (default: stderr, `shears: warning: …`). */
  warn?: (message: string) => void;
}

/**
 * The built-in map with the named plugins loaded (their packages imported)
 * and the others as listed placeholders; every name, loaded or not, is a key,
 * so "unknown plugin" errors still list them all. Old names (BUILTIN_ALIASES)
 * are keys too, and naming one warns once. Without names: every package, and
 * `builtins()` answers from then on.
 */
export async function loadBuiltins(names?: Iterable<string | undefined>, opts: LoadBuiltinsOptions = {}): Promise<PluginMap> {
  const named = names ? [...names].filter((n): n is string => typeof n === 'string') : undefined;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`shears: warning: ${m}\n`));
  for (const alias of new Set(named?.filter((n) => Object.hasOwn(BUILTIN_ALIASES, n)))) warn(aliasWarning(alias));
  if (all) return all;
  const want = named ? new Set(named.map((n) => BUILTIN_ALIASES[n] ?? n).filter((n) => n in BUILTIN_INDEX)) : new Set(Object.keys(BUILTIN_INDEX));
  const entries = await Promise.all(Object.entries(BUILTIN_INDEX).map(async ([name, e]) => [name, want.has(name) ? await factoryOf(name, e) : unloaded(name, e)] as const));
  const map: PluginMap = Object.fromEntries(entries);
  for (const [alias, target] of Object.entries(BUILTIN_ALIASES)) map[alias] = aliasFactory(alias, map[target]!);
  if (!named) all = map;
  return map;
}

/** The full built-in map; `await loadBuiltins()` first (the command loader does, for the commands that use it). */
export function builtins(): PluginMap {
  if (!all) throw new Error('builtins(): the built-in plugins are not loaded; await loadBuiltins() first');
  return all;
}
