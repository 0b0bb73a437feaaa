import type { Command } from './commands/types.js';

export function commandHelp(c: Command): string {
  const w = Math.max(...c.help.map(([f]) => f.length), 12);
  return [
    `${c.summary}`,
    '',
    `Usage: ${c.usage}`,
    '',
    'Options:',
    ...c.help.map(([f, d]) => `  ${f.padEnd(w)}  ${d}`),
    `  ${'--json'.padEnd(w)}  print exactly one JSON document on stdout`,
    `  ${'-v, --verbose'.padEnd(w)}  debug logs, and stack traces on errors`,
    `  ${'-q, --quiet'.padEnd(w)}  no progress or info logs`,
    '',
    'Examples:',
    ...c.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

export function mainHelp(commands: readonly { name: string; summary: string }[], version: string): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    `shears ${version} — prune neural networks so they run smaller and faster on edge devices`,
    '',
    'Usage: shears <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Run `shears <command> --help` for a command\'s options and examples.',
    'Exit codes: 0 ok, 1 internal error, 2 bad usage/option/recipe, 3 bad input (model, data, file), 4 plugin or runtime failure, 130 interrupted.',
    '',
  ].join('\n');
}
