// Property-based fuzzing of lbdsrd's REST API through fastify's inject() (no sockets): bad input gets a
// clear {code, message} error and changes nothing; no input gets a 5xx or stops the app from answering.
// A second property runs random sequences of valid and invalid operations against the app and a small
// model of what the configuration should be.
//
// No interface exists in this test's world (netdev answers "absent"), so no data plane is ever attached
// to a real interface of the host, whatever peer the fuzzer sets.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/daemon/app.js';
import { tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';
/** Deeper runs on demand: LBDSR_FUZZ_SCALE=20 runs twenty times as many cases with twenty times the cap. */
const SCALE = Math.max(1, Number(process.env.LBDSR_FUZZ_SCALE) || 1);
type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
const METHODS: Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The configuration every fuzz request starts from: ports without peers, a frontend, a pool. */
const BASELINE = {
  algorithm: 'HASH_SESSION',
  ports: [
    { name: 'fp', type: 'FRONTEND' },
    { name: 'bp', type: 'BACKEND' },
  ],
  frontend: { vip: '10.0.0.100', mac: 'aa:bb:cc:dd:ee:ff' },
  backend: {
    pool: [
      { id: 1, mac: '00:00:00:00:00:01' },
      { id: 2, mac: '00:00:00:00:00:02' },
    ],
  },
};

/** Every resource of the tree below the service, as segments (list entries that exist in BASELINE). */
const PATHS: string[][] = [
  [],
  ['lb1'],
  ['lb1', 'type'],
  ['lb1', 'plane'],
  ['lb1', 'loglevel'],
  ['lb1', 'algorithm'],
  ['lb1', 'ports'],
  ['lb1', 'ports', 'fp'],
  ['lb1', 'ports', 'bp', 'peer'],
  ['lb1', 'ports', 'fp', 'type'],
  ['lb1', 'ports', 'fp', 'status'],
  ['lb1', 'ports', 'bp', 'uuid'],
  ['lb1', 'frontend'],
  ['lb1', 'frontend', 'vip'],
  ['lb1', 'frontend', 'mac'],
  ['lb1', 'backend'],
  ['lb1', 'backend', 'pool'],
  ['lb1', 'backend', 'pool', '1'],
  ['lb1', 'backend', 'pool', '2', 'mac'],
  ['lb1', 'sessions'],
  ['lb1', 'stats'],
  ['openapi.json'],
];

/** Encodes a segment; lone surrogates (which encodeURIComponent refuses) are replaced. */
function enc(s: string): string {
  return encodeURIComponent(s.replace(/\p{Cs}/gu, '\uFFFD'));
}

const weirdSegment: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '-1',
    '0',
    '4294967295',
    '4294967296',
    '99999999999999999999',
    '1e3',
    '1.5',
    '0x10',
    '01',
    '+1',
    ' 1',
    '%00',
    '%2F',
    '%2e%2e',
    '..',
    '.',
    '',
    '%',
    '%zz',
    '%E0%A4%A',
    '%FF',
    'x'.repeat(70),
    'y'.repeat(5000),
    enc('ünïcødé'),
    enc('😀'),
    enc('lb1\u0000'),
    'lb2',
    'nope',
    '__proto__',
    'constructor',
    'prototype',
    'hasOwnProperty',
    'NaN',
    'Infinity',
    'null',
    'undefined',
    'true',
    'ports',
    'pool',
    'frontend',
    'stats',
  ),
  fc.string({ maxLength: 40 }).map(enc),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(enc),
  fc.nat().map(String),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
);

const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '?limit=-1',
      '?limit=abc',
      '?limit=1e3',
      '?limit=1.5',
      '?limit=99999999999',
      '?limit=',
      '?limit=1&limit=2',
      '?limit[]=1',
      '?__proto__=x',
      '?limit=%00',
      '?limit=5',
    ),
  },
);

