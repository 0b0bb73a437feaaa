import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ShearsError } from '../errors.js';

const stepSchema = z
  .object({
    use: z.string().min(1, 'must name a plugin'),
    with: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const recipeSchema = z
  .object({
    version: z.literal(1).optional(),
    /** The model file; relative to the recipe. */
    input: z.string().min(1).optional(),
    /** Static sizes for dynamic inputs, e.g. {input: [1, 3, 224, 224]}. */
    inputShape: z.record(z.string(), z.array(z.number().int().positive())).optional(),
    steps: z.array(stepSchema).min(1, 'needs at least one step'),
  })
  .strict();

export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeStep = z.infer<typeof stepSchema>;

/** Validate a parsed recipe; errors name the file and the key path. */
export function validateRecipe(data: unknown, file = 'recipe'): Recipe {
  const r = recipeSchema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = formatPath(issue.path);
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') msg = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  throw new ShearsError('E_RECIPE', `${file}: ${where ? `${where}: ` : ''}${msg}`, { file, option: where || undefined });
}

function formatPath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

/** Parse YAML or JSON recipe text. */
export function parseRecipe(text: string, file = 'recipe'): Recipe {
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new ShearsError('E_RECIPE', `${file}: cannot parse: ${first}`, { file });
  }
  return validateRecipe(data, file);
}

/** Read a recipe; its `input` is resolved against the recipe's folder. */
export function loadRecipe(path: string): Recipe & { baseDir: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ShearsError('E_IO', `${path}: cannot read recipe (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: path });
  }
  const recipe = parseRecipe(text, path);
  const baseDir = dirname(resolve(path));
  return { ...recipe, input: recipe.input ? resolve(baseDir, recipe.input) : undefined, baseDir };
}
