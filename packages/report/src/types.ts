import { ShearsError } from '@shears/core';

/** The schema version this package writes and reads. */
export const REPORT_VERSION = 1 as const;

/**
 * Model totals. `params`, `nonzeroParams`, `macs` and `bytes` come from
 * `analyzeModel`; `latencyMs` (mean per inference) and `accuracy` (a
 * fraction in [0, 1]) from a benchmark and an evaluation, when measured.
 */
export interface ModelSummary {
  params: number;
  nonzeroParams: number;
  macs: number;
  /** Bytes of weights (or of the file, if that is what you measured). */
  bytes: number;
  latencyMs?: number;
  /** Fraction in [0, 1]. */
  accuracy?: number;
  /** Detection: COCO mAP@0.5:0.95, a fraction in [0, 1]. */
  map?: number;
  /** Detection: COCO mAP@0.5, a fraction in [0, 1]. */
  map50?: number;
}

/** Detection: the AP of one class (null for a class without ground truth). */
export interface ClassAp {
  class: number;
  /** AP@0.5:0.95. */
  ap: number | null;
  /** AP@0.5. */
  ap50: number | null;
  /** Ground-truth boxes of the class. */
  gt: number;
}

/** One layer with weights, before and after pruning. */
export interface LayerRow {
  name: string;
  op: string;
  paramsBefore: number;
  paramsAfter: number;
  /** Fraction of zero weights after pruning, in [0, 1]. */
  sparsity: number;
  /** Output channels, for structured pruning. */
  channelsBefore?: number;
  channelsAfter?: number;
}

/** Accuracy of the model with one layer pruned alone, at each amount. */
export interface SensitivityCurve {
  layer: string;
  /** `amount` and `accuracy` are fractions in [0, 1]. */
  points: { amount: number; accuracy: number }[];
}

/** One model variant of a pipeline (dense, pruned, fine-tuned, exported…). */
export interface RunRow {
  name: string;
  /** Fraction in [0, 1]. */
  accuracy?: number;
  /** All float parameters, pruned (zero) ones included. */
  params?: number;
  /** Parameters that are not zero. */
  nonzeroParams?: number;
  macs: number;
  latencyMs?: number;
  bytes: number;
  /** Detection: COCO mAP@0.5:0.95, a fraction in [0, 1]. */
  map?: number;
  /** Detection: COCO mAP@0.5. */
  map50?: number;
  /** Detection: AP per class. */
  perClass?: ClassAp[];
}

export interface TfliteExport {
  path: string;
  bytes: number;
  /** Operator name → count in the .tflite file. */
  ops: Record<string, number>;
  /** Largest |onnx − tflite| output difference on the check inputs. */
  maxAbsDiff: number;
}

export interface TensorRtExport {
  layers: { name: string; eligible: boolean; compliant: boolean; reason: string }[];
  /** Compliant (2:4 sparse) share of the eligible layers, in [0, 1]. */
  compliantFraction: number;
}

export interface ExportResults {
  tflite?: TfliteExport;
  tensorrt?: TensorRtExport;
}

/** A pruning plan, summarised (see `PruningPlan` in @shears/core). */
export interface PlanSummary {
  strategy: string;
  criterion?: string;
  /** Number of plan actions. */
  actions: number;
  /** Weight elements masked by `mask` actions. */
  maskedWeights?: number;
  /** Channels removed by `remove-channels` actions. */
  removedChannels?: number;
  /** Targets the plan left alone, with why (code: the plan's skip code, e.g. too-small or rounded for round-to). */
  skipped: { target: string; reason: string; code?: string }[];
}

/**
 * Everything a report shows; plain JSON. Every section but `version` is
 * optional, and a report leaves out the sections it has no data for.
 */