/** A real path, with some segments replaced, cut or extended by weird ones. */
const path: fc.Arbitrary<string> = fc
  .record({
    base: fc.constantFrom(...PATHS),
    edits: fc.oneof(
      { weight: 2, arbitrary: fc.constant([]) },
      fc.array(fc.tuple(fc.nat(), weirdSegment), { minLength: 1, maxLength: 2 }),
    ),
    extra: fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, weirdSegment),
    slash: fc.boolean(),
    q: query,
  })
  .map(({ base, edits, extra, slash, q }) => {
    const segs = [...base];
    for (const [i, w] of edits) if (segs.length) segs[i % segs.length] = w;
    if (extra !== null) segs.push(extra);
    const p = `${BASE}/${segs.join('/')}`;
    return `${slash && !p.endsWith('/') ? `${p}/` : p}${q}`;
  });

const FIELDS = [
  'name',
  'type',
  'loglevel',
  'algorithm',
  'ports',
  'frontend',
  'backend',
  'sessions',
  'plane',
  'peer',
  'status',
  'uuid',
  'vip',
  'mac',
  'pool',
  'id',
  'capacity',
  'timeouts',
  'tcp',
  'udp',
  'icmp',
  '__proto__',
  'constructor',
  'bogus',
];

const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    4294967296,
    1e3,
    1.5,
    1e308,
    -0,
    '',
    ' ',
    'x'.repeat(5000),
    null,
    true,
    false,
    [],
    {},
    [null],
    '10.0.0.1',
    '10.0.0.256',
    '224.0.0.1',
    'aa:bb:cc:dd:ee:ff',
    '00:00:00:00:00:00',
    '01:00:5e:00:00:01',
    'FRONTEND',
    'BACKEND',
    'hash_src_ip',
    'TC',
    'XDP_SKB',
    'USERSPACE',
    'lo',
    'veth-nonexistent',
    'lb1',
    'fp',
    '\u0000',
    '😀',
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Objects with (mostly) the right keys at (nearly) the right places and wrong or odd values. */
const shapedBody: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, wrongValue, tie('obj'), tie('arr')),
  obj: fc.dictionary(fc.constantFrom(...FIELDS), tie('value'), { maxKeys: 4 }),
  arr: fc.array(tie('obj'), { maxLength: 3 }),
})).value;

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/yaml',
  'text/yaml',
  'application/x-yaml',
];
const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/html',
  'application/xml',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  'application/json; charset=utf-16',
  'application/json, text/plain',
  'garbage',
  ';;;',
  'application/',
];

const RAW_BODIES = [
  '{',
  '}',
  '[1,',
  '{"a":}',
  'null',
  '"unterminated',
  '{"__proto__": {"vip": "bad"}}',
  '{"__proto__": {"polluted": 1}}',
  '{"constructor": {"prototype": {"polluted": 1}}}',
  '{"backend": {"pool": [{"id": 7, "mac": "00:00:00:00:00:07", "__proto__": {"id": 1}}]}}',
  '[{"id": 1e400}]',
  '{"id": 1e400, "mac": "00:00:00:00:00:07"}',
  'key: [unclosed',
  'a: b: c',
  '- - - -',
  '&anchor *alias',
  'x: &a [*a]',
  '!!binary AAAA',
  '!!js/function "function(){}"',
  '\t\tkey: value',
  '\u0000\u0001\u0002',
  '\uFEFF{"vip": "10.0.0.1"}',
  'a'.repeat(100_000),
];

interface Req {
  method: Method;
  url: string;
  payload?: string;
  contentType?: string;
}

const body: fc.Arbitrary<{ payload?: string; contentType?: string }> = fc.oneof(
  fc.constant({}),
  fc.record({
    payload: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    contentType: fc.constant('application/json'),
  }),
  fc.record({
    payload: shapedBody.map((v) => JSON.stringify(v) ?? 'null'),
    contentType: fc.constantFrom(...CONTENT_TYPES),
  }),
  fc.record({
    payload: fc.oneof(fc.constantFrom(...RAW_BODIES), fc.string({ maxLength: 200 })),
    contentType: fc.constantFrom(...CONTENT_TYPES),
  }),
  fc.record({
    payload: fc.oneof(
      fc.constantFrom(...RAW_BODIES),
      shapedBody.map((v) => JSON.stringify(v) ?? ''),
    ),
    contentType: fc.constantFrom(...WRONG_CONTENT_TYPES),
  }),
  fc.record({ payload: fc.string({ maxLength: 50 }).map((s) => JSON.stringify(s)) }),
);

