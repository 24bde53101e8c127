// The XDP plane tests' topology: client (10.77.0.1) [eth0] --veth-- [fe] balancer [be] --veth-- [eth0]
// server (10.77.0.21, VIP on lo, MAC 02:77:00:00:00:01), built by the testkit's line builder
// (testkit/line.ts), which names, tracks and removes it; and the instance configuration the plane
// tests give it (XDP_SKB, its fe/be ports, the VIP with `pool`).
import {
  DEFAULT_SESSION_SETTINGS,
  type InstanceConfig,
  type ResolvedPort,
  type ResolvedPorts,
} from '../../src/core/model.js';
import { ipSync } from '../../testkit/exec.js';
import { Line } from '../../testkit/line.js';

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

function port(ns: string, ifname: string, name: string): ResolvedPort {
  const j = JSON.parse(ipSync('-n', ns, '-j', 'link', 'show', 'dev', ifname)) as {
    ifindex: number;
    address: string;
  }[];
  const l = j[0];
  if (!l) throw new Error(`no interface ${ifname} in ${ns}`);
  return { name, ifname, ifindex: l.ifindex, mac: l.address };
}

export async function buildLab(): Promise<Lab> {
  const vip = '10.77.0.100';
  const serverMac = '02:77:00:00:00:01';
  const l = Line.build({
    tag: 'x',
    fe: 'fe',
    be: 'be',
    left: { role: 'c', ifname: 'eth0', addrs: ['10.77.0.1/24'] },
    right: {
      role: 's',
      ifname: 'eth0',
      mac: serverMac,
      addrs: ['10.77.0.21/24'],
      loAddrs: [`${vip}/32`],
      sysctls: {
        'net.ipv4.conf.all.arp_ignore': 1,
        'net.ipv4.conf.all.arp_announce': 2,
        'net.ipv4.conf.all.rp_filter': 0,
        'net.ipv4.conf.eth0.rp_filter': 0,
      },
    },
  });
  try {
    return {
      prefix: l.prefix,
      lb: l.lb,
      client: l.left,
      server: l.right,
      ports: { frontend: port(l.lb, 'fe', 'frontend'), backend: port(l.lb, 'be', 'backend') },
      clientIp: '10.77.0.1',
      serverMac,
      vip,
      destroy: async () => l.destroy(),
    };
  } catch (e) {
    l.destroy();
    throw e;
  }
}

/** An XDP_SKB instance on the lab's ports: the VIP at aa:bb:cc:dd:ee:01 with `pool` (`default`). */
export function labConfig(lab: Lab, name: string, pool: { id: number; mac: string }[]): InstanceConfig {
  return {
    name,
    type: 'XDP_SKB',
    loglevel: 'INFO',
    algorithm: 'HASH_SESSION',
    ports: [
      { name: 'frontend', type: 'FRONTEND', peer: 'fe' },
      { name: 'backend', type: 'BACKEND', peer: 'be' },
    ],
    frontend: { vip: lab.vip, mac: 'aa:bb:cc:dd:ee:01' },
    backend: { pool },
    sessions: { ...DEFAULT_SESSION_SETTINGS, capacity: 4096 },
  };
}
