export * from './pipeline.js';
export * from './recipe.js';
export * from './resolve-plugin.js';
export * from './staging.js';
export * from './worker-threads.js';
