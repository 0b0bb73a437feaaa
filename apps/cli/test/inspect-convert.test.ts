import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'shears-cli-'));

describe('shears inspect', () => {
  it('prints one JSON document with the documented fields', () => {
    const r = shears(['inspect', smallFixture('tiny-cnn.onnx'), '--json']);
    expect(r.status).toBe(0);
    const j = r.json();
    expect(j).toMatchObject({ opset: 17, irVersion: 8, inputs: [{ name: 'input', shape: [1, 3, 32, 32], dtype: 'float32' }], outputs: [{ name: 'output', shape: [1, 10], dtype: 'float32' }] });
    for (const k of ['params', 'nonzeroParams', 'macs', 'bytes']) expect(typeof j[k]).toBe('number');
    expect(j.layers.length).toBeGreaterThan(3);
    // params are the float initializer elements: the manifest records them.
    const manifest = JSON.parse(readFileSync(smallFixture('manifest.json'), 'utf8')) as { name: string; params: number }[];
    expect(j.params).toBe(manifest.find((m) => m.name === 'tiny-cnn')!.params);
    expect(j.layers.reduce((a: number, l: { macs: number }) => a + l.macs, 0)).toBe(j.macs);
  });

  it('prints a readable table with totals', () => {
    const r = shears(['inspect', smallFixture('tiny-cnn.onnx')]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/layer\s+op\s+output\s+params\s+MACs\s+sparsity/);
    expect(r.stdout).toMatch(/^total {2}params .* MACs .*$/m);
  });

  it('counts a dynamic batch as 1 sample, and takes --input-shape', () => {
    const f = smallFixture('shape-subgraph.onnx');
    const one = shears(['inspect', f, '--json']);
    expect(one.status).toBe(0);
    expect(one.json().inputs[0].shape).toEqual(['batch', 3, 8, 8]);
    expect(one.json().assumedBatch).toEqual({ batch: 1, inputs: ['input'] });
    expect(one.json().macs).toBeGreaterThan(0);
    expect(shears(['inspect', f]).stdout).toContain('(MACs per sample: the dynamic batch dim of input counted as 1');
    const four = shears(['inspect', f, '--input-shape', 'input:4x3x8x8', '--json']);
    expect(four.status).toBe(0);
    expect(four.json().inputs[0].shape).toEqual([4, 3, 8, 8]);
    expect(four.json().macs).toBe(4 * one.json().macs);
    expect(four.json().assumedBatch).toBeNull();
  });

  it.each([
    ['truncated.onnx', /truncated\.onnx: not a valid ONNX model/],
    ['not-onnx.onnx', /not-onnx\.onnx: not a valid ONNX model/],
    ['unknown-op.onnx', /unknown-op\.onnx: node .*: unknown op com\.example::FancyOp/],
  ])('refuses %s with one line and exit 3', (name, msg) => {
    const r = shears(['inspect', smallFixture(name)]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });

  it('names a missing external data file', () => {
    const dir = tmp();
    copyFileSync(smallFixture('externaldata.onnx'), join(dir, 'm.onnx'));
    const r = shears(['inspect', join(dir, 'm.onnx')]);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/externaldata\.onnx\.data/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('shows a stack only with --verbose, and a JSON error with --json', () => {
    const f = smallFixture('not-onnx.onnx');
    expect(shears(['inspect', f, '--verbose']).stderr).toMatch(/\n\s+at /);
    const j = shears(['inspect', f, '--json']);
    expect(j.json().error).toMatchObject({ code: 'E_PARSE', file: f });
  });

  it('refuses unknown flags and commands as usage errors', () => {
    const r = shears(['inspect', smallFixture('tiny-cnn.onnx'), '--colour']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/inspect: unknown option '--colour'/);
    expect(shears(['inspekt']).status).toBe(2);
  });

  it.skipIf(!fixture('resnet50'))('resnet50: about 4.1 GMACs, params = sum of weight tensors', () => {
    const j = shears(['inspect', fixture('resnet50')!, '--json']).json();
    expect(j.macs).toBe(4_089_184_256);
    expect(j.params).toBe(25_530_472);
    expect(j.layers.filter((l: { op: string }) => l.op === 'Conv')).toHaveLength(53);
  });
});

describe('shears convert', () => {
  it('round-trips atomically and never over the input', () => {
    const dir = tmp();
    const src = join(dir, 'in.onnx');
    copyFileSync(smallFixture('tiny-cnn.onnx'), src);
    const before = readFileSync(src);
    const same = shears(['convert', src, '-o', src]);
    expect(same.status).toBe(3);
    expect(same.stderr).toMatch(/refusing to overwrite/);
    expect(readFileSync(src).equals(before)).toBe(true);
    const r = shears(['convert', src, '-o', join(dir, 'out.onnx'), '--json']);
    expect(r.status).toBe(0);
    expect(r.json().bytes).toBe(statSync(join(dir, 'out.onnx')).size);
    expect(readdirSync(dir).sort()).toEqual(['in.onnx', 'out.onnx']);
    const a = shears(['inspect', src, '--json']).json();
    const b = shears(['inspect', join(dir, 'out.onnx'), '--json']).json();
    expect({ ...b, file: '', fileBytes: 0 }).toEqual({ ...a, file: '', fileBytes: 0 });
  });

  it('leaves nothing behind when the input is bad', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'bad.onnx'), 'nope');
    const r = shears(['convert', join(dir, 'bad.onnx'), '-o', join(dir, 'out.onnx')]);
    expect(r.status).toBe(3);
    expect(readdirSync(dir)).toEqual(['bad.onnx']);
  });

  it('requires -o', () => {
    const r = shears(['convert', smallFixture('tiny-cnn.onnx')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/option -o\/--output is required/);
  });
});

describe('shears --help and --version', () => {
  it('lists commands and shows per-command help with examples', () => {
    const top = shears(['--help']);
    expect(top.status).toBe(0);
    for (const c of ['inspect', 'convert', 'prune', 'eval', 'bench', 'compare', 'run', 'plugins']) expect(top.stdout).toContain(`  ${c}`);
    const sub = shears(['prune', '--help']);
    expect(sub.stdout).toMatch(/Examples:\n {2}shears prune/);
    expect(shears(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
