// Weights end to end, for each plane type: a backend of weight 0 gets no new flows (its open
// connections aside), and weights share the new flows between the others in proportion.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { reached } from '../../testkit/traffic.js';
import { Bed, noFailures, TYPES } from './backends-env.js';
import { skipReason } from './env.js';

const skip = skipReason();
const T = { timeout: 120_000 };

for (const type of TYPES) {
  describe(`weights end to end, type=${type}`, { skip }, () => {
    let bed: Bed;

    before(async () => {
      bed = await Bed.up(type);
    }, T);

    after(async () => {
      await bed?.down();
    });

    it('weight 0 gets no new flows; the others share them by weight', T, async () => {
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', '2', 'set', 'weight=0');
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', '3', 'set', 'weight=25');
      const e2 = await bed.entry(2);
      assert.equal(e2?.weight, 0);
      assert.equal(e2?.serving, false);
      const r = await bed.http(300);
      noFailures(r, 'weighted');
      assert.ok(!reached(r).includes('b2'), JSON.stringify(r.counts));
      // b1 : b3 = 100 : 25, i.e. b3 takes 20% of the flows; 300 flows give it 60 +- a generous margin
      const b3 = r.counts.b3 ?? 0;
      assert.ok(b3 >= 25 && b3 <= 100, `b3 took ${b3} of 300: ${JSON.stringify(r.counts)}`);
      await bed.ctl('lbdsr', 'lb1', 'backend', 'pool', '2', 'set', 'weight=100');
      const back = await bed.http(90);
      noFailures(back, 'weight restored');
      assert.ok(reached(back).includes('b2'), JSON.stringify(back.counts));
    });
  });
}
