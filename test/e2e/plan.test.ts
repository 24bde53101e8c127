// Dry runs end to end, for each plane type: `backend pool del 2 -plan` changes nothing, and what it
// announces is what the real change then moves: the live sessions it says would move are the open
// connections on b2 that break (each one a STALE session in the stats), and the Maglev entries b2 loses
// are those it gains when it is added back.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mustWaitFor } from '../../testkit/timing.js';
import { type ClientResult, clientStreaming, reached, type Streaming } from '../../testkit/traffic.js';
import { Bed, noFailures, TYPES } from './backends-env.js';
import { skipReason } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };
const CONNECTIONS = 12;

interface DryRun {
  dry_run: true;
  changes: {
    maglev_entries: number;
    backends: {
      service: string;
      id: number;
      maglev_gained: number;
      maglev_lost: number;
      sessions_moving: number;
    }[];
  };
}

for (const type of TYPES) {
  describe(`dry runs end to end, type=${type}`, { skip }, () => {
    let bed: Bed;
    const clients: { s: Streaming; last?: ClientResult }[] = [];

    before(async () => {
      bed = await Bed.up(type);
    }, T);

    after(async () => {
      for (const c of clients) c.s.kill();
      await bed?.down();
    });

    it('-plan changes nothing and announces what the real change moves', T, async () => {
      for (let i = 0; i < CONNECTIONS; i++) {
        const ns = bed.topo.clients[i % 2]?.ns ?? '';
        const c: { s: Streaming; last?: ClientResult } = {
          s: clientStreaming(
            ns,
            'keepalive',
            { count: 100_000, 'interval-ms': 300, 'duration-ms': 90_000 },
            (r) => {
              c.last = r;
            },
          ),
        };
        clients.push(c);
      }
      await mustWaitFor('every connection answered', () => clients.every((c) => (c.last?.done ?? 0) > 0), {
        timeoutMs: 20_000,
      });
      const onB2 = clients.filter((c) => reached(c.last as ClientResult)[0] === 'b2').length;
      const b2 = bed.backend(2);
      const dry = JSON.parse(
        await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'del', '2', '-plan', '-json'),
      ) as DryRun;
      assert.equal(dry.dry_run, true);
      const lost = dry.changes.backends.find((b) => b.id === 2);
      assert.ok(lost, JSON.stringify(dry));
      assert.equal(lost.sessions_moving, onB2, `${onB2} connections are on b2: ${JSON.stringify(dry)}`);
      assert.equal(lost.maglev_gained, 0);
      // every entry that changes is lost by one backend and gained by another (Maglev also moves a few
      // entries between the remaining backends)
      const sum = (k: 'maglev_lost' | 'maglev_gained') => dry.changes.backends.reduce((a, b) => a + b[k], 0);
      assert.equal(sum('maglev_lost'), dry.changes.maglev_entries, JSON.stringify(dry));
      assert.equal(sum('maglev_gained'), dry.changes.maglev_entries, JSON.stringify(dry));
      assert.ok(dry.changes.maglev_entries - lost.maglev_lost < 200, 'little moves besides b2 entries');
      assert.ok(
        lost.maglev_lost > 65_537 / 3 - 2000 && lost.maglev_lost < 65_537 / 3 + 2000,
        JSON.stringify(lost),
      );
      // nothing changed
      assert.ok((await bed.entry(2)) !== undefined, 'b2 is still in the pool');
      const still = await bed.http(60);
      noFailures(still, 'after the dry run');
      assert.ok(reached(still).includes('b2'));

      // the real change: the flows on b2 move (STALE, their connection reset by the backend that gets
      // them; the client opens a new one elsewhere), the others stay where they are
      const staleBefore = (await bed.stats()).sessions.stale;
      const doneBefore = clients.map((c) => c.last?.done ?? 0);
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'del', '2');
      const wasOnB2 = clients.map((c) => reached(c.last as ClientResult)[0] === 'b2');
      await mustWaitFor(
        'every connection made three more requests, those of b2 on another backend',
        () =>
          clients.every(
            (c, i) =>
              (c.last?.done ?? 0) >= (doneBefore[i] ?? 0) + 3 &&
              (!wasOnB2[i] || reached(c.last as ClientResult).length > 1),
          ),
        { timeoutMs: 30_000 },
      );
      const seen = clients.map((c) => ({ counts: c.last?.counts, errors: c.last?.errors }));
      const moved = clients.filter((c) => reached(c.last as ClientResult).length > 1);
      assert.equal(moved.length, onB2, `the flows that moved are those announced: ${JSON.stringify(seen)}`);
      assert.ok(
        moved.every((c) => (c.last?.counts.b2 ?? 0) > 0),
        `only flows of b2 moved: ${JSON.stringify(seen)}`,
      );
      const stale = (await bed.stats()).sessions.stale - staleBefore;
      assert.equal(stale, lost.sessions_moving, 'STALE sessions = sessions announced as moving');

      // adding it back gives b2 as many entries as the deletion took
      const back = JSON.parse(
        await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', 'add', '2', `mac=${b2.mac}`, '-plan', '-json'),
      ) as DryRun;
      const gained = back.changes.backends.find((b) => b.id === 2);
      assert.equal(gained?.maglev_gained, lost.maglev_lost, JSON.stringify(back));
    });
  });
}
