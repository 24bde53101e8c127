// deploy/systemd/lbdsrd.service: `systemd-analyze verify` finds nothing to say about it (every key
// known, every value parsed, the ExecStart program present: the unit is checked as a copy whose
// ExecStart is this repository's bin/lbdsrd), and the unit, the example settings file and the daemon
// agree: lbdsrd accepts the file the unit passes, with the state directory systemd creates for it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDaemonArgs } from '../../src/daemon/main.js';
import { withSettingsFile } from '../../src/daemon/settings-file.js';
import { LBDSRD, REPO } from '../../testkit/paths.js';
import { skipFor } from '../../testkit/root.js';

const UNIT = join(REPO, 'deploy/systemd/lbdsrd.service');
const CONF = join(REPO, 'deploy/systemd/lbdsr.conf');
const ANALYZE = '/usr/bin/systemd-analyze';
const INSTALLED = '/opt/lbdsr/bin/lbdsrd';

/** The values of `key` in the unit, in order. */
function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
}

test('systemd-analyze verify accepts the unit without a word', {
  skip: skipFor(existsSync(ANALYZE) ? undefined : `${ANALYZE} is missing (apt-get install systemd)`),
}, () => {
  const unit = readFileSync(UNIT, 'utf8');
  assert.ok(unit.includes(INSTALLED), `ExecStart runs ${INSTALLED}`);
  const dir = mkdtempSync(join(tmpdir(), 'lbdsr-unit-'));
  try {
    const copy = join(dir, 'lbdsrd.service');
    writeFileSync(copy, unit.replaceAll(INSTALLED, LBDSRD));
    const r = spawnSync(ANALYZE, ['verify', copy], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), '', 'systemd-analyze had something to say');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the unit, its settings file and lbdsrd agree; least privilege as documented', () => {
  const unit = readFileSync(UNIT, 'utf8');
  const exec = values(unit, 'ExecStart')[0] ?? '';
  const m = /--config (\S+)/.exec(exec);
  assert.equal(m?.[1], '/etc/lbdsr/lbdsr.conf');
  const args = parseDaemonArgs(withSettingsFile(['--config', CONF], {}));
  assert.equal(args.stateDir, `/var/lib/${values(unit, 'StateDirectory')[0]}`);
  assert.equal(args.host, '127.0.0.1');
  // a dedicated user, no way back to more privilege, capabilities and nothing else
  assert.deepEqual(values(unit, 'User'), ['lbdsr']);
  assert.deepEqual(values(unit, 'NoNewPrivileges'), ['yes']);
  const ambient = (values(unit, 'AmbientCapabilities')[0] ?? '').split(/\s+/).sort();
  const bounding = (values(unit, 'CapabilityBoundingSet')[0] ?? '').split(/\s+/).sort();
  assert.deepEqual(ambient, ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_PERFMON']);
  assert.deepEqual(bounding, ambient);
  assert.deepEqual(values(unit, 'ProtectSystem'), ['strict']);
  assert.deepEqual(values(unit, 'RestrictAddressFamilies'), [
    'AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET',
  ]);
});
