import { defaultOpRegistry } from '../ops/registry.js';
import { StateBag, silentLogger, silentProgress, type PluginContext } from '../plugin/context.js';
import { RunStager } from '../pipeline/staging.js';

/** A quiet plugin context for calling hooks directly in tests. */
export function testContext(overrides: Partial<PluginContext> = {}): PluginContext {
  return {
    logger: silentLogger,
    progress: silentProgress,
    signal: new AbortController().signal,
    state: new StateBag(),
    ops: defaultOpRegistry(),
    outputs: new RunStager(),
    dryRun: false,
    ...overrides,
  };
}
