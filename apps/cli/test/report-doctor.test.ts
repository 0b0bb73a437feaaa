import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'shears-report-'));
});

describe('shears report', () => {
  it('writes a self-contained HTML page from ReportData JSON', () => {
    const data = join(dir, 'data.json');
    writeFileSync(
      data,
      JSON.stringify({
        version: 1,
        title: 'cli test',
        summary: { before: { params: 100, nonzeroParams: 100, macs: 1000, bytes: 400 }, after: { params: 100, nonzeroParams: 50, macs: 500, bytes: 400 } },
        layers: [{ name: '<b>conv</b>', op: 'Conv', paramsBefore: 100, paramsAfter: 100, sparsity: 0.5 }],
      }),
    );
    const out = join(dir, 'out', 'report.html');
    const r = shears(['report', data, '-o', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.json()).toMatchObject({ out, sections: ['summary', 'layers'] });
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<title>cli test</title>');
    expect(html).toContain('&#60;b&#62;conv&#60;/b&#62;');
    expect(readdirSync(join(dir, 'out'))).toEqual(['report.html']);
    const text = shears(['report', data, '-o', out]);
    expect(text.stdout).toMatch(/^wrote .*report\.html \(.*; sections: summary, layers\)\n$/);
  });

  it('refuses bad data with the field, and a missing -o, as usage errors', () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, runs: [{ name: 'a', macs: 'lots', bytes: 1 }] }));
    const r = shears(['report', bad, '-o', join(dir, 'x.html')]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('runs[0].macs must be a finite number');
    expect(shears(['report', bad]).status).toBe(2);
    writeFileSync(join(dir, 'notjson.json'), '{');
    expect(shears(['report', join(dir, 'notjson.json'), '-o', join(dir, 'y.html')]).status).toBe(3);
    expect(readdirSync(dir).filter((f) => f.endsWith('.html'))).toEqual([]);
  });
});

describe('shears doctor', () => {
  it('reports every runtime with a status and what it enables, as JSON', () => {
    const r = shears(['doctor', '--json']);
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j.node.version).toBe(process.versions.node);
    const names = j.checks.map((c: { name: string }) => c.name);
    expect(names[0]).toBe('onnxruntime-node');
    expect(names).toEqual(expect.arrayContaining(['@tensorflow/tfjs-node', 'python3 onnx', 'chromium']));
    expect(names.some((n: string) => n.startsWith('TFLite validator'))).toBe(true);
    for (const c of j.checks) {
      expect(['found', 'missing', 'broken']).toContain(c.status);
      expect(c.enables.length).toBeGreaterThan(10);
    }
    // The CLI depends on @shears/runtime, so onnxruntime-node is always there.
    expect(j.checks[0]).toMatchObject({ status: 'found', version: expect.stringMatching(/^\d+\.\d+/) });
    expect(j.checks[0].detail).toMatch(/cpu/);
  });

  it('says which tfjs backend fine-tuning runs on, and how to get the native one when it is not that', () => {
    const j = shears(['doctor', '--json']).json();
    const backend = j.checks.find((c: { name: string }) => c.name === 'fine-tuning backend');
    expect(backend).toMatchObject({ status: 'found', detail: expect.stringMatching(/^active: (tensorflow|wasm|cpu), /) });
    const node = j.checks.find((c: { name: string }) => c.name === '@tensorflow/tfjs-node');
    if (backend.detail.startsWith('active: tensorflow')) {
      expect(node.status).toBe('found');
      expect(backend.hint).toBeUndefined();
      return;
    }
    // tfjs-node is an optional dependency of @shears/finetune; where its install could not build it, the hint
    // names the script that builds it from the tensorflow-cpu wheel, by a path that exists.
    expect(node.status).not.toBe('found');
    expect(backend.hint).toMatch(/tensorflow-cpu Python wheel/);
    const script = /bash (\S+build-tfjs-node\.sh)/.exec(backend.hint)?.[1];
    expect(script && existsSync(script)).toBe(true);
  });

  it('prints a table for people', () => {
    const r = shears(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/runtime\s+status\s+version\s+details/);
    expect(r.stdout).toMatch(/\+ onnxruntime-node: evaluation/);
    const active = /^fine-tuning backend +ok +- +active: (tensorflow|wasm|cpu)/m.exec(r.stdout)?.[1];
    expect(active).toBeDefined();
    if (active !== 'tensorflow') expect(r.stdout).toMatch(/^hint: native TensorFlow backend: .*build-tfjs-node\.sh/m);
  });
});
