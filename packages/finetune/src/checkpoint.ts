import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ShearsError, type Model } from '@shears/core';
import { readNpz, writeNpz } from '@shears/data';
import { readModel, writeModel } from '@shears/onnx';
import type { TfGraph } from './graph/graph.js';
import type { Optimizer } from './optim.js';

/** Metadata key on checkpoint models that holds the training state (JSON). */
export const CHECKPOINT_KEY = 'shears.finetune.checkpoint';

export interface CheckpointState {
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken. */
  step: number;
  /** Written at an epoch boundary (false: an interrupted epoch, which restarts on resume). */
  complete: boolean;
  best?: { epoch: number; value: number; metric: string };
  history: unknown[];
}

/**
 * Write `<dir>/<name>.onnx` (and the optimizer state beside it). Each file is
 * written atomically (temp file, fsync, rename), the optimizer state first,
 * so the ONNX file, whose metadata names the step, is always a usable
 * checkpoint, even if the process dies while writing.
 */
export async function saveCheckpoint(dir: string, name: string, model: Model, state: CheckpointState, optimizer?: Optimizer): Promise<string> {
  mkdirSync(dir, { recursive: true });
  if (optimizer) {
    const arrays: Record<string, { data: Float32Array; shape: number[] }> = {};
    for (const [k, v] of Object.entries(optimizer.state())) arrays[encodeURIComponent(k)] = { data: v.data, shape: v.dims };
    writeNpz(join(dir, `${name}.optim.npz`), arrays);
  }
  const file = join(dir, `${name}.onnx`);
  const prev = model.getMetadata(CHECKPOINT_KEY);
  model.setMetadata(CHECKPOINT_KEY, JSON.stringify(state));
  try {
    await writeModel(model, file, { overwrite: true });
  } finally {
    if (prev === undefined) model.metadataProps = model.metadataProps.filter(([k]) => k !== CHECKPOINT_KEY);
    else model.setMetadata(CHECKPOINT_KEY, prev);
  }
  return file;
}

export interface LoadedCheckpoint {
  file: string;
  model: Model;
  state: CheckpointState;
  optimizer?: Record<string, { dims: number[]; data: Float32Array }>;
}

export async function loadCheckpoint(dir: string, name = 'last'): Promise<LoadedCheckpoint | undefined> {
  const file = join(dir, `${name}.onnx`);
  if (!existsSync(file)) return undefined;
  const model = await readModel(file);
  const raw = model.getMetadata(CHECKPOINT_KEY);
  if (!raw) throw new ShearsError('E_DATA', `${file}: not a finetune checkpoint (no ${CHECKPOINT_KEY} metadata)`, { file });
  const state = JSON.parse(raw) as CheckpointState;
  let optimizer: LoadedCheckpoint['optimizer'];
  const optFile = join(dir, `${name}.optim.npz`);
  if (existsSync(optFile)) {
    const arrays = readNpz(optFile);
    const out: NonNullable<LoadedCheckpoint['optimizer']> = {};
    for (const [k, v] of Object.entries(arrays)) out[decodeURIComponent(k)] = { dims: v.shape, data: v.data as Float32Array };
    // Only the optimizer state of this very step belongs to the weights.
    if (out['__step']?.data[0] === state.step) optimizer = out;
  }
  return { file, model, state, optimizer };
}

/** Copy the weights of a checkpoint model into the graph's variables (by initializer name). */
export function loadWeights(graph: TfGraph, model: Model): number {
  const tf = graph.tf;
  let n = 0;
  for (const p of graph.params) {
    const t = model.graph.initializer(p.name);
    if (!t || t.dtype !== 'float32' || t.size !== p.variable.size) continue;
    tf.tidy(() => {
      const logical = tf.tensor(t.floats(), p.dims.length ? p.dims : [], 'float32');
      p.variable.assign(p.perm ? tf.transpose(logical, p.perm) : logical);
    });
    n++;
  }
  return n;
}
