// Convolutions in NHWC, with the gradients the pure-JS backends lack.
import type { Tensor, TF } from '../backend.js';

type Pads4 = [[number, number], [number, number], [number, number], [number, number]];

export interface Conv2dSpec {
  strides: [number, number];
  /** [top, left, bottom, right] (ONNX order: begins, then ends). */
  pads: [number, number, number, number];
  dilations: [number, number];
  group: number;
}

const explicit = (p: Conv2dSpec['pads']): Pads4 => [
  [0, 0],
  [p[0], p[2]],
  [p[1], p[3]],
  [0, 0],
];
const anyPad = (p: readonly number[]) => p.some((v) => v !== 0);
/** 'valid' when there is no padding (tfjs-node's gradients refuse EXPLICIT, even all-zero). */
const padArg = (p: Conv2dSpec['pads']): Pads4 | 'valid' => (anyPad(p) ? explicit(p) : 'valid');

/**
 * A filter [kh, kw, a, b] with dilation folded in: zeros between taps, so the
 * conv itself runs with dilation 1 (tfjs has no gradient for dilated convs).
 */
export function dilateFilter(tf: TF, w: Tensor, d: [number, number]): Tensor {
  if (d[0] === 1 && d[1] === 1) return w;
  const [kh, kw, a, b] = w.shape as number[];
  const w6 = tf.reshape(w, [kh!, 1, kw!, 1, a! * b!]);
  const padded = tf.pad(w6, [
    [0, 0],
    [0, d[0] - 1],
    [0, 0],
    [0, d[1] - 1],
    [0, 0],
  ]);
  const full = tf.reshape(padded, [kh! * d[0], kw! * d[1], a!, b!]);
  return tf.slice(full, [0, 0, 0, 0], [(kh! - 1) * d[0] + 1, (kw! - 1) * d[1] + 1, a!, b!]);
}

/**
 * dW[kh,kw,ci,co] = Σ xpad[n, oh·s+kh, ow·s+kw, ci] · dy[n, oh, ow, co], as a
 * forward conv: the input transposed to [ci, H, W, n] convolved with the output
 * gradient transposed to [oh, ow, n, co] as the filter, dilated by the stride.
 * Forward convs are fast on every backend (XNNPACK on wasm); the cpu
 * backend's Conv2DBackpropFilter takes seconds, and wasm has none.
 */
export function convFilterGrad(tf: TF, x: Tensor, dy: Tensor, strides: [number, number], pads: Conv2dSpec['pads'], kh: number, kw: number): Tensor {
  const xp = anyPad(pads) ? tf.pad(x, explicit(pads)) : x;
  const xT = tf.transpose(xp, [3, 1, 2, 0]);
  const dyT = tf.transpose(dy, [1, 2, 0, 3]);
  const r = tf.conv2d(xT as any, dyT as any, 1, 'valid', 'NHWC', strides);
  const rs = r.shape as number[];
  const cut = rs[1] === kh && rs[2] === kw ? r : tf.slice(r, [0, 0, 0, 0], [rs[0]!, kh, kw, rs[3]!]);
  return tf.transpose(cut, [1, 2, 0, 3]);
}

/**
 * dX of y = conv2d(x, w, s, pads), as a forward conv: dy upsampled by the
 * stride (zeros between rows and columns), padded, and convolved with the
 * filter flipped in space and transposed in channels. On wasm this runs on
 * XNNPACK's conv, several times faster than the Conv2DBackpropInput kernel
 * even though the zeros cost s² more multiplies.
 */
export function convInputGrad(tf: TF, dy: Tensor, w: Tensor, xShape: number[], strides: [number, number], pads: Conv2dSpec['pads']): Tensor {
  const [kh, kw] = w.shape as number[];
  const [, ho, wo] = dy.shape as number[];
  const [, h, wd] = xShape as number[];
  const [sh, sw] = strides;
  const top = kh! - 1 - pads[0];
  const left = kw! - 1 - pads[1];
  const bottom = h! - (ho! - 1) * sh - 1 + pads[0];
  const right = wd! - (wo! - 1) * sw - 1 + pads[1];
  const up = upsamplePad(tf, dy, strides, top, bottom, left, right);
  const wf = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
  return tf.conv2d(up as any, wf as any, 1, 'valid');
}