export interface ReportData {
  version: typeof REPORT_VERSION;
  /** Page title; defaults to "Shears report". */
  title?: string;
  /** The model's name or path. */
  model?: string;
  /** ISO 8601 time the data was produced. */
  generatedAt?: string;
  summary?: { before?: ModelSummary; after?: ModelSummary };
  layers?: LayerRow[];
  sensitivity?: SensitivityCurve[];
  runs?: RunRow[];
  exports?: ExportResults;
  plans?: PlanSummary[];
  /** Free-text remarks, shown as a list at the end. */
  notes?: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Check parsed JSON against the schema (shape and types of the fields the
 * renderer reads), and return it typed. Throws ShearsError('E_DATA') naming
 * the first bad field.
 */
export function validateReportData(value: unknown, source = 'report data'): ReportData {
  const fail = (where: string, what: string): never => {
    throw new ShearsError('E_DATA', `${source}: ${where} ${what}`, { file: source === 'report data' ? undefined : source });
  };
  if (!isObj(value)) return fail('the document', 'is not a JSON object');
  if (value.version !== REPORT_VERSION) fail('version', `must be ${REPORT_VERSION} (got ${JSON.stringify(value.version)})`);
  const str = (v: unknown, where: string) => (typeof v === 'string' ? v : fail(where, 'must be a string'));
  const num = (v: unknown, where: string) => (isNum(v) ? v : fail(where, 'must be a finite number'));
  const optNum = (v: unknown, where: string) => v === undefined || v === null || num(v, where);
  const arr = (v: unknown, where: string): unknown[] => (Array.isArray(v) ? v : fail(where, 'must be an array'));
  const obj = (v: unknown, where: string): Record<string, unknown> => (isObj(v) ? v : fail(where, 'must be an object'));
  for (const k of ['title', 'model', 'generatedAt'] as const) if (value[k] !== undefined) str(value[k], k);
  const summaryOf = (v: unknown, where: string) => {
    const s = obj(v, where);
    for (const k of ['params', 'nonzeroParams', 'macs', 'bytes']) num(s[k], `${where}.${k}`);
    for (const k of ['latencyMs', 'accuracy', 'map', 'map50']) optNum(s[k], `${where}.${k}`);
  };
  if (value.summary !== undefined) {
    const s = obj(value.summary, 'summary');
    if (s.before !== undefined) summaryOf(s.before, 'summary.before');
    if (s.after !== undefined) summaryOf(s.after, 'summary.after');
  }
  if (value.layers !== undefined)
    arr(value.layers, 'layers').forEach((l, i) => {
      const r = obj(l, `layers[${i}]`);
      str(r.name, `layers[${i}].name`);
      str(r.op, `layers[${i}].op`);
      for (const k of ['paramsBefore', 'paramsAfter', 'sparsity']) num(r[k], `layers[${i}].${k}`);
      optNum(r.channelsBefore, `layers[${i}].channelsBefore`);
      optNum(r.channelsAfter, `layers[${i}].channelsAfter`);
    });
  if (value.sensitivity !== undefined)
    arr(value.sensitivity, 'sensitivity').forEach((c, i) => {
      const r = obj(c, `sensitivity[${i}]`);
      str(r.layer, `sensitivity[${i}].layer`);
      arr(r.points, `sensitivity[${i}].points`).forEach((p, j) => {
        const q = obj(p, `sensitivity[${i}].points[${j}]`);
        num(q.amount, `sensitivity[${i}].points[${j}].amount`);
        num(q.accuracy, `sensitivity[${i}].points[${j}].accuracy`);
      });
    });
  if (value.runs !== undefined)
    arr(value.runs, 'runs').forEach((x, i) => {
      const r = obj(x, `runs[${i}]`);
      str(r.name, `runs[${i}].name`);
      num(r.macs, `runs[${i}].macs`);
      num(r.bytes, `runs[${i}].bytes`);
      optNum(r.accuracy, `runs[${i}].accuracy`);
      optNum(r.latencyMs, `runs[${i}].latencyMs`);
      optNum(r.params, `runs[${i}].params`);
      optNum(r.nonzeroParams, `runs[${i}].nonzeroParams`);
      optNum(r.map, `runs[${i}].map`);
      optNum(r.map50, `runs[${i}].map50`);
      if (r.perClass !== undefined)
        arr(r.perClass, `runs[${i}].perClass`).forEach((c, j) => {
          const q = obj(c, `runs[${i}].perClass[${j}]`);
          num(q.class, `runs[${i}].perClass[${j}].class`);
          num(q.gt, `runs[${i}].perClass[${j}].gt`);
          optNum(q.ap, `runs[${i}].perClass[${j}].ap`);
          optNum(q.ap50, `runs[${i}].perClass[${j}].ap50`);
        });
    });
  if (value.exports !== undefined) {
    const e = obj(value.exports, 'exports');
    if (e.tflite !== undefined) {
      const t = obj(e.tflite, 'exports.tflite');
      str(t.path, 'exports.tflite.path');
      num(t.bytes, 'exports.tflite.bytes');
      num(t.maxAbsDiff, 'exports.tflite.maxAbsDiff');
      for (const [k, n] of Object.entries(obj(t.ops, 'exports.tflite.ops'))) num(n, `exports.tflite.ops[${JSON.stringify(k)}]`);
    }
    if (e.tensorrt !== undefined) {
      const t = obj(e.tensorrt, 'exports.tensorrt');
      num(t.compliantFraction, 'exports.tensorrt.compliantFraction');
      arr(t.layers, 'exports.tensorrt.layers').forEach((l, i) => {
        const r = obj(l, `exports.tensorrt.layers[${i}]`);
        str(r.name, `exports.tensorrt.layers[${i}].name`);
        str(r.reason, `exports.tensorrt.layers[${i}].reason`);
        if (typeof r.eligible !== 'boolean' || typeof r.compliant !== 'boolean') fail(`exports.tensorrt.layers[${i}]`, 'needs boolean eligible and compliant');
      });
    }
  }
  if (value.plans !== undefined)
    arr(value.plans, 'plans').forEach((p, i) => {
      const r = obj(p, `plans[${i}]`);
      str(r.strategy, `plans[${i}].strategy`);
      num(r.actions, `plans[${i}].actions`);
      arr(r.skipped, `plans[${i}].skipped`);
    });
  if (value.notes !== undefined) arr(value.notes, 'notes').forEach((n, i) => str(n, `notes[${i}]`));
  return value as unknown as ReportData;
}
