import type { OpSpec } from '../types.js';
import { CONTROL_SPECS } from './control.js';
import { CONTRIB_SPECS } from './contrib.js';
import { CONV_SPECS } from './conv.js';
import { ELEMENTWISE_SPECS } from './elementwise.js';
import { GATHER_SLICE_SPECS } from './gather-slice.js';
import { GENERATOR_SPECS } from './generators.js';
import { LAYOUT_SPECS } from './layout.js';
import { LINEAR_SPECS } from './linear.js';
import { MISC_SPECS } from './misc.js';
import { NORM_SPECS } from './norm.js';
import { POOL_SPECS } from './pool.js';
import { QUANT_SPECS } from './quant.js';
import { REDUCE_SPECS } from './reduce.js';
import { RESIZE_SPECS } from './resize.js';
import { UNARY_SPECS } from './unary.js';

/** Every built-in spec; defaultOpRegistry() is built from this list. */
export const BUILTIN_SPECS: readonly OpSpec[] = [
  ...CONV_SPECS,
  ...LINEAR_SPECS,
  ...NORM_SPECS,
  ...POOL_SPECS,
  ...UNARY_SPECS,
  ...ELEMENTWISE_SPECS,
  ...LAYOUT_SPECS,
  ...GATHER_SLICE_SPECS,
  ...GENERATOR_SPECS,
  ...REDUCE_SPECS,
  ...RESIZE_SPECS,
  ...QUANT_SPECS,
  ...MISC_SPECS,
  ...CONTROL_SPECS,
  ...CONTRIB_SPECS,
];
