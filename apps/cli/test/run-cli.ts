import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'bin.js');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json<T = any>(): T;
}

/** Spawn the built `shears` binary, like a user would. */
export function shears(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, maxBuffer: 64 << 20 });
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    json() {
      return JSON.parse(r.stdout);
    },
  };
}
