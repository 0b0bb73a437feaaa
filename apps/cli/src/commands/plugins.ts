import { parse } from '../args.js';
import { isAlias, loadBuiltins } from '../builtins.js';
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
    // Old names are listed after the others, marked as deprecated aliases.
    // Every plugin package loads here, when the listing runs (not when `shears --help` reads this command's summary).
    const entries = Object.entries(await loadBuiltins());
    const list = [...entries.filter(([, f]) => !isAlias(f)), ...entries.filter(([, f]) => isAlias(f))].map(([name, f]) => ({
      name,
      kind: f.kind ?? 'unknown',
      description: f.description ?? '',
      ...(isAlias(f) ? { deprecated: true, aliasOf: f.aliasOf } : {}),
    }));
    const installed = discoverPlugins();
    if (io.json) return printJson(io, { plugins: list, installed });
    out(io, table(['name', 'kind', 'description'], list.map((p) => [p.deprecated ? `${p.name} (deprecated)` : p.name, p.kind, p.description])));
    if (installed.length) {
      out(io, '\nInstalled plugin packages (keyword "shears-plugin"):');
      out(io, table(['package', 'version', 'description'], installed.map((p) => [p.name, p.version, p.description])));
    }
    out(io, '\nAny module path or package name also works wherever a plugin name goes (--strategy ./my-plugin.mjs, or `use:` in a recipe).');
  },
};
