import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { closestName, ShearsError, type PluginKind, type PluginMap } from '@shears/core';
import { isAlias } from './builtins.js';

/** A module path rather than a name (the rule resolvePlugin follows). */
const isPath = (spec: string) => spec.startsWith('.') || isAbsolute(spec) || /\.[cm]?js$/.test(spec);

/**
 * Whether `spec` names a plugin at all: a built-in, a module file that
 * exists, or a package installed for `baseDir`. A name that is none of these
 * is a usage error (a typo); one that exists but fails to load is not.
 */
export function pluginExists(spec: string, builtins: PluginMap, baseDir = process.cwd()): boolean {
  if (Object.hasOwn(builtins, spec)) return true;
  if (isPath(spec)) return existsSync(resolve(baseDir, spec));
  try {
    createRequire(join(baseDir, 'noop.js')).resolve(spec);
    return true;
  } catch {
    return false;
  }
}

/** "unknown strategy 'filterr' (did you mean 'filter'?); built-in strategies: …" */
export function unknownPlugin(spec: string, builtins: PluginMap, kind?: PluginKind): string {
  // Deprecated old names still work but are not offered.
  const names = Object.keys(builtins).filter((n) => !isAlias(builtins[n]!) && (!kind || builtins[n]!.kind === kind));
  const near = closestName(spec, names);
  const what = kind ?? 'plugin';
  return `unknown ${what} '${spec}'${near ? ` (did you mean '${near}'?)` : ''}: not a built-in ${what}${names.length ? ` (${names.join(', ')})` : ''}, nor a module file or installed package`;
}

/**
 * A plugin named by a command-line option must exist and be of the kind the
 * option takes; otherwise it is a usage error (E_OPTION, exit 2) naming the
 * option.
 */
export function checkPluginOption(command: string, option: string, spec: string, kind: PluginKind, builtins: PluginMap): void {
  if (!pluginExists(spec, builtins)) throw new ShearsError('E_OPTION', `${command}: option --${option}: ${unknownPlugin(spec, builtins, kind)}`, { option, plugin: spec });
  // A built-in's kind is known before it is built (and before its options are checked).
  const builtin = Object.hasOwn(builtins, spec) ? builtins[spec]!.kind : undefined;
  if (builtin) checkPluginKind(command, option, spec, kind, builtin);
}

/** The plugin an option resolved to must be of the option's kind (a usage error otherwise). */
export function checkPluginKind(command: string, option: string, spec: string, kind: PluginKind, got: PluginKind): void {
  if (got !== kind) throw new ShearsError('E_OPTION', `${command}: option --${option}: '${spec}' is a ${got} plugin, not a ${kind}`, { option, plugin: spec });
}
