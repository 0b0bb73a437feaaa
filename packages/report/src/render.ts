import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CLIENT_SCRIPT } from './client.js';
import { STYLE } from './style.js';
import type { ModelSummary, ReportData, RunRow } from './types.js';

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside a <script> element: no `<`, `>` or `&` (so no
 * `</script>` or `<!--`), and no U+2028/2029. JSON.parse reads it unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

let chartSource: string | undefined;

/**
 * Chart.js's UMD build, read from the installed `chart.js` package (its
 * exports map hides dist/, so resolve the main entry and look beside it).
 */
export function chartJsSource(): string {
  if (chartSource === undefined) {
    const req = createRequire(import.meta.url);
    const main = req.resolve('chart.js');
    const text = readFileSync(join(dirname(main), 'chart.umd.js'), 'utf8');
    // A literal `</script` would end the element early; it can only occur in strings or regexes, where `<\/` means the same.
    chartSource = text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
  }
  return chartSource;
}

const SI: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

export function si(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  for (const [f, u] of SI) if (a >= f) return `${(n / f).toFixed(a / f >= 100 ? 0 : 1)}${u}`;
  return String(Math.round(n * 100) / 100);
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${u[i]}`;
}

const pct = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`);
const ms = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${x < 10 ? x.toFixed(2) : x.toFixed(1)} ms`);
const has = <T>(a: T[] | undefined): a is T[] => Array.isArray(a) && a.length > 0;

/** "0.48× (−52%)": after relative to before; `good` tells whether lower is better. */
function ratioCell(before: number | undefined, after: number | undefined, lowerIsBetter = true): string {
  if (before === undefined || after === undefined || !Number.isFinite(before) || !Number.isFinite(after) || before === 0) return '<td class="num muted">–</td>';
  const r = after / before;
  const delta = r - 1;
  const better = lowerIsBetter ? delta < -1e-9 : delta > 1e-9;
  const worse = lowerIsBetter ? delta > 1e-9 : delta < -1e-9;
  const cls = better ? 'good' : worse ? 'bad' : 'muted';
  const sign = delta > 0 ? '+' : delta < 0 ? '−' : '±';
  return `<td class="num ${cls}">${r.toFixed(2)}× <span class="delta">(${sign}${Math.abs(delta * 100).toFixed(1)}%)</span></td>`;
}

function accuracyDelta(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return '<td class="num muted">–</td>';
  const d = (after - before) * 100;
  const cls = d < -0.5 ? 'bad' : d >= 0 ? 'good' : 'muted';
  return `<td class="num ${cls}">${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(2)} pt</td>`;
}

function speedup(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || after <= 0) return '<td class="num muted">–</td>';
  const s = before / after;
  return `<td class="num ${s > 1.001 ? 'good' : s < 0.999 ? 'bad' : 'muted'}">${s.toFixed(2)}× ${s >= 1 ? 'faster' : 'slower'}</td>`;
}

function summarySection(before: ModelSummary | undefined, after: ModelSummary | undefined): string {
  const rows: string[] = [];
  const row = (label: string, b: string, a: string, change: string) =>
    rows.push(`<tr><th scope="row">${label}</th><td class="num">${b}</td><td class="num">${a}</td>${change}</tr>`);
  const sparsity = (s?: ModelSummary) => (s && s.params ? 1 - s.nonzeroParams / s.params : undefined);
  row('Parameters', si(before?.params), si(after?.params), ratioCell(before?.params, after?.params));
  row('Non-zero parameters', si(before?.nonzeroParams), si(after?.nonzeroParams), ratioCell(before?.nonzeroParams, after?.nonzeroParams));
  row('Sparsity', pct(sparsity(before)), pct(sparsity(after)), '<td class="num muted"></td>');
  row('MACs', si(before?.macs), si(after?.macs), ratioCell(before?.macs, after?.macs));
  row('Weights size', fmtBytes(before?.bytes), fmtBytes(after?.bytes), ratioCell(before?.bytes, after?.bytes));
  if (before?.latencyMs !== undefined || after?.latencyMs !== undefined) row('Latency', ms(before?.latencyMs), ms(after?.latencyMs), speedup(before?.latencyMs, after?.latencyMs));
  if (before?.accuracy !== undefined || after?.accuracy !== undefined) row('Accuracy', pct(before?.accuracy, 2), pct(after?.accuracy, 2), accuracyDelta(before?.accuracy, after?.accuracy));
  if (before?.map50 !== undefined || after?.map50 !== undefined) row('mAP@0.5', pct(before?.map50, 2), pct(after?.map50, 2), accuracyDelta(before?.map50, after?.map50));
  if (before?.map !== undefined || after?.map !== undefined) row('mAP@0.5:0.95', pct(before?.map, 2), pct(after?.map, 2), accuracyDelta(before?.map, after?.map));

  const tiles: string[] = [];
  const tile = (label: string, value: string, sub: string) => tiles.push(`<div class="tile"><div class="tile-label">${label}</div><div class="tile-value">${value}</div><div class="tile-sub">${sub}</div></div>`);
  if (before && after) {
    if (before.macs && after.macs) tile('MACs', `${(before.macs / after.macs).toFixed(2)}×`, `fewer: ${si(before.macs)} → ${si(after.macs)}`);
    if (before.params) tile('Non-zero params', pct(1 - after.nonzeroParams / before.params), `removed or zeroed of ${si(before.params)}`);
    if (before.latencyMs !== undefined && after.latencyMs) tile('Latency', `${(before.latencyMs / after.latencyMs).toFixed(2)}×`, `${ms(before.latencyMs)} → ${ms(after.latencyMs)}`);
    if (before.accuracy !== undefined && after.accuracy !== undefined)
      tile('Accuracy', pct(after.accuracy, 2), `${after.accuracy >= before.accuracy ? '+' : '−'}${Math.abs((after.accuracy - before.accuracy) * 100).toFixed(2)} pt vs ${pct(before.accuracy, 2)}`);
    if (before.map !== undefined && after.map !== undefined)
      tile('mAP@0.5:0.95', pct(after.map, 2), `${after.map >= before.map ? '+' : '−'}${Math.abs((after.map - before.map) * 100).toFixed(2)} pt vs ${pct(before.map, 2)}`);
  }
  return `<section id="summary" class="card">
  <h2>Model summary</h2>
  ${tiles.length ? `<div class="tiles">${tiles.join('')}</div>` : ''}
  <table class="summary"><thead><tr><th></th><th class="num">Before</th><th class="num">After</th><th class="num">Change</th></tr></thead>
  <tbody>${rows.join('\n')}</tbody></table>
