import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defaultOpRegistry, inferShapes, type Graph, type Model, type OpRegistry, type Value } from '@shears/core';
import { OPSET_TABLE, irVersionFor } from './opset.js';

export interface ValidationIssue {
  rule: string;
  node?: string;
  message: string;
}

/**
 * Spec rules checked in TypeScript, without Python: SSA names, inputs defined
 * before use (topological order), graph outputs produced, ops known and present
 * at the model's opset, IR version high enough for the opset, and shape
 * inference without rule failures.
 */
export function validateModel(model: Model, registry?: OpRegistry): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const opset = model.opset('');
  if (opset === undefined) issues.push({ rule: 'opset', message: 'no default-domain opset import' });
  else if (model.irVersion < irVersionFor(opset))
    issues.push({ rule: 'ir-version', message: `IR version ${model.irVersion} is too old for opset ${opset} (needs ${irVersionFor(opset)})` });
  checkGraph(model, model.graph, new Set(), issues, opset ?? 0, registry ?? defaultOpRegistry());
  try {
    const r = inferShapes(model, { registry });
    for (const i of r.issues) issues.push({ rule: 'shape', node: i.node, message: `${i.op}: ${i.message}` });
  } catch (e) {
    issues.push({ rule: 'shape', message: e instanceof Error ? e.message : String(e) });
  }
  return issues;
}

function checkGraph(model: Model, g: Graph, outer: Set<Value>, issues: ValidationIssue[], opset: number, registry: OpRegistry): void {
  const defined = new Set<Value>(outer);
  const names = new Set<string>();
  const define = (v: Value, where: string) => {
    if (v.name && names.has(v.name)) issues.push({ rule: 'ssa', node: where, message: `value name ${v.name} is defined twice` });
    names.add(v.name);
    defined.add(v);
  };
  for (const v of g.inputs) define(v, 'graph input');
  for (const v of g.initializers.values()) if (!g.inputs.includes(v)) define(v, 'initializer');
  const fns = new Set(model.functions.map((f) => `${f.domain}::${f.name}`));
  for (const n of g.nodes) {
    for (const [i, v] of n.inputs.entries())
      if (v && !defined.has(v) && !(v.graph && v.graph !== g))
        issues.push({ rule: 'topological', node: n.label, message: `input ${i} (${v.name}) is used before it is defined` });
    if (!registry.isKnown(n.opType, n.domain) && !fns.has(`${n.domain}::${n.opType}`))
      issues.push({ rule: 'op', node: n.label, message: `unknown op ${n.domain ? `${n.domain}::` : ''}${n.opType}` });
    const since = n.domain === '' ? OPSET_TABLE.introduced[n.opType] : undefined;
    if (since !== undefined && opset < since) issues.push({ rule: 'op', node: n.label, message: `${n.opType} needs opset ≥ ${since}, model has ${opset}` });
    for (const sub of n.subgraphs()) checkGraph(model, sub, defined, issues, opset, registry);
    for (const o of n.outputs) if (o.name) define(o, n.label);
  }
  for (const o of g.outputs) if (!defined.has(o)) issues.push({ rule: 'outputs', message: `graph output ${o.name} is not produced` });
}

export interface CheckerResult {
  /** false when Python's onnx package is not installed (the check was skipped). */
  available: boolean;
  ok: boolean;
  message: string;
}

const PYTHON = ['/usr/bin/python3', 'python3'];
const SCRIPT = 'import onnx,sys; m=onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(onnx.__version__)';

/** Is Python's `onnx` importable (Debian python3-onnx)? */
export function officialCheckerAvailable(): string | undefined {
  for (const py of PYTHON) {
    if (py.startsWith('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', 'import onnx'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return undefined;
}

/** Run the official ONNX checker with full shape inference on a file. */
export function runOfficialChecker(file: string): CheckerResult {
  const py = officialCheckerAvailable();
  if (!py) return { available: false, ok: false, message: 'skipped: Python onnx is not installed (apt install python3-onnx)' };
  const r = spawnSync(py, ['-c', SCRIPT, file], { encoding: 'utf8' });
  const err = (r.stderr || '').trim().split('\n').filter(Boolean);
  return { available: true, ok: r.status === 0, message: r.status === 0 ? `onnx ${r.stdout.trim()} checker passed (full_check)` : (err.at(-1) ?? `exit ${r.status}`) };
}
