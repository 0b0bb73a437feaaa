export * from './session.js';
export * from './capture.js';
export * from './bench.js';
export * from './evaluate.js';
export * from './compare.js';
export * from './feeds.js';
export * from './detect/index.js';
