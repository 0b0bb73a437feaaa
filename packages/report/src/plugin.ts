import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  analyzeModel,
  definePlugin,
  definePluginFactory,
  INPUT_PATH,
  maskCount,
  type ExporterPlugin,
  type LayerStats,
  type Logger,
  type Model,
  type ModelStats,
  type OpRegistry,
  parseOptions,
  PLANS,
  type PruningPlan,
  silentLogger,
} from '@shears/core';
import { z } from 'zod';
import { renderReport, reportSections } from './render.js';
import { REPORT_VERSION, type LayerRow, type PlanSummary, type ReportData } from './types.js';

const NAME = 'report';

const optionsSchema = z
  .object({
    /** Where the HTML page goes. */
    out: z.string().min(1),
    title: z.string().optional(),
    /** Static sizes for dynamic inputs, for MACs (as in analyzeModel). */
    inputShapes: z.record(z.string(), z.array(z.number().int().positive())).optional(),
  })
  .strict();

export type HtmlReportOptions = z.input<typeof optionsSchema>;

/** Output channels of a layer: its output's dim on the op table's channel axis (`LayerStats.channels`, from analyzeModel). */
const channelsOf = (l: LayerStats | undefined): number | undefined => l?.channels;

export function summarizePlans(plans: PruningPlan[]): PlanSummary[] {
  return plans.map((p) => {
    let masked = 0;
    let channels = 0;
    for (const a of p.actions) {
      if (a.type === 'mask') masked += maskCount(a);
      else if (a.type === 'remove-channels') channels += a.channels.length;
    }
    return {
      strategy: p.strategy,
      ...(p.criterion ? { criterion: p.criterion } : {}),
      actions: p.actions.length,
      maskedWeights: masked,
      removedChannels: channels,
      skipped: p.skipped.map((s) => ({ target: s.target, reason: s.reason, ...(s.code ? { code: s.code } : {}) })),
    };
  });
}

const summaryOf = (s: ModelStats) => ({ params: s.params, nonzeroParams: s.nonzeroParams, macs: s.macs, bytes: s.bytes });

/**
 * ReportData from models: totals and per-layer rows from `analyzeModel`
 * (layers matched by name; `before` optional), plus plan summaries.
 */
export function buildReportData(
  after: Model,
  opts: { before?: Model; plans?: PruningPlan[]; title?: string; model?: string; inputShapes?: Record<string, number[]>; logger?: Logger; registry?: OpRegistry } = {},
): ReportData {
  const log = opts.logger ?? silentLogger;
  const analyze = (m: Model, which: string) => {
    try {
      return analyzeModel(m, { inputShapes: opts.inputShapes, registry: opts.registry });
    } catch (e) {
      log.warn(`report: cannot analyze the ${which} model (${(e as Error).message}); its numbers are left out`);
      return undefined;
    }
  };
  const a = analyze(after, 'pruned');
  const b = opts.before ? analyze(opts.before, 'original') : undefined;
  const data: ReportData = { version: REPORT_VERSION, generatedAt: new Date().toISOString() };
  if (opts.title) data.title = opts.title;
  if (opts.model) data.model = opts.model;
  if (a || b) data.summary = { ...(b ? { before: summaryOf(b) } : {}), ...(a ? { after: summaryOf(a) } : {}) };
  const beforeByName = new Map((b?.layers ?? []).map((l) => [l.name, l]));
  const afterByName = new Map((a?.layers ?? []).map((l) => [l.name, l]));
  const names = [...new Set([...(b?.layers ?? []), ...(a?.layers ?? [])].filter((l) => l.params > 0).map((l) => l.name))];
  const layers: LayerRow[] = names.map((name) => {
    const lb = beforeByName.get(name);
    const la = afterByName.get(name);
    const row: LayerRow = {
      name,
      op: (la ?? lb)!.op,
      paramsBefore: (lb ?? la)!.params,
      paramsAfter: la?.params ?? 0,
      // A layer gone from the model is fully pruned.
      sparsity: la ? la.sparsity : 1,
    };
    const cb = channelsOf(lb);
    const ca = la ? channelsOf(la) : 0;
    if (cb !== undefined && ca !== undefined) Object.assign(row, { channelsBefore: cb, channelsAfter: ca });
    return row;
  });
  if (layers.length) data.layers = layers;
  if (opts.plans?.length) data.plans = summarizePlans(opts.plans);
  return data;
}

/**
 * An exporter that writes the HTML report of the pipeline's model: the
 * model as it is now against the pipeline's input file (when it started from
 * one), per-layer rows and the plans of the run. Richer data (sensitivity,
 * runs, exports) goes through `shears report data.json`.
 */
export const htmlReport = definePluginFactory(
  { name: NAME, kind: 'exporter', description: 'a self-contained HTML report: before/after summary, per-layer sparsity and channels, plans' },
  (options?: HtmlReportOptions): ExporterPlugin => {
    const opts = parseOptions(NAME, optionsSchema, options);
    return definePlugin({
      name: NAME,
      kind: 'exporter',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async export(model, ctx) {
        const inputPath = ctx.state.get(INPUT_PATH);
        let before: Model | undefined;
        if (inputPath) {
          try {
            const { readModel } = await import('@shears/onnx');
            before = await readModel(inputPath);
          } catch (e) {
            ctx.logger.warn(`report: cannot read the input model ${inputPath} for the "before" column (${(e as Error).message})`);
          }
        }
        const data = buildReportData(model, {
          before,
          plans: ctx.state.get(PLANS),
          title: opts.title,
          model: inputPath ? basename(inputPath) : undefined,
          inputShapes: opts.inputShapes,
          registry: ctx.ops,
          logger: ctx.logger,
        });
        const html = renderReport(data);
        writeFileSync(ctx.outputs.stage(opts.out), html);
        return { files: [opts.out], details: { bytes: Buffer.byteLength(html), sections: reportSections(data) } };
      },
    });
  },
);
