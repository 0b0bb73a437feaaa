/**
 * Iterative magnitude pruning (IMP) with rewinding, the lottery-ticket
 * schedule: k rounds of prune → train. Each round removes the same fraction
 * of the remaining prunable weights (global magnitude, the finetune trainer's
 * own `prune` re-pruner at the round's first step; masks only grow), so the
 * sparsity after round r is 1 − (1 − S)^(r/k). Between rounds:
 * - `lr` rewinding (Renda et al. 2020): keep the trained weights, replay the
 *   learning-rate schedule from its start;
 * - `weights:N` rewinding (Frankle et al.): the surviving weights go back to
 *   their values at step N of round 1 (a copy kept in memory), then train
 *   with the schedule from its start.
 * Each round trains `epochs` epochs (with a fresh optimizer state).
 */
import { ShearsError } from '@shears/core';
import { finetune, type EpochRecord, type FinetuneOptions, type FinetuneResult, type StepWeights } from './train.js';

export type Rewind = { kind: 'lr' } | { kind: 'weights'; step: number };

export interface IterativeOptions extends Omit<FinetuneOptions, 'prune' | 'resume'> {
  /** Rounds of prune → train (k ≥ 1; 1 is one-shot pruning + fine-tuning). */
  rounds: number;
  /** Final fraction of prunable weights at zero, in [0, 1). */
  sparsity: number;
  /** 'lr' (default) or 'weights:<step>' (or the parsed form). */
  rewind?: Rewind | string;
}

export interface RoundRecord {
  round: number;
  /** The round's target sparsity. */
  target: number;
  /** Measured: pruned / all prunable weights after the round's pruning. */
  sparsity: number;
  valAccuracy?: number;
  valLoss?: number;
  trainAccuracy?: number;
  trainLoss: number;
  steps: number;
  seconds: number;
}

export interface IterativeResult extends FinetuneResult {
  rounds: RoundRecord[];
  rewind: string;
}

/** Parse `--schedule iterative:k` (k ≥ 1). */
export function parseIterativeSchedule(spec: string): number {
  const m = /^iterative:(\d+)$/.exec(spec.trim());
  const k = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(k) || k < 1) throw new ShearsError('E_OPTION', `finetune: --schedule '${spec}': expected iterative:<rounds> with rounds ≥ 1, e.g. iterative:3`, { option: 'schedule' });
  return k;
}

/** Parse `lr` or `weights:<step>` (step ≥ 0). */
export function parseRewind(spec: Rewind | string): Rewind {
  if (typeof spec !== 'string') return spec;
  const s = spec.trim();
  if (s === 'lr') return { kind: 'lr' };
  const m = /^weights:(-?\d+)$/.exec(s);
  if (!m) throw new ShearsError('E_OPTION', `finetune: --rewind '${spec}': expected 'lr' or 'weights:<step>' (e.g. weights:0)`, { option: 'rewind' });
  return { kind: 'weights', step: Number(m[1]) };
}

const rewindName = (r: Rewind) => (r.kind === 'lr' ? 'lr' : `weights:${r.step}`);

/** Target sparsity after round r of k: the same fraction of the remaining weights goes each round. */
export function roundSparsity(final: number, round: number, rounds: number): number {
  return 1 - (1 - final) ** (round / rounds);
}

/** Steps of one round, as finetune() counts them (before early stopping). */
function stepsPerRound(opts: IterativeOptions): { steps: number; perEpoch: number; epochs: number } {
  const perEpoch = Math.ceil(Math.min(opts.data.size, opts.limit ?? Infinity) / (opts.batchSize ?? 32));
  const epochs = opts.epochs ?? 1;
  return { steps: perEpoch * epochs, perEpoch, epochs };
}

function noCheckpoint(step: number, plan: ReturnType<typeof stepsPerRound>, why = ''): ShearsError {
  const last = plan.steps - 1;
  return new ShearsError(
    'E_OPTION',
    `finetune: --rewind weights:${step}: no checkpoint at step ${step}${why}; round 1 keeps steps 0–${last} (${plan.epochs} epoch(s) × ${plan.perEpoch} steps): rewind to one of them, e.g. weights:${Math.min(last, Math.max(0, Math.round(plan.steps / 10)))}`,
    { option: 'rewind' },
  );
}

