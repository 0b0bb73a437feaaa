import { describe, expect, it } from 'vitest';
import { isShearsError } from '../errors.js';
import { dynamicShapeError, formatInputShapesOption, requireInputSizes, resolveInputShapes, suggestInputShape } from './inputs.js';
import { Kit } from './test-kit.js';

describe('suggestInputShape: realistic examples, never a 1×1 image', () => {
  it('keeps fixed dims, takes batch 1 and a fixed sibling spatial dim, else 224', () => {
    expect(suggestInputShape(['N', 3, 48, 'W'])).toEqual([1, 3, 48, 48]);
    expect(suggestInputShape(['N', 3, 'H', 'W'])).toEqual([1, 3, 224, 224]);
    expect(suggestInputShape([null, 1, 'H', 28])).toEqual([1, 1, 28, 28]);
  });
  it('knows NHWC images by their channel count on the last axis', () => {
    expect(suggestInputShape(['N', 'H', 'W', 4])).toEqual([1, 224, 224, 4]);
    expect(suggestInputShape([1, 320, 'W', 3])).toEqual([1, 320, 320, 3]);
  });
  it('gives other unknown dims a sequence-like 128, and an unknown rank an image', () => {
    expect(suggestInputShape(['N', 'T'])).toEqual([1, 128]);
    expect(suggestInputShape(['N', 'T', 80])).toEqual([1, 128, 80]);
    expect(suggestInputShape(undefined)).toEqual([1, 3, 224, 224]);
  });
});

describe('formatInputShapesOption', () => {
  it('is the API option, quoting names that are not identifiers', () => {
    expect(formatInputShapesOption({ x: [1, 3, 48, 192] })).toBe('inputShapes: { x: [1, 3, 48, 192] }');
    expect(formatInputShapesOption({ 'image:0': [1, 4], ids: [1, 128] })).toBe("inputShapes: { 'image:0': [1, 4], ids: [1, 128] }");
  });
});

describe('dynamicShapeError', () => {
  it('names what needs sizes, the input and its dims, counts the other inputs, and carries the examples', () => {
    const e = dynamicShapeError(
      [
        { name: 'x', shape: ['N', 3, 'H', 'W'] },
        { name: 'y', shape: ['N', 'T'] },
        { name: 'z', shape: undefined },
      ],
      'calibration data',
    );
    expect(isShearsError(e)).toBe(true);
    expect(e.code).toBe('E_DYNAMIC_SHAPE');
    expect(e.message).toBe(
      'calibration data need concrete sizes, but input x has dynamic dims [N,3,H,W] (and 2 more inputs); pass your real sizes, e.g. inputShapes: { x: [1, 3, 224, 224], y: [1, 128], z: [1, 3, 224, 224] }',
    );
    expect(e.details).toMatchObject({ inputs: { x: [1, 3, 224, 224], y: [1, 128] }, unknownDims: { x: [0, 2, 3], y: [0, 1], z: [] } });
    expect(e.toJSON().details).toEqual(e.details);
    expect(e.with({ file: 'm.onnx' }).details).toEqual(e.details);
  });
});

describe('resolveInputShapes', () => {
  it('uses given shapes, then bound dim params, metadata and a dynamic batch, and leaves the rest unresolved', () => {
    const k = new Kit();
    k.input('a', ['N', 3, 'S', 'S']);
    k.input('b', ['N', 'S']);
    k.input('c', ['B', 10]);
    k.input('d', ['B', 'T']);
    k.input('e', ['B', 'T', 2]);
    k.model.setMetadata('input_shapes', JSON.stringify({ e: [1, 7, 2], d: [3, 3, 3] }));
    const r = resolveInputShapes(k.model, { a: [2, 3, 8, 8] });
    expect(r.shapes).toEqual({ a: [2, 3, 8, 8], b: [2, 8], c: [1, 10], e: [1, 7, 2] });
    expect(r.assumed).toEqual({ b: 'bound', c: 'batch', e: 'metadata' });
    expect(r.unresolved).toEqual([{ name: 'd', shape: ['B', 'T'] }]);
    expect(resolveInputShapes(k.model, { a: [2, 3, 8, 8] }, { batch: 0 }).unresolved.map((d) => d.name)).toEqual(['c', 'd']);
  });
});

describe('requireInputSizes', () => {
  it('gives the sizes, or the error naming what needs them', () => {
    const k = new Kit();
    k.input('x', ['N', 3, 'H', 'W']);
    expect(() => requireInputSizes(k.model, 'MAC targets (targetMacs)')).toThrow(/^MAC targets \(targetMacs\) need concrete sizes, but input x has dynamic dims \[N,3,H,W\]; pass your real sizes, e\.g\. inputShapes: \{ x: \[1, 3, 224, 224\] \}$/);
    expect(requireInputSizes(k.model, 'MACs', { x: [2, 3, 8, 8] })).toEqual({ x: [2, 3, 8, 8] });
  });
});
