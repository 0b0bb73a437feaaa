import { writeFileSync } from 'node:fs';
import { definePlugin, definePluginFactory, parseOptions, ShearsError, type ExporterPlugin } from '@shears/core';
import { z } from 'zod';
import { convertToTflite, type TfliteConversion } from './convert.js';
import { verifyTflite, type VerifyResult } from './verify.js';

const NAME = 'tflite-export';

const optionsSchema = z
  .object({
    /** The .tflite file to write. */
    out: z.string().min(1),
    /** float16 weights behind DEQUANTIZE ops. */
    fp16: z.boolean().default(false),
    /** TFLite sparse encoding (+ DENSIFY) for weights with enough zeros. */
    sparse: z.boolean().default(false),
    sparseMinZeros: z.number().gt(0).lte(1).optional(),
    sparseScope: z.enum(['xnnpack', 'all']).optional(),
    /** Rank-4 inputs and outputs channels-last (NHWC) instead of the ONNX NCHW. */
    nhwcIo: z.boolean().default(false),
    /** Run the file in LiteRT.js and compare with onnxruntime (default true). */
    verify: z.boolean().default(true),
    /**
     * Largest accepted max|diff| / max|onnx output|: against the ONNX model (default 1e-4),
     * or with fp16 against the ONNX model with float16-rounded weights (default 1e-3).
     */
    tolerance: z.number().positive().optional(),
    /** Static shapes for dynamic inputs. */
    inputShapes: z.record(z.string(), z.array(z.number().int().positive())).optional(),
    groupedConv: z.enum(['split', 'native']).optional(),
  })
  .strict();

export type ExportTfliteOptions = z.input<typeof optionsSchema>;

export interface ExportTfliteDetails {
  path: string;
  bytes: number;
  ops: Record<string, number>;
  /** Null when verification was skipped. */
  maxAbsDiff: number | null;
  maxRelDiff: number | null;
  /**
   * bytes: the file; weights: its buffers; plain: the file without --fp16 and
   * --sparse (float32 dense weights); withoutSparse: without --sparse only.
   */
  sizes: { bytes: number; weights: number; plain: number; withoutSparse?: number };
  conversion: Omit<TfliteConversion, 'bytes'>;
  verify: VerifyResult | null;
}

/**
 * Exporter plugin: write the model as a TFLite flatbuffer, then (unless
 * `verify: false`) run it in LiteRT.js and compare with onnxruntime; a
 * result beyond the tolerance fails the step, so nothing is written.
 */
export const exportTflite = definePluginFactory(
  { name: NAME, kind: 'exporter', description: 'write a .tflite (NHWC, fused activations, optional fp16/sparse), verified in LiteRT.js' },
  (options?: ExportTfliteOptions): ExporterPlugin => {
    const opts = parseOptions(NAME, optionsSchema, options);
    return definePlugin({
      name: NAME,
      kind: 'exporter',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async export(model, ctx) {
        const conv = convertToTflite(model, { ...opts, registry: ctx.ops });
        for (const w of conv.warnings) ctx.logger.warn(`${NAME}: ${w}`);
        for (const name of conv.batchOne) ctx.logger.info(`${NAME}: input ${name}: dynamic batch exported as 1 (inputShapes sets another)`);
        let verify: VerifyResult | null = null;
        if (opts.verify) {
          ctx.signal.throwIfAborted?.();
          const task = ctx.progress.start(`${NAME}: verify in LiteRT.js against onnxruntime`, 1);
          verify = await verifyTflite(model, conv, { runtime: ctx.runtime });
          task.tick(1);
          task.done(`max |Δ| ${verify.maxAbsDiff.toPrecision(3)}`);
          // float32: against the ONNX model; float16: against the ONNX model with the same
          // float16-rounded weights, so the check measures the exporter, not float16 itself.
          const tol = opts.tolerance ?? (opts.fp16 ? 1e-3 : 1e-4);
          const measured = verify.fp16Reference ?? verify;
          if (!(measured.maxRelDiff <= tol))
            throw new ShearsError(
              'E_RUNTIME',
              `${NAME}: the .tflite output differs from onnxruntime${verify.fp16Reference ? ' (weights rounded to float16 alike)' : ''} by ${measured.maxAbsDiff.toPrecision(3)} (${measured.maxRelDiff.toExponential(2)} of the output scale, tolerance ${tol}); nothing written (--no-verify writes it anyway)`,
              { plugin: NAME },
            );
        }
        const tmp = ctx.outputs.stage(opts.out);
        writeFileSync(tmp, conv.bytes);
        const { bytes, ...conversion } = conv;
        const sparseSaved = conv.sparse.reduce((a, s) => a + s.denseBytes - s.sparseBytes, 0);
        const details: ExportTfliteDetails = {
          path: opts.out,
          bytes: bytes.byteLength,
          ops: conv.ops,
          maxAbsDiff: verify?.maxAbsDiff ?? null,
          maxRelDiff: verify?.maxRelDiff ?? null,
          sizes: {
            bytes: bytes.byteLength,
            weights: conv.weightBytes,
            plain: plainSize(conv),
            ...(opts.sparse ? { withoutSparse: bytes.byteLength + sparseSaved } : {}),
          },
          conversion,
          verify,
        };
        return { files: [opts.out], details: details as unknown as Record<string, unknown> };
      },
    });
  },
);

/**
 * Size of the same export with dense float32 weights: the file less its
 * stored weights plus their float32 bytes (an estimate within the few
 * bytes of metadata the DEQUANTIZE/DENSIFY tensors take).
 */
export function plainSize(conv: TfliteConversion): number {
  return conv.bytes.byteLength - conv.storedWeightBytes + conv.denseWeightBytes;
}