</section>`;
}

/** Height for a horizontal bar chart of n rows. */
const barHeight = (n: number, perRow = 22) => Math.max(180, Math.min(2400, n * perRow + 70));

function chartBox(id: string, height: number, label: string): string {
  return `<div class="chart" style="height:${Math.round(height)}px"><canvas id="${id}" role="img" aria-label="${escapeHtml(label)}"></canvas></div>`;
}

function layersSection(data: ReportData): string {
  const layers = data.layers!;
  const withChannels = layers.filter((l) => l.channelsBefore != null && l.channelsAfter != null);
  const rows = layers
    .map(
      (l) =>
        `<tr><td class="name">${escapeHtml(l.name)}</td><td>${escapeHtml(l.op)}</td><td class="num">${si(l.paramsBefore)}</td><td class="num">${si(l.paramsAfter)}</td><td class="num">${pct(l.sparsity)}</td><td class="num">${l.channelsBefore ?? '–'}</td><td class="num">${l.channelsAfter ?? '–'}</td></tr>`,
    )
    .join('\n');
  return `<section id="layers" class="card">
  <h2>Per-layer pruning</h2>
  <div class="grid${withChannels.length ? ' two' : ''}">
    <figure><figcaption>Sparsity per layer</figcaption>${chartBox('chart-sparsity', barHeight(layers.length), 'Sparsity per layer')}</figure>
    ${withChannels.length ? `<figure><figcaption>Output channels, before and after</figcaption>${chartBox('chart-channels', barHeight(withChannels.length, 28), 'Output channels per layer, before and after')}</figure>` : ''}
  </div>
  <details><summary>Layer table (${layers.length})</summary>
  <div class="scroll"><table><thead><tr><th>Layer</th><th>Op</th><th class="num">Params before</th><th class="num">Params after</th><th class="num">Sparsity</th><th class="num">Channels before</th><th class="num">Channels after</th></tr></thead>
  <tbody>${rows}</tbody></table></div></details>
