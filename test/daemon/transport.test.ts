// Issue 9 item 10, tokens and transport: lbdsrd refuses a token file readable by group or others or
// shorter than 32 bytes; with --tls-cert/--tls-key it serves HTTPS (a self-signed pair made here with
// openssl) and lbdsrctl reaches it with --cacert; a connection that sends its headers byte by byte is
// closed by the request timeout; `Bearer` is matched in any case; every 401 is in the daemon's log with
// the remote address.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/daemon/app.js';
import { mustWaitFor } from '../../testkit/timing.js';
import { ctl, freePort, LBDSRD, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
const TOKEN = 'c2VjcmV0LXRva2VuLW9mLWF0LWxlYXN0LTMyLWJ5dGVz';

interface Answer {
  status: number;
  body: string;
}

/** One GET of the instance list; `ca` makes it HTTPS. */
function get(port: number, headers: Record<string, string> = {}, ca?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: `${BASE}/`, headers, agent: false };
    const done = (res: import('node:http').IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    };
    const req = ca ? httpsRequest({ ...options, ca }, done) : httpRequest(options, done);
    req.on('error', reject);
    req.end();
  });
}

/** A running lbdsrd with its log; `stop` ends it. */
interface Running {
  proc: ChildProcess;
  port: number;
  log: () => string;
  stop: () => Promise<void>;
}

