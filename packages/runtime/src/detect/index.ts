export * from './map.js';
export * from './nms.js';
export * from './decode.js';
export * from './yolo.js';
export * from './evaluate.js';
