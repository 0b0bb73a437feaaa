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
