export { REPORT_VERSION, validateReportData } from './types.js';
export type { ClassAp, ExportResults, LayerRow, ModelSummary, PlanSummary, ReportData, RunRow, SensitivityCurve, TensorRtExport, TfliteExport } from './types.js';
export { renderReport, reportSections, escapeHtml, jsonForScript, chartJsSource } from './render.js';
export { writeReport } from './write.js';
export { htmlReport, buildReportData, summarizePlans, type HtmlReportOptions } from './plugin.js';