</section>`;
}

function sensitivitySection(): string {
  return `<section id="sensitivity" class="card">
  <h2>Sensitivity</h2>
  <p class="hint">Accuracy with one layer pruned alone, at each amount. Flat curves can be pruned hard; steep ones want a small amount.</p>
  ${chartBox('chart-sensitivity', 340, 'Accuracy versus amount pruned, per layer')}
</section>`;
}

/** The quality metric of the runs: mAP@0.5:0.95 for detectors (when no run has an accuracy), else top-1 accuracy. */
export function runsMetric(runs: RunRow[]): { key: 'accuracy' | 'map'; label: string } {
  return runs.some((r) => r.map !== undefined) && !runs.some((r) => r.accuracy !== undefined) ? { key: 'map', label: 'mAP@0.5:0.95' } : { key: 'accuracy', label: 'Accuracy' };
}

/** Phase: AP per class and run (detection), collapsed. */
function perClassTable(runs: RunRow[]): string {
  const withAp = runs.filter((r) => has(r.perClass));
  if (!withAp.length) return '';
  const classes = [...new Set(withAp.flatMap((r) => r.perClass!.map((c) => c.class)))].sort((a, b) => a - b);
  const gt = new Map(withAp[0]!.perClass!.map((c) => [c.class, c.gt]));
  const cell = (r: RunRow, k: number) => {
    const c = r.perClass!.find((x) => x.class === k);
    return c?.ap == null ? '<td class="num muted">–</td>' : `<td class="num">${pct(c.ap, 1)} <span class="delta">(${pct(c.ap50 ?? undefined, 1)})</span></td>`;
  };
  const rows = classes.map((k) => `<tr><td class="name">${k}</td><td class="num">${gt.get(k) ?? '–'}</td>${withAp.map((r) => cell(r, k)).join('')}</tr>`).join('\n');
  return `<details id="per-class-ap"><summary>AP per class (${classes.length})</summary>
  <p class="hint">AP@0.5:0.95 (AP@0.5) of each class; – for a class without ground truth.</p>
  <div class="scroll"><table><thead><tr><th>Class</th><th class="num">Boxes</th>${withAp.map((r) => `<th class="num">${escapeHtml(r.name)}</th>`).join('')}</tr></thead>
  <tbody>${rows}</tbody></table></div></details>`;
}

function runsSection(data: ReportData): string {
  const runs = data.runs!;
  const metric = runsMetric(runs);
  const detect = metric.key === 'map';
  const withAcc = runs.filter((r) => r[metric.key] !== undefined);
  const withLat = withAcc.filter((r) => r.latencyMs !== undefined);
  const best = Math.max(...withAcc.map((r) => r[metric.key]!));
  const base = runs[0]!;
  // Params and non-zero params, both, when the data has them (a pruned model keeps its zeros as params).
  const withParams = runs.some((r) => r.params !== undefined || r.nonzeroParams !== undefined);
  const paramCells = (r: (typeof runs)[number]) => (withParams ? `<td class="num">${si(r.params)}</td><td class="num">${si(r.nonzeroParams)}</td>` : '');
  // Detection: mAP@0.5 and mAP@0.5:0.95, each with its change against the first run (the dense model).
  const delta = (r: RunRow, k: 'map' | 'map50') => (r === base ? '<td class="num muted">–</td>' : accuracyDelta(base[k], r[k]));
  const metricCells = (r: RunRow) =>
    detect
      ? `<td class="num">${pct(r.map50, 2)}</td>${delta(r, 'map50')}<td class="num${r.map === best ? ' strong' : ''}">${pct(r.map, 2)}</td>${delta(r, 'map')}`
      : `<td class="num${r.accuracy === best ? ' strong' : ''}">${pct(r.accuracy, 2)}</td>`;
  const metricHeads = detect ? '<th class="num">mAP@0.5</th><th class="num">Δ</th><th class="num">mAP@0.5:0.95</th><th class="num">Δ</th>' : '<th class="num">Accuracy</th>';
  const rows = runs
    .map((r) => `<tr><td class="name">${escapeHtml(r.name)}</td>${metricCells(r)}${paramCells(r)}<td class="num">${si(r.macs)}</td><td class="num">${ms(r.latencyMs)}</td><td class="num">${fmtBytes(r.bytes)}</td></tr>`)
    .join('\n');
  const charts = [
    withAcc.length ? `<figure><figcaption>${metric.label} vs MACs</figcaption>${chartBox('chart-runs-macs', 300, `${metric.label} versus MACs per run`)}</figure>` : '',
    withLat.length ? `<figure><figcaption>${metric.label} vs latency</figcaption>${chartBox('chart-runs-latency', 300, `${metric.label} versus latency per run`)}</figure>` : '',
  ].filter(Boolean);
  return `<section id="runs" class="card">
  <h2>Runs and trade-offs</h2>
  ${charts.length ? `<div class="grid${charts.length > 1 ? ' two' : ''}">${charts.join('')}</div>` : ''}
  <table><thead><tr><th>Run</th>${metricHeads}${withParams ? '<th class="num">Params</th><th class="num">Non-zero params</th>' : ''}<th class="num">MACs</th><th class="num">Latency</th><th class="num">Size</th></tr></thead>
  <tbody>${rows}</tbody></table>
  ${perClassTable(runs)}
