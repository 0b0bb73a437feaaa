/** Shared helpers for this package's tests (not exported from the package). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ShearsError } from '@shears/core';
import type { Batch, Dataset } from './types.js';

export const PYTHON = '/usr/bin/python3';

/** Why numpy tests are skipped, or null when /usr/bin/python3 has numpy. */
export const numpyMissing: string | null = (() => {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  return r.status === 0 ? null : `${PYTHON} has no numpy`;
})();

export function python(script: string, cwd: string): void {
  const r = spawnSync(PYTHON, ['-c', script], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
}

export function tmpDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'shears-data-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function collect(ds: Dataset, batchSize: number, opts?: Parameters<Dataset['batches']>[1]): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of ds.batches(batchSize, opts)) out.push(b);
  return out;
}

export function concatX(batches: Batch[]): Float32Array {
  const n = batches.reduce((a, b) => a + b.x.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const b of batches) {
    out.set(b.x, o);
    o += b.x.length;
  }
  return out;
}

export function concatY(batches: Batch[]): number[] {
  return batches.flatMap((b) => [...(b.y ?? [])]);
}

/** Expect `fn` to throw a one-line E_DATA ShearsError naming `file` and matching `msg`. */
export async function expectDataError(fn: () => unknown, file: string, msg: RegExp | string): Promise<ShearsError> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').toBeInstanceOf(ShearsError);
  const e = err as ShearsError;
  expect(e.code).toBe('E_DATA');
  expect(e.message.startsWith(`${file}: `), `message "${e.message}" should start with "${file}: "`).toBe(true);
  expect(e.message).not.toContain('\n');
  expect(e.file).toBe(file);
  if (typeof msg === 'string') expect(e.message).toContain(msg);
  else expect(e.message).toMatch(msg);
  return e;
}
