export { main, VERSION } from './main.js';
export { COMMAND_NAMES, loadCommand, loadCommands } from './commands/index.js';
export { runRecipe, type RecipeRun, type RunRecipeOptions } from './run-recipe.js';
