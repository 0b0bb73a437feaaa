import { describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';

describe('initBackend', () => {
  it('wasm: leaves the process error handlers as they were (Emscripten adds rethrowing ones)', async () => {
    const count = () => [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
    const before = count();
    const b = await initBackend('wasm');
    expect(b.name).toBe('wasm');
    // tfjs-backend-wasm's glue adds two handlers that rethrow: an uncaught error then exits 7 with a trace in its code.
    expect(count()).toEqual(before);
  }, 60_000);
});
