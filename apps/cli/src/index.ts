export { main, VERSION } from './main.js';
export { commands } from './commands/index.js';
