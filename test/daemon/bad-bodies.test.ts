// Issue 9 item 12, "bad bodies never change anything": a body that is blank, null or not of the
// resource's type is a 400; JSON or YAML nested beyond any document's depth is a 400 (it used to
// overflow the stack: 500); a method a path does not have is a 405 with an Allow header; a body over
// the limit is a 413; a media type the API does not read is a 415. Every answer is {code, message} and
// leaves the configuration and config.json as they were.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { BODY_LIMIT } from '../../src/daemon/http.js';
import { tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

describe('bad bodies never change anything', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  const configFile = () => readFileSync(join(state.dir, 'config.json'), 'utf8');
  const list = async () => (await app.inject({ method: 'GET', url: `${BASE}/` })).body;

  /** Sends the request and asserts its status, code, and that nothing changed; returns the answer. */
  const refused = async (
    method: Method,
    path: string,
    payload: string | undefined,
    contentType: string | undefined,
    status: number,
    code: string,
  ) => {
    const before = await list();
    const file = configFile();
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers['content-type'] = contentType;
    const r = await app.inject({ method, url: `${BASE}${path}`, payload, headers });
    const what = `${method} ${path} ${contentType ?? ''} ${String(payload).slice(0, 40)}`;
    assert.equal(r.statusCode, status, `${what}: ${r.body.slice(0, 300)}`);
    const body = JSON.parse(r.body) as { code: string; message: string };
    assert.equal(body.code, code, `${what}: ${body.message}`);
    assert.ok(body.message.length > 0 && body.message.length < 1000, body.message);
    assert.equal(await list(), before, `${what} changed the configuration`);
    assert.equal(configFile(), file, `${what} changed config.json`);
    return r;
  };

  before(async () => {
    state = tempDir('bodies');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0, netdev: () => undefined });
    const r = await app.inject({
      method: 'POST',
      url: `${BASE}/lb1/`,
      payload: { algorithm: 'HASH_SRC_IP', backend: { pool: [{ id: 1, mac: '02:00:00:00:00:01' }] } },
    });
    assert.equal(r.statusCode, 201, r.body);
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  test('null, a blank body or a body of another type is a 400, never a reset to defaults', async () => {
    for (const [payload, type] of [
      ['null', 'application/json'],
      [' ', 'application/json'],
      ['\n', 'application/json'],
      ['null', 'application/yaml'],
      ['~', 'application/yaml'],
      ['', 'application/yaml'],
      ['# only a comment', 'application/yaml'],
    ] as const) {
      await refused(
        'PUT',
        '/lb1/',
        payload,
        type,
        400,
        payload.trim() === '' ? 'LBDSR_BAD_BODY' : 'LBDSR_BAD_VALUE',
      );
    }
    for (const payload of ['[]', '"lb1"', '5', 'true']) {
      await refused('PUT', '/lb1/', payload, 'application/json', 400, 'LBDSR_BAD_VALUE');
      await refused('PATCH', '/lb1/', payload, 'application/json', 400, 'LBDSR_BAD_VALUE');
    }
    await refused('PUT', '/lb1/frontend/', '[]', 'application/json', 400, 'LBDSR_BAD_VALUE');
    await refused('PUT', '/lb1/backend/pool/', '{"pool": []}', 'application/json', 400, 'LBDSR_BAD_VALUE');
    await refused('PUT', '/lb1/sessions/', '"big"', 'application/json', 400, 'LBDSR_BAD_VALUE');
  });

  test('JSON or YAML nested 100,000 deep is a 400, not a stack overflow', async () => {
    const deep = 100_000;
    await refused(
      'PUT',
      '/lb1/',
      `${'['.repeat(deep)}${']'.repeat(deep)}`,
      'application/json',
      400,
      'LBDSR_BAD_BODY',
    );
    await refused(
      'PUT',
      '/lb1/',
      `{"a":${'{"a":'.repeat(deep)}1${'}'.repeat(deep + 1)}`,
      'application/json',
      400,
      'LBDSR_BAD_BODY',
    );
    await refused('PATCH', '/lb1/backend/pool/', '['.repeat(deep), 'application/json', 400, 'LBDSR_BAD_BODY');
    await refused(
      'PUT',
      '/lb1/',
      `${'['.repeat(deep)}${']'.repeat(deep)}`,
      'application/yaml',
      400,
      'LBDSR_BAD_BODY',
    );
    await refused('PUT', '/lb1/', `${'- '.repeat(deep)}x`, 'application/yaml', 400, 'LBDSR_BAD_BODY');
    const r = await refused(
      'PUT',
      '/lb1/',
      `${'- '.repeat(100)}x`,
      'application/yaml',
      400,
      'LBDSR_BAD_BODY',
    );
    assert.match(JSON.parse(r.body).message, /nested deeper than \d+ levels/);
    // a document of ordinary depth still goes through
    const ok = await app.inject({
      method: 'PATCH',
      url: `${BASE}/lb1/`,
      payload: 'sessions:\n  timeouts:\n    tcp: 600\n',
      headers: { 'content-type': 'application/yaml' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
  });

  test('a method the path does not have is a 405 with an Allow header', async () => {
    let r = await refused('DELETE', '/lb1/plane/', undefined, undefined, 405, 'LBDSR_METHOD_NOT_ALLOWED');
    assert.equal(r.headers.allow, 'GET, HEAD');
    r = await refused('POST', '/lb1/frontend/', '{}', 'application/json', 405, 'LBDSR_METHOD_NOT_ALLOWED');
    assert.equal(r.headers.allow, 'GET, HEAD, PUT, PATCH, DELETE');
    r = await refused('DELETE', '/lb1/stats/', undefined, undefined, 405, 'LBDSR_METHOD_NOT_ALLOWED');
    assert.equal(r.headers.allow, 'GET, HEAD');
    r = await refused('PUT', '/', '{}', 'application/json', 405, 'LBDSR_METHOD_NOT_ALLOWED');
    assert.equal(r.headers.allow, 'GET, HEAD, POST');
    // a browser's CORS preflight gets no CORS headers: the browser then refuses the request
    r = await refused('OPTIONS', '/lb1/', undefined, undefined, 405, 'LBDSR_METHOD_NOT_ALLOWED');
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    // a path that does not exist stays a 404
    await refused('DELETE', '/lb1/nothing/', undefined, undefined, 404, 'LBDSR_NOT_FOUND');
  });

  test('a body over the limit is a 413; the largest pool fits under it', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) });
    await refused('PUT', '/lb1/', big, 'application/json', 413, 'LBDSR_TOO_LARGE');
    // 4,096 backends (the most a pool may hold), pretty-printed as a person would save it, fit
    const pool = Array.from({ length: 4_096 }, (_, i) => ({
      id: 4_294_000_000 + i,
      mac: '02:00:00:00:00:01',
    }));
    assert.ok(JSON.stringify({ backend: { pool } }, null, 2).length < BODY_LIMIT);
  });

  test('a media type the API does not read is a 415', async () => {
    for (const type of [
      'text/html',
      'application/xml',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
    ]) {
      await refused(
        'PATCH',
        '/lb1/',
        '{"algorithm": "HASH_SESSION"}',
        type,
        415,
        'LBDSR_UNSUPPORTED_MEDIA_TYPE',
      );
    }
  });
});