const request: fc.Arbitrary<Req> = fc
  .record({
    method: fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom(...METHODS) },
      fc.constantFrom<Method>('HEAD', 'OPTIONS'),
    ),
    url: path,
    b: body,
  })
  .map(({ method, url, b }) => ({ method, url, ...b }));

/** Runs `fn` and returns the messages of the process warnings emitted meanwhile. */
async function processWarnings(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const on = (w: Error) => seen.push(w.message.split('\n')[0]!);
  process.on('warning', on);
  try {
    await fn();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', on);
  }
  return seen;
}

async function send(app: FastifyInstance, r: Req) {
  const headers: Record<string, string> = {};
  if (r.contentType !== undefined) headers['content-type'] = r.contentType;
  return app.inject({ method: r.method, url: r.url, payload: r.payload, headers });
}

/** Checks the invariants of one response; returns a description of the first violation, or ''. */
function checkResponse(
  method: Method,
  status: number,
  text: string,
  contentType: string | undefined,
): string {
  // (a random capacity near the schema's 100 M may not fit a small host: 507 LBDSR_NO_MEMORY is right)
  if (status >= 500 && !text.includes('"LBDSR_NO_MEMORY"')) return `status ${status}: ${text.slice(0, 300)}`;
  if (method === 'HEAD') return ''; // no body
  if (status >= 200 && status < 300) {
    try {
      JSON.parse(text);
    } catch {
      return `a ${status} answer is not JSON: ${text.slice(0, 200)}`;
    }
    return '';
  }
  if (!String(contentType).startsWith('application/json')) return `error content-type ${contentType}`;
  let b: unknown;
  try {
    b = JSON.parse(text);
  } catch {
    return `error body is not JSON: ${text.slice(0, 200)}`;
  }
  const e = b as { code?: unknown; message?: unknown };
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return `error body is not an object: ${text}`;
  // the stable codes of src/core/errors.ts, never a framework's own
  if (typeof e.code !== 'string' || !/^LBDSR_[A-Z0-9_]+$/.test(e.code))
    return `bad error code: ${text.slice(0, 300)}`;
  if (typeof e.message !== 'string' || e.message.trim() === '') return `empty message: ${text.slice(0, 300)}`;
  return '';
}

