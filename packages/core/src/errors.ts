/**
 * The one error type Shears throws for expected failures (bad input, bad
 * options). The CLI prints `message` as one line; `--verbose` adds the stack.
 */
export type ErrorCode =
  | 'E_PARSE' // file is not ONNX, or is truncated/corrupt
  | 'E_IO' // file missing, unreadable, or not writable
  | 'E_EXTERNAL_DATA' // external data file missing or short
  | 'E_UNKNOWN_OP' // op or domain not known to the IR
  | 'E_DTYPE' // wrong element type (e.g. quantized weights where floats are needed)
  | 'E_SHAPE' // shape inference failed or shapes do not fit
  | 'E_DYNAMIC_SHAPE' // a dynamic input dimension and no --input-shape
  | 'E_OPTION' // a bad option value
  | 'E_PLUGIN' // a plugin is missing, invalid or failed
  | 'E_RECIPE' // a recipe does not validate
  | 'E_DATA' // a dataset does not fit
  | 'E_GRAPH' // graph structure problem
  | 'E_RUNTIME' // onnxruntime failed
  | 'E_NO_RUNTIME' // a data-aware step ran without a runtime (install @shears/runtime)
  | 'E_ABORTED'
  | 'E_INTERNAL';

export interface ErrorContext {
  file?: string;
  node?: string;
  op?: string;
  option?: string;
  plugin?: string;
  hook?: string;
  /** Structured facts for callers to format (e.g. E_DYNAMIC_SHAPE: `{ inputs: { x: [1, 3, 224, 224] } }`, the suggested shapes). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** Marks ShearsErrors across copies of this module (the ESM and CJS builds are two classes). */
const BRAND = Symbol.for('shears.error');

export class ShearsError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly file?: string;
  readonly node?: string;
  readonly op?: string;
  readonly option?: string;
  readonly plugin?: string;
  readonly hook?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, ctx: ErrorContext = {}) {
    super(message, ctx.cause !== undefined ? { cause: ctx.cause } : undefined);
    this.name = 'ShearsError';
    this.code = code;
    this.file = ctx.file;
    this.node = ctx.node;
    this.op = ctx.op;
    this.option = ctx.option;
    this.plugin = ctx.plugin;
    this.hook = ctx.hook;
    if (ctx.details !== undefined) this.details = ctx.details;
  }

  /** A copy with more context (e.g. the plugin and hook that raised it). */
  with(ctx: ErrorContext): ShearsError {
    const e = new ShearsError(this.code, this.message, { ...this.context(), ...ctx, cause: this.cause });
    e.stack = this.stack;
    return e;
  }

  context(): ErrorContext {
    return { file: this.file, node: this.node, op: this.op, option: this.option, plugin: this.plugin, hook: this.hook, ...(this.details ? { details: this.details } : {}) };
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.context() };
  }
}

export function isShearsError(e: unknown): e is ShearsError {
  return e instanceof ShearsError || (e instanceof Error && (e as unknown as Record<symbol, unknown>)[BRAND] === true);
}

/** Shorthand constructors; messages should name the file/node/op/option. */
export const errors = {
  parse: (file: string, detail: string) => new ShearsError('E_PARSE', `${file}: not a valid ONNX model (${detail})`, { file }),
  io: (file: string, detail: string) => new ShearsError('E_IO', `${file}: ${detail}`, { file }),
  option: (option: string, detail: string, plugin?: string) =>
    new ShearsError('E_OPTION', `${plugin ? `${plugin}: ` : ''}option ${option}: ${detail}`, { option, plugin }),
  unknownOp: (op: string, domain: string, node: string) =>
    new ShearsError('E_UNKNOWN_OP', `node ${node}: unknown op ${domain ? `${domain}::` : ''}${op}`, { op, node }),
};
