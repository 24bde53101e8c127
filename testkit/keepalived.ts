// keepalived (Debian's, 2.2) for the L2 active/standby tests: writes a node's configuration and notify
// script, runs `keepalived -n -l -D -f CONF -p PID -r VRRP_PID` inside the node's namespace (pid files of
// its own, so several run side by side), stops it, and reads back the VRRP states it went through.
//
// keepalived starts notify scripts without waiting for the last one, so two transitions close together
// (BACKUP then MASTER at start) can run their commands at once and finish in either order. The script
// therefore logs its state (`states`), then under a lock applies the LAST logged state (not its own),
// and logs what it applied (`applied`): whatever the order, the command of the state keepalived is in
// runs last. Everything the kit writes lives in one temporary directory, removed by dispose(); a live
// keepalived is killed when this process exits (its namespace's removal kills it too).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sleep, waitFor } from './timing.js';

export type VrrpState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';
const STATES: readonly VrrpState[] = ['MASTER', 'BACKUP', 'FAULT', 'STOP'];

export interface KeepalivedOptions {
  /** The node's namespace. */
  ns: string;
  /** router_id (also names the node in messages). */
  name: string;
  /** The interface VRRP advertises on. */
  iface: string;
  virtualRouterId: number;
  /** The higher priority is master; it takes the role back when it returns (preempt, the default). */
  priority: number;
  /** Seconds between adverts (VRRPv3 allows fractions; a master is declared down after ~3 of them). */
  advertInt?: number;
  /** Shell command lines run on entering each state (notify_master, notify_backup, ...). */
  notify: Partial<Record<VrrpState, string>>;
  /** Exported by the notify script before the command runs (keepalived's own environment is minimal). */
  env?: Record<string, string>;
}

/**
 * The address every VRRPv3 instance must carry (keepalived 2.2 refuses one without): put on lo on the
 * master and used by nothing. The VIPs are not keepalived's: lbdsr answers ARP for them while active.
 */
export const PLACEHOLDER_ADDRESS = '192.0.2.1/32';

/** keepalived.conf of one node; `script` is the notify script's path. */
export function keepalivedConfig(o: KeepalivedOptions, script: string): string {
  const notify = STATES.map((s) => `  notify_${s.toLowerCase()} "${script} ${s}"`);
  return `global_defs {
  router_id ${o.name}
  vrrp_version 3
  script_user root
}

vrrp_instance lbdsr {
  state BACKUP
  interface ${o.iface}
  virtual_router_id ${o.virtualRouterId}
  priority ${o.priority}
  advert_int ${o.advertInt ?? 0.2}
${notify.join('\n')}
  virtual_ipaddress {
    ${PLACEHOLDER_ADDRESS} dev lo
  }
}
`;
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The notify script: log the state, then under a lock run the command of the last logged state. */
export function notifyScript(dir: string, o: KeepalivedOptions): string {
  const exports = Object.entries(o.env ?? {}).map(([k, v]) => `export ${k}=${shQuote(v)}`);
  const cases = STATES.map((s) => `  ${s}) ${o.notify[s] ?? 'true'} ;;`);
  return `#!/bin/sh
# keepalived notify script of node ${o.name} (testkit/keepalived.ts): the last logged state wins.
# keepalived ends its scripts with SIGTERM when it exits: notify_stop's command must still finish.
trap '' TERM
export PATH=${shQuote(`${dirname(process.execPath)}:/usr/sbin:/usr/bin:/sbin:/bin`)}
${exports.join('\n')}
dir=${shQuote(dir)}
echo "$(date +%s%3N) $1" >> "$dir/states"
exec 9>>"$dir/lock"
flock 9
last=$(tail -n 1 "$dir/states" | cut -d' ' -f2)
[ "$last" = "$(cat "$dir/current" 2>/dev/null)" ] && exit 0
case "$last" in
${cases.join('\n')}
esac
rc=$?
echo "$(date +%s%3N) $last $rc" >> "$dir/applied"
[ "$rc" = 0 ] && echo "$last" > "$dir/current"
exit 0
`;
}

export interface Transition {
  state: VrrpState;
  /** Wall clock, ms. */
  at: number;
  /** For applied commands: the command's exit code. */
  rc?: number;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try {
      process.kill(-(p.pid ?? 0), 'SIGKILL');
    } catch {}
  }
});

