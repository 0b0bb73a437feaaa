#!/usr/bin/env node
import { guardUncaught } from './fatal.js';
import { main } from './main.js';

// `shears inspect big.onnx | head`: a closed pipe ends the output, not in a crash.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// First Ctrl-C: abort, so the running step stops and staged outputs are
// removed (exit 130). A second one exits at once.
const interrupt = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('\nshears: interrupted; cleaning up (Ctrl-C again to quit now)\n');
  interrupt.abort();
  process.once('SIGINT', () => process.exit(130));
});

// Errors nothing awaited (plugin code's timers and stray promises): our one line and exit code.
const argv = process.argv.slice(2);
const guard = guardUncaught(argv, { stdout: process.stdout, stderr: process.stderr, signal: interrupt.signal }, (reason) => interrupt.abort(reason));

main(argv, guard.streams).then(
  (code) => guard.settle(code),
  (e: unknown) => {
    process.stderr.write(`shears: internal error: ${String(e)}\n`);
    guard.settle(1);
  },
);
