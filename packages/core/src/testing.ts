// Test helpers for plugin packages: the conformance kit and small models.
export * from './testing/conformance.js';
export { modelFingerprint } from './pipeline/fingerprint.js';
export * from './testing/tiny-model.js';
export * from './testing/context.js';
