import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface FoundPlugin {
  name: string;
  version: string;
  description: string;
}

/** The nearest package.json at or above `dir`. */
function nearestPackageJson(dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) return p;
    if (dirname(d) === d) return undefined;
  }
}

/** node_modules/<name>/package.json at or above `dir` (read directly: `exports` may hide it from require). */
function installedPackageJson(dir: string, name: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const p = join(d, 'node_modules', name, 'package.json');
    if (existsSync(p)) return p;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Third-party plugin packages installed for the project in `cwd`: its
 * dependencies whose package.json has the keyword `shears-plugin`.
 */
export function discoverPlugins(cwd = process.cwd()): FoundPlugin[] {
  const pj = nearestPackageJson(cwd);
  if (!pj) return [];
  const pkg = JSON.parse(readFileSync(pj, 'utf8')) as Record<string, Record<string, string> | undefined>;
  const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.optionalDependencies });
  const found: FoundPlugin[] = [];
  for (const name of names) {
    const file = installedPackageJson(dirname(pj), name);
    if (!file) continue;
    const meta = JSON.parse(readFileSync(file, 'utf8')) as { keywords?: string[]; version?: string; description?: string };
    if (meta.keywords?.includes('shears-plugin')) found.push({ name, version: meta.version ?? '', description: meta.description ?? '' });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
