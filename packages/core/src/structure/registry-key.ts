import type { OpRegistry } from '../ops/registry.js';
import { stateKey } from '../plugin/context.js';

/**
 * The op table of a run, when a plugin extends it (OpRegistry.extend) to
 * teach structured pruning a custom op: set it in the run state, and the
 * dependency graph, the structured strategies and the applier all use it.
 */
export const OP_REGISTRY = stateKey<OpRegistry>('shears.opRegistry');
