import type { ShearsError } from '@shears/core';
import { commandHelp, mainHelp } from './help.js';
import { exitCodeFor, EXIT } from './exit-codes.js';
import { cliMessage } from './input-shape-hint.js';
import { printJson, type CliIO } from './io.js';
import { COMMAND_NAMES, COMMAND_SUMMARIES, loadCommand } from './commands/index.js';

declare const __SHEARS_VERSION__: string;
export const VERSION = typeof __SHEARS_VERSION__ === 'string' ? __SHEARS_VERSION__ : '0.0.0-dev';

export interface MainStreams {
  stdout: CliIO['stdout'];
  stderr: CliIO['stderr'];
  signal?: AbortSignal;
}

/** The streams and global flags (--json, --verbose, --quiet) of one invocation. */
export function ioFor(argv: string[], streams: MainStreams): CliIO {
  return {
    stdout: streams.stdout,
    stderr: streams.stderr,
    json: argv.includes('--json'),
    verbose: argv.includes('--verbose') || argv.includes('-v'),
    quiet: argv.includes('--quiet') || argv.includes('-q'),
    tty: Boolean(streams.stderr.isTTY) && !process.env.NO_COLOR,
    signal: streams.signal ?? new AbortController().signal,
  };
}

/** Run the CLI; resolves to the exit code. Errors are one line unless --verbose. */
export async function main(argv: string[], streams: MainStreams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const io = ioFor(argv, streams);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' && rest[0] ? await loadCommand(rest[0]) : undefined;
    io.stdout.write(target ? commandHelp(target) : mainHelp(COMMAND_NAMES.map((n) => ({ name: n, summary: COMMAND_SUMMARIES[n]! })), VERSION));
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    io.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = await loadCommand(name);
  if (!command) {
    io.stderr.write(`shears: error: unknown command '${name}' (commands: ${COMMAND_NAMES.join(', ')})\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  try {
    const code = await command.run(rest, io);
    return typeof code === 'number' ? code : EXIT.ok;
  } catch (e) {
    return reportError(e, io);
  }
}

/** One line on stderr (the stack with --verbose; a JSON error with --json); returns the exit code. */
export function reportError(e: unknown, io: CliIO): number {
  const known = isShearsError(e);
  const message = known ? cliMessage(e) : `internal error: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  io.stderr.write(`shears: error: ${message}\n`);
  if (io.verbose && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
  else if (!known) io.stderr.write('shears: run with --verbose for the stack trace, and please report this\n');
  if (io.json) printJson(io, { error: known ? cliJson(e, message) : { code: 'E_INTERNAL', message } });
  return known ? exitCodeFor(e.code) : EXIT.internal;
}

/** The error as JSON in CLI terms: the message as printed, and the API's `inputShapes` option named by its flag. */
function cliJson(e: ShearsError, message: string): Record<string, unknown> {
  const j = { ...e.toJSON(), message } as Record<string, unknown>;
  if (j.option === 'inputShapes') j.option = 'input-shape';
  return j;
}

/**
 * core's isShearsError by its brand (Symbol.for('shears.error'), shared by
 * every copy of core), so that `shears --help` never loads @shears/core.
 */
function isShearsError(e: unknown): e is ShearsError {
  return e instanceof Error && (e as unknown as Record<symbol, unknown>)[Symbol.for('shears.error')] === true;
}
