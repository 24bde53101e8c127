// The long-lived connection kit itself (testkit/longlived.ts), without a balancer: a client and three
// echo servers on the bridge of testkit/bridge.ts, the connections going to the servers' own addresses
// round robin. Nothing disturbed: every connection survives and every new connection succeeds. A server
// killed: exactly its connections fail, in the phase it was killed, with that server named; a server cut
// off (its link down): its connections fail by timeout, in that phase.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTopology, type Topology, teardown } from '../../testkit/bridge.js';
import { must } from '../../testkit/exec.js';
import { type EchoServers, formatReport, LongLived, startEchoServers } from '../../testkit/longlived.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { skipReason } from './env.js';

const skip = skipReason();
const PER_SERVER = 20;

describe('long-lived connection kit', { skip, timeout: 180_000 }, () => {
  let topo: Topology;
  let servers: EchoServers;
  const hosts = () => topo.backends.map((b) => b.ip);
  const client = () => topo.clients[0]?.ns ?? '';

  before(async () => {
    topo = await buildTopology();
    servers = await startEchoServers(topo.backends);
  });
  after(async () => {
    servers?.stop();
    if (topo) await teardown(topo);
  });

  it('nothing disturbed: every connection survives, every new connection succeeds', async () => {
    const ll = await LongLived.start({
      ns: client(),
      hosts: hosts(),
      connections: 3 * PER_SERVER,
      newPerSecond: 20,
      newHosts: [topo.backends[0]?.ip ?? ''],
    });
    let r: Awaited<ReturnType<LongLived['stop']>>;
    try {
      await ll.flowing(5);
      ll.mark('steady');
      await ll.flowing(5);
    } finally {
      r = await ll.stop();
    }
    const why = formatReport(r);
    assert.equal(r.connections, 3 * PER_SERVER, why);
    assert.equal(r.survived, 3 * PER_SERVER, why);
    assert.deepEqual(r.failed, [], why);
    assert.deepEqual(r.byServer, { b1: PER_SERVER, b2: PER_SERVER, b3: PER_SERVER }, why);
    assert.ok(r.echoes >= 10 * 3 * PER_SERVER, why);
    assert.equal(r.newFailed, 0, why);
    assert.ok(r.newSucceeded > 0, why);
    assert.deepEqual(
      r.phases.map((p) => [p.label, p.failures]),
      [
        ['start', 0],
        ['steady', 0],
      ],
    );
  });

  it('a server killed: its connections fail in that phase; one cut off: its connections time out', async () => {
    const ll = await LongLived.start({ ns: client(), hosts: hosts(), connections: 3 * PER_SERVER });
    let r: Awaited<ReturnType<LongLived['stop']>>;
    try {
      await ll.flowing(3);
      ll.mark('kill b2');
      servers.kill('b2');
      await mustWaitFor('b2 connections failed', () => ll.progress().failed >= PER_SERVER, {
        timeoutMs: 10_000,
      });
      ll.mark('cut b3');
      await must('ip', ['-n', topo.backends[2]?.ns ?? '', 'link', 'set', 'eth0', 'down']);
      await mustWaitFor('b3 connections failed', () => ll.progress().failed >= 2 * PER_SERVER, {
        timeoutMs: 15_000,
      });
      ll.mark('after');
      await ll.flowing(3);
    } finally {
      r = await ll.stop();
    }
    const why = formatReport(r);
    assert.equal(r.survived, PER_SERVER, why);
    const phase = (label: string) => r.phases.find((p) => p.label === label);
    assert.equal(phase('kill b2')?.failures, PER_SERVER, why);
    assert.equal(phase('cut b3')?.failures, PER_SERVER, why);
    assert.equal(phase('after')?.failures, 0, why);
    for (const f of r.failed) {
      if (f.server === 'b2') assert.equal(f.phase, 'kill b2', JSON.stringify(f));
      else {
        assert.equal(f.server, 'b3', JSON.stringify(f));
        assert.equal(f.failed, 'timeout', JSON.stringify(f));
        assert.equal(f.phase, 'cut b3', JSON.stringify(f));
      }
    }
    assert.equal(r.failed.filter((f) => f.server === 'b2').length, PER_SERVER, why);
  });
});
