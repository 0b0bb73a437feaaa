import { EXIT } from './exit-codes.js';
import { ioFor, reportError, type MainStreams } from './main.js';

/** How long a run may take to stop and remove its staged outputs after an uncaught error. */
const GRACE_MS = 2000;

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

export interface UncaughtGuard {
  /** The streams to hand to main(): silent once an uncaught error has been reported. */
  streams: MainStreams;
  /** main() settled with `code`: exit with it, or with the uncaught error's code. */
  settle(code: number): void;
}

/**
 * Errors that nothing awaited (a throw in a timer, a forgotten promise in
 * plugin code) end the run the CLI's way: one `shears: error:` line and the
 * CLI's exit code. The running step is aborted so that the pipeline removes
 * its staged outputs; the process exits when main() settles, or after a
 * short grace. If a dependency has added its own handlers (tfjs-backend-wasm's
 * Emscripten glue adds ones that rethrow, which exits 7), the process exits
 * at once, before they run.
 */
export function guardUncaught(argv: string[], base: MainStreams & { signal: AbortSignal }, abort: (reason: unknown) => void): UncaughtGuard {
  let code: number | undefined;
  const exitNow = () => process.exit(code ?? EXIT.internal);
  const onError = (e: unknown) => {
    if (code !== undefined) return;
    code = reportError(e, ioFor(argv, base));
    const foreign = EVENTS.some((ev) => (process as NodeJS.EventEmitter).listeners(ev).some((l) => l !== onError));
    if (foreign) exitNow();
    abort(e);
    setTimeout(exitNow, GRACE_MS);
  };
  for (const ev of EVENTS) process.on(ev, onError);
  const gate = <S extends NodeJS.WritableStream>(s: S): S =>
    new Proxy(s, {
      get(target, prop) {
        if (prop === 'write') return (...args: unknown[]) => (code === undefined ? (target.write as (...a: unknown[]) => boolean)(...args) : true);
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  return {
    streams: { stdout: gate(base.stdout), stderr: gate(base.stderr), signal: base.signal },
    settle(mainCode) {
      if (code !== undefined) exitNow();
      process.exitCode = mainCode;
    },
  };
}