describe('REST fuzz: bad input gets a clear error and changes nothing', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  const configFile = () => readFileSync(join(state.dir, 'config.json'));
  const all = async () => {
    const r = await app.inject({ method: 'GET', url: `${BASE}/` });
    assert.equal(r.statusCode, 200, `the app stopped answering GET: ${r.body}`);
    return r.body;
  };
  /** Brings the configuration back to BASELINE after a request that succeeded. */
  const reset = async () => {
    const list = JSON.parse(await all()) as Array<{ name: string }>;
    for (const i of list) {
      if (i.name !== 'lb1') {
        const r = await app.inject({ method: 'DELETE', url: `${BASE}/${encodeURIComponent(i.name)}/` });
        assert.equal(r.statusCode, 200, r.body);
      }
    }
    const r = await app.inject({ method: 'PUT', url: `${BASE}/lb1/`, payload: BASELINE });
    assert.equal(r.statusCode, 200, r.body);
  };

  before(async () => {
    state = tempDir('fuzz');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0, netdev: () => undefined });
    const r = await app.inject({ method: 'POST', url: `${BASE}/lb1/`, payload: BASELINE });
    assert.equal(r.statusCode, 201, r.body);
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  /** One request with every invariant checked; throws (for fast-check) on a violation. */
  const oneRequest = async (req: Req) => {
    const before = await all();
    const file = configFile();
    const r = await send(app, req);
    const problem = checkResponse(
      req.method,
      r.statusCode,
      r.body,
      r.headers['content-type'] as string | undefined,
    );
    assert.equal(problem, '', `${req.method} ${req.url.slice(0, 200)}`);
    const ok = r.statusCode >= 200 && r.statusCode < 300;
    const afterAll = await all(); // the app still answers
    if (!ok) {
      assert.equal(
        afterAll,
        before,
        `failed ${req.method} ${req.url.slice(0, 200)} changed the configuration`,
      );
      assert.ok(
        configFile().equals(file),
        `failed ${req.method} ${req.url.slice(0, 200)} changed config.json`,
      );
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      await reset();
    }
    return { status: r.statusCode, body: r.body };
  };

  test('regressions found by the fuzzer', async () => {
    const cases: Array<[Req, number, string]> = [
      // JSON.parse keeps '__proto__' as an own key; it used to become the prototype of the normalised
      // body, pass the schema check unseen and answer 200 for a body that did nothing
      [
        { method: 'PATCH', url: `${BASE}/lb1/frontend/`, payload: '{"__proto__": {"vip": "bad"}}' },
        400,
        'LBDSR_UNKNOWN_KEY',
      ],
      [
        { method: 'PATCH', url: `${BASE}/lb1/`, payload: '{"__proto__": {"algorithm": "HASH_SRC_IP"}}' },
        400,
        'LBDSR_UNKNOWN_KEY',
      ],
      [
        {
          method: 'PUT',
          url: `${BASE}/lb1/backend/pool/`,
          payload: '[{"id": 7, "__proto__": {"mac": "x"}}]',
        },
        400,
        'LBDSR_UNKNOWN_KEY',
      ],
      // router errors used to answer fastify's own codes (FST_ERR_BAD_URL, FST_ERR_MAX_PARAM_LENGTH, 414)
      [{ method: 'GET', url: `${BASE}/lb1/%zz/` }, 400, 'LBDSR_BAD_VALUE'],
      [{ method: 'DELETE', url: `${BASE}/lb1/backend/pool/%E0%A4%A/` }, 400, 'LBDSR_BAD_VALUE'],
      [{ method: 'GET', url: `${BASE}/lb1/ports/${'y'.repeat(200)}/` }, 400, 'LBDSR_BAD_VALUE'],
      [{ method: 'GET', url: `${BASE}/lb1/sessions/?limit=1&limit=2` }, 400, 'LBDSR_BAD_VALUE'],
      // a YAML alias that contains itself used to reach JSON.stringify in an error message: 500
      [
        { method: 'PATCH', url: `${BASE}/lb1/ports`, payload: 'x: &a [*a]', contentType: 'text/yaml' },
        400,
        'LBDSR_BAD_BODY',
      ],
      [
        { method: 'PUT', url: `${BASE}/lb1/`, payload: '&a [*a]', contentType: 'application/yaml' },
        400,
        'LBDSR_BAD_BODY',
      ],
    ];
    for (const [req, status, code] of cases) {
      const r = await oneRequest({ contentType: 'application/json', ...req });
      assert.equal(r.status, status, `${req.method} ${req.url}: ${r.body}`);
      assert.equal(JSON.parse(r.body).code, code, r.body);
    }
    // YAML warnings (unknown tags, directives) used to be printed by the process, client text included
    const warned = await processWarnings(async () => {
      for (const payload of ['!!js/function "function(){}"', '%bogus\n---\na: 1']) {
        await oneRequest({ method: 'PATCH', url: `${BASE}/lb1/`, payload, contentType: 'text/yaml' });
      }
    });
    assert.deepEqual(warned, []);
  });

  test('random requests: no 5xx, errors are {code, message}, a failed request changes nothing', async () => {
    const started = Date.now();
    const statuses = new Map<number, number>();
    const warned = await processWarnings(() =>
      fc.assert(
        fc.asyncProperty(request, async (req) => {
          const { status } = await oneRequest(req);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }),
        {
          numRuns: 6000 * SCALE,
          interruptAfterTimeLimit: 30_000 * SCALE,
          markInterruptAsFailure: false,
          endOnFailure: true,
          includeErrorInReport: true,
        },
      ),
    );
    assert.deepEqual(warned, [], 'the process printed warnings');
    const ms = Date.now() - started;
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(
      `# REST fuzz: ${total} requests in ${ms} ms; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.ok(total >= 200, `only ${total} requests ran within the time cap`);
  });
  test('concurrent random requests: no 5xx, and config.json always equals what the API shows', async () => {
    const started = Date.now();
    let sent = 0;
    // what GET shows, reduced to what is persisted (no plane, no port status, AUTO = no type)
    const shown = (list: Array<Record<string, unknown>>) =>
      JSON.parse(
        JSON.stringify(
          list.map((i) => ({
            ...i,
            plane: undefined,
            planeStatus: undefined,
            planeReason: undefined,
            type: i.type === 'AUTO' ? undefined : i.type,
            ports: (i.ports as Array<Record<string, unknown>>).map((p) => ({ ...p, status: undefined })),
          })),
        ),
      );
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 2, maxLength: 8 }), async (reqs) => {
        const answers = await Promise.all(reqs.map((r) => send(app, r)));
        sent += reqs.length;
        answers.forEach((r, i) => {
          const problem = checkResponse(
            reqs[i]!.method,
            r.statusCode,
            r.body,
            r.headers['content-type'] as string,
          );
          assert.equal(problem, '', `${reqs[i]!.method} ${reqs[i]!.url.slice(0, 200)}`);
        });
        const saved = JSON.parse(configFile().toString()).instances;
        assert.deepEqual(shown(JSON.parse(await all())), saved, 'config.json differs from the API');
        await reset();
      }),
      {
        numRuns: 300 * SCALE,
        interruptAfterTimeLimit: 10_000 * SCALE,
        markInterruptAsFailure: false,
        endOnFailure: true,
        includeErrorInReport: true,
      },
    );
    console.log(`# concurrent REST fuzz: ${sent} requests in ${Date.now() - started} ms`);
    assert.ok(sent >= 100, `only ${sent} requests ran within the time cap`);
  });
});

