import { loadRecipe, Pipeline, pipelineFromRecipe, ShearsError } from '@shears/core';
import { onnxImport } from '@shears/onnx';
import { createRuntime } from '@shears/runtime';
import { needOne, parse } from '../args.js';
import { builtins } from '../builtins.js';
import { out, createLogger, createProgress, printJson, type CliIO } from '../io.js';
import type { Command } from './types.js';

export const runCommand: Command = {
  name: 'run',
  summary: 'Run a pipeline recipe (YAML or JSON): import, prune, fine-tune, export…',
  usage: 'shears run <recipe.yaml> [--dry-run] [--json]',
  help: [['--dry-run', 'plan every strategy step but apply and write nothing']],
  examples: ['shears run examples/recipes/prune-and-export.yaml', 'shears run recipe.json --json'],
  options: { 'dry-run': { type: 'boolean' } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('run', argv, this.options);
    const file = needOne('run', positionals, 'recipe file');
    const recipe = await loadRecipe(file);
    if (!recipe.input) throw new ShearsError('E_RECIPE', `${file}: input: the recipe needs an input model`, { file, option: 'input' });
    const map = builtins();
    const p = await pipelineFromRecipe(recipe, { builtins: map });
    // Recipes may leave the importer implicit.
    const steps = p.plugins[0]?.kind === 'importer' ? p : new Pipeline().use(onnxImport({ inputShape: recipe.inputShape }), ...p.plugins);
    const t0 = performance.now();
    const r = await steps.run(recipe.input, { logger: createLogger(io), progress: createProgress(io), runtime: createRuntime(), dryRun: Boolean(values['dry-run']), protect: [file], signal: io.signal });
    const report = {
      recipe: file,
      input: recipe.input,
      seconds: (performance.now() - t0) / 1000,
      steps: r.steps.map((s) => ({ plugin: s.plugin, kind: s.kind, seconds: s.seconds, modified: s.modified, files: s.files ?? [], details: s.details ?? null, skipped: s.plan?.skipped ?? [] })),
      files: r.files,
    };
    if (io.json) return printJson(io, report);
    for (const s of report.steps) out(io, `${s.plugin.padEnd(20)} ${s.kind.padEnd(10)} ${s.seconds.toFixed(2)}s${s.modified ? '  modified' : ''}`);
    for (const f of r.files) out(io, `wrote ${f}`);
  },
};
