// Drain end to end, for each plane type: a DRAINING server finishes an open keep-alive connection and
// gets no new ones; once its last session has idled out it becomes DISABLED (logged). With a deadline it
// becomes DISABLED when the deadline passes, whatever is still open.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mustWaitFor } from '../../testkit/timing.js';
import { type ClientResult, clientStreaming, reached } from '../../testkit/traffic.js';
import { Bed, noFailures, TYPES } from './backends-env.js';
import { skipReason } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };
/** TCP sessions idle out after this (s): a finished connection's session is gone soon after. */
const TCP_IDLE_S = 3;

for (const type of TYPES) {
  describe(`drain end to end, type=${type}`, { skip }, () => {
    let bed: Bed;

    before(async () => {
      bed = await Bed.up(type);
      await bed.ctl('lbdsr', 'lb1', 'set', `sessions.timeouts.tcp=${TCP_IDLE_S}`);
    }, T);

    after(async () => {
      await bed?.down();
    });

    /** A keep-alive connection from c2 (a request every 200 ms) and the backend it landed on. */
    async function openKeepAlive(durationMs: number) {
      let progress: ClientResult | undefined;
      const ns = bed.topo.clients[1]?.ns ?? '';
      const s = clientStreaming(
        ns,
        'keepalive',
        { count: 100_000, 'interval-ms': 200, 'duration-ms': durationMs, 'deadline-ms': durationMs + 20_000 },
        (r) => {
          progress = r;
        },
      );
      await mustWaitFor('the keep-alive connection answered', () => (progress?.done ?? 0) > 0, {
        timeoutMs: 10_000,
      });
      const name = Object.keys(progress?.counts ?? {})[0] ?? '';
      const id = bed.topo.backends.find((b) => b.name === name)?.id ?? -1;
      return { s, name, id };
    }

    it(
      'a DRAINING server finishes its keep-alive connection, gets no new ones, then is DISABLED',
      T,
      async () => {
        const ka = await openKeepAlive(6000);
        await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', String(ka.id), 'set', 'state=DRAINING');
        const e = await bed.waitEntry(ka.id, 'DRAINING with its live session', (x) => x.sessions >= 1);
        assert.equal(e.state, 'DRAINING');
        assert.equal(e.serving, false);
        const fresh = await bed.http(60);
        noFailures(fresh, 'new connections while draining');
        assert.ok(
          !reached(fresh).includes(ka.name),
          `${ka.name} got new connections: ${JSON.stringify(fresh.counts)}`,
        );
        const done = await ka.s.done;
        noFailures(done, 'the keep-alive connection');
        assert.deepEqual(reached(done), [ka.name]);
        assert.equal(done.sockets, 1, 'one connection all along');
        // its session idles out TCP_IDLE_S after the last request, the count reaches 0: DISABLED
        const off = await bed.waitEntry(ka.id, 'DISABLED', (x) => x.state === 'DISABLED', 30_000);
        assert.ok(off.state_since, 'state_since set');
        const events = await bed.events();
        assert.ok(
          events.some((x) => x.type === 'drained' && x.message.includes(`backend ${ka.id} `)),
          JSON.stringify(events),
        );
        await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', String(ka.id), 'set', 'state=ACTIVE');
      },
    );

    it('a drain with a deadline ends when the deadline passes, connections still open', T, async () => {
      const ka = await openKeepAlive(60_000);
      try {
        const t0 = Date.now();
        await bed.ctl(
          'lbdsr',
          'lb1',
          'backend',
          'pool',
          String(ka.id),
          'set',
          'state=DRAINING',
          'deadline=3',
        );
        await bed
          .waitEntry(ka.id, 'DRAINING', (x) => x.state === 'DRAINING' && x.sessions >= 1, 5000)
          .catch(() => {});
        await bed.waitEntry(ka.id, 'DISABLED at the deadline', (x) => x.state === 'DISABLED', 20_000);
        assert.ok(Date.now() - t0 >= 3000, 'not before the deadline');
      } finally {
        ka.s.kill();
      }
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', String(ka.id), 'set', 'state=ACTIVE');
    });
  });
}
