import { statSync } from 'node:fs';
import { definePlugin, definePluginFactory, errors, inferShapes, type ExporterPlugin, type ImporterPlugin } from '@shears/core';
import { decodeModel } from './decode-model.js';
import { readModel } from './read.js';
import { writeModel } from './write.js';

// Options are checked by hand here: two small shapes do not justify loading
// zod (~100 ms) into every CLI start.
function onlyKeys(plugin: string, options: object, keys: string[]): void {
  for (const k of Object.keys(options)) if (!keys.includes(k)) throw errors.option(k, `unknown option (known: ${keys.join(', ')})`, plugin);
}

export interface OnnxImportOptions {
  /** Static sizes for dynamic inputs, {input: [1, 3, 224, 224]}. */
  inputShape?: Record<string, number[]>;
}

function checkImportOptions(o: OnnxImportOptions = {}): OnnxImportOptions {
  onlyKeys('onnx-import', o, ['inputShape']);
  for (const [name, dims] of Object.entries(o.inputShape ?? {}))
    if (!Array.isArray(dims) || dims.some((d) => !Number.isInteger(d) || d <= 0)) throw errors.option(`inputShape.${name}`, 'must be a list of positive integers', 'onnx-import');
  return { ...o };
}

/** Importer plugin: an ONNX file path or bytes in, a Model (shapes inferred) out. */
export const onnxImport = definePluginFactory(
  { name: 'onnx-import', kind: 'importer', description: 'read an ONNX model (path or bytes) and infer shapes' },
  (options?: OnnxImportOptions): ImporterPlugin => {
    const opts = checkImportOptions(options);
    return definePlugin({
      name: 'onnx-import',
      kind: 'importer',
      options: { ...opts },
      accepts: (input) => (typeof input === 'string' ? /\.onnx$/i.test(input) : input instanceof Uint8Array),
      async import(input, ctx) {
        const model = typeof input === 'string' ? await readModel(input) : decodeModel(input);
        inferShapes(model, { inputShapes: opts.inputShape, registry: ctx.ops });
        return model;
      },
    });
  },
);

export interface OnnxWriteOptions {
  out: string;
}

/**
 * Exporter plugin: write the model as ONNX. The file is staged by the
 * pipeline and only lands when every step succeeded; masks are not written.
 */
export const onnxWrite = definePluginFactory(
  { name: 'onnx-write', kind: 'exporter', description: 'write the model as ONNX (atomically, never over the input)' },
  (options?: OnnxWriteOptions): ExporterPlugin => {
    onlyKeys('onnx-write', options ?? {}, ['out']);
    if (typeof options?.out !== 'string' || !options.out) throw errors.option('out', 'must be a file path', 'onnx-write');
    const opts = { out: options.out };
    return definePlugin({
      name: 'onnx-write',
      kind: 'exporter',
      options: { ...opts },
      async export(model, ctx) {
        const tmp = ctx.outputs.stage(opts.out);
        await writeModel(model, tmp);
        return { files: [opts.out], details: { bytes: statSync(tmp).size } };
      },
    });
  },
);
