// promtool (Debian's `prometheus` package) for the metrics tests: run it, or say why it cannot run.
// Under CI=true (.ci/run installs it) a missing promtool is a failure, never a skip.
import { spawnSync } from 'node:child_process';

export interface PromtoolResult {
  /** Exit code; -1 when promtool is not installed (outside CI). */
  code: number | null;
  out: string;
}

export const NO_PROMTOOL = 'promtool is not installed (apt-get install prometheus)';

/** Why promtool tests skip here, or undefined when they run (always under CI=true). */
export function promtoolSkip(): string | undefined {
  if (process.env.CI === 'true') return undefined;
  return spawnSync('promtool', ['--version']).error ? NO_PROMTOOL : undefined;
}

export function promtool(args: string[], input?: string): PromtoolResult {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    if (process.env.CI === 'true') throw r.error;
    return { code: -1, out: NO_PROMTOOL };
  }
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
