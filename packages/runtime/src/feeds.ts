// The feed helpers live in @shears/core (plugins use them without a runtime);
// re-exported here for existing imports.
export { chunkBatch, primaryInput } from '@shears/core';