export class Keepalived {
  readonly dir: string;
  private proc: ChildProcess | undefined;

  constructor(readonly opts: KeepalivedOptions) {
    this.dir = mkdtempSync(join(tmpdir(), `lbdsr-keepalived-${opts.name}-`));
    const script = join(this.dir, 'notify.sh');
    writeFileSync(script, notifyScript(this.dir, opts));
    chmodSync(script, 0o700);
    writeFileSync(join(this.dir, 'keepalived.conf'), keepalivedConfig(opts, script));
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts keepalived and waits (bounded) until its VRRP process runs. */
  async start(timeoutMs = 10_000): Promise<void> {
    if (this.running) throw new Error(`keepalived of ${this.opts.name} already runs`);
    const f = (n: string) => join(this.dir, n);
    rmSync(f('vrrp.pid'), { force: true });
    const log = openSync(f('keepalived.log'), 'a');
    const args = ['netns', 'exec', this.opts.ns, 'keepalived', '-n', '-l', '-D', '-f', f('keepalived.conf')];
    args.push('-p', f('keepalived.pid'), '-r', f('vrrp.pid'));
    const p = spawn('ip', args, { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    this.proc = p;
    live.add(p);
    p.on('exit', () => live.delete(p));
    const up = await waitFor(() => !this.running || this.read('vrrp.pid').trim() !== '', {
      timeoutMs,
      intervalMs: 50,
    });
    if (!up || !this.running) {
      await this.stop();
      throw new Error(`keepalived of ${this.opts.name} did not start:\n${this.logTail()}`);
    }
  }

  /** SIGTERM (keepalived gives up mastership: priority 0 advert, notify_stop) and wait, then SIGKILL. */
  async stop(timeoutMs = 10_000): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const gone = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-(p.pid ?? 0), sig);
      } catch {}
    };
    // keepalived itself, not the group: the notify_stop script it starts on the way out must run.
    p.kill('SIGTERM');
    const t = await Promise.race([gone.then(() => 'gone'), sleep(timeoutMs).then(() => 'timeout')]);
    if (t === 'timeout') {
      group('SIGKILL');
      await Promise.race([gone, sleep(2000)]);
    }
    this.proc = undefined;
  }

  private read(name: string): string {
    try {
      return readFileSync(join(this.dir, name), 'utf8');
    } catch {
      return '';
    }
  }

  private parse(name: string): Transition[] {
    return this.read(name)
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [at = '0', state = '', rc] = l.split(' ');
        return { at: Number(at), state: state as VrrpState, ...(rc === undefined ? {} : { rc: Number(rc) }) };
      });
  }

  /** The states keepalived entered (notify calls), in order. */
  transitions(): Transition[] {
    return this.parse('states');
  }

  /** The states whose command ran, in order, with its exit code. */
  applied(): Transition[] {
    return this.parse('applied');
  }

  /** Waits until the command of `state` has run successfully at or after `since` (wall clock ms). */
  async waitApplied(state: VrrpState, since: number, timeoutMs = 15_000): Promise<Transition> {
    let found: Transition | undefined;
    const ok = await waitFor(
      () => {
        const last = this.applied().at(-1);
        found = last && last.at >= since && last.state === state && last.rc === 0 ? last : undefined;
        return found !== undefined;
      },
      { timeoutMs, intervalMs: 50 },
    );
    if (!ok || !found) {
      const t = JSON.stringify(this.transitions().slice(-5));
      const a = JSON.stringify(this.applied().slice(-5));
      throw new Error(
        `${this.opts.name}: ${state} not applied (states ${t}, applied ${a})\n${this.logTail()}`,
      );
    }
    return found;
  }

  logTail(lines = 20): string {
    return this.read('keepalived.log').trim().split('\n').slice(-lines).join('\n') || '(no log)';
  }

  /** Stops keepalived and removes the directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