</section>`;
}

function exportsSection(data: ReportData): string {
  const { tflite, tensorrt } = data.exports!;
  const parts: string[] = [];
  if (tflite) {
    const nOps = Object.keys(tflite.ops).length;
    const total = Object.values(tflite.ops).reduce((a, b) => a + b, 0);
    parts.push(`<div class="export">
    <h3>TFLite</h3>
    <dl class="facts"><dt>File</dt><dd><code>${escapeHtml(tflite.path)}</code></dd><dt>Size</dt><dd>${fmtBytes(tflite.bytes)}</dd><dt>Operators</dt><dd>${total} (${nOps} kinds)</dd>
    <dt>Max |ONNX − TFLite|</dt><dd class="${tflite.maxAbsDiff <= 1e-4 ? 'good' : tflite.maxAbsDiff <= 1e-2 ? '' : 'bad'}">${tflite.maxAbsDiff.toExponential(2)}</dd></dl>
    ${nOps ? chartBox('chart-tflite-ops', barHeight(nOps), 'TFLite operator counts') : ''}
  </div>`);
  }
  if (tensorrt) {
    const rows = tensorrt.layers
      .map(
        (l) =>
          `<tr><td class="name">${escapeHtml(l.name)}</td><td>${l.eligible ? 'yes' : '<span class="muted">no</span>'}</td><td>${l.compliant ? '<span class="good">2:4</span>' : '<span class="muted">no</span>'}</td><td>${escapeHtml(l.reason)}</td></tr>`,
      )
      .join('\n');
    parts.push(`<div class="export">
    <h3>TensorRT 2:4 sparsity</h3>
    <dl class="facts"><dt>Compliant</dt><dd>${pct(tensorrt.compliantFraction)} of eligible layers</dd><dt>Layers</dt><dd>${tensorrt.layers.length}</dd></dl>
    ${tensorrt.layers.length ? chartBox('chart-tensorrt', 200, 'TensorRT 2:4 eligibility of layers') : ''}
    ${tensorrt.layers.length ? `<details><summary>Layers (${tensorrt.layers.length})</summary><div class="scroll"><table><thead><tr><th>Layer</th><th>Eligible</th><th>Compliant</th><th>Reason</th></tr></thead><tbody>${rows}</tbody></table></div></details>` : ''}
  </div>`);
  }
  return `<section id="exports" class="card">
  <h2>Exports</h2>
  <div class="grid${parts.length > 1 ? ' two' : ''}">${parts.join('\n')}</div>
