// The option parsing the namespace agents share (agent.ts, longlived-agent.ts): every option takes a
// value (`--name VALUE`), unknown options are errors, numbers are checked.
import { parseArgs } from 'node:util';

export type Opts = Record<string, string | undefined>;

/** Parses `--name VALUE` options, each of `names`; anything else is an error. */
export function parseOptions(argv: string[], names: readonly string[]): Opts {
  const options = Object.fromEntries(names.map((n) => [n, { type: 'string' as const }]));
  return parseArgs({ args: argv, options, strict: true }).values as Opts;
}

/** Option `k` as a number (`dflt` when absent or empty); throws when it is not one. */
export function num(o: Opts, k: string, dflt: number): number {
  const v = o[k];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${k} must be a number`);
  return n;
}