// ---- sequences of operations against a model ----

interface Model {
  algorithm: string;
  vip?: string;
  pool: Array<{ id: number; mac: string }>;
}

type Op =
  | { op: 'addPool'; via: 'entry' | 'list'; id: string | number | null; mac: unknown }
  | { op: 'delPool'; id: string }
  | { op: 'setAlgorithm'; via: 'leaf' | 'instance'; value: unknown }
  | { op: 'setVip'; via: 'leaf' | 'frontend'; value: unknown };

const ALGORITHMS = ['HASH_SESSION', 'HASH_SRC_IP'];

const validMac = fc
  .tuple(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.constantFrom(':', '-'), fc.boolean())
  .filter(([b]) => b.some((x) => x !== 0))
  .map(([b, sep, upper]) => {
    const s = [...b].map((x) => x.toString(16).padStart(2, '0')).join(sep);
    return upper ? s.toUpperCase() : s;
  });
const mac: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: validMac },
  fc.constantFrom(
    '00:00:00:00:00:00',
    'zz:00:00:00:00:01',
    'aa:bb:cc:dd:ee',
    'aa:bb-cc:dd:ee:ff',
    'aabbccddeeff',
    '',
    5,
    null,
  ),
);
const idSegment = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 5 }).map(String) },
  fc.constantFrom('4294967295', '4294967296', '-1', '1e3', '1.5', 'x', '0x1', '99999999999'),
);
const idValue: fc.Arbitrary<string | number | null> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 5 }) },
  fc.constantFrom(4294967295, 4294967296, -1, 1.5, '3', null),
);
const vip: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 223 }), fc.nat(255), fc.nat(255), fc.nat(255))
      .filter(([a]) => a !== 127)
      .map((o) => o.join('.')),
  },
  fc.constantFrom(
    '10.0.0',
    '10.0.0.256',
    '224.0.0.1',
    '127.0.0.1',
    '0.1.2.3',
    '255.255.255.255',
    '1.2.3.4.5',
    '01.2.3.4',
    'abc',
    '',
    42,
    null,
  ),
);
const operation: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('addPool' as const),
    via: fc.constant('entry' as const),
    id: idSegment,
    mac,
  }),
  fc.record({ op: fc.constant('addPool' as const), via: fc.constant('list' as const), id: idValue, mac }),
  fc.record({ op: fc.constant('delPool' as const), id: idSegment }),
  fc.record({
    op: fc.constant('setAlgorithm' as const),
    via: fc.constantFrom('leaf' as const, 'instance' as const),
    value: fc.constantFrom(
      'HASH_SESSION',
      'hash_src_ip',
      'Hash_Session',
      'ROUND_ROBIN',
      '',
      'hash-src-ip',
      7,
      null,
    ),
  }),
  fc.record({
    op: fc.constant('setVip' as const),
    via: fc.constantFrom('leaf' as const, 'frontend' as const),
    value: vip,
  }),
);

