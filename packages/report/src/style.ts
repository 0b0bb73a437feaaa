/** The report's stylesheet, inlined into the page. */
export const STYLE = `
:root {
  --bg: #f5f6f8; --card: #ffffff; --ink: #1f2933; --muted: #6b7280; --line: #e5e7eb;
  --accent: #4f6bed; --good: #138a5a; --bad: #c2410c; --head: #1e2541;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
}
.wrap { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
.page-header { background: var(--head); color: #fff; padding: 22px 0 20px; margin-bottom: 24px; }
.page-header h1 { margin: 2px 0 0; font-size: 24px; font-weight: 650; letter-spacing: -0.01em; overflow-wrap: anywhere; }
.page-header .meta { margin: 6px 0 0; color: #c7cde0; font-size: 13px; overflow-wrap: anywhere; }
.page-header code { color: #fff; background: rgba(255,255,255,0.12); }
.brand { font-size: 12px; text-transform: uppercase; letter-spacing: 0.12em; color: #9aa7d9; font-weight: 600; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 18px 22px 20px; margin-bottom: 20px; box-shadow: 0 1px 2px rgba(16,24,40,0.04); }
.card h2 { font-size: 17px; margin: 0 0 14px; font-weight: 650; }
h3 { font-size: 15px; margin: 0 0 10px; font-weight: 600; }
.hint { color: var(--muted); margin: -8px 0 12px; font-size: 13px; }
figure { margin: 0; min-width: 0; }
figcaption { font-size: 13px; font-weight: 600; color: var(--muted); margin-bottom: 6px; }
.grid { display: grid; gap: 20px; grid-template-columns: minmax(0, 1fr); }
.grid.two { grid-template-columns: repeat(2, minmax(0, 1fr)); }
@media (max-width: 860px) { .grid.two { grid-template-columns: minmax(0, 1fr); } }
.chart { position: relative; width: 100%; min-width: 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 8px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; border-bottom: 2px solid var(--line); }
tbody tr:hover { background: #f9fafb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
table.summary { max-width: 760px; }
table.summary th[scope=row] { font-weight: 500; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; margin-bottom: 14px; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fafbff; }
.tile-label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.tile-value { font-size: 24px; font-weight: 650; color: var(--accent); font-variant-numeric: tabular-nums; }
.tile-sub { font-size: 12px; color: var(--muted); }
.good { color: var(--good); }
.bad { color: var(--bad); }
.muted { color: var(--muted); }
.strong { font-weight: 700; }
.delta { font-size: 12px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; background: #f3f4f6; padding: 1px 5px; border-radius: 4px; overflow-wrap: anywhere; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--accent); font-weight: 500; }
.scroll { max-height: 420px; overflow: auto; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; margin: 0 0 12px; font-size: 13px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; min-width: 0; }
ul.skipped { margin: 6px 0 0; padding-left: 18px; }
footer { font-size: 12px; padding-bottom: 32px; }
`;
