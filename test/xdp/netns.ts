// A small namespace topology for the XDP plane tests: a client and a server namespace wired by veth
// pairs to a balancer namespace that holds the two ports. Everything is created inside namespaces
// this run owns (unique names) and removed by `destroy` (also on process exit).
import { type ChildProcess, spawn } from 'node:child_process';
import { must, runSync, sleep } from '../../scripts/lib/exec.js';
import type { ResolvedPort, ResolvedPorts } from '../../src/core/model.js';

export interface Lab {
  prefix: string;
  lb: string;
  client: string;
  server: string;
  ports: ResolvedPorts;
  clientIp: string;
  serverMac: string;
  vip: string;
  destroy(): Promise<void>;
}

const live = new Set<string>();
process.on('exit', () => {
  for (const ns of live) runSync('ip', ['netns', 'del', ns]);
});

let n = 0;

async function port(ns: string, ifname: string, name: string): Promise<ResolvedPort> {
  const j = JSON.parse(await must('ip', ['-n', ns, '-j', 'link', 'show', 'dev', ifname])) as {
    ifindex: number;
    address: string;
  }[];
  return { name, ifname, ifindex: j[0]!.ifindex, mac: j[0]!.address };
}

/** client (10.77.0.1) -- fe [lb] be -- server (VIP on lo, MAC 02:77:00:00:00:01). */
export async function buildLab(): Promise<Lab> {
  n++;
  const prefix = `lbx${process.pid.toString(36)}${n}`;
  const lb = `${prefix}l`;
  const client = `${prefix}c`;
  const server = `${prefix}s`;
  const vip = '10.77.0.100';
  const serverMac = '02:77:00:00:00:01';
  const lab: Lab = {
    prefix,
    lb,
    client,
    server,
    ports: {},
    clientIp: '10.77.0.1',
    serverMac,
    vip,
    async destroy() {
      for (const ns of [client, server, lb]) {
        runSync('ip', ['netns', 'del', ns]);
        live.delete(ns);
      }
    },
  };
  try {
    for (const ns of [lb, client, server]) {
      await must('ip', ['netns', 'add', ns]);
      live.add(ns);
      await must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    await must('ip', [
      '-n',
      lb,
      'link',
      'add',
      'fe',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      client,
    ]);
    await must('ip', [
      '-n',
      lb,
      'link',
      'add',
      'be',
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      server,
    ]);
    await must('ip', ['-n', server, 'link', 'set', 'eth0', 'address', serverMac]);
    for (const [ns, dev] of [
      [lb, 'fe'],
      [lb, 'be'],
      [client, 'eth0'],
      [server, 'eth0'],
    ] as const) {
      await must('ip', ['-n', ns, 'link', 'set', dev, 'up']);
    }
    await must('ip', ['-n', client, 'addr', 'add', '10.77.0.1/24', 'dev', 'eth0']);
    await must('ip', ['-n', server, 'addr', 'add', '10.77.0.21/24', 'dev', 'eth0']);
    await must('ip', ['-n', server, 'addr', 'add', `${vip}/32`, 'dev', 'lo']);
    await must('ip', [
      'netns',
      'exec',
      server,
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.conf.all.arp_ignore=1',
      'net.ipv4.conf.all.arp_announce=2',
      'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.eth0.rp_filter=0',
    ]);
    lab.ports = { frontend: await port(lb, 'fe', 'frontend'), backend: await port(lb, 'be', 'backend') };
    return lab;
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/** A UDP listener on VIP:7777 in the server namespace that counts datagrams. */
export class UdpSink {
  count = 0;
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;

  constructor(ns: string, ip: string, port = 7777) {
    const script = `const s=require('dgram').createSocket('udp4');s.on('message',()=>process.stdout.write('.'));s.bind(${port},'${ip}',()=>process.stdout.write('R'));setTimeout(()=>process.exit(0),120000);`;
    this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.ready = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('UDP sink did not start')), 10_000);
      this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        for (const ch of d) {
          if (ch === 'R') {
            clearTimeout(t);
            resolve();
          } else if (ch === '.') this.count++;
        }
      });
    });
  }

  start(): Promise<void> {
    return this.ready;
  }

  /** Waits (bounded) until `n` datagrams arrived; returns the count either way. */
  async waitFor(n: number, timeoutMs = 5000): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.count < n && Date.now() < until) await sleep(20);
    return this.count;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** Sends `count` datagrams from the client namespace, one flow (fixed source port). */
export async function sendUdp(
  ns: string,
  dst: string,
  count: number,
  sport = 40000,
  port = 7777,
): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');s.bind(${sport},()=>{let i=0;const go=()=>{if(i++>=${count}){s.close();return;}s.send('x'+i,${port},'${dst}',()=>setTimeout(go,2));};go();});`;
  await must('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { timeoutMs: 15_000 });
}
