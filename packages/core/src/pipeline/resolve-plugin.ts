import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ShearsError, isShearsError } from '../errors.js';
import { pluginProblem } from '../plugin/define.js';
import type { Plugin, PluginFactory } from '../plugin/types.js';
import { normalize } from '../transform/normalize.js';
import { Pipeline } from './pipeline.js';
import type { Recipe } from './recipe.js';

/** Built-in plugin factories by name; the CLI assembles this map, packages never register globally. */
export type PluginMap = Record<string, PluginFactory>;

export interface ResolveOptions {
  builtins?: PluginMap;
  /** Folder that relative module paths and package names resolve from. */
  baseDir?: string;
}

const isPath = (spec: string) => spec.startsWith('.') || isAbsolute(spec) || /\.[cm]?js$/.test(spec);

/**
 * Turn a name into a plugin: a built-in name, a module path, or a package
 * name whose default export is a plugin factory (or a plugin object).
 */
export async function resolvePlugin(spec: string, options: Record<string, unknown> | undefined, opts: ResolveOptions = {}): Promise<Plugin> {
  const builtin = opts.builtins?.[spec];
  if (builtin) return instantiate(builtin, options, spec);
  const baseDir = opts.baseDir ?? process.cwd();
  let mod: Record<string, unknown>;
  let url: string;
  try {
    url = isPath(spec) ? pathToFileURL(resolve(baseDir, spec)).href : resolvePackage(spec, baseDir);
  } catch {
    const known = Object.keys(opts.builtins ?? {});
    throw new ShearsError('E_PLUGIN', `unknown plugin '${spec}': not a built-in${known.length ? ` (${known.join(', ')})` : ''} and no module of that name`, { plugin: spec });
  }
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    throw new ShearsError('E_PLUGIN', `plugin module '${spec}' failed to load: ${(e as Error).message.split('\n')[0]}`, { plugin: spec, cause: e });
  }
  let exported = mod.default ?? mod.plugin;
  // A CommonJS build seen through import(): module.exports is the default export.
  if (exported && typeof exported === 'object' && 'default' in exported && pluginProblem(exported) !== undefined) exported = (exported as { default: unknown }).default;
  if (typeof exported === 'function') return instantiate(exported as PluginFactory, options, spec);
  const problem = pluginProblem(exported);
  if (problem) throw new ShearsError('E_PLUGIN', `module '${spec}' is not a Shears plugin: its default export ${problem}`, { plugin: spec });
  if (options && Object.keys(options).length)
    throw new ShearsError('E_PLUGIN', `module '${spec}' exports a plugin object, not a factory, so it takes no options`, { plugin: spec });
  return exported as Plugin;
}

function resolvePackage(spec: string, baseDir: string): string {
  const req = createRequire(join(baseDir, 'noop.js'));
  return pathToFileURL(req.resolve(spec)).href;
}

function instantiate(factory: PluginFactory, options: Record<string, unknown> | undefined, spec: string): Plugin {
  let p: unknown;
  try {
    p = factory(options ?? {});
  } catch (e) {
    if (isShearsError(e)) throw e.plugin ? e : e.with({ plugin: spec });
    throw new ShearsError('E_PLUGIN', `${spec}: ${(e as Error).message}`, { plugin: spec, cause: e });
  }
  const problem = pluginProblem(p);
  if (problem) throw new ShearsError('E_PLUGIN', `${spec}: factory did not return a Shears plugin: ${problem}`, { plugin: spec });
  return p as Plugin;
}

/** Build a pipeline from a recipe's steps (in order). */
export async function pipelineFromRecipe(recipe: Recipe & { baseDir?: string }, opts: ResolveOptions = {}): Promise<Pipeline> {
  const p = new Pipeline();
  for (const [i, step] of recipe.steps.entries()) {
    try {
      p.use(await resolvePlugin(step.use, step.with, { ...opts, baseDir: opts.baseDir ?? recipe.baseDir }));
    } catch (e) {
      if (isShearsError(e)) throw new ShearsError(e.code, `steps[${i}] (${step.use}): ${e.message}`, { ...e.context(), cause: e.cause });
      throw e;
    }
  }
  return recipe.normalize === false ? p : withNormalize(p);
}

/**
 * The pipeline with the normalize pass right after its leading importers (or
 * first, when an importer is added in front later), so strategies see
 * Constant-held and reshaped weights as initializers.
 */
export function withNormalize(p: Pipeline): Pipeline {
  const plugins = p.plugins;
  if (plugins.some((x) => x.kind === 'pass' && x.name === 'normalize')) return p;
  const at = plugins.findIndex((x) => x.kind !== 'importer');
  const i = at < 0 ? plugins.length : at;
  return new Pipeline().use(...plugins.slice(0, i), normalize(), ...plugins.slice(i));
}
