// `shears prune --strategy channel`: channel pruning with least-squares reconstruction through the CLI.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { shears } from './run-cli.js';

const tiny = smallFixture('tiny-cnn.onnx');
const tmp = () => mkdtempSync(join(tmpdir(), 'shears-channel-cli-'));

describe('shears prune --strategy channel', () => {
  it('refuses without --calib and explains why (random:N possible but poor)', () => {
    const dir = tmp();
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', 'channel', '--amount', '0.5']);
    // A missing option is bad usage: exit 2.
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/calibration data is required/);
    expect(r.stderr).toMatch(/random:N is accepted but poor/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('--calib random:16 --amount 0.5 --selection lasso --json: smaller model, per-layer reconstruction errors', () => {
    const dir = tmp();
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', 'channel', '--calib', 'random:16', '--amount', '0.5', '--round-to', '1', '--selection', 'lasso', '--positions-per-image', '8', '--json']);
    expect(r.status).toBe(0);
    const report = r.json();
    expect(report.strategy).toBe('channel');
    expect(report.after.macs).toBeLessThan(report.before.macs);
    expect(report.reconstruction.length).toBeGreaterThan(0);
    expect(report.notRefit).toEqual([]);
    for (const l of report.reconstruction) {
      expect(l).toMatchObject({ layer: expect.any(String), kept: expect.any(Number), of: expect.any(Number), rows: expect.any(Number), errorBefore: expect.any(Number), errorAfter: expect.any(Number) });
      expect(l.errorAfter).toBeLessThanOrEqual(l.errorBefore + 1e-9);
    }
  });

  it('--no-reconstruct removes channels without refitting (same as --set reconstruct=false), and is in the help', () => {
    const dir = tmp();
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', 'channel', '--calib', 'random:8', '--amount', '0.5', '--round-to', '1', '--no-reconstruct', '--json']);
    expect(r.status).toBe(0);
    const report = r.json();
    expect(report.reconstruction).toEqual([]);
    expect(report.channels.channels).toBeGreaterThan(0);
    expect(report.after.macs).toBeLessThan(report.before.macs);
    const help = shears(['prune', '--help']);
    expect(help.stdout).toMatch(/--no-reconstruct/);
  });

  it('--no-reconstruct with --selection l1 needs no calibration data', () => {
    const dir = tmp();
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', 'channel', '--selection', 'l1', '--amount', '0.5', '--round-to', '1', '--no-reconstruct', '--json']);
    expect(r.status).toBe(0);
    expect(r.json().reconstruction).toEqual([]);
  });

  it('--set reconstruct=false plans channel removals only', () => {
    const dir = tmp();
    const r = shears(['prune', tiny, '-o', join(dir, 'o.onnx'), '--strategy', 'channel', '--calib', 'random:8', '--target-macs', '0.6', '--round-to', '1', '--set', 'reconstruct=false', '--json']);
    expect(r.status).toBe(0);
    const report = r.json();
    expect(report.reconstruction).toEqual([]);
    expect(report.after.macs).toBeLessThan(report.before.macs);
  });
});