/** Check the options before any training. */
function check(opts: IterativeOptions, rewind: Rewind): ReturnType<typeof stepsPerRound> {
  const o = opts as FinetuneOptions;
  if (!Number.isInteger(opts.rounds) || opts.rounds < 1) throw new ShearsError('E_OPTION', `finetune: rounds ${opts.rounds}: iterative pruning needs at least 1 round (schedule iterative:k, k ≥ 1)`, { option: 'schedule' });
  if (!(opts.sparsity >= 0 && opts.sparsity < 1)) throw new ShearsError('E_OPTION', `finetune: sparsity ${opts.sparsity}: must be in [0, 1) for iterative pruning`, { option: 'sparsity' });
  if (o.prune) throw new ShearsError('E_OPTION', 'finetune: option prune: the iterative schedule does its own pruning; give one or the other', { option: 'prune' });
  if (o.resume) throw new ShearsError('E_OPTION', 'finetune: option resume: not with the iterative schedule (each round checkpoints in checkpointDir/round-<r>)', { option: 'resume' });
  const plan = stepsPerRound(opts);
  if (rewind.kind === 'weights' && (rewind.step < 0 || rewind.step >= plan.steps)) throw noCheckpoint(rewind.step, plan);
  return plan;
}

/** Pruned fraction of the prunable weights. */
function measuredSparsity(w: StepWeights): number {
  let pruned = 0;
  let total = 0;
  for (const p of w.prunable()) {
    total += p.size;
    if (p.mask) for (let i = 0; i < p.mask.length; i++) if (!p.mask[i]) pruned++;
  }
  return total ? pruned / total : 0;
}

/** The round's figures: validation from the weights the round ends with (its best epoch with restoreBest). */
function roundRecord(round: number, target: number, sparsity: number, r: FinetuneResult, t0: number): RoundRecord {
  const last = r.epochs.at(-1);
  const kept = r.best ? (r.epochs.find((e) => e.epoch === r.best!.epoch) ?? last) : last;
  return {
    round,
    target,
    sparsity,
    valAccuracy: kept?.valAccuracy,
    valLoss: kept?.valLoss,
    trainAccuracy: kept?.trainAccuracy,
    trainLoss: kept?.trainLoss ?? NaN,
    steps: r.steps,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Iterative magnitude pruning with rewinding on `model` (in place): `rounds`
 * rounds of global magnitude pruning to the round's sparsity, then `epochs`
 * epochs of fine-tuning. Returns the last round's result with every epoch and
 * a record per round (the ticket's sparsity and accuracy).
 */
export async function iterativeFinetune(model: FinetuneResult['model'], opts: IterativeOptions): Promise<IterativeResult> {
  const t0 = performance.now();
  const rewind = parseRewind(opts.rewind ?? 'lr');
  const plan = check(opts, rewind);
  const { rounds: k, sparsity: final, rewind: _r, onStep, onEpoch, checkpointDir, ...rest } = opts;
  const rounds: RoundRecord[] = [];
  const epochs: EpochRecord[] = [];
  let early: Map<string, Float32Array> | undefined;
  let result: FinetuneResult | undefined;
  let steps = 0;
  for (let round = 1; round <= k; round++) {
    const tr = performance.now();
    const target = roundSparsity(final, round, k);
    let sparsity = NaN;
    const hook = (step: number, w: StepWeights) => {
      if (step === 0) {
        sparsity = measuredSparsity(w);
        if (round > 1 && early) w.write(early);
      }
      if (round === 1 && rewind.kind === 'weights' && step === rewind.step) early = w.read();
      onStep?.(step, w);
    };
    const logEpoch = (e: EpochRecord) => {
      const rec = { ...e, epoch: epochs.length + 1, round };
      epochs.push(rec);
      onEpoch?.(rec);
    };
    opts.logger?.info(`iterative pruning: round ${round}/${k}, global magnitude to ${(100 * target).toFixed(2)}% sparsity${round > 1 ? `, rewind ${rewindName(rewind)}` : ''}`);
    result = await finetune(model, {
      ...rest,
      checkpointDir: checkpointDir ? `${checkpointDir}/round-${round}` : undefined,
      prune: { schedule: { sparsityAt: () => target }, every: Number.MAX_SAFE_INTEGER, scope: 'global' },
      onStep: hook,
      onEpoch: logEpoch,
    });
    steps += result.steps;
    if (round === 1 && rewind.kind === 'weights' && !early) throw noCheckpoint(rewind.step, plan, ` (round 1 stopped after ${result.steps} steps)`);
    const rec = roundRecord(round, target, sparsity, result, tr);
    rounds.push(rec);
    opts.logger?.info(
      `iterative pruning: round ${round}/${k}: sparsity ${(100 * rec.sparsity).toFixed(2)}%${rec.valAccuracy !== undefined ? `, val acc ${(100 * rec.valAccuracy).toFixed(2)}%` : ''}`,
    );
  }
  return { ...result!, epochs, steps, seconds: (performance.now() - t0) / 1000, rounds, rewind: rewindName(rewind) };
}
