// lbdsrctl apply's comparison of a file with the daemon's view (src/cli/apply.ts sameConfig): an IPv6
// address the daemon shows in RFC 5952 form is the same configuration as the file's other spellings of
// it, and a different address, or text that is no IPv6 address, is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sameConfig } from '../../src/cli/apply.js';

const have = { vip: 'fd00::100', backend: { pool: [{ id: 1, ip: 'fd00::21' }] } };

test('IPv6 in any spelling is the daemon’s RFC 5952 text', () => {
  for (const vip of ['fd00::100', 'FD00::100', 'fd00:0:0::0100', 'fd00:0:0:0:0:0:0:100']) {
    assert.equal(sameConfig({ ...have, vip }, have), true, vip);
  }
  assert.equal(sameConfig({ ...have, backend: { pool: [{ id: 1, ip: 'FD00:0::21' }] } }, have), true);
});

test('another address, or no address, is a change', () => {
  for (const vip of ['fd00::101', 'fd00::1:100', 'fd00::100::1', 'fd00::10g', 'fd00:0:0:0:0:0:0:0:100']) {
    assert.equal(sameConfig({ ...have, vip }, have), false, vip);
  }
});
