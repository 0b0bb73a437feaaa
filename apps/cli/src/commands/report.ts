import { readFileSync } from 'node:fs';
import { ShearsError } from '@shears/core';
import { reportSections, validateReportData, writeReport } from '@shears/report';
import { needOne, parse } from '../args.js';
import { bytes } from '../format.js';
import { out, printJson, type CliIO } from '../io.js';
import type { Command } from './types.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'Write a self-contained HTML report (charts inlined, works offline) from report data JSON',
  usage: 'shears report <data.json> -o <report.html> [--json]',
  help: [['-o, --out <file>', 'the HTML file to write (replaced atomically)']],
  examples: ['shears report results.json -o report.html', 'shears report results.json -o report.html --json'],
  options: { out: { type: 'string', short: 'o' } },
  async run(argv: string[], io: CliIO) {
    const { values, positionals } = parse('report', argv, this.options);
    const file = needOne('report', positionals, 'report data file (ReportData JSON)');
    const target = values.out as string | undefined;
    if (!target) throw new ShearsError('E_OPTION', 'report: -o/--out <report.html> is required (see shears report --help)', { option: 'out' });
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ShearsError('E_IO', `cannot read ${file}: ${(e as Error).message}`, { file, cause: e });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ShearsError('E_PARSE', `${file}: not JSON (${(e as Error).message})`, { file, cause: e });
    }
    const data = validateReportData(json, file);
    const w = writeReport(data, target);
    const sections = reportSections(data);
    if (io.json) return printJson(io, { out: w.path, bytes: w.bytes, sections });
    out(io, `wrote ${w.path} (${bytes(w.bytes)}; sections: ${sections.join(', ') || 'none'})`);
  },
};
