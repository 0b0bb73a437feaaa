// The strategy's name and what its plans report in `plan.details`.

export const NAME = 'channel';

/** Per-layer outcome of the reconstruction, for the JSON report. */
export interface LayerReport {
  layer: string;
  weight: string;
  /** Input features (channels × kernel positions) kept, of all. */
  kept: number;
  of: number;
  rows: number;
  unknowns: number;
  underdetermined: boolean;
  ridge: number;
  /** Relative squared error ||y − ŷ||² / ||y||² on sampled rows: dropped channels zeroed, then after the refit. */
  errorBefore: number;
  errorAfter: number;
}

/**
 * A consumer least squares cannot refit here (grouped convolution in
 * `groupedConv: 'divisible'` mode, ConvTranspose, 1-D/3-D or auto_pad convs,
 * batched MatMul, shared or non-float weights…). Its group is left unpruned
 * rather than pruned without a refit, so it loses nothing; `plan.skipped`
 * has the same reason.
 */
export interface NotRefitReport {
  group: string;
  /** The consumer that cannot be refit (absent when no layer reads the group through weights). */
  layer?: string;
  reason: string;
  effect: 'group not pruned';
}

export interface GroupReport {
  group: string;
  consumers: string[];
  removed: number;
  of: number;
  /** Estimated relative output error of the dropped channels before reconstruction (sum over consumers; 0 for l1 without data). */
  selectionError: number;
}
