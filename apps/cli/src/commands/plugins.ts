import { parse } from '../args.js';
import { builtins } from '../builtins.js';
import { discoverPlugins } from '../discover.js';
import { table } from '../format.js';
import { out, printJson, type CliIO } from '../io.js';
import type { Command } from './types.js';

export const pluginsCommand: Command = {
  name: 'plugins',
  summary: 'List the built-in plugins and the plugin packages installed for this project',
  usage: 'shears plugins [--json]',
  help: [],
  examples: ['shears plugins', 'shears plugins --json'],
  options: {},
  async run(argv: string[], io: CliIO) {
    parse('plugins', argv, this.options);
    const list = Object.entries(builtins()).map(([name, f]) => ({ name, kind: f.kind ?? 'unknown', description: f.description ?? '' }));
    const installed = discoverPlugins();
    if (io.json) return printJson(io, { plugins: list, installed });
    out(io, table(['name', 'kind', 'description'], list.map((p) => [p.name, p.kind, p.description])));
    if (installed.length) {
      out(io, '\nInstalled plugin packages (keyword "shears-plugin"):');
      out(io, table(['package', 'version', 'description'], installed.map((p) => [p.name, p.version, p.description])));
    }
    out(io, '\nAny module path or package name also works wherever a plugin name goes (--strategy ./my-plugin.mjs, or `use:` in a recipe).');
  },
};
