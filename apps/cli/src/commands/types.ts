import type { CliIO } from '../io.js';
import type { OptionSpec } from '../args.js';

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Option lines for --help: [flag, description]. */
  help: [string, string][];
  examples: string[];
  options: OptionSpec;
  /** Resolves to an exit code, or anything else for success. */
  run(argv: string[], io: CliIO): Promise<unknown>;
}
