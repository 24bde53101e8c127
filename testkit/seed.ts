// The command list of the seed (polycube-lbdsr-README.md, "Use the load balancer"; its lines are kept in
// test/fixtures/polycube-commands.txt, which test/e2e/lbdsr.test.ts checks this list against), with
// `polycubectl` replaced by `lbdsrctl` and nothing else changed.
import type { Topology } from './bridge.js';

export const SEED_COMMANDS: readonly string[] = [
  'lbdsrctl lbdsr add lb1',
  'lbdsrctl lbdsr lb1 ports add frontend-port type=FRONTEND',
  'lbdsrctl lbdsr lb1 ports add backend-port type=BACKEND',
  'lbdsrctl lbdsr lb1 ports frontend-port set peer="veth1"',
  'lbdsrctl lbdsr lb1 ports backend-port set peer="veth2"',
  'lbdsrctl lbdsr lb1 frontend set mac=aa:bb:cc:dd:ee:ff',
  'lbdsrctl lbdsr lb1 frontend set vip=10.0.0.100',
  'lbdsrctl lbdsr lb1 backend pool add 1 mac=01:01:01:01:01:01',
  'lbdsrctl lbdsr lb1 backend pool add 2 mac=02:02:02:02:02:02',
  'lbdsrctl lbdsr lb1 backend pool add 3 mac=03:03:03:03:03:03',
];

/** The seed's placeholder backend MACs, by pool id. */
export const SEED_BACKEND_MACS: Record<number, string> = {
  1: '01:01:01:01:01:01',
  2: '02:02:02:02:02:02',
  3: '03:03:03:03:03:03',
};

/** The seed's list with only the peer interface names replaced by the topology's. */
export function seedCommandsFor(topo: Topology): string[] {
  return SEED_COMMANDS.map((c) =>
    c
      .replace('peer="veth1"', `peer="${topo.frontendIf}"`)
      .replace('peer="veth2"', `peer="${topo.backendIf}"`),
  );
}

/** The seed's list for real traffic: peers replaced, and the pool pointing at the backends' real MACs. */
export function seedCommandsWithBackends(topo: Topology): string[] {
  return seedCommandsFor(topo).map((c) => {
    const m = /backend pool add (\d+) mac=(\S+)$/.exec(c);
    const b = m ? topo.backends.find((x) => x.id === Number(m[1])) : undefined;
    return b && m ? c.replace(`mac=${m[2]}`, `mac=${b.mac}`) : c;
  });
}

/** The commands that point the seed's pool at the backends' real MACs (the seed's MACs are placeholders). */
export function repointPool(topo: Topology): string[] {
  const out: string[] = [];
  for (const b of topo.backends) {
    out.push(`lbdsrctl lbdsr lb1 backend pool del ${b.id}`);
    out.push(`lbdsrctl lbdsr lb1 backend pool add ${b.id} mac=${b.mac}`);
  }
  return out;
}
