import { ShearsError } from '@shears/core';

/** The one error shape of this package: `<file>: <what is wrong>`, code E_DATA. */
export function dataError(file: string, what: string, cause?: unknown): ShearsError {
  return new ShearsError('E_DATA', `${file}: ${what}`, cause === undefined ? { file } : { file, cause });
}

/** A one-line reason from an unknown thrown value. */
export function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.trim();
}

export function fmtShape(shape: readonly (number | string | null | undefined)[]): string {
  if (shape.length === 0) return 'scalars';
  return shape.map((d) => (typeof d === 'number' ? String(d) : typeof d === 'string' && d ? d : '?')).join('x');
}

export function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
