import type { ErrorCode } from '@shears/core';

/** Exit codes, documented in the CLI README. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  badInput: 3,
  pluginFailed: 4,
  interrupted: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'E_OPTION':
    case 'E_RECIPE':
      return EXIT.usage;
    case 'E_PARSE':
    case 'E_IO':
    case 'E_EXTERNAL_DATA':
    case 'E_UNKNOWN_OP':
    case 'E_DTYPE':
    case 'E_SHAPE':
    case 'E_DYNAMIC_SHAPE':
    case 'E_DATA':
    case 'E_GRAPH':
      return EXIT.badInput;
    case 'E_PLUGIN':
    case 'E_RUNTIME':
      return EXIT.pluginFailed;
    case 'E_ABORTED':
      return EXIT.interrupted;
    default:
      return EXIT.internal;
  }
}
