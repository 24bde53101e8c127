// What the benchmark sections read of the host they run on, beside their figures: the busy share of
// each CPU over a run (from /proc/stat) and the load average as /proc/loadavg prints it.
import { readFileSync } from 'node:fs';

/** Jiffies of each CPU so far: busy (all but idle and iowait), softirq, and the total of the eight fields. */
export function cpuTimes(): { busy: number; softirq: number; total: number }[] {
  const out: { busy: number; softirq: number; total: number }[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3]! + v[4]!;
    out.push({ busy: total - idle, softirq: v[6]!, total });
  }
  return out;
}

/** The 1, 5 and 15 minute load averages, as /proc/loadavg writes them ("0.52 0.61 0.70"). */
export function loadAverageText(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
