// lbdsrctl's commands of issue 10 against a real lbdsrd (bin/lbdsrd on a free loopback port, temp
// state directory): services, backends by IP, weights and drain, health checks and probe_ip, the
// status columns of `backend pool show`, and `-plan` on any change (nothing changes; what would move).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { waitFor } from '../../testkit/timing.js';
import { cliInstance } from '../lib/cli-instance.js';

describe('lbdsrctl: services, backends, health checks, -plan', () => {
  const { ok, fails, lb, json } = cliInstance('cli-services', (cli) => {
    cli.ok(...cli.lb('backend', 'pool', 'add', '1', 'mac=00:00:00:00:00:01'));
  });

  test('services add, show, a pool by IP, del', () => {
    ok(...lb('services', 'add', 'web', 'vip=10.0.0.101', 'protocol=TCP', 'port=80'));
    ok(
      ...lb('services', 'add', 'alt', 'vip=10.0.0.101', 'protocol=tcp', 'port=8080', 'algorithm=hash_src_ip'),
    );
    ok(...lb('services', 'web', 'backend', 'pool', 'add', '1', 'ip=10.0.0.21'));
    ok(
      ...lb(
        'services',
        'web',
        'backend',
        'pool',
        'add',
        '2',
        'ip=10.0.0.22',
        'mac=00:00:00:00:00:22',
        'weight=50',
      ),
    );
    const table = ok(...lb('services', 'show'));
    assert.match(table, /^NAME\s+VIP\s+PROTOCOL\s+PORT\s+MAC\s+ALGORITHM\s+BACKENDS\s+HEALTHCHECK\n/);
    assert.match(
      table,
      /\ndefault\s+10\.0\.0\.100\s+any\s+any\s+aa:bb:cc:dd:ee:ff\s+HASH_SESSION\s+1\s+NONE\n/,
    );
    // the instance's MAC and algorithm where a service has none of its own
    assert.match(table, /\nweb\s+10\.0\.0\.101\s+TCP\s+80\s+aa:bb:cc:dd:ee:ff\s+HASH_SESSION\s+2\s+NONE\n/);
    assert.match(table, /\nalt\s+10\.0\.0\.101\s+TCP\s+8080\s+aa:bb:cc:dd:ee:ff\s+HASH_SRC_IP\s+0\s+NONE\n?/);
    const pool = ok(...lb('services', 'web', 'backend', 'pool', 'show'));
    // by IP only: no MAC until ARP finds one, no new flows
    assert.match(pool, /\n1\s+10\.0\.0\.21\s+-\s+NONE\s+UP\s+ACTIVE\s+100\s+0\s+no\n/);
    assert.match(pool, /\n2\s+10\.0\.0\.22\s+00:00:00:00:00:22\s+CONFIG\s+UP\s+ACTIVE\s+50\s+0\s+yes/);
    assert.equal(json('services', 'web', 'port'), 80);
    // the seed's default is a service too
    ok(...lb('services', 'default', 'backend', 'pool', 'add', '5', 'mac=00:00:00:00:00:05'));
    assert.equal(json('backend', 'pool', '5').mac, '00:00:00:00:00:05');
    ok(...lb('backend', 'pool', 'del', '5'));
    fails(1, /cannot be deleted.*LBDSR_BAD_VALUE/, ...lb('services', 'del', 'default'));
    fails(1, /port needs protocol TCP or UDP/, ...lb('services', 'add', 'x', 'vip=10.0.0.9', 'port=53'));
    ok(...lb('services', 'del', 'alt'));
    ok(...lb('services', 'del', 'web'));
    assert.match(ok(...lb('services', 'show')), /^NAME.*\ndefault\s[^\n]*\n$/);
  });

  test('drain and weight, health checks and probe_ip', async () => {
    ok(...lb('backend', 'pool', 'add', '2', 'mac=00:00:00:00:00:02'));
    ok(...lb('backend', 'pool', '2', 'set', 'state=DRAINING', 'deadline=30'));
    // The drain watcher ends a drain with 0 live sessions (this daemon has no plane: none) about a
    // second after state_since; each read is a separate lbdsrctl process, which on a loaded machine
    // can come after that. Every read sees the backend DRAINING or already DISABLED, until DISABLED.
    const seen: string[] = [];
    const disabled = await waitFor(
      () => {
        const b2 = json('backend', 'pool', '2');
        seen.push(b2.state);
        assert.ok(b2.state === 'DRAINING' || b2.state === 'DISABLED', `state ${b2.state}`);
        assert.equal(b2.deadline, 30);
        assert.ok(!Number.isNaN(Date.parse(b2.state_since)));
        const row = new RegExp(
          `\\n2\\s+-\\s+00:00:00:00:00:02\\s+CONFIG\\s+UP\\s+(${b2.state}|DISABLED)\\s+100\\s+0\\s+no`,
        );
        assert.match(ok(...lb('backend', 'pool', 'show')), row);
        // bounded in reads as well as in time
        return b2.state === 'DISABLED' || seen.length >= 30;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.ok(disabled && seen.at(-1) === 'DISABLED', `the drain ended (states read: ${seen.join(', ')})`);
    ok(...lb('backend', 'pool', '2', 'set', 'state=ACTIVE'));
    ok(...lb('backend', 'pool', '2', 'set', 'weight=50'));
    assert.equal(json('backend', 'pool', '2').weight, 50);
    fails(1, /weight.*LBDSR_BAD_VALUE/, ...lb('backend', 'pool', '2', 'set', 'weight=101'));

    fails(1, /probe_ip.*LBDSR_NO_PROBE_IP/, ...lb('backend', 'healthcheck', 'set', 'type=TCP', 'port=80'));
    ok(...lb('set', 'probe_ip=10.0.0.250'));
    ok(
      ...lb(
        'backend',
        'healthcheck',
        'set',
        'type=TCP',
        'port=80',
        'interval=2',
        'timeout=1',
        'rise=2',
        'fall=3',
      ),
    );
    ok(...lb('backend', 'healthcheck', 'set', 'type=HTTP', 'port=80', 'path=/health', 'expect=200'));
    ok(...lb('backend', 'healthcheck', 'set', 'on_down=MOVE'));
    assert.deepEqual(json('backend', 'healthcheck'), {
      type: 'HTTP',
      port: 80,
      interval: 2,
      timeout: 1,
      rise: 2,
      fall: 3,
      path: '/health',
      expect: 200,
      on_down: 'MOVE',
    });
    fails(1, /less than interval/, ...lb('backend', 'healthcheck', 'set', 'timeout=2.5'));
    assert.match(ok(...lb('backend', 'pool', 'show')), /\n1\s+-\s+00:00:00:00:00:01\s+CONFIG\s+UNKNOWN\s/);
    ok(...lb('backend', 'pool', '2', 'healthcheck', 'set', 'type=NONE'));
    assert.match(ok(...lb('backend', 'pool', 'show')), /\n2\s+-\s+00:00:00:00:00:02\s+CONFIG\s+UP\s/);
    ok(...lb('backend', 'healthcheck', 'set', 'type=NONE'));
  });

  test('-plan on a change: nothing changes, the answer says what would move', () => {
    const before = json();
    const out = ok(...lb('backend', 'pool', 'del', '2', '-plan'));
    assert.match(out, /^dry run: nothing changed\n/);
    assert.match(out, /maglev entries that would change backend: \d+/);
    assert.match(out, /SERVICE\s+ID\s+MAGLEV_GAINED\s+MAGLEV_LOST\s+SESSIONS_MOVING/);
    assert.match(out, /\ndefault\s+2\s+0\s+[1-9]\d*\s+0/);
    assert.deepEqual(json(), before);
    const j = JSON.parse(ok('-plan', ...lb('set', 'algorithm=HASH_SRC_IP'), '-json'));
    assert.equal(j.dry_run, true);
    assert.equal(json().algorithm, before.algorithm);
    fails(2, /-plan is for changes/, ...lb('show', '-plan'));
    // an action changes no configuration: it is not planned (nor done)
    fails(2, /-plan is for changes/, ...lb('frontend', 'announce', '-plan'));
  });
});
