// The health prober tests' lab (test/health/prober.test.ts, nd.test.ts): testkit/bridge.ts's
// topology, a test server in each backend's namespace and a prober on the BACKEND port recording its
// events; built in before() (with a test's own preparation of the topology before the servers start)
// and torn down in after() of the calling describe block.
import { after, before } from 'node:test';
import type { BackendProber } from '../../src/health/prober.js';
import { type Backend, buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { newPrefix } from '../../testkit/netns.js';
import { Recorder, startProber, TestServer } from '../health/servers.js';

export interface ProberLab {
  /** The fields below are set from before() on. */
  topo: Topology;
  prober: BackendProber;
  b1: Backend;
  b2: Backend;
  b3: Backend;
  /** The prober's events. */
  readonly ev: Recorder;
  /** The servers, one per backend, in the order of topo.backends. */
  readonly servers: TestServer[];
}

/** Registers the hooks; `prepare` runs on the new topology before the servers start. */
export function proberLab(
  tag: string,
  prepare: (topo: Topology) => Promise<void> = async () => {},
): ProberLab {
  const lab = { ev: new Recorder(), servers: [] as TestServer[] } as Partial<ProberLab> & {
    ev: Recorder;
    servers: TestServer[];
  };
  before(async () => {
    const topo = await buildTopology(newPrefix(tag));
    lab.topo = topo;
    [lab.b1, lab.b2, lab.b3] = topo.backends as [Backend, Backend, Backend];
    await prepare(topo);
    for (const b of topo.backends) lab.servers.push(new TestServer(b.ns, b.name));
    for (const s of lab.servers) await s.start();
    lab.prober = startProber(topo, lab.ev);
  });
  after(async () => {
    await lab.prober?.close();
    for (const s of lab.servers) await s.kill();
    if (lab.topo) await teardown(lab.topo);
  });
  return lab as ProberLab;
}
