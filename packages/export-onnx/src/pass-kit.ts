import { definePlugin, definePluginFactory, parseOptions, type Model, type PassPlugin, type PluginContext, type PluginFactory } from '@shears/core';
import type { z } from 'zod';

/** What one deployment pass did: how many things it changed, and per-kind counts for reports. */
export interface PassReport {
  changed: number;
  [detail: string]: unknown;
}

/**
 * A deployment pass as a function over the model (edits in place) and the
 * pass plugin wrapping it. Each pass is usable on its own (API), as a plugin
 * in pipelines and recipes (factory), and inside onnxExport.
 */
export interface DeployPass<S extends z.ZodType> {
  name: string;
  description: string;
  schema: S;
  apply(model: Model, options: z.output<S>, ctx?: PluginContext): PassReport;
}

export function passPlugin<S extends z.ZodType>(pass: DeployPass<S>): PluginFactory<z.input<S>, PassPlugin> {
  return definePluginFactory({ name: pass.name, kind: 'pass', description: pass.description }, (options?: z.input<S>): PassPlugin => {
    const opts = parseOptions(pass.name, pass.schema, options);
    return definePlugin({
      name: pass.name,
      kind: 'pass',
      version: '0.1.0',
      mutates: true,
      options: { ...(opts as Record<string, unknown>) },
      async run(model: Model, ctx: PluginContext) {
        const report = pass.apply(model, opts, ctx);
        return { model, modified: report.changed > 0, details: { ...report } };
      },
    });
  });
}
