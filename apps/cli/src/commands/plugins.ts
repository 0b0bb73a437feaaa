import { parse } from '../args.js';
import { builtins } from '../builtins.js';
import { out, printJson, type CliIO } from '../io.js';
import { table } from '../format.js';
import type { Command } from './types.js';

export const pluginsCommand: Command = {
  name: 'plugins',
  summary: 'List the built-in plugins (and how to use your own)',
  usage: 'shears plugins [--json]',
  help: [],
  examples: ['shears plugins', 'shears plugins --json'],
  options: {},
  async run(argv: string[], io: CliIO) {
    parse('plugins', argv, this.options);
    const list = Object.entries(builtins()).map(([name, f]) => ({ name, kind: f.kind ?? 'unknown', description: f.description ?? '' }));
    if (io.json) return printJson(io, { plugins: list });
    out(io, table(['name', 'kind', 'description'], list.map((p) => [p.name, p.kind, p.description])));
    out(io, '\nThird-party plugins: pass a module path or package name wherever a name goes (--strategy ./my-plugin.mjs, or `use:` in a recipe).');
  },
};
