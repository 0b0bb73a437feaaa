import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ShearsError } from '@shears/core';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every command takes. */
export const COMMON: OptionSpec = {
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parse with node's parseArgs; unknown flags become one-line usage errors. */
export function parse(command: string, argv: string[], options: OptionSpec): Parsed {
  try {
    const r = parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0]!.replace(/^Unknown option '(.+?)'.*/, "unknown option '$1'");
    throw new ShearsError('E_OPTION', `${command}: ${msg} (see shears ${command} --help)`, { option: msg });
  }
}

/** `name:1x3x224x224` (or `1x3x224x224` for the only input), repeatable. */
export function parseInputShapes(specs: string[] | undefined): Record<string, number[]> | undefined {
  if (!specs?.length) return undefined;
  const out: Record<string, number[]> = {};
  for (const spec of specs) {
    const i = spec.lastIndexOf(':');
    const name = i >= 0 ? spec.slice(0, i) : '';
    const dims = (i >= 0 ? spec.slice(i + 1) : spec).split(/[x,]/).map(Number);
    if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d <= 0))
      throw new ShearsError('E_OPTION', `option --input-shape: '${spec}' is not name:AxBxC with positive integers`, { option: 'input-shape' });
    out[name] = dims;
  }
  return out;
}

export function needOne(command: string, positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new ShearsError('E_OPTION', `${command}: expected one ${what}, got ${positionals.length} (see shears ${command} --help)`, { option: what });
  return positionals[0]!;
}

export function numberOption(command: string, name: string, raw: unknown, check?: (n: number) => string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  const problem = Number.isFinite(n) ? check?.(n) : 'must be a number';
  if (problem) throw new ShearsError('E_OPTION', `${command}: option --${name}: ${problem} (got ${String(raw)})`, { option: name });
  return n;
}
