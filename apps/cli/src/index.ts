export { main, VERSION } from './main.js';
export { COMMAND_NAMES, loadCommand, loadCommands } from './commands/index.js';
