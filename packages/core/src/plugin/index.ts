export * from './context.js';
export * from './plan.js';
export * from './types.js';
export * from './criterion-hooks.js';
export * from './define.js';
export * from './options.js';
export * from './apply-plan.js';
