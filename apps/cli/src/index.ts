export { main, VERSION } from './main.js';
export { COMMAND_NAMES, loadCommand, loadCommands } from './commands/index.js';
import type { RecipeRun, RunRecipeOptions } from './run-recipe.js';
export type { RecipeRun, RunRecipeOptions } from './run-recipe.js';

/** Run a recipe file as `shears run` does (see run-recipe.ts); its modules load on first call. */
export async function runRecipe(file: string, opts?: RunRecipeOptions): Promise<RecipeRun> {
  return (await import('./run-recipe.js')).runRecipe(file, opts);
}
