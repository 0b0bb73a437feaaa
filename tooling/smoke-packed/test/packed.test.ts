// The packed tarballs as a new user gets them: `pnpm pack`, then `npm install`
// in a clean folder outside the workspace, then a real pipeline there. The
// devDependencies above only order the build: turbo builds these packages
// before this suite runs (`pnpm test`); the suite packs their dist as it is.
import { beforeAll, describe, expect, it } from 'vitest';
// A plain .mjs script (this package has no typecheck step).
import { LIMITS, problems, smokePacked, tarballProblems } from '../../../scripts/smoke-packed.mjs';

interface Install {
  ok: boolean;
  seconds: number;
  bytes: number;
  onnxruntime: boolean;
  installScripts: string[];
  log: string;
}
interface Run {
  ok: boolean;
  seconds: number;
  log: string;
  result: { before: number; after: number; ratio: number; steps: string[]; accuracy?: number; denseAccuracy?: number } | null;
}
interface Stage {
  packed: string[];
  tarballProblems: string[];
  install: Install;
  offline?: Install;
  imports?: { packages: string[]; install: Install; failures: Record<string, string> | null; log: string };
  run?: Run;
}

describe('packed tarballs in a clean npm project', () => {
  let stages: Record<string, Stage>;
  beforeAll(() => {
    const report = smokePacked({ build: false, log: (m: string) => console.error(`smoke-packed: ${m}`) });
    stages = report.stages;
    const s1 = stages['1']!.install;
    const s2 = stages['2']?.install;
    console.error(`smoke-packed: stage 1 install ${s1.seconds.toFixed(1)} s, ${(s1.bytes / 1e6).toFixed(1)} MB; stage 2 install ${s2?.seconds.toFixed(1)} s, ${((s2?.bytes ?? 0) / 1e6).toFixed(1)} MB`);
    for (const p of problems(report)) console.error(`smoke-packed: FAIL ${p}`);
  }, 600_000);

  it('packs every tarball with LICENSE, core as a ^0.1.0 peer and no workspace: range', () => {
    expect(stages['1']!.packed).toEqual(expect.arrayContaining(['@shears/core', '@shears/onnx', '@shears/criteria', '@shears/prune-filter']));
    expect([...stages['1']!.tarballProblems, ...stages['2']!.tarballProblems]).toEqual([]);
  });

  it('the problem check sees a tarball without LICENSE, a leftover workspace: range and an exact pin', () => {
    const bad = { name: '@shears/x', files: ['package/package.json'], manifest: { dependencies: { '@shears/core': 'workspace:*', '@shears/data': '0.1.0' } } };
    expect(tarballProblems(bad)).toEqual([
      '@shears/x: the tarball has no LICENSE',
      '@shears/x: dependencies.@shears/core is still workspace:*',
      '@shears/x: dependencies.@shears/data is pinned to 0.1.0, expected a ^ range',
      '@shears/x: peerDependencies.@shears/core is missing, expected ^0.1.0',
      '@shears/x: @shears/core is a dependency (a second copy of core); it must be a peer',
    ]);
  });

  it('stage 1: core, onnx, criteria and prune-filter install without onnxruntime-node or install scripts, under 20 MB', () => {
    const i = stages['1']!.install;
    expect(i.ok, i.log).toBe(true);
    expect(i.onnxruntime).toBe(false);
    expect(i.installScripts).toEqual([]);
    expect(i.bytes).toBeGreaterThan(1e6);
    expect(i.bytes).toBeLessThan(LIMITS.stage1Bytes);
  });

  it('stage 1: installs again with npm --offline, from the cache alone', () => {
    const o = stages['1']!.offline!;
    expect(o.ok, o.log).toBe(true);
    // The same packages (node_modules/.package-lock.json names the folder's project, a few bytes apart).
    expect(Math.abs(o.bytes - stages['1']!.install.bytes)).toBeLessThan(1000);
  });

  it('stage 1: every package that takes @shears/runtime as an optional peer installs and imports without it', () => {
    const im = stages['1']!.imports!;
    expect(im.packages).toEqual(expect.arrayContaining(['@shears/criteria', '@shears/prune-filter', '@shears/prune-channel', '@shears/prune-unstructured']));
    expect(im.install.ok, im.install.log).toBe(true);
    expect(im.install.onnxruntime).toBe(false);
    expect(im.failures, im.log).toEqual({});
  });

  it('stage 1: L1 filter pruning through pipeline() halves the MACs of the demo CNN', () => {
    const r = stages['1']!.run!;
    expect(r.ok, r.log).toBe(true);
    expect(r.result!.steps).toEqual(['onnx-import', 'l1', 'filter', 'onnx-write']);
    expect(r.result!.before).toBe(14_677_760);
    expect(Math.abs(r.result!.ratio - LIMITS.macsRatio)).toBeLessThanOrEqual(LIMITS.macsTolerance);
    expect(r.result!.ratio).toBeGreaterThan(0.3);
  });

  it('stage 2: with @shears/runtime added, the channel strategy runs on calibration data through ctx.runtime', () => {
    const i = stages['2']!.install;
    expect(i.ok, i.log).toBe(true);
    expect(i.onnxruntime).toBe(true);
    const r = stages['2']!.run!;
    expect(r.ok, r.log).toBe(true);
    expect(r.result!.steps).toEqual(['onnx-import', 'channel', 'onnx-write']);
    expect(Math.abs(r.result!.ratio - LIMITS.macsRatio)).toBeLessThanOrEqual(LIMITS.macsTolerance);
    // Refit on calibration images, no fine-tuning: most of the accuracy stays.
    expect(r.result!.accuracy).toBeGreaterThan(r.result!.denseAccuracy! - 0.05);
  });
});
