import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ShearsError } from '../errors.js';
import type { OutputStager } from '../plugin/context.js';

/**
 * Same file? Equal paths, or, when both exist, one file by device and inode:
 * through symlinks, other spellings and hard links alike.
 */
export function samePath(a: string, b: string): boolean {
  const ra = resolve(a);
  const rb = resolve(b);
  if (ra === rb) return true;
  try {
    const sa = statSync(ra, { bigint: true, throwIfNoEntry: false });
    const sb = statSync(rb, { bigint: true, throwIfNoEntry: false });
    return !!sa && !!sb && sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** A temp path beside `finalPath`, so the final rename stays on one filesystem. */
export function tempPathFor(finalPath: string): string {
  return join(dirname(resolve(finalPath)), `.${basename(finalPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Collects staged outputs of one pipeline run; commit() renames them into
 * place, discard() deletes them. Inputs are protected from being overwritten.
 */
export class RunStager implements OutputStager {
  #staged: { tmp: string; final: string }[] = [];
  readonly #inputs: string[];

  constructor(inputs: string[] = []) {
    this.#inputs = inputs;
  }

  stage(finalPath: string): string {
    for (const input of this.#inputs)
      if (samePath(input, finalPath))
        throw new ShearsError('E_IO', `${finalPath}: refusing to write over the input file${resolve(input) === resolve(finalPath) ? '' : ` ${input} (the same file by another path or a hard link)`}`, { file: finalPath });
    if (this.#staged.some((s) => samePath(s.final, finalPath))) throw new ShearsError('E_IO', `${finalPath}: two steps write the same output`, { file: finalPath });
    mkdirSync(dirname(resolve(finalPath)), { recursive: true });
    const tmp = tempPathFor(finalPath);
    this.#staged.push({ tmp, final: resolve(finalPath) });
    return tmp;
  }

  /** Rename every staged file that exists into place; returns the final paths. */
  commit(): string[] {
    const done: string[] = [];
    for (const s of this.#staged) {
      if (!existsSync(s.tmp)) continue;
      renameSync(s.tmp, s.final);
      done.push(s.final);
    }
    this.#staged = [];
    return done;
  }

  discard(): void {
    for (const s of this.#staged) rmSync(s.tmp, { force: true, recursive: true });
    this.#staged = [];
  }
}
