import { linkSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunStager, samePath } from './staging.js';

describe('samePath', () => {
  it('is true for one file by any path: spelling, symlink, hard link; false for a copy or a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-same-'));
    const a = join(dir, 'a.onnx');
    writeFileSync(a, 'x');
    linkSync(a, join(dir, 'hard.onnx'));
    symlinkSync(a, join(dir, 'soft.onnx'));
    writeFileSync(join(dir, 'copy.onnx'), 'x');
    expect(samePath(a, join(dir, '.', 'a.onnx'))).toBe(true);
    expect(samePath(a, join(dir, 'soft.onnx'))).toBe(true);
    expect(samePath(a, join(dir, 'hard.onnx'))).toBe(true);
    expect(samePath(a, join(dir, 'copy.onnx'))).toBe(false);
    expect(samePath(a, join(dir, 'missing.onnx'))).toBe(false);
  });
});

describe('RunStager', () => {
  it('refuses an output that is a hard link to an input, naming both paths', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-stage-'));
    const input = join(dir, 'model.onnx');
    const out = join(dir, 'out.onnx');
    writeFileSync(input, 'weights');
    linkSync(input, out);
    const stager = new RunStager([input]);
    expect(() => stager.stage(out)).toThrow(`${out}: refusing to write over the input file ${input} (the same file by another path or a hard link)`);
    expect(() => stager.stage(input)).toThrow(new RegExp(`^${input}: refusing to write over the input file$`));
    expect(readdirSync(dir).sort()).toEqual(['model.onnx', 'out.onnx']);
  });
});