</section>`;
}

function plansSection(data: ReportData): string {
  const rows = data
    .plans!.map((p) => {
      // Layers round-to left whole are counted apart: they are what --round-to 1 would prune.
      const whole = p.skipped.filter((s) => s.code === 'too-small' || (s.code === 'rounded' && s.reason.endsWith('left whole'))).length;
      const skipped = p.skipped.length
        ? `<details><summary>${p.skipped.length} skipped${whole ? ` (${whole} left whole by round-to)` : ''}</summary><ul class="skipped">${p.skipped.map((s) => `<li><code>${escapeHtml(s.target)}</code>${s.code ? ` <span class="muted">${escapeHtml(s.code)}</span>` : ''}: ${escapeHtml(s.reason)}</li>`).join('')}</ul></details>`
        : '<span class="muted">none</span>';
      return `<tr><td class="name">${escapeHtml(p.strategy)}</td><td>${escapeHtml(p.criterion ?? '–')}</td><td class="num">${p.actions}</td><td class="num">${p.maskedWeights === undefined ? '–' : si(p.maskedWeights)}</td><td class="num">${p.removedChannels ?? '–'}</td><td>${skipped}</td></tr>`;
    })
    .join('\n');
  return `<section id="plans" class="card">
  <h2>Pruning plans</h2>
  <table><thead><tr><th>Strategy</th><th>Criterion</th><th class="num">Actions</th><th class="num">Weights masked</th><th class="num">Channels removed</th><th>Skipped</th></tr></thead>
  <tbody>${rows}</tbody></table>
</section>`;
}

/** Which sections a report of this data shows, in page order. */
export function reportSections(data: ReportData): string[] {
  const s: string[] = [];
  if (data.summary && (data.summary.before || data.summary.after)) s.push('summary');
  if (has(data.layers)) s.push('layers');
  if (has(data.sensitivity) && data.sensitivity.some((c) => c.points.length > 0)) s.push('sensitivity');
  if (has(data.runs)) s.push('runs');
  if (data.exports && (data.exports.tflite || data.exports.tensorrt)) s.push('exports');
  if (has(data.plans)) s.push('plans');
  if (has(data.notes)) s.push('notes');
  return s;
}

/**
 * One self-contained HTML page: inline CSS, Chart.js and the data (as JSON in
 * a `<script type="application/json">`). It loads nothing at view time, and a
 * Content-Security-Policy forbids it to. Every user-controlled string is
 * escaped into HTML, or drawn by Chart.js on a canvas.
 */
export function renderReport(data: ReportData): string {
  const title = data.title ?? 'Shears report';
  const sections = reportSections(data);
  const body = sections
    .map((s) => {
      switch (s) {
        case 'summary':
          return summarySection(data.summary!.before, data.summary!.after);
        case 'layers':
          return layersSection(data);
        case 'sensitivity':
          return sensitivitySection();
        case 'runs':
          return runsSection(data);
        case 'exports':
          return exportsSection(data);
        case 'plans':
          return plansSection(data);
        default:
          return `<section id="notes" class="card"><h2>Notes</h2><ul>${data.notes!.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></section>`;
      }
    })
    .join('\n');
  const meta = [data.model ? `<code>${escapeHtml(data.model)}</code>` : '', data.generatedAt ? `generated ${escapeHtml(data.generatedAt)}` : '']
    .filter(Boolean)
    .join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
<meta name="generator" content="@shears/report">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header class="page-header"><div class="wrap"><div class="brand">✂ Shears</div><h1>${escapeHtml(title)}</h1>${meta ? `<p class="meta">${meta}</p>` : ''}</div></header>
<main class="wrap">
${body || '<section class="card"><p class="muted">This report has no data.</p></section>'}
</main>
<footer class="wrap muted">Made by Shears. Charts by Chart.js (MIT). This page is self-contained and works offline.</footer>
<script type="application/json" id="shears-report-data">${jsonForScript(data)}</script>
<script>${chartJsSource()}</script>
<script>${CLIENT_SCRIPT}</script>
</body>
</html>
`;
}
