// Shared helpers for the benchmark scripts.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median wall time (ms) of `fn` over `n` runs (after one warm-up unless warm = false). */
export async function timeIt(fn, n = 5, warm = true) {
  if (warm) await fn();
  const t = [];
  for (let i = 0; i < n; i++) {
    globalThis.gc?.();
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** Median wall time (ms) of a whole process. */
export function timeProcess(cmd, args, n = 5) {
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    t.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  }
  return median(t);
}

/** Run a node ESM snippet in a fresh process; it must print JSON on stdout. */
export function nodeJson(code, cwd) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', cwd, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** JS that reads this process's peak RSS (VmHWM; getrusage keeps the parent's across exec). */
export const PEAK_RSS_JS = `(() => { const m = /VmHWM:\\s+(\\d+) kB/.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8')); return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024; })()`;

export function machine() {
  return `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown cpu'}, node ${process.version}`;
}

export const fmt = (ms) => `${ms.toFixed(1)} ms`;
