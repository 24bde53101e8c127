// Network namespaces of the testkit: every namespace a test, benchmark or the demo creates is named
// `lbdsr-<tag><pid36><n>-<role>` and its prefix is registered here, so one mechanism removes them on
// every exit path (normal exit, SIGINT/SIGTERM/SIGHUP, a failed build), killing what runs inside first.
// Also the small per-namespace queries the suites share (MAC, ifindex, counters, neighbours).
// `node dist/testkit/netns.js cleanup [PREFIX]` removes the leftovers of a crashed run.
import { must, run, runSync } from './exec.js';
import { waitFor } from './timing.js';

export const NS_ROOT_PREFIX = 'lbdsr-';

const live = new Set<string>();
let handlersInstalled = false;
let counter = 0;

/** A prefix no other run uses: `lbdsr-`, the tag, pid and a per-process counter (base 36), `-`. */
export function newPrefix(tag = ''): string {
  counter += 1;
  return `${NS_ROOT_PREFIX}${tag}${process.pid.toString(36)}${counter.toString(36)}-`;
}

/** Registers a prefix whose namespaces are removed on exit (installs the handlers on first use). */
export function track(prefix: string): void {
  installHandlers();
  live.add(prefix);
}

/** Removes live namespaces on exit, SIGINT, SIGTERM and SIGHUP (idempotent). */
export function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    for (const p of live) cleanupSync(p);
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const p of live) cleanupSync(p);
      live.clear();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

function namespacesWithPrefix(list: string, prefix: string): string[] {
  return list
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

function pidsIn(listOutput: string): number[] {
  return listOutput
    .split('\n')
    .map((s) => Number.parseInt(s.trim(), 10))
    .filter((n) => Number.isInteger(n) && n > 1 && n !== process.pid);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** Removes every namespace whose name starts with `prefix`, killing what runs inside first. */
export async function cleanup(prefix: string): Promise<void> {
  if (!prefix.startsWith(NS_ROOT_PREFIX)) throw new Error(`refusing to clean up outside ${NS_ROOT_PREFIX}*`);
  const names = namespacesWithPrefix((await run('ip', ['netns', 'list'])).stdout, prefix);
  const pidsOf = async (n: string) => pidsIn((await run('ip', ['netns', 'pids', n])).stdout);
  for (const n of names) killAll(await pidsOf(n));
  // Bounded: a process that does not go away does not keep its namespace from being deleted.
  for (const n of names) await waitFor(async () => (await pidsOf(n)).length === 0, { timeoutMs: 2000 });
  for (const n of names) await run('ip', ['netns', 'del', n]);
  live.delete(prefix);
}

/** Synchronous cleanup, for exit and signal handlers and synchronous teardown. */
export function cleanupSync(prefix: string): void {
  if (!prefix.startsWith(NS_ROOT_PREFIX)) return;
  const names = namespacesWithPrefix(runSync('ip', ['netns', 'list']).stdout, prefix);
  for (const n of names) killAll(pidsIn(runSync('ip', ['netns', 'pids', n]).stdout));
  for (const n of names) runSync('ip', ['netns', 'del', n]);
  live.delete(prefix);
}

interface LinkJson {
  ifindex?: number;
  address?: string;
  stats64?: Record<string, { packets: number }>;
}

async function link(nsName: string, ifname: string, stats = false): Promise<LinkJson> {
  const out = await must('ip', ['-n', nsName, ...(stats ? ['-s'] : []), '-j', 'link', 'show', 'dev', ifname]);
  const l = (JSON.parse(out) as LinkJson[])[0];
  if (!l) throw new Error(`no interface ${ifname} in ${nsName}`);
  return l;
}

/** The MAC of an interface inside a namespace, lower case. */
export async function macOf(nsName: string, ifname: string): Promise<string> {
  const mac = (await link(nsName, ifname)).address;
  if (!mac) throw new Error(`no MAC for ${ifname} in ${nsName}`);
  return mac.toLowerCase();
}

/** The ifindex of an interface inside a namespace. */
export async function ifindexOf(nsName: string, ifname: string): Promise<number> {
  const i = (await link(nsName, ifname)).ifindex;
  if (i === undefined) throw new Error(`no ifindex for ${ifname} in ${nsName}`);
  return i;
}

/** Interface packet counters (rx, tx) of an interface inside a namespace. */
export async function ifStats(nsName: string, ifname: string): Promise<{ rx: number; tx: number }> {
  const s = (await link(nsName, ifname, true)).stats64;
  return { rx: s?.rx?.packets ?? Number.NaN, tx: s?.tx?.packets ?? Number.NaN };
}

/** The MAC a host's neighbour table holds for `ip` (undefined when none). */
export async function neighbourMac(nsName: string, ip: string): Promise<string | undefined> {
  const out = await must('ip', ['-n', nsName, '-j', 'neigh', 'show', ip]);
  const entries = JSON.parse(out || '[]') as Array<{ lladdr?: string }>;
  return entries.find((e) => e.lladdr)?.lladdr?.toLowerCase();
}

/**
 * The addresses on an interface's own receive filter (`bridge fdb show dev IF`: its `self` entries,
 * e.g. a frontend MAC on the unicast list), lower case.
 */
export async function fdbSelf(nsName: string, ifname: string): Promise<string[]> {
  const out = await must('bridge', ['-n', nsName, 'fdb', 'show', 'dev', ifname]);
  return out
    .split('\n')
    .filter((l) => /\bself\b/.test(l))
    .map((l) => (l.split(' ')[0] ?? '').toLowerCase());
}

/** Sets sysctls inside a namespace. */
export async function sysctl(nsName: string, settings: Record<string, string | number>): Promise<void> {
  const kv = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
  await must('ip', ['netns', 'exec', nsName, 'sysctl', '-q', '-w', ...kv]);
}

/** Creates a namespace with lo up and IPv6 off (no router solicitations or MLD in the counters). */
export async function addNamespace(nsName: string): Promise<void> {
  await must('ip', ['netns', 'add', nsName]);
  await sysctl(nsName, { 'net.ipv6.conf.all.disable_ipv6': 1, 'net.ipv6.conf.default.disable_ipv6': 1 });
  await must('ip', ['-n', nsName, 'link', 'set', 'lo', 'up']);
}

if (process.argv[1]?.endsWith('/testkit/netns.js') && process.argv[2] === 'cleanup') {
  const prefix = process.argv[3] ?? NS_ROOT_PREFIX;
  cleanup(prefix).then(
    () => console.log(`removed namespaces starting with ${prefix}`),
    (e: unknown) => {
      console.error(String(e));
      process.exit(1);
    },
  );
}
