import type { z } from 'zod';
import { ShearsError } from '../errors.js';

/**
 * Validate a plugin's options with its zod schema; a failure names the plugin
 * and the option in one line.
 */
export function parseOptions<S extends z.ZodType>(plugin: string, schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const option = issue.path.length ? issue.path.join('.') : '(options)';
  throw new ShearsError('E_OPTION', `${plugin}: option ${option}: ${issue.message}`, { plugin, option });
}
