import type { PluginMap } from '@shears/core';
import { onnxImport, onnxWrite } from '@shears/onnx';
import { finetunePlugin, teacherSnapshot } from '@shears/finetune';
import { DEPLOY_PASSES, onnxExport } from '@shears/export-onnx';
import { tensorrtExport } from '@shears/export-tensorrt';
import { exportTflite } from '@shears/export-tflite';
import { htmlReport } from '@shears/report';
import { apoz, bnScale, fpgm, hrank, l1, l2, meanActivation, random } from '@shears/criteria';
import { channelPruning } from '@shears/prune-channel';
import { compactPruning, filterPruning } from '@shears/prune-filter';
import { onnxSparseWrite, sparsegpt, unstructuredPruning, wanda } from '@shears/prune-unstructured';
import { sensitivity } from '@shears/sensitivity';

/**
 * The built-in plugins, by the names recipes and --strategy use. Only the CLI
 * assembles this map; the packages themselves register nothing.
 */
export function builtins(): PluginMap {
  return {
    'onnx-import': onnxImport,
    'onnx-write': onnxWrite,
    'onnx-export': onnxExport,
    'tensorrt-export': tensorrtExport,
    'export-tflite': exportTflite,
    report: htmlReport,
    ...DEPLOY_PASSES,
    'onnx-sparse-write': onnxSparseWrite,
    unstructured: unstructuredPruning,
    filter: filterPruning,
    compact: compactPruning,
    // A pass: accuracy with each layer pruned alone (state key SENSITIVITY).
    sensitivity,
    // Channel pruning with least-squares reconstruction (needs --calib).
    channel: channelPruning,
    // Fine-tuning (tfjs loads only when a finetune step runs): teacher-snapshot → strategy → finetune.
    finetune: finetunePlugin,
    'teacher-snapshot': teacherSnapshot,
    // Criteria from @shears/criteria score single weights (element or
    // channel, for unstructured) and groups of coupled channels (filter).
    l1,
    l2,
    fpgm,
    'bn-scale': bnScale,
    random,
    'mean-activation': meanActivation,
    apoz,
    hrank,
    wanda,
    sparsegpt,
  };
}
