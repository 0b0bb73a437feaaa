// Kept free of @shears/core imports: main.ts uses it to word errors, and `shears --help` must not load core.

/** Example shapes in `--input-shape` syntax: `--input-shape x:1x3x48x48 --input-shape y:1x128`. */
export function inputShapeFlags(inputs: Record<string, readonly number[]>): string {
  return Object.entries(inputs)
    .map(([name, dims]) => `--input-shape ${name}:${dims.join('x')}`)
    .join(' ');
}

interface DynamicShapeError {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * The message of an E_DYNAMIC_SHAPE error in CLI terms: core words the fix
 * in the API's syntax (`inputShapes: { x: [1, 3, 224, 224] }`) and gives the
 * example shapes in `details`; the CLI says `--input-shape x:1x3x224x224`.
 * Other errors are returned as they are.
 */
export function cliMessage(e: DynamicShapeError): string {
  const d = e.details as { inputs?: Record<string, number[]>; hint?: string } | undefined;
  if (e.code !== 'E_DYNAMIC_SHAPE' || !d?.inputs || typeof d.hint !== 'string' || !e.message.includes(d.hint)) return e.message;
  return e.message.replace(d.hint, inputShapeFlags(d.inputs));
}