// The model's own reading of the rules (written from the issue, not taken from the daemon's code).
function modelMac(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i.exec(v);
  if (!m || /^0{2}([:-]0{2}){5}$/.test(v)) return undefined;
  return v.toLowerCase().replaceAll('-', ':');
}
function modelVip(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const parts = v.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255))
    return undefined;
  const a = Number(parts[0]);
  if (a === 0 || a === 127 || a >= 224) return undefined;
  return v;
}
function modelId(v: unknown, fromPath: boolean): number | undefined {
  if (fromPath) {
    if (typeof v !== 'string' || !/^\d{1,10}$/.test(v)) return undefined;
    v = Number(v);
  }
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : undefined;
}

/** Applies `o` to the model; returns whether the daemon must accept it. */
function applyModel(m: Model, o: Op): boolean {
  switch (o.op) {
    case 'addPool': {
      const id = modelId(o.id, o.via === 'entry');
      const mac = modelMac(o.mac);
      if (id === undefined || mac === undefined || m.pool.some((e) => e.id === id)) return false;
      m.pool.push({ id, mac });
      return true;
    }
    case 'delPool': {
      const id = modelId(o.id, true);
      const i = m.pool.findIndex((e) => e.id === id);
      if (i < 0) return false;
      m.pool.splice(i, 1);
      return true;
    }
    case 'setAlgorithm': {
      const v = typeof o.value === 'string' ? o.value.toUpperCase() : undefined;
      if (!v || !ALGORITHMS.includes(v)) return false;
      m.algorithm = v;
      return true;
    }
    case 'setVip': {
      const v = modelVip(o.value);
      if (v === undefined) return false;
      m.vip = v;
      return true;
    }
  }
}

function toRequest(o: Op): Req {
  const json = (v: unknown) => ({ payload: JSON.stringify(v), contentType: 'application/json' });
  switch (o.op) {
    case 'addPool':
      return o.via === 'entry'
        ? { method: 'POST', url: `${BASE}/lb1/backend/pool/${o.id}/`, ...json({ mac: o.mac }) }
        : { method: 'POST', url: `${BASE}/lb1/backend/pool/`, ...json([{ id: o.id, mac: o.mac }]) };
    case 'delPool':
      return { method: 'DELETE', url: `${BASE}/lb1/backend/pool/${o.id}/` };
    case 'setAlgorithm':
      return o.via === 'leaf'
        ? { method: 'PUT', url: `${BASE}/lb1/algorithm/`, ...json(o.value) }
        : { method: 'PATCH', url: `${BASE}/lb1/`, ...json({ algorithm: o.value }) };
    case 'setVip':
      return o.via === 'leaf'
        ? { method: 'PUT', url: `${BASE}/lb1/frontend/vip/`, ...json(o.value) }
        : { method: 'PATCH', url: `${BASE}/lb1/frontend/`, ...json({ vip: o.value }) };
  }
}

describe('sequence fuzz: the configuration follows a model through valid and invalid operations', () => {
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  const START = { algorithm: 'HASH_SESSION', frontend: {}, backend: { pool: [] } };

  before(async () => {
    state = tempDir('fuzzseq');
    app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0, netdev: () => undefined });
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  test('random operation sequences', async () => {
    const started = Date.now();
    let steps = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 10, maxLength: 40 }), async (ops) => {
        const r0 = await app.inject({ method: 'PUT', url: `${BASE}/lb1/`, payload: START });
        assert.ok(r0.statusCode === 200, r0.body);
        const model: Model = { algorithm: 'HASH_SESSION', pool: [] };
        for (const o of ops) {
          const want = applyModel(model, o);
          const r = await send(app, toRequest(o));
          steps++;
          const ok = r.statusCode >= 200 && r.statusCode < 300;
          if (ok) accepted++;
          assert.equal(ok, want, `${JSON.stringify(o)} answered ${r.statusCode} ${r.body}`);
          if (!ok) assert.match(JSON.parse(r.body).code, /^LBDSR_[A-Z0-9_]+$/);
          const got = JSON.parse((await app.inject({ method: 'GET', url: `${BASE}/lb1/` })).body);
          const expected = {
            algorithm: model.algorithm,
            frontend: model.vip === undefined ? {} : { vip: model.vip },
            pool: model.pool,
          };
          assert.deepEqual(
            { algorithm: got.algorithm, frontend: got.frontend, pool: got.backend.pool },
            expected,
            `after ${JSON.stringify(o)}`,
          );
          const saved = JSON.parse(readFileSync(join(state.dir, 'config.json'), 'utf8')).instances[0];
          assert.deepEqual(
            { algorithm: saved.algorithm, frontend: saved.frontend, pool: saved.backend.pool },
            expected,
            `config.json after ${JSON.stringify(o)}`,
          );
        }
      }),
      {
        numRuns: 150 * SCALE,
        interruptAfterTimeLimit: 15_000 * SCALE,
        markInterruptAsFailure: false,
        includeErrorInReport: true,
      },
    );
    console.log(`# sequence fuzz: ${steps} operations (${accepted} accepted) in ${Date.now() - started} ms`);
    assert.ok(steps >= 100, `only ${steps} operations ran within the time cap`);
  });
});

