// The before/after table of `shears run`: params and non-zero params are two columns.
import { describe, expect, it } from 'vitest';
import { variantTable } from '../src/commands/run.js';
import type { Variant } from '../src/variants.js';

const row = (name: string, params: number, nonzeroParams: number): Variant => ({ name, file: `${name}.onnx`, format: 'onnx', accuracy: 0.9, params, nonzeroParams, macs: 1e6, bytes: 4 * params, latencyMs: 1, batch: 1, runtime: 'onnxruntime' });

describe('variantTable', () => {
  it('shows all params and the non-zero ones, each under its own header', () => {
    const lines = variantTable([row('dense', 131_750, 131_750), row('masked', 131_750, 63_350)]).split('\n');
    const headers = lines[0]!.split(/\s{2,}/);
    expect(headers.slice(0, 5)).toEqual(['model', 'accuracy', 'Δ acc', 'params', 'non-zero']);
    const masked = lines[3]!.split(/\s{2,}/);
    expect(masked.slice(3, 5)).toEqual(['131.75K', '63.35K']);
  });
});
