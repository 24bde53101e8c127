// The kill loop: a real lbdsrd takes changes as fast as a client can send them and is killed with SIGKILL
// at random moments; config.json must always parse and hold either the last acknowledged configuration
// or the one in flight, and the restarted daemon must serve exactly that.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDaemon, tempDir } from './helpers.js';

const POOL = '/polycube/v1/lbdsr/lb1/';

function mac(n: number): string {
  const h = n.toString(16).padStart(8, '0');
  return `00:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}`;
}

/** Change n adds backend n and sets the algorithm by its parity: the state after n changes is known. */
function expectedAfter(n: number) {
  return {
    ids: Array.from({ length: n }, (_, i) => i + 1),
    algorithm: n === 0 ? 'HASH_SESSION' : n % 2 ? 'HASH_SRC_IP' : 'HASH_SESSION',
  };
}

test('kill -9 at any instant leaves the old or the new configuration, and a restart serves it', async (t) => {
  const state = tempDir('kill');
  const iterations = 20;
  const deadline = Date.now() + 90_000;
  let d = await startDaemon(state.dir);
  try {
    const r = await fetch(`${d.url}${POOL}`, { method: 'POST' });
    assert.equal(r.status, 201);
    let applied = 0;
    let done = 0;
    let landedBetween = 0;
    for (let iter = 0; iter < iterations && Date.now() < deadline; iter++) {
      let acked = applied;
      let stop = false;
      const url = d.url;
      const hammer = (async () => {
        for (let k = 0; k < 10_000 && !stop; k++) {
          const next = acked + 1;
          try {
            const res = await fetch(`${url}${POOL}`, {
              method: 'PATCH',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({
                algorithm: expectedAfter(next).algorithm,
                backend: { pool: [{ id: next, mac: mac(next) }] },
              }),
            });
            if (res.status !== 200)
              throw new Error(`change ${next} answered ${res.status}: ${await res.text()}`);
            acked = next;
          } catch (e) {
            if (stop) return;
            throw e;
          }
        }
      })();
      await new Promise((res) => setTimeout(res, 10 + Math.floor(Math.random() * 150)));
      stop = true;
      await d.kill9();
      await hammer;

      const text = readFileSync(join(state.dir, 'config.json'), 'utf8');
      const saved = JSON.parse(text);
      const lb1 = saved.instances.find((i: { name: string }) => i.name === 'lb1');
      const n = lb1.backend.pool.length;
      assert.ok(
        n === acked || n === acked + 1,
        `iteration ${iter}: file has ${n} changes, acknowledged ${acked}`,
      );
      if (n === acked + 1) landedBetween++;
      const want = expectedAfter(n);
      assert.deepEqual(
        lb1.backend.pool.map((b: { id: number }) => b.id),
        want.ids,
      );
      assert.equal(lb1.algorithm, want.algorithm);

      d = await startDaemon(state.dir);
      const live = (await (await fetch(`${d.url}${POOL}`)).json()) as {
        backend: { pool: Array<{ id: number }> };
        algorithm: string;
      };
      assert.deepEqual(
        live.backend.pool.map((b: { id: number }) => b.id),
        want.ids,
      );
      assert.equal(live.algorithm, want.algorithm);
      applied = n;
      done++;
    }
    assert.ok(done >= 5, `only ${done} kill iterations ran in time`);
    assert.ok(applied > done, `the daemon took too few changes (${applied}) to test anything`);
    const leftovers = readdirSync(state.dir).filter((f) => f.includes('.tmp.'));
    assert.ok(leftovers.length <= 1, `temp files pile up: ${leftovers}`);
    t.diagnostic(
      `kill loop: ${done} kills, ${applied} changes, ${landedBetween} kills landed after a write before its answer`,
    );
  } finally {
    await d.stop();
    state.cleanup();
  }
});
