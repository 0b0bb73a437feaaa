import { ShearsError } from '../errors.js';
import { PLUGIN_KINDS, type Plugin, type PluginFactory, type PluginKind } from './types.js';

/** The hook each kind must have. */
const REQUIRED_HOOK: Record<PluginKind, string> = {
  importer: 'import',
  pass: 'run',
  strategy: 'plan',
  criterion: 'score',
  finetuner: 'finetune',
  exporter: 'export',
};

/** Why `x` is not a valid plugin, or undefined when it is. */
export function pluginProblem(x: unknown): string | undefined {
  if (!x || typeof x !== 'object') return `expected a plugin object, got ${x === null ? 'null' : typeof x}`;
  const p = x as Record<string, unknown>;
  if (typeof p.name !== 'string' || p.name.length === 0) return "missing string 'name'";
  if (!PLUGIN_KINDS.includes(p.kind as PluginKind)) return `'kind' must be one of ${PLUGIN_KINDS.join(', ')} (got ${JSON.stringify(p.kind)})`;
  const hook = REQUIRED_HOOK[p.kind as PluginKind];
  if (typeof p[hook] !== 'function') return `a ${String(p.kind)} plugin needs a '${hook}' hook`;
  if (p.ops !== undefined && !(Array.isArray(p.ops) && p.ops.every((s) => s && typeof s === 'object' && typeof (s as { opType?: unknown }).opType === 'string')))
    return "'ops' must be an array of op specs ({ opType, domain?, since, … })";
  return undefined;
}

export function isPlugin(x: unknown): x is Plugin {
  return pluginProblem(x) === undefined;
}

/** Identity helper for type inference; also validates the plugin's shape. */
export function definePlugin<P extends Plugin>(plugin: P): P {
  const problem = pluginProblem(plugin);
  if (problem) throw new ShearsError('E_PLUGIN', `invalid plugin ${(plugin as { name?: string })?.name ?? '(unnamed)'}: ${problem}`, { plugin: (plugin as { name?: string })?.name });
  return plugin;
}

/** Attach listing metadata to a factory. */
export function definePluginFactory<O, P extends Plugin>(
  meta: { name: string; kind: P['kind']; description?: string },
  factory: (options?: O) => P,
): PluginFactory<O, P> {
  return Object.assign(factory, { pluginName: meta.name, kind: meta.kind, description: meta.description });
}