/** Runs lbdsrd with `args` until it exits: its exit code and output (for refusals at start). */
function runToExit(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [LBDSRD, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** Starts lbdsrd and waits until it answers (any status: with a token, a bare GET is a 401). */
async function start(dir: string, args: string[], ca?: string): Promise<Running> {
  const port = await freePort();
  const logFile = join(dir, `lbdsrd-${port}.log`);
  const fd = openSync(logFile, 'a');
  const argv = [LBDSRD, '--listen', `127.0.0.1:${port}`, '--state-dir', join(dir, `s${port}`)];
  const proc = spawn(process.execPath, [...argv, '--log-level', 'info', ...args], {
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const log = () => readFileSync(logFile, 'utf8');
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((res) => proc.once('exit', res));
    proc.kill('SIGTERM');
    await gone;
  };
  try {
    await mustWaitFor(
      'lbdsrd answers',
      async () => {
        if (proc.exitCode !== null) throw new Error(`lbdsrd exited ${proc.exitCode}: ${log()}`);
        return get(port, {}, ca).then(
          () => true,
          () => false,
        );
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { proc, port, log, stop };
}

describe('tokens and transport', () => {
  let dir: string;
  let cleanup: () => void;
  before(() => {
    ({ dir, cleanup } = tempDir('transport'));
  });
  after(() => cleanup());

  const tokenFile = (name: string, text: string, mode: number) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    chmodSync(f, mode);
    return f;
  };

  test('a token file readable by group or others, or shorter than 32 bytes, is refused at start', () => {
    for (const mode of [0o644, 0o640, 0o604]) {
      const f = tokenFile(`open-${mode.toString(8)}`, `${TOKEN}\n`, mode);
      const r = runToExit(['--listen', '127.0.0.1:0', '--state-dir', join(dir, 'x'), '--token-file', f]);
      assert.equal(r.code, 2, r.out);
      assert.match(
        r.out,
        new RegExp(`token file ${f} has mode 0${mode.toString(8)}.*readable by group or others.*chmod 600`),
      );
    }
    const short = tokenFile('short', 'tok-123\n', 0o600);
    const r = runToExit(['--listen', '127.0.0.1:0', '--state-dir', join(dir, 'x'), '--token-file', short]);
    assert.equal(r.code, 2, r.out);
    assert.match(r.out, /token file .*short is 7 bytes long; a token needs at least 32/);
  });

  test('Bearer in any case passes; every 401 is logged with the remote address', async () => {
    const f = tokenFile('good', `${TOKEN}\n`, 0o600);
    const d = await start(dir, ['--token-file', f]);
    try {
      for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
        const r = await get(d.port, { authorization: `${scheme} ${TOKEN}` });
        assert.equal(r.status, 200, `${scheme}: ${r.body}`);
      }
      const logged = () =>
        d
          .log()
          .split('\n')
          .filter((l) => l.includes('unauthorized request'));
      const earlier = logged().length; // the start probe's
      const refused: Array<Record<string, string>> = [
        {},
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Basic ${TOKEN}` },
      ];
      for (const headers of refused) assert.equal((await get(d.port, headers)).status, 401);
      await mustWaitFor('three more 401s in the log', () => logged().length >= earlier + 3);
      for (const line of logged()) assert.match(line, /"remote":"127\.0\.0\.1"/);
    } finally {
      await d.stop();
    }
  });

  test('--tls-cert/--tls-key serve HTTPS; lbdsrctl reaches it with --cacert or LBDSR_CACERT', async (t) => {
    const have = spawnSync('openssl', ['version'], { encoding: 'utf8' });
    if (have.status !== 0) {
      assert.notEqual(process.env.CI, 'true', 'openssl is missing (.ci/run installs it)');
      return t.skip('openssl is not installed');
    }
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const gen = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=lbdsrd',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(gen.status, 0, gen.stderr);
    chmodSync(key, 0o644);
    const refused = runToExit([
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      join(dir, 'y'),
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    assert.equal(refused.code, 2, refused.out);
    assert.match(refused.out, /TLS key file .* has mode 0644/);
    const half = runToExit(['--listen', '127.0.0.1:0', '--state-dir', join(dir, 'y'), '--tls-cert', cert]);
    assert.match(half.out, /--tls-cert and --tls-key go together/);
    chmodSync(key, 0o600);
    const ca = readFileSync(cert, 'utf8');
    const d = await start(dir, ['--tls-cert', cert, '--tls-key', key], ca);
    try {
      const url = `https://127.0.0.1:${d.port}`;
      assert.equal((await get(d.port, {}, ca)).status, 200);
      let r = ctl(url, ['--cacert', cert, 'lbdsr', 'add', 'tls1']);
      assert.equal(r.code, 0, r.stderr);
      r = ctl(url, ['lbdsr', 'show'], undefined, { LBDSR_CACERT: cert });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /tls1/);
      // without the CA the self-signed certificate is not trusted, and lbdsrctl says what to do
      r = ctl(url, ['lbdsr', 'show']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /certificate.*not trusted.*--cacert/);
      // plain HTTP to the TLS port gets nothing
      await assert.rejects(get(d.port));
    } finally {
      await d.stop();
    }
  });

  test('a connection sending its headers byte by byte is closed by the request timeout', async () => {
    const state = tempDir('loris');
    const app = await buildApp({
      stateDir: state.dir,
      logLevel: 'silent',
      watchMs: 0,
      timeouts: { requestMs: 1000 },
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const port = (app.server.address() as { port: number }).port;
      const head = `GET ${BASE}/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(10_000)}\r\n\r\n`;
      const sock = connect(port, '127.0.0.1');
      let closed = false;
      let answer = '';
      sock.on('data', (c: Buffer) => {
        answer += c.toString();
      });
      sock.on('close', () => {
        closed = true;
      });
      sock.on('error', () => {});
      // one byte at a time, each soon after the last: the socket is never idle, the request never ends
      let i = 0;
      const drip = setInterval(() => {
        if (!closed && i < head.length) sock.write(head[i++] ?? '');
      }, 50);
      try {
        await mustWaitFor('the server closes the slow connection', () => closed, { timeoutMs: 60_000 });
      } finally {
        clearInterval(drip);
        sock.destroy(); // (when the server never closes it, app.close would wait for it)
      }
      assert.ok(i < head.length, 'the whole request went through before the timeout');
      assert.match(answer, /^HTTP\/1\.1 408/);
      // the daemon still serves everyone else
      assert.equal((await get(port)).status, 200);
    } finally {
      await app.close();
      state.cleanup();
    }
  });
});
