import type { Logger, ProgressReporter, ProgressTask } from '@shears/core';

/** Where a command writes: results to stdout, everything else to stderr. */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  json: boolean;
  verbose: boolean;
  quiet: boolean;
  /** Colours and progress bars only when stderr is a terminal. */
  tty: boolean;
  /** Aborted on the first Ctrl-C; long steps stop and clean up. */
  signal: AbortSignal;
}

export function out(io: CliIO, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Exactly one JSON document on stdout. */
export function printJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const colour = (io: CliIO, code: number, s: string) => (io.tty ? `\x1b[${code}m${s}\x1b[0m` : s);
export const bold = (io: CliIO, s: string) => colour(io, 1, s);
export const dim = (io: CliIO, s: string) => colour(io, 2, s);

export function createLogger(io: CliIO): Logger {
  const line = (prefix: string, msg: string) => io.stderr.write(`${prefix}${msg}\n`);
  return {
    debug: (m) => io.verbose && line(dim(io, 'debug: '), m),
    info: (m) => !io.quiet && line('', m),
    warn: (m) => line(colour(io, 33, 'warning: '), m),
    error: (m) => line(colour(io, 31, 'error: '), m),
  };
}

/** A one-line progress bar on a TTY; silent otherwise (logs stay parseable). */
export function createProgress(io: CliIO): ProgressReporter {
  return {
    start(label: string, total?: number): ProgressTask {
      if (!io.tty || io.quiet) return { tick() {}, done() {} };
      let done = 0;
      let last = 0;
      const t0 = Date.now();
      const draw = (note = '', force = false) => {
        const now = Date.now();
        if (!force && now - last < 100) return;
        last = now;
        const width = 24;
        const frac = total ? Math.min(1, done / total) : 0;
        const bar = total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${done}/${total}` : `${done}`;
        const secs = (now - t0) / 1000;
        const eta = total && done > 0 ? ` eta ${Math.max(0, (secs / done) * (total - done)).toFixed(0)}s` : '';
        io.stderr.write(`\r\x1b[2K${label} ${bar} ${secs.toFixed(1)}s${eta} ${note}`);
      };
      return {
        tick(n = 1, note) {
          done += n;
          draw(note);
        },
        done(note) {
          draw(note, true);
          io.stderr.write('\n');
        },
      };
    },
  };
}
