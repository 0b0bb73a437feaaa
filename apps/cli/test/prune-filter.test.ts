// `shears prune --strategy filter|compact`: structured pruning through the CLI.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'shears-filter-cli-'));

describe('shears prune --strategy filter', () => {
  it('--amount 0.3 --criterion l1 --json: a smaller model, stats re-inferred, channels reported', async () => {
    const dir = tmp();
    const out = join(dir, 'out.onnx');
    const r = shears(['prune', tiny, '-o', out, '--strategy', 'filter', '--criterion', 'l1', '--amount', '0.3', '--round-to', '4', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = r.json();
    expect(report.strategy).toBe('filter');
    expect(report.criterion).toBe('l1');
    expect(report.after.params).toBeLessThan(report.before.params);
    expect(report.after.macs).toBeLessThan(report.before.macs);
    expect(report.channels).toMatchObject({ groups: 2, channels: 12 });
    expect(report.skipped).toEqual([{ target: 'output', reason: 'not prunable: reaches graph output output', code: 'pinned' }]);
    const m = await readModel(out);
    expect(m.graph.outputs[0]!.shape).toEqual([1, 10]);
    expect(readdirSync(dir)).toEqual(['out.onnx']);
  });

  it('--target-macs 0.5 with a data-aware criterion on --calib random data', () => {
    const dir = tmp();
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', 'filter', '--criterion', 'apoz', '--calib', 'random:4', '--target-macs', '0.5', '--round-to', '1', '--json']);
    expect(r.status).toBe(0);
    const report = r.json();
    expect(Math.abs(report.after.macs / report.before.macs - 0.5)).toBeLessThanOrEqual(0.02);
    expect(report.criterion).toBe('apoz');
  });

  it('--dry-run --plan writes a plan that names groups and sizes', () => {
    const dir = tmp();
    const plan = join(dir, 'plan.json');
    const r = shears(['prune', tiny, '--strategy', 'filter', '--amount', '0.5', '--dry-run', '--plan', plan]);
    expect(r.status).toBe(0);
    expect(readdirSync(dir)).toEqual(['plan.json']);
  });

  it('bad options are one line naming the plugin and option', () => {
    const r = shears(['prune', tiny, '-o', join(tmp(), 'o.onnx'), '--strategy', 'filter', '--amount', '0.3', '--target-macs', '0.5']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('shears: error: prune: give one of --amount, --target-macs and --target-params, not --amount and --target-macs');
  });

  it.skipIf(!fixture('shufflenet_v2_x1_0'))('prunes a real export (ShuffleNetV2: Slice, channel shuffle)', () => {
    const r = shears(['prune', fixture('shufflenet_v2_x1_0')!, '-o', join(tmp(), 'o.onnx'), '--strategy', 'filter', '--amount', '0.3', '--json']);
    expect(r.status).toBe(0);
    expect(r.json().after.macs).toBeLessThan(r.json().before.macs);
  });
});

describe('shears prune --strategy compact', () => {
  it('has nothing to remove from a dense model, and says so', () => {
    const r = shears(['prune', tiny, '-o', join(tmp(), 'o.onnx'), '--strategy', 'compact', '--json']);
    expect(r.status).toBe(0);
    const report = r.json();
    expect(report.after.params).toBe(report.before.params);
    expect(report.skipped.at(-1).reason).toMatch(/^no channel provably contributes nothing/);
  });
});
