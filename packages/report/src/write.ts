import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ShearsError } from '@shears/core';
import { renderReport } from './render.js';
import type { ReportData } from './types.js';

/**
 * Render and write a report atomically: to a temp file beside `path`, then
 * renamed over it, so a reader never sees half a page. Returns the bytes written.
 */
export function writeReport(data: ReportData, path: string): { path: string; bytes: number } {
  const html = renderReport(data);
  const target = resolve(path);
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, html);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new ShearsError('E_IO', `cannot write report ${path}: ${(e as Error).message}`, { file: path, cause: e });
  }
  return { path: target, bytes: Buffer.byteLength(html) };
}
