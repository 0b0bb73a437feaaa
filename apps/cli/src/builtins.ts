import type { PluginMap } from '@shears/core';
import { onnxImport, onnxWrite } from '@shears/onnx';

/**
 * The built-in plugins, by the names recipes and --strategy use. Only the CLI
 * assembles this map; the packages themselves register nothing.
 */
export function builtins(): PluginMap {
  return {
    'onnx-import': onnxImport,
    'onnx-write': onnxWrite,
  };
}