/**
 * dy upsampled by the stride (zeros between rows/columns) and padded (negative
 * amounts crop): the input of a transposed conv computed as a forward conv.
 */
function upsamplePad(tf: TF, dy: Tensor, strides: [number, number], top: number, bottom: number, left: number, right: number): Tensor {
  const [n, ho, wo, co] = dy.shape as number[];
  const [sh, sw] = strides;
  let u = dy;
  if (sh > 1 || sw > 1) {
    u = tf.reshape(dy, [n!, ho!, 1, wo!, 1, co!]);
    u = tf.pad(u, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
    u = tf.reshape(u, [n!, ho! * sh, wo! * sw, co!]);
    u = tf.slice(u, [0, 0, 0, 0], [n!, (ho! - 1) * sh + 1, (wo! - 1) * sw + 1, co!]);
  }
  const p = tf.pad(u, [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [Math.max(0, left), Math.max(0, right)], [0, 0]]);
  if (top >= 0 && bottom >= 0 && left >= 0 && right >= 0) return p;
  const hh = p.shape[1]! - Math.max(0, -top) - Math.max(0, -bottom);
  const ww = p.shape[2]! - Math.max(0, -left) - Math.max(0, -right);
  return tf.slice(p, [0, Math.max(0, -top), Math.max(0, -left), 0], [n!, hh, ww, co!]);
}

/**
 * depthwiseConv2d (filter [kh, kw, C, M]) whose gradients are depthwise convs
 * too (XNNPACK on wasm) instead of wasm's missing backprop kernels.
 * dX: the stride-upsampled dy convolved with the flipped filter, summed over M.
 * dF: channels and batch folded into the channels of one image, convolved
 * with dy as a dilated depthwise filter, summed over the batch.
 */
export function depthwiseWithGrad(tf: TF, x: Tensor, f: Tensor, strides: [number, number], pads: Conv2dSpec['pads']): Tensor {
  const g = tf.customGrad((...args: any[]) => {
    const [xi, fi, save] = args as [Tensor, Tensor, (t: Tensor[]) => void];
    save([xi, fi]);
    const value = tf.depthwiseConv2d(xi as any, fi as any, strides, padArg(pads));
    const gradFunc = (dy: Tensor, saved: Tensor[]) => {
      const [xs, fs] = saved as [Tensor, Tensor];
      const [kh, kw, c, m] = fs.shape as number[];
      const [n, h, w] = xs.shape as number[];
      const [ho, wo] = [dy.shape[1]!, dy.shape[2]!];
      // dX
      const top = kh! - 1 - pads[0];
      const left = kw! - 1 - pads[1];
      const bottom = h! - (ho - 1) * strides[0] - 1 + pads[0];
      const right = w! - (wo - 1) * strides[1] - 1 + pads[1];
      const up = upsamplePad(tf, dy, strides, top, bottom, left, right);
      const fr = tf.reshape(tf.reverse(fs, [0, 1]), [kh!, kw!, c! * m!, 1]);
      let dx = tf.depthwiseConv2d(up as any, fr as any, 1, 'valid') as Tensor;
      if (m! > 1) dx = tf.sum(tf.reshape(dx, [n!, h!, w!, c!, m!]), 4);
      // dF
      const xp = anyPad(pads) ? tf.pad(xs, explicit(pads)) : xs;
      const [hp, wp] = [xp.shape[1]!, xp.shape[2]!];
      const xc = tf.reshape(tf.transpose(xp, [1, 2, 3, 0]), [1, hp, wp, c! * n!]);
      const dyc = tf.reshape(tf.transpose(tf.reshape(dy, [n!, ho, wo, c!, m!]), [1, 2, 3, 0, 4]), [ho, wo, c! * n!, m!]);
      let r = tf.depthwiseConv2d(xc as any, dyc as any, 1, 'valid', 'NHWC', strides) as Tensor;
      if (r.shape[1] !== kh || r.shape[2] !== kw) r = tf.slice(r, [0, 0, 0, 0], [1, kh!, kw!, r.shape[3]!]);
      const df = tf.sum(tf.reshape(r, [kh!, kw!, c!, n!, m!]), 3);
      return [dx, df];
    };
    return { value, gradFunc };
  });
  return g(x, f) as Tensor;
}

/**
 * conv2d (group 1, dilation 1) whose filter gradient is convFilterGrad. With
 * `inputGrad` false (the input does not depend on a trained weight, e.g. the
 * first conv on the data) no input gradient is computed.
 */
export function convWithGrad(tf: TF, x: Tensor, w: Tensor, strides: [number, number], pads: Conv2dSpec['pads'], inputGrad = true): Tensor {
  if (!inputGrad) {
    const g = tf.customGrad((...args: any[]) => {
      const [wi, save] = args as [Tensor, (t: Tensor[]) => void];
      // x is saved too: it may be an intermediate (the NHWC copy of the input) that the forward scope disposes.
      save([wi, x]);
      const value = tf.conv2d(x as any, wi as any, strides, padArg(pads));
      const gradFunc = (dy: Tensor, saved: Tensor[]) => {
        const [kh, kw] = saved[0]!.shape as number[];
        return [convFilterGrad(tf, saved[1]!, dy, strides, pads, kh!, kw!)];
      };
      return { value, gradFunc };
    });
    return g(w) as Tensor;
  }
  const f = tf.customGrad((...args: any[]) => {
    const [xi, wi, save] = args as [Tensor, Tensor, (t: Tensor[]) => void];
    save([xi, wi]);
    const value = tf.conv2d(xi as any, wi as any, strides, padArg(pads));
    const gradFunc = (dy: Tensor, saved: Tensor[]) => {
      const [xs, ws] = saved as [Tensor, Tensor];
      const [kh, kw] = ws.shape as number[];
      const dx = convInputGrad(tf, dy, ws, xs.shape as number[], strides, pads);
      const dw = convFilterGrad(tf, xs, dy, strides, pads, kh!, kw!);
      return [dx, dw];
    };
    return { value, gradFunc };
  });
  return f(x, w) as Tensor;
}

/**
 * A 2-D convolution in NHWC. `w` is stored [kh, kw, Cin, Cout] for group 1 and
 * [kh, kw, Cout, Cin/group] for grouped and depthwise convs.
 */
export function conv2d(tf: TF, x0: Tensor, w: Tensor, spec: Conv2dSpec, customGrad: boolean, inputGrad = true): Tensor {
  const wd = dilateFilter(tf, w, spec.dilations);
  const { strides, group } = spec;
  let { pads } = spec;
  let x = x0;
  if (!customGrad && anyPad(pads)) {
    // tfjs-node's conv gradients take only 'valid'/'same': pad explicitly (or use 'same' when it is the same).
    const same = samePads(x.shape[1]!, x.shape[2]!, wd.shape[0]!, wd.shape[1]!, strides);
    if (same.every((v, i) => v === pads[i])) return sameConv(tf, x, wd, strides, group);
    x = tf.pad(x, explicit(pads));
    pads = [0, 0, 0, 0];
  }
  if (group === 1) {
    if (customGrad) return convWithGrad(tf, x, wd, strides, pads, inputGrad);
    return tf.conv2d(x as any, wd as any, strides, padArg(pads));
  }
  const [kh, kw, cout, k] = wd.shape as number[];
  const cin = x.shape[3]!;
  const m = cout! / group;
  if (k === 1 && cin === group) {
    // Depthwise (with channel multiplier m): [kh,kw,Cout,1] → [kh,kw,Cin,m].
    const f = tf.reshape(wd, [kh!, kw!, cin, m]);
    return customGrad ? depthwiseWithGrad(tf, x, f, strides, pads) : tf.depthwiseConv2d(x as any, f as any, strides, padArg(pads));
  }
  if (group <= 4) {
    // Few groups: one dense conv per group.
    const xs = tf.split(x, group, 3);
    const ws = tf.split(wd, group, 2);
    const ys = xs.map((xi, g) => {
      const wi = tf.transpose(ws[g]!, [0, 1, 3, 2]);
      return customGrad ? convWithGrad(tf, xi, wi, strides, pads) : tf.conv2d(xi as any, wi as any, strides, padArg(pads));
    });
    return tf.concat(ys, 3);
  }
  // Many groups: a depthwise conv with multiplier m, then a sum over the k
  // input channels of each group. Same MACs as the grouped conv.
  const f = tf.reshape(tf.transpose(tf.reshape(wd, [kh!, kw!, group, m, k!]), [0, 1, 2, 4, 3]), [kh!, kw!, cin, m]);
  const y = customGrad ? depthwiseWithGrad(tf, x, f, strides, pads) : tf.depthwiseConv2d(x as any, f as any, strides, padArg(pads));
  const [n, ho, wo] = y.shape as number[];
  return tf.reshape(tf.sum(tf.reshape(y, [n!, ho!, wo!, group, k!, m]), 4), [n!, ho!, wo!, cout!]);
}

/** TF's 'same' padding: [top, left, bottom, right]. */
function samePads(h: number, w: number, kh: number, kw: number, s: [number, number]): number[] {
  const one = (d: number, k: number, st: number) => {
    const total = Math.max(0, (Math.ceil(d / st) - 1) * st + k - d);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  };
  const [t, b] = one(h, kh, s[0]);
  const [l, r] = one(w, kw, s[1]);
  return [t!, l!, b!, r!];
}

function sameConv(tf: TF, x: Tensor, w: Tensor, strides: [number, number], group: number): Tensor {
  if (group === 1) return tf.conv2d(x as any, w as any, strides, 'same');
  return conv2d(tf, tf.pad(x, explicit(samePads(x.shape[1]!, x.shape[2]!, w.shape[0]!, w.shape[1]!, strides) as Conv2dSpec['pads'])), w, { strides, pads: [0, 0, 0, 0], dilations: [1, 1], group }, false);
}

/**
 * ConvTranspose in NHWC (group 1). `w` is stored [kh, kw, Cout, Cin]. The
 * full ("valid") transposed conv is computed, then cropped by `pads` and
 * extended by `outputPadding`.
 */
export function convTranspose2d(
  tf: TF,
  x: Tensor,
  w: Tensor,
  spec: { strides: [number, number]; pads: [number, number, number, number]; dilations: [number, number]; outputPadding: [number, number]; outShape?: [number, number] },
  customGrad: boolean,
): Tensor {
  const wd = dilateFilter(tf, w, spec.dilations);
  const [kh, kw, cout] = wd.shape as number[];
  const [n, h, wi] = x.shape as number[];
  const s = spec.strides;
  const fullH = s[0] * (h! - 1) + kh!;
  const fullW = s[1] * (wi! - 1) + kw!;
  const outShape: [number, number, number, number] = [n!, fullH, fullW, cout!];
  let y: Tensor;
  if (customGrad) {
    const f = tf.customGrad((...args: any[]) => {
      const [xi, wt, save] = args as [Tensor, Tensor, (t: Tensor[]) => void];
      save([xi, wt]);
      const value = tf.conv2dTranspose(xi as any, wt as any, outShape, s, 'valid');
      const gradFunc = (dy: Tensor, saved: Tensor[]) => {
        const [xs, ws] = saved as [Tensor, Tensor];
        const dx = tf.conv2d(dy as any, ws as any, s, 'valid');
        // dW[kh,kw,co,ci] = Σ dy[n, h·s+kh, w·s+kw, co] · x[n, h, w, ci]
        const g = convFilterGrad(tf, dy, xs, s, [0, 0, 0, 0], kh!, kw!);
        return [dx, g];
      };
      return { value, gradFunc };
    });
    y = f(x, wd) as Tensor;
  } else {
    y = tf.conv2dTranspose(x as any, wd as any, outShape, s, 'valid');
  }
  const [pt, pl, pb, pr] = spec.pads;
  const [oph, opw] = spec.outputPadding;
  let outH = fullH - pt - pb + oph;
  let outW = fullW - pl - pr + opw;
  if (spec.outShape) [outH, outW] = spec.outShape;
  const needH = pt + outH - fullH;
  const needW = pl + outW - fullW;
  if (needH > 0 || needW > 0)
    y = tf.pad(y, [
      [0, 0],
      [0, Math.max(0, needH)],
      [0, Math.max(0, needW)],
      [0, 0],
    ]);
  if (pt || pl || outH !== y.shape[1] || outW !== y.shape[2]) y = tf.slice(y, [0, pt, pl, 0], [n!, outH, outW, cout!]);
  return y;
}
