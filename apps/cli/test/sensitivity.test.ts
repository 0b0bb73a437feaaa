// `shears sensitivity`: the scan through the CLI on the Fashion-MNIST CNN,
// its table usable as `prune --amount-table`, and one-line option errors.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const model = fixture('fmnist_cnn');
const dir = process.env.SHEARS_FMNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const data = `${dir}:t10k`;
const ready = !!model && existsSync(join(dir, 't10k-images-idx3-ubyte.gz'));
const tmp = () => mkdtempSync(join(tmpdir(), 'shears-sensitivity-cli-'));

describe.skipIf(!ready)('shears sensitivity', () => {
  it('--json: curves, baseline and a proposal written to -o, and an HTML report with the curves', () => {
    const d = tmp();
    const table = join(d, 'table.json');
    const report = join(d, 'sens.html');
    const r = shears(['sensitivity', model!, '--data', data, '--limit', '200', '--amounts', '0,0.5,0.9', '--round-to', '1', '--workers', '2', '-o', table, '--report', report, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j.strategy).toBe('filter');
    expect(j.samples).toBe(200);
    expect(j.amounts).toEqual([0, 0.5, 0.9]);
    expect(j.curves.map((c: { layer: string }) => c.layer)).toEqual(['/0/Conv', '/2/Conv', '/4/Conv']);
    for (const c of j.curves) expect(c.points[0].accuracy).toBe(j.baseline);
    expect(j.curves.some((c: { points: { accuracy: number }[] }) => c.points[2]!.accuracy < j.baseline)).toBe(true);
    expect(JSON.parse(readFileSync(table, 'utf8'))).toEqual(j.proposal);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('/4/Conv');
    expect(html).toContain('<section id="sensitivity"');
    expect(readdirSync(d).sort()).toEqual(['sens.html', 'table.json']);
    // The table drives prune --amount-table for the filter strategy.
    const out = join(d, 'slim.onnx');
    const p = shears(['prune', model!, '-o', out, '--strategy', 'filter', '--amount-table', JSON.stringify({ '/4/Conv': 0.5 }), '--round-to', '1', '--json']);
    expect(p.status).toBe(0);
    expect(p.json().channels).toMatchObject({ groups: 1 });
  });

  it('prints a layer × amount table without colour off a terminal', () => {
    const r = shears(['sensitivity', model!, '--data', data, '--limit', '64', '--amounts', '0.5', '--strategy', 'unstructured', '--workers', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^baseline \d+\.\d\d% on 64 samples; 4 layers × 1 amounts \(unstructured\)/);
    expect(r.stdout).toMatch(/\n\/7\/Gemm +\d+\.\d% +\d+%\n/);
    expect(r.stdout).not.toContain('\x1b[');
  });

  it('bad options: one line naming the option, exit 2; data without labels, exit 3', () => {
    const d = tmp();
    const cases: [string[], RegExp][] = [
      [['--data', data, '--amounts', '0.5,1'], /^shears: error: sensitivity: option --amounts: every amount must be in \[0, 1\) \(got 1\)\n$/],
      [['--data', data, '--amounts=-0.1'], /option --amounts: every amount must be in \[0, 1\) \(got -0.1\)/],
      [['--data', data, '--amounts', '0.1,,0.2'], /option --amounts: expected comma-separated numbers/],
      [['--data', data, '--strategy', 'channel'], /^shears: error: sensitivity: option --strategy: must be filter or unstructured \(got 'channel'\)\n$/],
      [[], /^shears: error: sensitivity: option --data is required/],
      [['--data', data, '--tolerance', '2'], /option --tolerance: must be in \[0, 1\]/],
      [['--data', data, '--layers', '('], /option --layers: not a regular expression/],
      [['--data', data, '--strategy', 'unstructured', '--round-to', '4'], /option --round-to: applies to the filter strategy only/],
    ];
    for (const [args, msg] of cases) {
      const r = shears(['sensitivity', model!, ...args, '-o', join(d, 't.json')]);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.status).toBe(2);
    }
    const nolabels = shears(['sensitivity', model!, '--data', 'random:8', '-o', join(d, 't.json')]);
    expect(nolabels.stderr).toMatch(/random:8: dataset has no labels/);
    expect(nolabels.status).toBe(3);
    expect(readdirSync(d)).toEqual([]);
  });

  it('is listed in shears --help and has its own --help', () => {
    expect(shears(['--help']).stdout).toMatch(/\n {2}sensitivity +Accuracy with each layer pruned alone/);
    const h = shears(['sensitivity', '--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('--amounts <list>');
    expect(h.stdout).toContain('--amount-table table.json');
  });
});
