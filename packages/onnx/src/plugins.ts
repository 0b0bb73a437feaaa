import { statSync } from 'node:fs';
import { definePlugin, definePluginFactory, inferShapes, parseOptions, type ExporterPlugin, type ImporterPlugin } from '@shears/core';
import { z } from 'zod';
import { decodeModel } from './decode-model.js';
import { readModel } from './read.js';
import { writeModel } from './write.js';

const importSchema = z
  .object({
    /** Static sizes for dynamic inputs, {input: [1, 3, 224, 224]}. */
    inputShape: z.record(z.string(), z.array(z.number().int().positive())).optional(),
  })
  .strict();

/** Importer plugin: an ONNX file path or bytes in, a Model (shapes inferred) out. */
export const onnxImport = definePluginFactory(
  { name: 'onnx-import', kind: 'importer', description: 'read an ONNX model (path or bytes) and infer shapes' },
  (options?: z.input<typeof importSchema>): ImporterPlugin => {
    const opts = parseOptions('onnx-import', importSchema, options);
    return definePlugin({
      name: 'onnx-import',
      kind: 'importer',
      options: { ...opts },
      accepts: (input) => (typeof input === 'string' ? /\.onnx$/i.test(input) : input instanceof Uint8Array),
      async import(input) {
        const model = typeof input === 'string' ? await readModel(input) : decodeModel(input);
        inferShapes(model, { inputShapes: opts.inputShape });
        return model;
      },
    });
  },
);

const writeSchema = z.object({ out: z.string().min(1, 'must be a file path') }).strict();

/**
 * Exporter plugin: write the model as ONNX. The file is staged by the
 * pipeline and only lands when every step succeeded; masks are not written.
 */
export const onnxWrite = definePluginFactory(
  { name: 'onnx-write', kind: 'exporter', description: 'write the model as ONNX (atomically, never over the input)' },
  (options?: z.input<typeof writeSchema>): ExporterPlugin => {
    const opts = parseOptions('onnx-write', writeSchema, options);
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
