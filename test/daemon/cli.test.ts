// lbdsrctl against a real lbdsrd (bin/lbdsrd on a free loopback port, temp state directory): the grammar,
// help, stdin bodies, output formats, errors and exit codes, completion; and the seed's command list run
// verbatim (as root, in a network namespace of its own so that veth1/veth2 collide with nothing).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { Daemon } from '../../testkit/daemon.js';
import { addNamespace, cleanup, newPrefix, track } from '../../testkit/netns.js';
import { ctl, freePort, ip, LBDSRD, needRoot, ROOT, sh, startDaemon, tempDir } from './helpers.js';

describe('lbdsrctl against a real daemon', () => {
  let state: ReturnType<typeof tempDir>;
  let d: Daemon;
  const run = (args: string[], input?: string) => ctl(d.url, args, input);
  const ok = (args: string[], input?: string) => {
    const r = run(args, input);
    assert.equal(r.code, 0, `lbdsrctl ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const fails = (args: string[], code: number, mentions: RegExp, input?: string) => {
    const r = run(args, input);
    assert.equal(r.code, code, `lbdsrctl ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line on stderr, got: ${r.stderr}`);
    assert.match(r.stderr, mentions);
    return r;
  };
  const showJson = (name: string) => JSON.parse(ok(['lbdsr', name, 'show', '-json']).stdout);

  before(async () => {
    state = tempDir('cli');
    d = await startDaemon(state.dir);
  });
  after(async () => {
    await d?.stop();
    state.cleanup();
  });

  test('add, set, show, del with the polycubectl grammar', () => {
    ok(['lbdsr', 'add', 'lb1']);
    ok(['lbdsr', 'lb1', 'ports', 'add', 'frontend-port', 'type=FRONTEND']);
    ok(['lbdsr', 'lb1', 'ports', 'add', 'backend-port', 'type=BACKEND']);
    ok(['lbdsr', 'lb1', 'frontend', 'set', 'mac=aa:bb:cc:dd:ee:ff', 'vip=10.0.0.100']);
    ok(['lbdsr', 'lb1', 'backend', 'pool', 'add', '2', 'mac=02:02:02:02:02:02']);
    ok(['lbdsr', 'lb1', 'backend', 'pool', 'add', '3', 'mac=03:03:03:03:03:03']);
    ok(['lbdsr', 'lb1', 'set', 'algorithm=hash_src_ip']);
    ok(['lbdsr', 'lb1', 'set', 'sessions.timeouts.tcp=300']);
    const lb1 = showJson('lb1');
    assert.equal(lb1.algorithm, 'HASH_SRC_IP');
    assert.equal(lb1.sessions.timeouts.tcp, 300);
    assert.deepEqual(lb1.frontend, { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' });
    assert.deepEqual(
      lb1.ports.map((p: { name: string; type: string }) => `${p.name}:${p.type}`),
      ['frontend-port:FRONTEND', 'backend-port:BACKEND'],
    );
    const pool = ok(['lbdsr', 'lb1', 'backend', 'pool', 'show']).stdout;
    // each backend's configuration and its status (docs/cli.md, "backend pool show")
    assert.match(pool, /^ID\s+IP\s+MAC\s+SOURCE\s+HEALTH\s+STATE\s+WEIGHT\s+SESSIONS\s+SERVING\n/);
    assert.match(pool, /\n2\s+-\s+02:02:02:02:02:02\s+CONFIG\s+UP\s+ACTIVE\s+100\s+0\s+yes\n3\s+-\s+03:03/);
    ok(['lbdsr', 'lb1', 'backend', 'pool', 'del', '3']);
    assert.deepEqual(showJson('lb1').backend.pool, [{ id: 2, mac: '02:02:02:02:02:02' }]);
    ok(['lbdsr', 'lb1', 'ports', 'del', 'backend-port']);
    assert.equal(showJson('lb1').ports.length, 1);
    ok(['lbdsr', 'lb1', 'ports', 'add', 'backend-port', 'type=BACKEND']);
  });

  test('human tables, -json and -yaml', () => {
    const list = ok(['lbdsr', 'show']).stdout;
    assert.match(list, /^NAME\s+TYPE\s+PLANE\s+ALGORITHM\s+VIP/);
    assert.match(list, /\nlb1\s+AUTO\s+NONE\s+HASH_SRC_IP\s+10\.0\.0\.100\s+aa:bb:cc:dd:ee:ff/);
    const one = ok(['lbdsr', 'lb1', 'show']).stdout;
    assert.match(one, /^name:\s+lb1$/m);
    assert.match(one, /frontend-port\s+FRONTEND/);
    const y = parseYaml(ok(['lbdsr', 'lb1', 'show', '-yaml']).stdout);
    assert.equal(y.name, 'lb1');
    assert.equal(y.frontend.vip, '10.0.0.100');
    assert.equal(ok(['lbdsr', 'lb1', 'frontend', 'vip', 'show']).stdout, '10.0.0.100\n');
    const stats = ok(['lbdsr', 'lb1', 'stats', 'show']).stdout;
    assert.match(stats, /^rx:\n\s+packets: 0/);
    assert.match(stats, /NOT_VIP:\s+0/);
    const sessions = ok(['lbdsr', 'lb1', 'sessions', 'show']).stdout;
    assert.match(sessions, /entries: \(none\)/);
    assert.match(sessions, /tcp:\s+300/);
    assert.match(ok(['lbdsr', 'lb1', 'sessions', 'show', 'limit=5']).stdout, /entries: \(none\)/);
    fails(['lbdsr', 'lb1', 'sessions', 'show', 'limit=x'], 2, /limit=x/);
    fails(['lbdsr', 'lb1', 'stats', 'show', 'limit=5'], 2, /limit=5/);
    // A boolean setting takes true/false (any case); anything else is refused by the daemon.
    assert.match(sessions, /record_non_syn:\s+false/);
    ok(['lbdsr', 'lb1', 'sessions', 'set', 'record_non_syn=TRUE']);
    assert.match(ok(['lbdsr', 'lb1', 'sessions', 'show']).stdout, /record_non_syn:\s+true/);
    fails(['lbdsr', 'lb1', 'sessions', 'set', 'record_non_syn=yes'], 1, /must be boolean/);
  });

  test("'?' lists what may follow, anywhere", () => {
    let out = ok(['lbdsr', '?']).stdout;
    for (const w of ['add <name>', 'del <name>', 'show', 'lb1']) assert.ok(out.includes(w), `${w} in ${out}`);
    out = ok(['lbdsr', 'lb1', '?']).stdout;
    for (const w of [
      'show',
      'set',
      'ports',
      'frontend',
      'backend',
      'sessions',
      'stats',
      'algorithm=<HASH_SESSION|HASH_SRC_IP>',
    ]) {
      assert.ok(out.includes(w), `${w} in ${out}`);
    }
    out = ok(['lbdsr', 'lb1', 'ports', 'add', 'p', '?']).stdout;
    assert.match(out, /type=<FRONTEND\|BACKEND>/);
    assert.match(out, /peer=<string>/);
    out = ok(['lbdsr', 'lb1', 'frontend', 'set', '?']).stdout;
    assert.match(out, /vip=/);
    assert.match(out, /mac=/);
    out = ok(['lbdsr', 'lb1', 'backend', 'pool', '?']).stdout;
    assert.match(out, /add <id>/);
    assert.match(out, /2/);
    out = ok(['?']).stdout;
    assert.match(out, /lbdsr/);
  });

  test('a body on stdin, as YAML or JSON', () => {
    const yaml =
      'algorithm: hash_src_ip\nfrontend:\n  vip: 10.0.0.200\n  mac: aa:bb:cc:00:00:01\nbackend:\n  pool:\n    - id: 1\n      mac: 00:00:00:00:00:01\n';
    ok(['lbdsr', 'add', 'lb2'], yaml);
    let lb2 = showJson('lb2');
    assert.equal(lb2.algorithm, 'HASH_SRC_IP');
    assert.equal(lb2.frontend.vip, '10.0.0.200');
    assert.deepEqual(lb2.backend.pool, [{ id: 1, mac: '00:00:00:00:00:01' }]);
    ok(['lbdsr', 'lb2', 'set'], '{"loglevel": "debug"}');
    lb2 = showJson('lb2');
    assert.equal(lb2.loglevel, 'DEBUG');
    // what show -yaml prints can be fed back
    const file = join(state.dir, 'lb2.yaml');
    writeFileSync(file, ok(['lbdsr', 'lb2', 'show', '-yaml']).stdout);
    ok(['lbdsr', 'del', 'lb2']);
    const r = spawnSync('bash', ['-c', `"${join(ROOT, 'bin/lbdsrctl')}" lbdsr add lb2 < "${file}"`], {
      env: { ...process.env, LBDSR_URL: d.url },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(showJson('lb2').backend, lb2.backend);
    // a file that a `while read` loop is consuming is not taken as a body
    const names = join(state.dir, 'names');
    writeFileSync(names, 'lb5\nlb6\n');
    const loop = sh(d.url, `while read n; do lbdsrctl lbdsr add "$n" || exit 1; done < "${names}"`);
    assert.equal(loop.code, 0, loop.stderr);
    assert.equal(showJson('lb5').name, 'lb5');
    assert.equal(showJson('lb6').name, 'lb6');
    ok(['lbdsr', 'del', 'lb5']);
    ok(['lbdsr', 'del', 'lb6']);
    fails(['lbdsr', 'add', 'lb4'], 2, /not valid YAML or JSON/, 'algorithm: [unclosed\n');
    fails(['lbdsr', 'add', 'lb4'], 1, /unknown key 'colour'.*LBDSR_UNKNOWN_KEY/, 'colour: red\n');
    assert.equal(run(['lbdsr', 'lb4', 'show']).code, 1, 'failed adds created nothing');
    ok(['lbdsr', 'del', 'lb2']);
  });

  test('quoted values: as the shell leaves them and literally quoted', () => {
    fails(
      ['lbdsr', 'lb1', 'ports', 'frontend-port', 'set', 'peer=nosuch0'],
      1,
      /interface 'nosuch0'.*does not exist/,
    );
    fails(['lbdsr', 'lb1', 'ports', 'frontend-port', 'set', 'peer="nosuch0"'], 1, /interface 'nosuch0'/);
    fails(['lbdsr', 'lb1', 'ports', 'frontend-port', 'set', "peer='nosuch0'"], 1, /interface 'nosuch0'/);
    ok(['lbdsr', 'lb1', 'frontend', 'set', 'vip="10.0.0.100"']);
  });

  test('errors: one line on stderr naming what was wrong, non-zero exit', () => {
    fails(['lbdsr', 'lb1', 'frobnicate'], 2, /unknown command 'frobnicate'/);
    fails(['lbdsr', 'lb1', 'frontend', 'set', 'vip=300.1.1.1'], 1, /300\.1\.1\.1.*LBDSR_BAD_IPV4/);
    fails(['lbdsr', 'lb1', 'frontend', 'set', 'vip=224.0.0.1'], 1, /LBDSR_BAD_VIP/);
    fails(['lbdsr', 'lb1', 'frontend', 'set', 'mac=aa:bb'], 1, /LBDSR_BAD_MAC/);
    fails(['lbdsr', 'lb1', 'backend', 'pool', 'add', 'x1', 'mac=00:00:00:00:00:01'], 1, /'x1'.*uint32/);
    fails(
      ['lbdsr', 'lb1', 'backend', 'pool', 'add', '2', 'mac=00:00:00:00:00:09'],
      1,
      /backend '2' already exists/,
    );
    fails(['lbdsr', 'lb1', 'ports', 'add', 'p3', 'type=SIDEWAYS'], 1, /SIDEWAYS/);
    fails(['lbdsr', 'lb1', 'ports', 'add', 'p3', 'type=FRONTEND'], 1, /already has a FRONTEND port/);
    fails(['lbdsr', 'lb1', 'set', 'colour=red'], 1, /unknown key 'colour'/);
    fails(['lbdsr', 'lb1', 'set', 'type=TC'], 1, /XDP_SKB/);
    fails(['lbdsr', 'lb9', 'show'], 1, /instance lb9 does not exist/);
    fails(['lbdsr', 'lb1', 'set', 'algorithm'], 2, /not key=value/);
    fails(['lbdsr'], 2, /needs a command/);
    fails(['polycube'], 2, /unknown service/);
    fails(['lbdsr', 'lb1', 'show', '--bogus'], 2, /unknown option/);
  });

  test('group-bit backend MACs are accepted with a warning', () => {
    const r = ok(['lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=01:01:01:01:01:01']);
    assert.match(r.stderr, /warning: .*01:01:01:01:01:01/);
  });

  test('the daemon down: one line, non-zero exit', async () => {
    const port = await freePort();
    const r = ctl(`http://127.0.0.1:${port}`, ['lbdsr', 'show']);
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /daemon is not reachable at http:\/\/127\.0\.0\.1:\d+.*running/);
  });

  test('completion candidates and the bash completion script', () => {
    const c = ok(['__complete', 'lbdsr']).stdout.split('\n');
    for (const w of ['add', 'del', 'show', 'lb1']) assert.ok(c.includes(w), `${w} in ${c}`);
    assert.deepEqual(ok(['__complete', 'lbdsr', 'lb1', 'ports', 'del']).stdout.trim().split('\n').sort(), [
      'backend-port',
      'frontend-port',
    ]);
    const script = join(ROOT, 'completions/lbdsrctl.bash');
    const r = spawnSync(
      'bash',
      [
        '-c',
        `source "${script}"; COMP_LINE="lbdsrctl lbdsr lb1 set algorithm=HASH_SR"; COMP_POINT=\${#COMP_LINE}; _lbdsrctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      {
        env: { ...process.env, LBDSR_URL: d.url, PATH: `${join(ROOT, 'bin')}:${process.env.PATH}` },
        encoding: 'utf8',
      },
    );
    assert.equal(r.stdout.trim(), 'HASH_SRC_IP', r.stderr);
  });

  test('restart restores the configuration; one daemon per state directory', async () => {
    const before = ok(['lbdsr', 'show', '-json']).stdout;
    const second = spawnSync(
      process.execPath,
      [LBDSRD, '--listen', `127.0.0.1:${await freePort()}`, '--state-dir', state.dir],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    assert.notEqual(second.status, 0);
    assert.match(second.stderr, /another lbdsrd \(pid \d+\) is running/);
    assert.equal(await d.stop(), 0, 'SIGTERM exits cleanly');
    d = await startDaemon(state.dir, d.port);
    assert.equal(ok(['lbdsr', 'show', '-json']).stdout, before);
  });
});

describe('lbdsrd startup rules', () => {
  test('a stale lock left by a dead process is taken over', async () => {
    const state = tempDir('stale');
    try {
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      });
      writeFileSync(join(state.dir, 'lbdsrd.lock'), `${dead.stdout} 1\n`);
      const d = await startDaemon(state.dir);
      assert.equal(await d.stop(), 0);
    } finally {
      state.cleanup();
    }
  });

  test('listening beyond loopback without --token-file is refused', () => {
    const state = tempDir('token');
    try {
      const r = spawnSync(process.execPath, [LBDSRD, '--listen', '0.0.0.0:0', '--state-dir', state.dir], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0.*--token-file/);
    } finally {
      state.cleanup();
    }
  });

  test('with --token-file lbdsrctl needs the token', async () => {
    const state = tempDir('tokened');
    const tokenFile = join(state.dir, 'token');
    const token = 'tok-123-of-at-least-thirty-two-bytes';
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const port = await freePort();
    const proc = spawn(
      process.execPath,
      [
        LBDSRD,
        '--listen',
        `127.0.0.1:${port}`,
        '--state-dir',
        join(state.dir, 's'),
        '--token-file',
        tokenFile,
      ],
      {
        stdio: 'ignore',
      },
    );
    const url = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 15_000;
      let r = ctl(url, ['lbdsr', 'show']);
      while (/not reachable/.test(r.stderr) && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 100));
        r = ctl(url, ['lbdsr', 'show']);
      }
      assert.equal(r.code, 1);
      assert.match(r.stderr, /LBDSR_UNAUTHORIZED/);
      r = ctl(url, ['--token-file', tokenFile, 'lbdsr', 'add', 'lb1']);
      assert.equal(r.code, 0, r.stderr);
      r = ctl(url, ['lbdsr', 'show'], undefined, { LBDSR_TOKEN: token });
      assert.match(r.stdout, /lb1/);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((res) => proc.once('exit', res));
      state.cleanup();
    }
  });
});

describe("the seed's command list, verbatim", () => {
  test('polycubectl replaced by lbdsrctl, in a namespace with veth1 and veth2', async (t) => {
    const why = needRoot();
    if (why) return t.skip(why);
    // Named and tracked by the testkit: removed (with the daemon inside) on every exit path.
    const prefix = newPrefix('cli');
    track(prefix);
    const ns = `${prefix}lb`;
    const d = new Daemon({ ns, logLevel: 'warn' });
    // Without LBDSR_URL: lbdsrctl uses its default address, the daemon's 127.0.0.1:9000 in the namespace.
    const inNs = (line: string) => d.shell(`env -u LBDSR_URL PATH="$PATH" ${line}`);
    try {
      await addNamespace(ns);
      ip(['-n', ns, 'link', 'add', 'veth1', 'type', 'veth', 'peer', 'name', 'veth2']);
      ip(['-n', ns, 'link', 'set', 'veth1', 'up']);
      ip(['-n', ns, 'link', 'set', 'veth2', 'up']);
      await d.start();
      const seed = [
        '# create loadbalancer',
        'polycubectl lbdsr add lb1',
        '# add and connect ports',
        'polycubectl lbdsr lb1 ports add frontend-port type=FRONTEND',
        'polycubectl lbdsr lb1 ports add backend-port type=BACKEND',
        'polycubectl lbdsr lb1 ports frontend-port set peer="veth1"',
        'polycubectl lbdsr lb1 ports backend-port set peer="veth2"',
        '# setup frontend vip and mac addresses',
        'polycubectl lbdsr lb1 frontend set mac=aa:bb:cc:dd:ee:ff',
        'polycubectl lbdsr lb1 frontend set vip=10.0.0.100',
        '# configure backend server pool',
        'polycubectl lbdsr lb1 backend pool add 1 mac=01:01:01:01:01:01',
        'polycubectl lbdsr lb1 backend pool add 2 mac=02:02:02:02:02:02',
        'polycubectl lbdsr lb1 backend pool add 3 mac=03:03:03:03:03:03',
      ];
      for (const line of seed) {
        if (line.startsWith('#')) continue;
        const cmd = line.replace(/^polycubectl /, 'lbdsrctl ');
        const r = await inNs(cmd);
        assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      }
      const shown = JSON.parse((await inNs('lbdsrctl lbdsr lb1 show -json')).stdout);
      assert.deepEqual(
        shown.ports.map((p: { name: string; type: string; peer: string; status: string }) => [
          p.name,
          p.type,
          p.peer,
          p.status,
        ]),
        [
          ['frontend-port', 'FRONTEND', 'veth1', 'UP'],
          ['backend-port', 'BACKEND', 'veth2', 'UP'],
        ],
      );
      assert.deepEqual(shown.frontend, { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' });
      assert.deepEqual(
        shown.backend.pool.map((b: { id: number }) => b.id),
        [1, 2, 3],
      );
      assert.notEqual(shown.plane, 'NONE', 'a data plane is attached');
      assert.equal((await inNs('lbdsrctl lbdsr lb1 stats show')).code, 0);

      // killed outright and restarted: the same configuration, the data plane attached again
      await d.kill('SIGKILL');
      await d.start();
      const again = JSON.parse((await inNs('lbdsrctl lbdsr lb1 show -json')).stdout);
      assert.deepEqual(again, shown);
    } finally {
      await d.dispose();
      await cleanup(prefix);
    }
  });
});
