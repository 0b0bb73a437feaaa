import { createRequire } from 'node:module';
import { ShearsError } from '@shears/core';
import type * as TFNS from '@tensorflow/tfjs';
import { bridgeToCpu } from './graph/bridge.js';

/** The @tensorflow/tfjs namespace (loaded lazily, so importing this package registers nothing). */
export type TF = typeof TFNS;
export type Tensor = TFNS.Tensor;
export type Variable = TFNS.Variable;

/** Which tfjs backend runs: native TensorFlow (tfjs-node), WebAssembly, or plain JavaScript. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendChoice = 'auto' | 'node' | BackendName;

export interface BackendInfo {
  tf: TF;
  /** The backend that runs (tfjs' own name: 'tensorflow' is tfjs-node). */
  name: BackendName;
  /** Why better backends were not used (e.g. tfjs-node not installed), for reports. */
  notes: string[];
  /** The pure-JS backends have no usable conv weight gradient; Shears supplies its own. */
  customConvGrad: boolean;
}

const require = createRequire(import.meta.url);
let loaded: Promise<TF> | undefined;

/** Load @tensorflow/tfjs once (CommonJS build: it carries every gradient). */
export function loadTf(): Promise<TF> {
  loaded ??= Promise.resolve().then(() => {
    const tf = require('@tensorflow/tfjs') as TF;
    // tfjs prints a hint to install tfjs-node on first use under Node; the backend report says it instead.
    tf.env().set('IS_NODE', true);
    return tf;
  });
  return loaded;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
}

/**
 * Pick and initialize a backend. `auto`: tfjs-node when it loads (an optional
 * peer dependency: native TensorFlow), else wasm, else cpu. A named backend
 * that cannot start is an error.
 */
export async function initBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const tf = await loadTf();
  const notes: string[] = [];
  const want: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice === 'node' ? 'tensorflow' : choice];
  for (const name of want) {
    try {
      if (name === 'tensorflow') loadNode(tf);
      else if (name === 'wasm') await loadWasm(tf);
      await withoutAddedProcessHandlers(async () => {
        if (!(await tf.setBackend(name))) throw new Error(`tfjs could not initialize the ${name} backend`);
        await tf.ready();
      });
      tf.enableProdMode();
      return { tf, name, notes, customConvGrad: name !== 'tensorflow' };
    } catch (e) {
      const why = `${name === 'tensorflow' ? '@tensorflow/tfjs-node' : name}: ${firstLine(e)}`;
      if (choice !== 'auto') throw new ShearsError('E_RUNTIME', `finetune: backend ${why}`, { option: 'backend', cause: e });
      notes.push(why);
    }
  }
  throw new ShearsError('E_RUNTIME', `finetune: no tfjs backend could start (${notes.join('; ')})`, { option: 'backend' });
}

const PROCESS_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * Run `fn` and remove the process handlers it added. tfjs-backend-wasm's
 * Emscripten glue adds handlers for uncaughtException and unhandledRejection
 * when the backend starts; they rethrow from inside the handler, so any later
 * uncaught error of the host program (a CLI, a script, a test runner) exits
 * with code 7 and a trace inside tf-backend-wasm. They exist for Emscripten's
 * exit(), which tfjs never calls, and the glue's own removal on dispose is
 * broken; the host's error handling should stay the host's.
 */
async function withoutAddedProcessHandlers<T>(fn: () => Promise<T>): Promise<T> {
  const proc: NodeJS.EventEmitter = process;
  const before = PROCESS_EVENTS.map((e) => new Set(proc.listeners(e)));
  try {
    return await fn();
  } finally {
    PROCESS_EVENTS.forEach((e, i) => {
      for (const l of proc.listeners(e)) if (!before[i]!.has(l)) proc.removeListener(e, l as (...args: unknown[]) => void);
    });
  }
}

function loadNode(tf: TF): void {
  if (tf.findBackendFactory('tensorflow')) return;
  // tfjs-node registers its backend on the @tensorflow/tfjs-core it resolves;
  // with one tfjs version in the tree that is the same module instance as ours.
  require('@tensorflow/tfjs-node');
  if (!tf.findBackendFactory('tensorflow')) throw new Error('loaded, but it registered its backend on another copy of @tensorflow/tfjs-core (version mismatch)');
}

async function loadWasm(tf: TF): Promise<void> {
  if (tf.findBackendFactory('wasm')) return;
  require('@tensorflow/tfjs-backend-wasm');
  if (!tf.findBackendFactory('wasm')) throw new Error('loaded, but it registered on another copy of @tensorflow/tfjs-core');
  // Kernels wasm lacks (depthwise conv gradients, …) run on the cpu backend's JS kernels.
  bridgeToCpu(tf, 'wasm');
}
