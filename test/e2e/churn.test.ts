// Configuration changes under traffic (issue 8, item 9): with 4,096 backends, one backend removed and
// re-added through REST while a bounded UDP frame stream crosses the balancer. Every change must be
// answered 2xx, no frame may be lost (each one the generator sent is counted behind the backend port,
// and the plane drops none), and the pool ends with its 4,096 backends. No timing assertions: the bench
// (bench/churn.ts) measures how long a change takes.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ChurnOutcome,
  type ChurnPlane,
  type ChurnSetup,
  churnUnderTraffic,
  disposeChurn,
  setupChurn,
} from '../../testkit/churn.js';
import { REPO } from '../../testkit/paths.js';
import { skipReason } from './env.js';

const skip = skipReason();
const POOL = 4096;
const CYCLES = 10; // 20 requests
const RATE = 20_000; // frames/s: moderate, so a loaded machine does not drop frames before the balancer
const PLANES: ChurnPlane[] = ['USERSPACE', 'XDP_SKB'];
const T = { timeout: 120_000 };

for (const plane of PLANES) {
  describe(`configuration changes under traffic, type=${plane}`, { skip }, () => {
    let s: ChurnSetup | undefined;
    let out: ChurnOutcome | undefined;

    before(async () => {
      s = await setupChurn(plane, POOL, join(REPO, 'bpf/pass.bpf.o'));
      out = await churnUnderTraffic(s, POOL, CYCLES, RATE);
    }, T);

    after(async () => {
      if (s) await disposeChurn(s);
    }, T);

    it('answers every removal and re-addition 2xx and ends with the whole pool', () => {
      assert.ok(out);
      assert.equal(out.run.error, undefined);
      assert.equal(out.run.statuses.length, CYCLES * 2);
      assert.deepEqual(
        out.run.statuses.filter((st) => st < 200 || st >= 300),
        [],
      );
      assert.equal(out.finalPool, POOL);
    });

    it('loses no frame of the stream that crosses the changes', () => {
      assert.ok(out);
      const st = out.stream;
      assert.ok(st.sent > 0, 'the generator sent frames');
      assert.deepEqual(st.drops, {}, 'the plane dropped none');
      const seen = JSON.stringify({ ...st, churned: out.churned });
      assert.equal(st.received, st.sent, `every sent frame is behind the backend port: ${seen}`);
      assert.equal(st.lost, 0);
    });
  });
}
