import type { Command } from './types.js';

/**
 * Commands load on demand: `shears inspect` should not pay for onnxruntime,
 * image decoders or zod, which only some commands use; `shears prune` loads
 * only the plugin packages it names (loadBuiltins).
 */
const LOADERS: Record<string, () => Promise<Command>> = {
  inspect: async () => (await import('./inspect.js')).inspect,
  convert: async () => (await import('./convert.js')).convert,
  prune: async () => (await import('./prune.js')).prune,
  eval: async () => (await import('./eval.js')).evalCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
  compare: async () => (await import('./compare.js')).compareCommand,
  run: async () => (await import('./run.js')).runCommand,
  finetune: async () => (await import('./finetune.js')).finetuneCommand,
  export: async () => (await import('./export.js')).exportCommand,
  // `shears plugins` loads every plugin package when it runs, so `shears --help` stays fast.
  plugins: async () => (await import('./plugins.js')).pluginsCommand,
  sensitivity: async () => (await import('./sensitivity.js')).sensitivityCommand,
  report: async () => (await import('./report.js')).reportCommand,
  doctor: async () => (await import('./doctor.js')).doctorCommand,
};

export const COMMAND_NAMES = Object.keys(LOADERS);

/**
 * Each command's one-line summary, for `shears --help` without importing a
 * single command module (some load onnxruntime or tfjs). A test checks these
 * against the commands themselves.
 */
export const COMMAND_SUMMARIES: Readonly<Record<string, string>> = {
  inspect: 'Show a model: inputs, outputs, per-layer params, MACs and sparsity, totals',
  convert: 'Read and re-write an ONNX model losslessly (round trip through the Shears IR)',
  prune: 'Prune a model with a strategy plugin (built-in name, module path or package)',
  eval: 'Top-1 and top-5 accuracy of a classifier, or COCO mAP of a detector, on labelled data',
  bench: 'Measure inference latency (median and p90 over warm runs) in onnxruntime-node',
  compare: 'Run two models on the same inputs: max abs difference and cosine similarity of outputs',
  run: 'Run a pipeline recipe (YAML or JSON): import, prune, fine-tune, export, evaluate, report',
  finetune: 'Fine-tune a pruned model in tfjs (pruned weights stay zero), optionally distilling from the dense model',
  export: 'Export a model for deployment (onnx, tensorrt, tflite)',
  plugins: 'List the built-in plugins and the plugin packages installed for this project',
  sensitivity: 'Accuracy with each layer pruned alone at each amount; proposes a per-layer amount table',
  report: 'Write a self-contained HTML report (charts inlined, works offline) from report data JSON',
  doctor: 'Report the runtimes found (onnxruntime-node, TensorFlow.js and the fine-tuning backend, TFLite validator, python onnx, chromium) and what each enables',
};

export async function loadCommand(name: string): Promise<Command | undefined> {
  return LOADERS[name]?.();
}

export async function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_NAMES.map((n) => LOADERS[n]!()));
}
