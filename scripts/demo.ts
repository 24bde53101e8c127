// `npm run demo` (as root): DSR load balancing in under a minute, with nothing to set up by hand.
// Builds a bridge with two clients, three backends and the balancer in network namespaces, starts lbdsrd,
// applies the seed's commands (showing each), drives traffic from both clients with a live per-backend
// table, measures that replies bypass the balancer, makes the service dual stack (a second, IPv6 VIP:
// the same pool reached over either family) and removes everything (also on Ctrl-C or an error).
// Options: --type USERSPACE|XDP_SKB|XDP_DRV (default: the daemon's automatic choice), --connections N.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatsSnapshot } from '../src/core/model.js';
import { buildTopology, prepareNativeXdp, type Topology, teardown } from '../testkit/bridge.js';
import { Daemon } from '../testkit/daemon.js';
import { addIpv6, ip6Of, VIP6 } from '../testkit/ipv6.js';
import { ifStats, installHandlers, neighbourMac } from '../testkit/netns.js';
import { REPO } from '../testkit/paths.js';
import { isRoot } from '../testkit/root.js';
import { seedCommandsWithBackends } from '../testkit/seed.js';
import {
  type ClientResult,
  client,
  clientStreaming,
  ping,
  reached,
  startServers,
} from '../testkit/traffic.js';

const tty = process.stdout.isTTY === true;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const say = (s = '') => process.stdout.write(`${s}\n`);

const USAGE = 'usage: npm run demo [-- --type USERSPACE|XDP_SKB|XDP_DRV] [--connections N]';

