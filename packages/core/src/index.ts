export * from './ir/index.js';
export * from './errors.js';
