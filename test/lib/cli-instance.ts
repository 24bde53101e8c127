// A real lbdsrd for a describe block of lbdsrctl tests (test/daemon/cli-*.test.ts): started in
// before() on a temporary state directory with instance lb1 (frontend MAC aa:bb:cc:dd:ee:ff, VIP
// 10.0.0.100), stopped in after(); and the callers the tests use on it.
import { after, before } from 'node:test';
import { cliCaller, type Daemon, startDaemon, tempDir } from '../daemon/helpers.js';

export interface CliInstance {
  /** Runs lbdsrctl; exit code 0 asserted, stdout returned. */
  ok: (...args: string[]) => string;
  /** Runs lbdsrctl; asserts the exit code and that stderr mentions `mentions`. */
  fails: (code: number, mentions: RegExp, ...args: string[]) => void;
  /** The words of a command on instance lb1. */
  lb: (...args: string[]) => string[];
  /** `show -json` of a path under lb1, parsed. */
  json: (...args: string[]) => ReturnType<typeof JSON.parse>;
  /** The daemon's state directory (valid from before() to after()). */
  stateDir: () => string;
}

/** Registers the hooks in the calling describe block; `setup` runs after lb1 exists. */
export function cliInstance(tag: string, setup: (cli: CliInstance) => void = () => {}): CliInstance {
  let state: ReturnType<typeof tempDir> | undefined;
  let d: Daemon | undefined;
  const { ok, fails } = cliCaller(() => d!.url);
  const lb = (...args: string[]) => ['lbdsr', 'lb1', ...args];
  const cli: CliInstance = {
    ok,
    fails,
    lb,
    json: (...args) => JSON.parse(ok(...lb(...args), 'show', '-json')),
    stateDir: () => state!.dir,
  };
  before(async () => {
    state = tempDir(tag);
    d = await startDaemon(state.dir);
    ok('lbdsr', 'add', 'lb1');
    ok(...lb('frontend', 'set', 'mac=aa:bb:cc:dd:ee:ff', 'vip=10.0.0.100'));
    setup(cli);
  });
  after(async () => {
    await d?.stop();
    state?.cleanup();
  });
  return cli;
}
