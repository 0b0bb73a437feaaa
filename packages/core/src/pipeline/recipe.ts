import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { ShearsError } from '../errors.js';

// zod and yaml load only when a recipe is read: they cost ~180 ms of start-up
// that commands without recipes should not pay.
async function makeSchema() {
  const { z } = await import('zod');
  const step = z
    .object({
      use: z.string().min(1, 'must name a plugin'),
      with: z.record(z.string(), z.unknown()).optional(),
    })
    .strict();
  return z
    .object({
      version: z.literal(1).optional(),
      /** The model file; relative to the recipe. */
      input: z.string().min(1).optional(),
      /** Static sizes for dynamic inputs, e.g. {input: [1, 3, 224, 224]}. */
      inputShape: z.record(z.string(), z.array(z.number().int().positive())).optional(),
      steps: z.array(step).min(1, 'needs at least one step'),
      /**
       * Calibration data for the data-aware steps (channel, wanda, sparsegpt,
       * activation criteria), as --calib gives it to `shears prune`: npz, IDX
       * dir:split, an image folder, or random:N (poor). How many samples each
       * step uses stays that step's option (`shears run`).
       */
      calibration: z.object({ data: z.string().min(1) }).strict().optional(),
      /** After the run, evaluate the input and every .onnx/.tflite output (`shears run`). */
      evaluate: z
        .object({
          /** classify (default): top-1 on labelled samples; detect: COCO mAP@0.5 and mAP@0.5:0.95 on a YOLO folder. */
          task: z.enum(['classify', 'detect'], { error: (i) => `must be classify or detect, got ${JSON.stringify(i.input)}` }).optional(),
          /** classify: labelled data (npz, IDX dir:split, image folder); detect: a YOLO folder (images/ + labels/<name>.txt). */
          data: z.string().min(1),
          /** Evaluate at most this many samples (images, for detect). */
          limit: z.number().int().positive().optional(),
          /** detect: drop boxes scoring at or below this before NMS (default 0.001). */
          conf: z.number().min(0).max(1).optional(),
          /** detect: NMS IoU threshold (default 0.7). */
          iou: z.number().min(0).max(1).optional(),
          /** Latency: onnxruntime runs of a batch of `batch` samples (default 1; detect: 1 letterboxed image), median of `runs`. */
          bench: z
            .object({
              runs: z.number().int().positive().optional(),
              warmup: z.number().int().nonnegative().optional(),
              batch: z.number().int().positive().optional(),
              threads: z.number().int().positive().optional(),
            })
            .strict()
            .optional(),
        })
        .strict()
        .optional(),
      /** Write the HTML report of the run here (`shears run`; --report overrides). */
      report: z.string().min(1).optional(),
      /** Run the normalize pass right after import (default true; `--no-normalize` on `shears run`). */
      normalize: z.boolean().optional(),
    })
    .strict();
}

let schema: ReturnType<typeof makeSchema> | undefined;

/** The recipe schema (zod), built on first use. */
export function recipeSchema(): ReturnType<typeof makeSchema> {
  return (schema ??= makeSchema());
}

export type Recipe = z.infer<Awaited<ReturnType<typeof makeSchema>>>;
export type RecipeStep = Recipe['steps'][number];

/** Validate a parsed recipe; errors name the file and the key path. */
export async function validateRecipe(data: unknown, file = 'recipe'): Promise<Recipe> {
  const schema = await recipeSchema();
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  // A misspelt key (`step:`) also makes the real one missing; the unknown key is the cause, so it goes first.
  const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0]!;
  const where = formatPath(issue.path);
  let msg = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(schema, issue.path);
    const hints = issue.keys.map((k) => closestName(k, known)).filter((k): k is string => k !== undefined);
    msg = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}${hints.length ? ` (did you mean ${hints.map((k) => `'${k}'`).join(', ')}?)` : ''}`;
  }
  throw new ShearsError('E_RECIPE', `${file}: ${where ? `${where}: ` : ''}${msg}`, { file, option: where || undefined });
}

/** The keys the schema allows for the object at `path` (through arrays and optionals). */
function keysAt(schema: unknown, path: PropertyKey[]): string[] {
  type Node = { shape?: Record<string, unknown>; element?: unknown; def?: { type?: string; innerType?: unknown } } | undefined;
  // Optional, default and nullable wrappers hold the schema in def.innerType.
  const unwrap = (s: Node): Node => (s?.def?.innerType ? unwrap(s.def.innerType as Node) : s);
  let s = unwrap(schema as Node);
  for (const p of path) s = unwrap((typeof p === 'number' ? s?.element : s?.shape?.[String(p)]) as Node);
  return Object.keys(s?.shape ?? {});
}

/** The candidate closest to `name` by edit distance, if it is close enough to be a typo (at most 2 edits, fewer for short names). */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const max = Math.min(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestD = max + 1;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function formatPath(path: PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

/** Parse YAML or JSON recipe text. */
export async function parseRecipe(text: string, file = 'recipe'): Promise<Recipe> {
  let data: unknown;
  try {
    data = file.endsWith('.json') ? JSON.parse(text) : (await import('yaml')).parse(text);
  } catch (e) {
    const first = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new ShearsError('E_RECIPE', `${file}: cannot parse: ${first}`, { file });
  }
  return validateRecipe(data, file);
}

/**
 * Read a recipe; its `input` is resolved against the recipe's folder (and
 * `shears run` resolves every other relative path there too).
 */
export async function loadRecipe(path: string): Promise<Recipe & { baseDir: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ShearsError('E_IO', `${path}: cannot read recipe (${(e as NodeJS.ErrnoException).code ?? String(e)})`, { file: path });
  }
  const recipe = await parseRecipe(text, path);
  const baseDir = dirname(resolve(path));
  return { ...recipe, input: recipe.input ? resolve(baseDir, recipe.input) : undefined, baseDir };
}
