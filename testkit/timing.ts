// Timing helpers of the testkit: wait for a condition with a bound (tests never sleep a fixed time to
// let something happen), and the order statistics the benchmarks report (median, percentiles).
import { setTimeout as delay } from 'node:timers/promises';

export function sleep(ms: number): Promise<void> {
  return delay(ms);
}

export interface WaitOptions {
  /** Give up after this long (default 5 s). */
  timeoutMs?: number;
  /** Pause between checks (default 20 ms). */
  intervalMs?: number;
}

/** Checks `cond` until it holds or the bound passes; true when it held. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  opts: WaitOptions = {},
): Promise<boolean> {
  const until = Date.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= until) return false;
    await sleep(opts.intervalMs ?? 20);
  }
}

/** Like waitFor, but throws `what` when the bound passes. */
export async function mustWaitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  opts: WaitOptions = {},
): Promise<void> {
  if (!(await waitFor(cond, opts))) throw new Error(`timed out after ${opts.timeoutMs ?? 5000} ms: ${what}`);
}

/** The p-th percentile (0..100) by linear interpolation between the closest ranks; NaN when empty. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const at = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (s[lo] ?? 0) + ((s[hi] ?? 0) - (s[lo] ?? 0)) * (at - lo);
}

/** The median (the mean of the two middle values for an even count); NaN when empty. */
export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}
