/**
 * The script the report runs in the browser, after Chart.js. It reads the
 * data from the JSON script element and draws every chart whose canvas the
 * page has. Kept as plain ES2017 text (no bundler output, no template
 * literals) so it is inlined verbatim. Labels reach Chart.js, which draws on
 * a canvas, so nothing here writes HTML.
 */
export const CLIENT_SCRIPT = `
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('shears-report-data').textContent);
  var Chart = window.Chart;
  var PALETTE = ['#4f6bed', '#e8743b', '#19a979', '#ed4a7b', '#945ecf', '#13a4b4', '#d4a20b', '#6c8893', '#bf399e', '#2f7d32'];
  var BEFORE = '#b8c2d6', AFTER = '#4f6bed';
  var drawn = 0;

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = '#4b5563';
  Chart.defaults.borderColor = '#e5e7eb';
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function si(n) {
    if (n === null || n === undefined || !isFinite(n)) return '-';
    var a = Math.abs(n);
    var units = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
    for (var i = 0; i < units.length; i++) if (a >= units[i][0]) return (n / units[i][0]).toFixed(a / units[i][0] >= 100 ? 0 : 1) + units[i][1];
    return String(Math.round(n * 100) / 100);
  }
  function bytes(n) {
    var u = ['B', 'KiB', 'MiB', 'GiB'], i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + ' ' + u[i];
  }
  function pct(x) { return (x * 100).toFixed(1) + '%'; }
  // A percent tick label with as many decimals as the tick step needs, so
  // that no two ticks of an axis read the same (92.28%, 92.30%… not 92.3% twice).
  function pctAxis(v, i, ticks) {
    var step = Infinity;
    for (var k = 1; ticks && k < ticks.length; k++) step = Math.min(step, Math.abs(ticks[k].value - ticks[k - 1].value));
    var digits = isFinite(step) && step > 0 ? Math.max(0, Math.min(8, Math.ceil(-Math.log10(step * 100) - 1e-9))) : 1;
    return (v * 100).toFixed(digits) + '%';
  }
  function color(i, alpha) {
    var c = PALETTE[i % PALETTE.length];
    if (alpha === undefined) return c;
    var n = parseInt(c.slice(1), 16);
    return 'rgba(' + (n >> 16) + ',' + ((n >> 8) & 255) + ',' + (n & 255) + ',' + alpha + ')';
  }
  function draw(id, config) {
    var el = document.getElementById(id);
    if (!el) return;
    new Chart(el, config);
    drawn++;
  }
  function axisTitle(text) { return { display: true, text: text }; }

  var layers = data.layers || [];
  if (layers.length) {
    var names = layers.map(function (l) { return l.name; });
    draw('chart-sparsity', {
      type: 'bar',
      data: { labels: names, datasets: [{ label: 'sparsity', data: layers.map(function (l) { return l.sparsity; }), backgroundColor: AFTER, borderRadius: 3, maxBarThickness: 18 }] },
      options: {
        indexAxis: 'y',
        scales: { x: { min: 0, max: 1, ticks: { callback: pctAxis }, title: axisTitle('zero weights') }, y: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) { var l = layers[c.dataIndex]; return pct(l.sparsity) + ' zero  (' + si(l.paramsAfter) + ' params)'; } } } },
      },
    });
    var ch = layers.filter(function (l) { return l.channelsBefore !== undefined && l.channelsBefore !== null && l.channelsAfter !== undefined && l.channelsAfter !== null; });
    if (ch.length) {
      draw('chart-channels', {
        type: 'bar',
        data: {
          labels: ch.map(function (l) { return l.name; }),
          datasets: [
            { label: 'before', data: ch.map(function (l) { return l.channelsBefore; }), backgroundColor: BEFORE, borderRadius: 3, maxBarThickness: 14 },
            { label: 'after', data: ch.map(function (l) { return l.channelsAfter; }), backgroundColor: AFTER, borderRadius: 3, maxBarThickness: 14 },
          ],
        },
        options: { indexAxis: 'y', scales: { x: { beginAtZero: true, title: axisTitle('output channels') }, y: { ticks: { autoSkip: false } } } },
      });
    }
  }

  var curves = data.sensitivity || [];
  if (curves.length) {
    draw('chart-sensitivity', {
      type: 'line',
      data: {
        datasets: curves.map(function (c, i) {
          return {
            label: c.layer,
            data: c.points.slice().sort(function (a, b) { return a.amount - b.amount; }).map(function (p) { return { x: p.amount, y: p.accuracy }; }),
            borderColor: color(i), backgroundColor: color(i), pointRadius: 3, borderWidth: 2, tension: 0.2,
          };
        }),
      },
      options: {
        parsing: false,
        interaction: { mode: 'nearest', intersect: false },
        scales: {
          x: { type: 'linear', min: 0, max: 1, ticks: { callback: pctAxis }, title: axisTitle('amount pruned (this layer alone)') },
          y: { ticks: { callback: pctAxis }, title: axisTitle('accuracy') },
        },
        plugins: { legend: { position: 'right' }, tooltip: { callbacks: { label: function (c) { return c.dataset.label + ': ' + pct(c.parsed.y) + ' at ' + pct(c.parsed.x); } } } },
      },
    });
  }

  var runs = data.runs || [];
  // Detectors: mAP@0.5:0.95 (when no run has an accuracy), as the runs table does.
  var detect = runs.some(function (r) { return typeof r.map === 'number'; }) && !runs.some(function (r) { return typeof r.accuracy === 'number'; });
  var metric = detect ? 'map' : 'accuracy';
  var metricLabel = detect ? 'mAP@0.5:0.95' : 'accuracy';
  function scatter(id, xKey, xTitle, xFmt) {
    var pts = runs.filter(function (r) { return typeof r[xKey] === 'number' && typeof r[metric] === 'number'; });
    if (!pts.length) return;
    var maxBytes = Math.max.apply(null, pts.map(function (r) { return r.bytes || 1; }));
    draw(id, {
      type: 'bubble',
      data: {
        datasets: pts.map(function (r, i) {
          return { label: r.name, data: [{ x: r[xKey], y: r[metric], r: 5 + 13 * Math.sqrt((r.bytes || 0) / maxBytes) }], backgroundColor: color(i, 0.55), borderColor: color(i), borderWidth: 1.5 };
        }),
      },
      options: {
        layout: { padding: 8 },
        scales: { x: { beginAtZero: true, grace: '8%', ticks: { callback: xFmt }, title: axisTitle(xTitle) }, y: { grace: '12%', ticks: { callback: pctAxis }, title: axisTitle(metricLabel) } },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: { callbacks: { label: function (c) { var r = pts[c.datasetIndex]; return r.name + ': ' + (detect ? 'mAP@0.5:0.95 ' : '') + pct(r[metric]) + ', ' + si(r.macs) + ' MACs, ' + (r.latencyMs === undefined ? '' : r.latencyMs.toFixed(2) + ' ms, ') + bytes(r.bytes); } } },
        },
      },
    });
  }
  if (runs.length) {
    scatter('chart-runs-macs', 'macs', 'MACs (bubble area ~ size)', function (v) { return si(v); });
    scatter('chart-runs-latency', 'latencyMs', 'latency, ms (bubble area ~ size)', function (v) { return Math.round(v * 1000) / 1000; });
  }

  var ex = data.exports || {};
  if (ex.tflite) {
    var ops = Object.keys(ex.tflite.ops).map(function (k) { return [k, ex.tflite.ops[k]]; }).sort(function (a, b) { return b[1] - a[1]; });
    if (ops.length) {
      draw('chart-tflite-ops', {
        type: 'bar',
        data: { labels: ops.map(function (o) { return o[0]; }), datasets: [{ label: 'count', data: ops.map(function (o) { return o[1]; }), backgroundColor: PALETTE[2], borderRadius: 3, maxBarThickness: 18 }] },
        options: { indexAxis: 'y', scales: { x: { beginAtZero: true, ticks: { precision: 0 }, title: axisTitle('operators in the .tflite file') }, y: { ticks: { autoSkip: false } } }, plugins: { legend: { display: false } } },
      });
    }
  }
  if (ex.tensorrt && ex.tensorrt.layers.length) {
    var t = ex.tensorrt.layers;
    var compliant = t.filter(function (l) { return l.eligible && l.compliant; }).length;
    var eligible = t.filter(function (l) { return l.eligible && !l.compliant; }).length;
    var ineligible = t.filter(function (l) { return !l.eligible; }).length;
    draw('chart-tensorrt', {
      type: 'doughnut',
      data: { labels: ['2:4 compliant', 'eligible, not 2:4', 'not eligible'], datasets: [{ data: [compliant, eligible, ineligible], backgroundColor: [PALETTE[2], PALETTE[1], '#cbd5e1'], borderWidth: 2 }] },
      options: { cutout: '62%', plugins: { legend: { position: 'right' } } },
    });
  }

  document.body.setAttribute('data-charts', String(drawn));
})();
`;
