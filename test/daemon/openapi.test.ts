// /openapi.json is generated from the routes the daemon registers: every route and method is in the
// document (and nothing else), with its path parameters, its body, its answers and the error body.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES } from '../../src/core/errors.js';
import { buildApp } from '../../src/daemon/app.js';
import { notAllowedRoutes } from '../../src/daemon/routes/methods.js';
import { WEB_FILES } from '../../src/daemon/routes/web.js';
import { tempDir } from './helpers.js';

/** `/polycube/v1/lbdsr/:name/` -> `/polycube/v1/lbdsr/{name}` (the document's spelling, no trailing /). */
const norm = (path: string) => path.replace(/:(\w+)/g, '{$1}').replace(/(.)\/$/, '$1');

/** The routes fastify serves, from its route tree: `METHOD path`, HEAD left out. */
function servedRoutes(app: FastifyInstance): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│ ]*)[├└]── (\S+) \(([A-Z, ]+)\)/.exec(line);
    if (!m) continue;
    const depth = (m[1] ?? '').length / 4;
    stack.length = depth;
    stack.push(m[2] ?? '');
    for (const method of (m[3] ?? '').split(', ')) {
      if (method !== 'HEAD') out.add(`${method} ${norm(stack.join(''))}`);
    }
  }
  return out;
}

type Operation = {
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
};
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties: { code: { anyOf: Array<{ const: string }> } } }> };
};

describe('/openapi.json', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  let doc: Doc;
  before(async () => {
    state = tempDir('openapi');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
    await app.ready();
    const r = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(r.statusCode, 200);
    doc = JSON.parse(r.body);
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  const operations = () =>
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        key: `${method.toUpperCase()} ${norm(path)}`,
        path,
        method,
        op,
      })),
    );

  test('lists every route the server registers, and only those', () => {
    const served = servedRoutes(app);
    served.delete('GET /openapi.json');
    served.delete('GET /metrics'); // Prometheus text, not part of the REST API
    // the 405 answers of the methods a path does not take are not operations
    for (const r of notAllowedRoutes(app))
      served.delete(r.replace(/ (.*)/, (_, url: string) => ` ${norm(url)}`));
    for (const [url] of WEB_FILES) served.delete(`GET ${url}`); // the status page, not the API
    assert.ok(served.size > 60, `only ${served.size} routes read from the route tree`);
    assert.deepEqual(new Set(operations().map((o) => o.key)), served);
  });

  test('each operation declares its path parameters, its body and its answers', () => {
    for (const { key, path, method, op } of operations()) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      assert.deepEqual(declared.sort(), inPath.sort(), `${key}: path parameters`);
      const wantsBody = ['post', 'put', 'patch'].includes(method);
      assert.equal(op.requestBody !== undefined, wantsBody, `${key}: request body`);
      // a POST creates (201), except an action, which creates nothing (.../frontend/announce, .../explain: 200)
      const action = path.endsWith('/announce/') || path.endsWith('/explain/');
      const ok = op.responses[method === 'post' && !action ? '201' : '200'];
      assert.ok(ok?.content?.['application/json'], `${key}: no answer schema`);
      for (const status of ['400', '404', '409', '500']) {
        const ref = op.responses[status]?.content?.['application/json']?.schema.$ref;
        assert.equal(ref, '#/components/schemas/LbdsrError', `${key}: ${status} answer`);
      }
    }
  });

  test('every write takes ?dry_run=true; the services tree is documented', () => {
    for (const { key, method, op } of operations()) {
      // an action (announce, explain) changes no configuration: nothing to plan
      if (method === 'get' || key.endsWith('/announce') || key.endsWith('/explain')) continue;
      const q = (op.parameters ?? []).find((p) => p.in === 'query' && p.name === 'dry_run');
      assert.ok(q, `${key}: no dry_run query parameter`);
    }
    const keys = new Set(operations().map((o) => o.key));
    for (const k of [
      'POST /polycube/v1/lbdsr/{name}/services/{service}',
      'PATCH /polycube/v1/lbdsr/{name}/services/{service}/backend/healthcheck',
      'POST /polycube/v1/lbdsr/{name}/services/{service}/backend/pool/{id}',
      'PATCH /polycube/v1/lbdsr/{name}/backend/pool/{id}/healthcheck',
      'PUT /polycube/v1/lbdsr/{name}/probe_ip',
    ])
      assert.ok(keys.has(k), `missing ${k}`);
  });

  test('the error body lists every error code', () => {
    assert.equal(doc.openapi, '3.1.0');
    const codes = doc.components.schemas.LbdsrError?.properties.code.anyOf.map((c) => c.const);
    assert.deepEqual(codes, [...ERROR_CODES]);
  });
});