describe('token fuzz: only the exact bearer token passes', () => {
  const TOKEN = 's3cret-Tok3n';
  let app: FastifyInstance;
  let state: ReturnType<typeof tempDir>;
  const auth = (h?: string) => (h === undefined ? {} : { authorization: h });

  before(async () => {
    state = tempDir('fuzztok');
    app = await buildApp({
      stateDir: state.dir,
      logLevel: 'silent',
      watchMs: 0,
      token: TOKEN,
      netdev: () => undefined,
    });
    const r = await app.inject({
      method: 'POST',
      url: `${BASE}/lb1/`,
      payload: BASELINE,
      headers: auth(`Bearer ${TOKEN}`),
    });
    assert.equal(r.statusCode, 201, r.body);
  });
  after(async () => {
    await app.close();
    state.cleanup();
  });

  test('random Authorization headers on random requests', async () => {
    const printable = fc.string({
      unit: fc
        .integer({ min: 0x20, max: 0xff })
        .filter((c) => c < 0x7f || c >= 0xa0)
        .map((c) => String.fromCharCode(c)),
      maxLength: 30,
    });
    const header: fc.Arbitrary<string | undefined> = fc.oneof(
      fc.constant(undefined),
      printable,
      printable.map((s) => `Bearer ${s}`),
      fc.constantFrom(
        '',
        'Bearer',
        'Bearer ',
        `bearer ${TOKEN.toUpperCase()}`,
        `Bearer  ${TOKEN}x`,
        `Bearer ${TOKEN} `,
        `Bearer ${TOKEN.toUpperCase()}`,
        `Bearer ${TOKEN.slice(0, -1)}`,
        `Bearer ${TOKEN}x`,
        `Basic ${TOKEN}`,
        `Bearer ${TOKEN.slice(0, -1)}\u00e9`,
        TOKEN,
      ),
    );
    const file = () => readFileSync(join(state.dir, 'config.json'));
    const before = file();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(request, header, async (req, h) => {
        const r = await app.inject({
          method: req.method,
          url: req.url,
          payload: req.payload,
          headers: { ...auth(h), ...(req.contentType ? { 'content-type': req.contentType } : {}) },
        });
        sent++;
        const problem = checkResponse(req.method, r.statusCode, r.body, r.headers['content-type'] as string);
        assert.equal(problem, '', `${req.method} ${req.url.slice(0, 200)} with ${h}`);
        const code = req.method === 'HEAD' ? undefined : JSON.parse(r.body).code;
        if (r.statusCode !== 401) {
          // the router answers malformed paths before any hook; nothing else may pass without the token
          assert.equal(r.statusCode, 400, `${h}: ${r.statusCode} ${r.body}`);
          if (code !== undefined) assert.equal(code, 'LBDSR_BAD_VALUE');
        } else if (code !== undefined) assert.equal(code, 'LBDSR_UNAUTHORIZED');
        assert.ok(file().equals(before), 'a request without the token changed config.json');
      }),
      {
        numRuns: 1000 * SCALE,
        interruptAfterTimeLimit: 10_000 * SCALE,
        markInterruptAsFailure: false,
        endOnFailure: true,
        includeErrorInReport: true,
      },
    );
    console.log(`# token fuzz: ${sent} requests`);
  });
});
