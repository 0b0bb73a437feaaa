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

export async function loadCommand(name: string): Promise<Command | undefined> {
  return LOADERS[name]?.();
}

export async function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMAND_NAMES.map((n) => LOADERS[n]!()));
}