function options(): { type: string | undefined; connections: number } {
  try {
    const { values } = parseArgs({
      options: {
        type: { type: 'string' },
        connections: { type: 'string', default: '500' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const connections = Number(values.connections);
    if (!Number.isInteger(connections))
      throw new Error(`--connections takes a number, not '${values.connections}'`);
    return { type: values.type?.toUpperCase(), connections };
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

const INTRO = `lbdsr demo: Direct Server Return load balancing at layer 2.
  Clients send to the VIP ${'10.0.0.100'} (and, once the service is dual stack, to ${VIP6}); ARP (IPv6:
  Neighbor Discovery) for it is answered by the balancer with its frontend MAC.
  The balancer only rewrites the destination MAC of each frame to the chosen backend's and sends it out of
  its backend port. Every backend holds the VIP on lo, so it answers the client DIRECTLY through the
  bridge: the return path bypasses the balancer. We measure that as frames the balancer's frontend
  interface receives vs transmits.`;

/** Why the usual drops of this topology happen (the bridge floods broadcasts and unknown unicast). */
const DROP_HINTS: Record<string, string> = {
  BACKEND_PORT: ' (broadcasts the bridge floods to the backend port)',
  ARP: ' (ARP requests for other addresses, flooded by the bridge)',
  DST_MAC: ' (frames for other hosts, flooded by the bridge)',
  ETHERTYPE: ' (frames neither IPv4 nor IPv6)',
  ND: " (the hosts' own Neighbor Discovery, flooded by the bridge)",
  NOT_VIP: ' (IPv6 multicast of the hosts: MLD, solicitations for other addresses)',
};

function bar(n: number, max: number, width = 30): string {
  const w = max > 0 ? Math.round((n / max) * width) : 0;
  return `${'#'.repeat(w)}${' '.repeat(width - w)}`;
}

interface Live {
  results: Map<string, ClientResult>;
  total: number;
  fe: { rx: number; tx: number };
  be: { rx: number; tx: number };
}

function table(topo: Topology, live: Live): string[] {
  const counts: Record<string, number> = {};
  let failures = 0;
  for (const r of live.results.values()) {
    failures += r.failures;
    for (const [k, v] of Object.entries(r.counts)) counts[k] = (counts[k] ?? 0) + v;
  }
  const max = Math.max(1, ...Object.values(counts));
  const lines = [bold('  backend  address    MAC                  connections')];
  for (const b of topo.backends) {
    const n = counts[b.name] ?? 0;
    lines.push(
      `  ${b.name.padEnd(8)} ${b.ip.padEnd(10)} ${b.mac}   ${String(n).padStart(5)}  ${bar(n, max)}`,
    );
  }
  for (const c of topo.clients) {
    const r = live.results.get(c.name);
    lines.push(
      `  client ${c.name} ${c.ip}: ${r?.done ?? 0}/${live.total} connections answered, ${r?.failures ?? 0} failed`,
    );
  }
  lines.push(
    `  balancer ${topo.frontendIf} (frontend): rx ${live.fe.rx} frames, tx ${live.fe.tx}   ` +
      `${topo.backendIf} (backend port): tx ${live.be.tx}   failures: ${failures}`,
  );
  return lines;
}

/**
 * Step 5: the service gets its IPv6 VIP (`frontend set vip6=`) and both clients open `perClient` new
 * connections to each VIP at once; then `ping -6` and the client's neighbour entry for the IPv6 VIP.
 * Returns the result's line and whether every connection was answered, by every backend.
 */
async function dualStack(
  t: Topology,
  daemon: Daemon,
  perClient: number,
): Promise<{ line: string; ok: boolean }> {
  say(bold(`5. Dual stack: the same service on an IPv6 VIP too`));
  const cmd = `lbdsrctl lbdsr lb1 frontend set vip6=${VIP6}`;
  say(`  $ ${cmd}`);
  const r = await daemon.shell(cmd);
  if (r.code !== 0) throw new Error(`command failed: ${cmd}: ${r.stderr.trim()}`);
  const urls = [`http://${t.vip}/`, `http://[${VIP6}]/`];
  const opts = { count: perClient, concurrency: 3, 'timeout-ms': 2000, 'deadline-ms': 20_000 };
  const runs = await Promise.all(
    urls.map((url) => Promise.all(t.clients.map((c) => client(c.ns, 'http', { ...opts, url })))),
  );
  const lines: string[] = [];
  let ok = true;
  for (const [i, url] of urls.entries()) {
    const rs = runs[i] ?? [];
    const done = rs.reduce((n, x) => n + x.done, 0);
    const failed = rs.reduce((n, x) => n + x.failures, 0);
    const spread = [...new Set(rs.flatMap(reached))].sort();
    ok &&= failed === 0 && spread.length === t.backends.length;
    lines.push(`${done} connections to ${url} answered by ${spread.join(', ')}; ${failed} failed`);
  }
  for (const l of lines) say(`  ${l}`);
  const c1 = t.clients[0]!;
  const p = await ping(c1.ns, VIP6, 3);
  say(`  ping -6 -c 3 ${VIP6}: ${p.received}/${p.sent} replies`);
  const mac = await neighbourMac(c1.ns, VIP6);
  say(
    `  ${c1.name}'s neighbour entry for ${VIP6} (ip -6 neigh): ${mac ?? 'none'} (the frontend MAC, by Neighbor Discovery)`,
  );
  return { line: `dual stack: ${lines[1] ?? ''}`, ok: ok && p.received > 0 };
}

async function main(): Promise<void> {
  const opts = options();
  if (!isRoot()) {
    console.error(
      'npm run demo needs root (it builds network namespaces): run it as root, e.g. sudo npm run demo',
    );
    process.exit(1);
  }
  const type = opts.type;
  const perClient = Math.min(5000, Math.max(10, opts.connections));
  process.on('SIGINT', () => say('\ninterrupted: removing the namespaces and stopping the daemon...'));
  installHandlers();
  const t0 = Date.now();
  say(bold(INTRO));
  say();
  let topo: Topology | undefined;
  let daemon: Daemon | undefined;
  let servers: { stop(): void } | undefined;
  try {
    say(bold('1. Topology'));
    topo = await buildTopology();
    const t = topo;
    say(
      `  bridge in namespace ${t.switchNs}; balancer namespace ${t.lbNs} with ports ${t.frontendIf} and ${t.backendIf}`,
    );
    await addIpv6(t, VIP6);
    for (const c of t.clients)
      say(`  client  ${c.name} ${c.ip.padEnd(10)} ${ip6Of(c.name)} ${c.mac}  (namespace ${c.ns})`);
    for (const b of t.backends)
      say(
        `  backend ${b.name} ${b.ip.padEnd(10)} ${ip6Of(b.name)} ${b.mac}  VIPs ${t.vip} and ${VIP6} on lo, arp_ignore=1, arp_announce=2`,
      );
    servers = await startServers(t, 10_000, VIP6);
    if (type === 'XDP_DRV') {
      await prepareNativeXdp(t, join(REPO, 'bpf/pass.bpf.o'));
      say('  native XDP on veth: XDP_PASS on the switch-side peers, client checksums computed in software');
    }
    say('  each backend runs an HTTP server on :80 and a UDP echo server on VIP:7000, answering its name');
    say(
      '  (IPv6 on the clients and backends without duplicate address detection; the balancer host keeps it off)',
    );
    say();
    say(bold('2. The daemon and the seed commands'));
    daemon = new Daemon({ ns: t.lbNs, logLevel: 'warn' });
    await daemon.start();
    say(`  lbdsrd listening on ${daemon.listen} inside ${t.lbNs}`);
    say(dim('  (the seed README commands, with the peers and backend MACs of this topology)'));
    const cmds = seedCommandsWithBackends(t);
    if (type) cmds.splice(1, 0, `lbdsrctl lbdsr lb1 set type=${type}`);
    for (const cmd of cmds) {
      say(`  $ ${cmd}`);
      const r = await daemon.shell(cmd);
      for (const l of `${r.stdout}${r.stderr}`.trim().split('\n').filter(Boolean)) say(dim(`    ${l}`));
      if (r.code !== 0) throw new Error(`command failed: ${cmd}`);
    }
    const view = await daemon.showJson();
    say(`  data plane in use: ${bold(view.plane ?? view.type ?? 'unknown')}`);
    // A short probe first: a balancer that does not forward fails here in seconds, not after the table.
    const probe = await client(t.clients[0]!.ns, 'http', {
      count: 3,
      concurrency: 1,
      'timeout-ms': 2000,
      'deadline-ms': 8000,
    });
    if (probe.done === 0)
      throw new Error(
        `the VIP does not answer (${JSON.stringify(probe.errors)}): the data plane is not forwarding`,
      );
    say();

    say(bold(`3. Traffic: ${perClient} new HTTP connections from each client (Connection: close)`));
    const live: Live = { results: new Map(), total: perClient, fe: { rx: 0, tx: 0 }, be: { rx: 0, tx: 0 } };
    const fe0 = await ifStats(t.lbNs, t.frontendIf);
    const be0 = await ifStats(t.lbNs, t.backendIf);
    const refreshCounters = async () => {
      const fe = await ifStats(t.lbNs, t.frontendIf);
      const be = await ifStats(t.lbNs, t.backendIf);
      live.fe = { rx: fe.rx - fe0.rx, tx: fe.tx - fe0.tx };
      live.be = { rx: be.rx - be0.rx, tx: be.tx - be0.tx };
    };
    let drawn = 0;
    const draw = () => {
      const lines = table(t, live);
      if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A`);
      for (const l of lines) process.stdout.write(`${tty ? '\x1b[2K' : ''}${l}\n`);
      drawn = lines.length;
    };
    const runs = t.clients.map((c) =>
      clientStreaming(
        c.ns,
        'http',
        { count: perClient, concurrency: 3, 'pause-ms': 20, 'timeout-ms': 2000, 'deadline-ms': 30_000 },
        (r) => live.results.set(c.name, r),
      ),
    );
    let ticking = true;
    const ticker = (async () => {
      while (ticking) {
        await refreshCounters();
        if (tty) draw();
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await Promise.all(runs.map((r) => r.done));
    } finally {
      ticking = false;
      await ticker;
      for (const r of runs) r.kill();
    }
    await refreshCounters();
    draw();
    say();

    say(bold('4. Stickiness'));
    const ka = await client(t.clients[0]!.ns, 'keepalive', {
      count: 50,
      'timeout-ms': 2000,
      'deadline-ms': 10_000,
    });
    say(`  one keep-alive connection, 50 requests: ${JSON.stringify(ka.counts)} (${ka.failures} failed)`);
    const u1 = await client(t.clients[1]!.ns, 'udp-one', { count: 30, 'deadline-ms': 10_000 });
    say(`  one UDP socket, 30 datagrams:          ${JSON.stringify(u1.counts)} (${u1.failures} lost)`);
    const um = await client(t.clients[1]!.ns, 'udp-many', { count: 60, 'deadline-ms': 10_000 });
    say(`  60 UDP sockets, one datagram each:     ${JSON.stringify(um.counts)} (${um.failures} lost)`);
    const p = await ping(t.clients[0]!.ns, t.vip, 3);
    say(`  ping -c 3 ${t.vip}:                   ${p.received}/${p.sent} replies`);
    say();

    const dual = await dualStack(t, daemon, Math.min(perClient, 50));
    say();

    say(bold('6. What the balancer counted') + dim('  (summary of: lbdsrctl lbdsr lb1 stats show)'));
    const st = JSON.parse(await daemon.mustCtl('lbdsr', 'lb1', 'stats', 'show', '-json')) as StatsSnapshot;
    say(
      `  received ${st.rx.packets} frames; sent ${st.tx.backend} to backends, ${st.tx.frontend} on the frontend (ARP replies: ${st.arpReplies}, ND replies: ${st.ndReplies ?? 0})`,
    );
    const drops = Object.entries(st.drops).filter(([, n]) => n > 0);
    say(
      `  dropped: ${drops.length ? drops.map(([k, n]) => `${k} ${n}${DROP_HINTS[k] ?? ''}`).join(', ') : 'nothing'}`,
    );
    say(`  sessions: ${st.sessions.miss} created, ${st.sessions.hit} hits, ${st.sessions.active} active`);
    const byId = new Map(t.backends.map((b) => [b.id, b.name]));
    say(
      `  per backend: ${st.backends.map((b) => `${byId.get(b.id) ?? b.id} ${b.packets} frames / ${b.sessions} sessions`).join(', ')}`,
    );
    say();

    const total = [...live.results.values()].reduce((n, r) => n + r.done, 0);
    const failures = [...live.results.values()].reduce((n, r) => n + r.failures, 0);
    const spread = [...new Set([...live.results.values()].flatMap(reached))].sort();
    say(bold('Result'));
    say(`  ${total} connections answered by ${spread.join(', ')}; ${failures} failed.`);
    say(
      `  DSR: the balancer's frontend ${t.frontendIf} received ${live.fe.rx} frames and transmitted ${live.fe.tx} ` +
        `(ARP replies only): every reply went from the backend straight to the client.`,
    );
    say(`  ${dual.line}`);
    say(`  Done in ${((Date.now() - t0) / 1000).toFixed(1)} s; removing the namespaces.`);
    if (failures > 0 || spread.length < t.backends.length || !dual.ok) process.exitCode = 1;
  } catch (e) {
    console.error(`demo failed: ${e instanceof Error ? e.message : String(e)}`);
    if (daemon) console.error(`--- lbdsrd log (last lines) ---\n${daemon.logTail(15)}`);
    process.exitCode = 1;
  } finally {
    servers?.stop();
    await daemon?.dispose().catch(() => {});
    if (topo) await teardown(topo);
  }
}

await main();
