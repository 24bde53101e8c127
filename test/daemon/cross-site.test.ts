// Issue 9 item 9, cross-site requests and DNS rebinding: a web page open in a browser on the balancer
// host must not reconfigure it. The requests are those a browser sends: a simple POST with a text/plain
// body (no CORS preflight), a request carrying the page's foreign Origin, and a page on a rebound name
// (evil.example resolving to 127.0.0.1), whose requests carry `Host: evil.example`. They are sent to a
// real lbdsrd over TCP, with the headers a browser would set; none may change anything.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type Daemon, startDaemon, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

interface Answer {
  status: number;
  body: string;
}

/** One request over TCP with exactly these headers (node:http adds Host only when it is not given). */
function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: `${BASE}${path}`, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const codeOf = (a: Answer) => (JSON.parse(a.body) as { code: string }).code;

describe('cross-site requests and DNS rebinding', () => {
  let d: Daemon;
  let state: ReturnType<typeof tempDir>;
  const instances = async () => {
    const r = await send(d.port, 'GET', '/', {});
    assert.equal(r.status, 200, r.body);
    return (JSON.parse(r.body) as Array<{ name: string }>).map((i) => i.name);
  };

  before(async () => {
    state = tempDir('cross-site');
    d = await startDaemon(state.dir);
  });
  after(async () => {
    await d.dispose();
    state.cleanup();
  });

  test('a simple text/plain POST (no preflight) creates nothing', async () => {
    // what `fetch(url, {method: 'POST', mode: 'no-cors', body: 'algorithm: hash_src_ip'})` sends
    const page = { 'content-type': 'text/plain;charset=UTF-8', origin: 'http://evil.example' };
    let r = await send(d.port, 'POST', '/evil/', page, 'algorithm: hash_src_ip');
    assert.equal(r.status, 403, r.body);
    assert.equal(codeOf(r), 'LBDSR_FOREIGN_ORIGIN');
    // the same body without an Origin (a browser that leaves it out) is not read either
    r = await send(d.port, 'POST', '/evil/', { 'content-type': 'text/plain' }, 'algorithm: hash_src_ip');
    assert.equal(r.status, 415, r.body);
    assert.equal(codeOf(r), 'LBDSR_UNSUPPORTED_MEDIA_TYPE');
    // an HTML form (enctype text/plain or urlencoded) posted from another site
    const form = { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' };
    r = await send(d.port, 'POST', '/evil/', form, 'a=b');
    assert.equal(r.status, 403, r.body);
    assert.deepEqual(await instances(), []);
  });

  test('a request carrying a foreign Origin is refused, whatever it asks', async () => {
    const json = { 'content-type': 'application/json' };
    for (const origin of [
      'http://evil.example',
      'https://evil.example:9000',
      'null',
      'http://127.0.0.1.evil.example',
    ]) {
      for (const [method, body] of [
        ['POST', '{}'],
        ['DELETE', undefined],
        ['GET', undefined],
      ] as const) {
        const r = await send(d.port, method, '/evil/', { ...json, origin }, body);
        assert.equal(r.status, 403, `${method} from ${origin}: ${r.body}`);
        assert.equal(codeOf(r), 'LBDSR_FOREIGN_ORIGIN');
        assert.match(JSON.parse(r.body).message, /origin/i);
      }
    }
    assert.deepEqual(await instances(), []);
    // a page served from the balancer host's own loopback address may use the API
    for (const origin of [`http://127.0.0.1:${d.port}`, 'http://localhost:8080', 'http://[::1]']) {
      const r = await send(d.port, 'POST', `/ok${origin.length}/`, { ...json, origin }, '{}');
      assert.equal(r.status, 201, `${origin}: ${r.body}`);
    }
  });

  test('without a token, a Host that is not the listen address or loopback is refused (DNS rebinding)', async () => {
    for (const host of ['evil.example', `evil.example:${d.port}`, '10.1.2.3', 'localhost.evil.example']) {
      for (const method of ['GET', 'POST']) {
        const headers: Record<string, string> = { host };
        if (method === 'POST') headers['content-type'] = 'application/json';
        const r = await send(d.port, method, '/rebound/', headers, method === 'POST' ? '{}' : undefined);
        assert.equal(r.status, 421, `${method} Host ${host}: ${r.body}`);
        assert.equal(codeOf(r), 'LBDSR_FOREIGN_HOST');
      }
    }
    assert.ok(!(await instances()).includes('rebound'));
    for (const host of [`127.0.0.1:${d.port}`, `localhost:${d.port}`, 'LOCALHOST', '[::1]:80']) {
      const r = await send(d.port, 'GET', '/', { host });
      assert.equal(r.status, 200, `Host ${host}: ${r.body}`);
    }
  });

  test('lbdsrctl sends what the daemon requires', async () => {
    const r = await d.ctl('lbdsr', 'add', 'fromcli', 'algorithm=hash_src_ip');
    assert.equal(r.code, 0, r.stderr);
    const y = await d.shell("printf 'algorithm: hash_session\\n' | lbdsrctl lbdsr fromcli set");
    assert.equal(y.code, 0, y.stderr);
    assert.equal((await d.showJson('fromcli')).algorithm, 'HASH_SESSION');
  });
});
