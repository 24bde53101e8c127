// lbdsrctl's IPv6 commands of issue 13 against a real lbdsrd (bin/lbdsrd on a free loopback port, temp
// state directory): an IPv6 service and a dual-stack frontend as the issue writes them, backends by IPv6
// address and by MAC, what `services show`, `lbdsr show` and `backend pool show` print, `?` help naming
// IPv6, the errors of bad addresses, and `apply -f` of an exported document with IPv6 in it.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliInstance } from '../lib/cli-instance.js';

describe('lbdsrctl: IPv6 VIPs, dual stack and IPv6 backends', () => {
  const { ok, fails, lb, json, stateDir } = cliInstance('cli-ipv6');

  test('the issue’s commands: an IPv6 service, a backend by IPv6 address, one by MAC', () => {
    ok(...lb('services', 'add', 'web6', 'vip=fd00::100', 'protocol=TCP', 'port=80'));
    ok(...lb('services', 'web6', 'backend', 'pool', 'add', '1', 'ip=FD00:0::21'));
    ok(...lb('services', 'web6', 'backend', 'pool', 'add', '2', 'mac=02:00:00:00:00:02'));
    assert.match(
      ok(...lb('services', 'show')),
      /\nweb6\s+fd00::100\s+TCP\s+80\s+aa:bb:cc:dd:ee:ff\s+HASH_SESSION\s+2\s+NONE\n?/,
    );
    const pool = ok(...lb('services', 'web6', 'backend', 'pool', 'show'));
    // by IPv6 address only: no MAC until Neighbor Discovery finds one, no new flows
    assert.match(pool, /\n1\s+fd00::21\s+-\s+NONE\s+UP\s+ACTIVE\s+100\s+0\s+no\n/);
    assert.match(pool, /\n2\s+-\s+02:00:00:00:00:02\s+CONFIG\s+UP\s+ACTIVE\s+100\s+0\s+yes/);
    assert.equal(json('services', 'web6', 'vip'), 'fd00::100');
  });

  test('a dual-stack frontend: vip6 set, shown beside the IPv4 VIP, unset', () => {
    ok(...lb('frontend', 'set', 'vip6=fd00:0:0::1'));
    assert.deepEqual(json('frontend'), { vip: '10.0.0.100', vip6: 'fd00::1', mac: 'aa:bb:cc:dd:ee:ff' });
    assert.match(ok(...lb('services', 'show')), /\ndefault\s+10\.0\.0\.100,fd00::1\s+any\s+any\s/);
    assert.match(ok('lbdsr', 'show'), /\nlb1\s.*10\.0\.0\.100,fd00::1\s+aa:bb:cc:dd:ee:ff/);
    ok(...lb('services', 'add', 'dual', 'vip=10.0.0.7', 'vip6=fd00::7', 'protocol=UDP'));
    assert.match(ok(...lb('services', 'show')), /\ndual\s+10\.0\.0\.7,fd00::7\s+UDP\s+any\s/);
    ok(...lb('services', 'del', 'dual'));
    ok(...lb('frontend', 'vip6', 'del'));
    assert.equal(json('frontend').vip6, undefined);
  });

  test('help names IPv6; bad addresses fail with their codes', () => {
    assert.match(ok(...lb('services', 'add', '?')), /vip6=.*IPv6/);
    assert.match(ok(...lb('frontend', 'set', '?')), /vip=.*IPv6/);
    fails(1, /LBDSR_BAD_IPV6/, ...lb('services', 'add', 'x', 'vip=fd00::zz'));
    fails(1, /LBDSR_BAD_VIP/, ...lb('services', 'add', 'x', 'vip=ff02::1'));
    fails(1, /vip6.*LBDSR_BAD_IPV6/, ...lb('services', 'add', 'x', 'vip=10.0.0.9', 'vip6=10.0.0.8'));
    fails(1, /LBDSR_BAD_IPV6/, ...lb('services', 'web6', 'backend', 'pool', 'add', '3', 'ip=ff02::1'));
  });

  test('apply -f of the exported document, IPv6 written any way, finds it unchanged', () => {
    const doc = JSON.parse(ok(...lb('show', '-json')));
    const file = join(stateDir(), 'lb1.json');
    writeFileSync(file, JSON.stringify({ instances: [doc] }));
    assert.match(ok('apply', '-f', file), /unchanged/);
    // the same addresses in other spellings are the same configuration
    const web6 = doc.services.find((s: { name: string }) => s.name === 'web6');
    web6.vip = 'FD00:0:0::0100';
    web6.backend.pool.find((b: { id: number }) => b.id === 1).ip = 'fd00:0000::21';
    writeFileSync(file, JSON.stringify({ instances: [doc] }));
    assert.match(ok('apply', '-f', file, '-plan'), /unchanged/);
    assert.equal(json('services', 'web6', 'backend', 'pool', '1').ip, 'fd00::21');
  });
});
