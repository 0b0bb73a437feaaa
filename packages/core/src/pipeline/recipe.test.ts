import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRecipe, parseRecipe } from './recipe.js';

describe('recipes', () => {
  it('parses YAML and JSON', async () => {
    const y = await parseRecipe('input: m.onnx\nsteps:\n  - use: unstructured\n    with: {amount: 0.5}\n', 'r.yaml');
    expect(y.steps[0]).toEqual({ use: 'unstructured', with: { amount: 0.5 } });
    const j = await parseRecipe('{"steps":[{"use":"compact"}]}', 'r.json');
    expect(j.steps[0]!.use).toBe('compact');
  });

  it.each([
    ['steps:\n  - use: x\n    width: {}\n', "r.yaml: steps[0]: unknown key 'width' (did you mean 'with'?)"],
    ['stepz: []\n', "r.yaml: unknown key 'stepz' (did you mean 'steps'?)"],
    // The typo is the cause, not the missing `steps` it leaves ("steps: Invalid input: expected array").
    ['input: m.onnx\nstep:\n  - use: x\n', "r.yaml: unknown key 'step' (did you mean 'steps'?)"],
    ['steps:\n  - use: x\nevaluate: {data: v.npz, bench: {run: 3}}\n', "r.yaml: evaluate.bench: unknown key 'run' (did you mean 'runs'?)"],
    ['steps:\n  - use: x\nevaluate: {task: segment, data: val}\n', 'r.yaml: evaluate.task: must be classify or detect, got "segment"'],
    ['steps:\n  - use: x\nevaluate: {task: detect, data: val, iou: 1.5}\n', 'r.yaml: evaluate.iou:'],
    ['steps:\n  - use: x\nfrobnicate: 1\n', /^r\.yaml: unknown key 'frobnicate'$/],
    ['steps: []\n', 'r.yaml: steps: needs at least one step'],
    ['steps:\n  - use: 3\n', 'r.yaml: steps[0].use:'],
    ['steps:\n  - use: x\ninputShape: {input: [1, -3]}\n', 'r.yaml: inputShape.input[1]:'],
    ['version: 2\nsteps:\n  - use: x\n', 'r.yaml: version:'],
    ['steps: [\n', 'r.yaml: cannot parse'],
  ])('refuses %j with a message naming the key', async (text, expected: string | RegExp) => {
    await expect(parseRecipe(text, 'r.yaml')).rejects.toThrow(expected);
  });

  it('takes a detection evaluate: (task, YOLO folder, conf, iou)', async () => {
    const r = await parseRecipe('steps:\n  - use: snapshot\nevaluate: {task: detect, data: val, conf: 0.25, iou: 0.6, limit: 50}\n', 'r.yaml');
    expect(r.evaluate).toEqual({ task: 'detect', data: 'val', conf: 0.25, iou: 0.6, limit: 50 });
  });

  it('resolves input relative to the recipe file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shears-recipe-'));
    writeFileSync(join(dir, 'r.yaml'), 'input: ../m.onnx\nsteps:\n  - use: a\n');
    const r = await loadRecipe(join(dir, 'r.yaml'));
    expect(r.input).toBe(join(dir, '..', 'm.onnx'));
    expect(r.baseDir).toBe(dir);
  });

  it('names a missing recipe file', async () => {
    await expect(loadRecipe('/nope/r.yaml')).rejects.toThrow('/nope/r.yaml: cannot read recipe (ENOENT)');
  });
});
