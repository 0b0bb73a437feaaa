import type { TF } from '../backend.js';

/**
 * Kernels the wasm backend lacks that training needs (depthwise conv
 * gradients, the gather gradient…). Each is served by the cpu backend's
 * kernel: inputs are copied out of wasm memory, the JS kernel runs, and the
 * result is copied back. These kernels are cheap next to dense convs.
 */
export const BRIDGED_KERNELS = [
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
  'UnsortedSegmentSum',
  'Conv2DBackpropFilter',
  'AvgPoolGrad',
  'MaxPoolGrad',
] as const;

export function bridgeToCpu(tf: TF, backendName = 'wasm'): string[] {
  const cpu = tf.findBackend('cpu') as any;
  if (!cpu) return [];
  const added: string[] = [];
  for (const name of BRIDGED_KERNELS) {
    if (tf.getKernel(name, backendName)) continue;
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel) continue;
    tf.registerKernel({
      kernelName: name,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }: any) => {
        const moved: Record<string, any> = {};
        const made: any[] = [];
        for (const [k, info] of Object.entries(inputs as Record<string, any>)) {
          if (!info) continue;
          const values = backend.readSync(info.dataId);
          const dataId = cpu.write(values, info.shape, info.dtype);
          moved[k] = { dataId, shape: info.shape, dtype: info.dtype };
          made.push(dataId);
        }
        const out = cpuKernel.kernelFunc({ inputs: moved, backend: cpu, attrs }) as any;
        const outs = Array.isArray(out) ? out : [out];
        const results = outs.map((o: any) => {
          const values = cpu.readSync(o.dataId);
          const r = backend.makeOutput(o.shape, o.dtype);
          backend.typedArrayFromHeap(r).set(values);
          cpu.disposeData(o.dataId);
          return r;
        });
        for (const id of made) cpu.disposeData(id);
        return Array.isArray(out) ? results : results[0];
      },
    });
    added.push(name);
  }
  return added;
}
