// What packages that start worker threads share: where the worker script
// is, and which of the parent's Node flags it may take.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ShearsError } from '../errors.js';

/**
 * The worker script beside a package's built module: `here` is that module's
 * file (worker.js or worker.cjs next to it); from the sources (tests) it is
 * the package's dist/worker.js. `pkg` names the package in the error.
 */
export function workerScript(here: string, pkg: string): string {
  const dir = dirname(here);
  const file = join(dir, here.endsWith('.cjs') ? 'worker.cjs' : 'worker.js');
  if (!here.endsWith('.ts') && existsSync(file)) return file;
  const built = join(dir, '..', 'dist', 'worker.js');
  if (existsSync(built)) return built;
  throw new ShearsError('E_INTERNAL', `${pkg}: worker script not found (${file}); build the package first`);
}

/**
 * The parent's Node flags for a worker thread, without the ones workers
 * refuse: --input-type and the code of -e/--eval/-p/--print (a process
 * started as `node --input-type=module -e '…'` would otherwise fail to start
 * any worker).
 */
export function workerExecArgv(argv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++; // its code
      continue;
    }
    if (/^--(input-type|eval|print)(=|$)/.test(a)) continue;
    out.push(a);
  }
  return out;
}
