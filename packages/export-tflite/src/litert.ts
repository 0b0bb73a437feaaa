import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { ShearsError } from '@shears/core';

/**
 * LiteRT.js (npm @litertjs/core), the Emscripten build of the real TFLite
 * interpreter with XNNPACK, run in Node. It is written for browsers, so it
 * gets a few shims: `self`, an `importScripts` that evaluates the Emscripten
 * loader with `vm` (with require/__dirname in scope), the wasm bytes passed
 * in as `wasmBinary`, and the non-threaded, non-relaxed-SIMD build that Node
 * 20 can run (one thread).
 */

type LiteRtModule = typeof import('@litertjs/core');

let loading: Promise<LiteRtModule> | undefined;

export interface TfliteTensorIn {
  data: Float32Array | Int32Array;
  shape: number[];
}

export interface TfliteTensorOut {
  name: string;
  data: Float32Array | Int32Array | Uint8Array;
  shape: number[];
}

function wasmDir(): string {
  const require = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  return join(dirname(require.resolve('@litertjs/core')), '..', 'wasm');
}

/** Load LiteRT.js once per process. */
export function loadLiteRtNode(): Promise<LiteRtModule> {
  loading ??= (async () => {
    const lrt: LiteRtModule = await import('@litertjs/core');
    const dir = wasmDir();
    const js = join(dir, 'litert_wasm_compat_internal.js');
    const g = globalThis as Record<string, unknown>;
    const require = createRequire(join(dir, 'loader.cjs'));
    const hadSelf = 'self' in g;
    g.self ??= globalThis;
    const hadImportScripts = 'importScripts' in g;
    g.importScripts = (url: string) => {
      const factory = vm.runInThisContext(`(function (require, __dirname, __filename) {${readFileSync(url, 'utf8')}\n;return ModuleFactory;})`, { filename: url });
      g.ModuleFactory = factory(require, dir, url);
    };
    // Emscripten's Module overrides: the wasm bytes, and quiet stdout/stderr.
    g.Module = { wasmBinary: readFileSync(join(dir, 'litert_wasm_compat_internal.wasm')), print: () => {}, printErr: () => {} };
    const warn = console.warn;
    // No WebGPU in Node: LiteRT.js says so on load; the wasm (CPU) accelerator is what runs.
    console.warn = (...a: unknown[]) => {
      if (!String(a[0]).includes('WebGPU')) warn(...a);
    };
    try {
      await lrt.loadLiteRt(js);
    } catch (e) {
      loading = undefined;
      throw new ShearsError('E_RUNTIME', `tflite: LiteRT.js failed to load in Node: ${(e as Error).message}`, { cause: e });
    } finally {
      console.warn = warn;
      // Leave no browser look-alikes behind: other libraries sniff `self` to detect workers.
      if (!hadImportScripts) delete g.importScripts;
      if (!hadSelf) delete g.self;
      delete g.ModuleFactory;
    }
    return lrt;
  })();
  return loading;
}

/** Run a .tflite model once in LiteRT.js (CPU, one thread); inputs in signature order. */
export async function runTflite(bytes: Uint8Array, inputs: TfliteTensorIn[]): Promise<TfliteTensorOut[]> {
  const lrt = await loadLiteRtNode();
  let model: Awaited<ReturnType<LiteRtModule['loadAndCompile']>>;
  try {
    model = await lrt.loadAndCompile(bytes, { accelerator: 'wasm' });
  } catch (e) {
    throw new ShearsError('E_RUNTIME', `tflite: LiteRT.js rejected the model: ${(e as Error).message}`, { cause: e });
  }
  const tensors = inputs.map((x) => new lrt.Tensor(x.data, x.shape));
  try {
    const details = model.getOutputDetails();
    const outs = (await model.run(tensors)) as InstanceType<LiteRtModule['Tensor']>[];
    const result = outs.map((t, i) => {
      const data = t.toTypedArray() as Float32Array;
      const shape = [...(details[i]?.shape ?? [data.length])];
      t.delete();
      return { name: details[i]?.name ?? `output${i}`, data: data.slice(), shape };
    });
    return result;
  } catch (e) {
    throw new ShearsError('E_RUNTIME', `tflite: LiteRT.js failed to run the model: ${(e as Error).message}`, { cause: e });
  } finally {
    for (const t of tensors) t.delete();
    model.delete();
  }
}
