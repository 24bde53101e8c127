// The error codes are a documented, stable interface: every code of ERROR_CODES has an HTTP status and
// a row in docs/api.md's table with that same status, and the daemon answers with it.
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ERROR_CODES, LbdsrError } from '../../src/core/errors.js';
import { buildApp } from '../../src/daemon/app.js';
import { HTTP_STATUS } from '../../src/daemon/http.js';
import { ROOT, tempDir } from './helpers.js';

const BASE = '/polycube/v1/lbdsr';

/** The rows of docs/api.md's error table: code -> status. */
function documentedCodes(): Map<string, number> {
  const text = readFileSync(join(ROOT, 'docs/api.md'), 'utf8');
  const rows = new Map<string, number>();
  for (const m of text.matchAll(/^\| `(LBDSR_[A-Z0-9_]+)` \| (\d{3}) \|/gm))
    rows.set(m[1] ?? '', Number(m[2]));
  return rows;
}

describe('error codes', () => {
  test('every code has an HTTP status and a row in docs/api.md with the same status', () => {
    const documented = documentedCodes();
    for (const code of ERROR_CODES) {
      const status = HTTP_STATUS[code];
      assert.ok(status >= 400 && status < 600, `${code} has no error status`);
      assert.equal(
        documented.get(code),
        status,
        `${code}: docs/api.md does not list it with status ${status}`,
      );
    }
    assert.deepEqual(
      [...documented.keys()].sort(),
      [...ERROR_CODES].sort(),
      'docs/api.md lists codes that do not exist',
    );
  });

  test('a configuration that cannot be saved answers LBDSR_INTERNAL with its cause and changes nothing', async () => {
    const state = tempDir('errors');
    const app = await buildApp({ stateDir: state.dir, logLevel: 'silent', watchMs: 0 });
    try {
      assert.equal((await app.inject({ method: 'POST', url: `${BASE}/lb1/` })).statusCode, 201);
      // the state directory goes away under the daemon: the next save cannot write its temp file
      rmSync(state.dir, { recursive: true, force: true });
      const r = await app.inject({
        method: 'PATCH',
        url: `${BASE}/lb1/`,
        payload: { algorithm: 'HASH_SRC_IP' },
      });
      const body = JSON.parse(r.body);
      assert.equal(r.statusCode, HTTP_STATUS.LBDSR_INTERNAL);
      assert.equal(body.code, 'LBDSR_INTERNAL');
      assert.match(body.message, /could not save the configuration: ENOENT/);
      const after = JSON.parse((await app.inject({ method: 'GET', url: `${BASE}/lb1/` })).body);
      assert.equal(after.algorithm, 'HASH_SESSION', 'the change that could not be saved was rolled back');
    } finally {
      await app.close();
      state.cleanup();
    }
  });

  test('LbdsrError keeps the error it wraps', () => {
    const cause = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const e = new LbdsrError('LBDSR_INTERNAL', 'could not save the configuration', { cause });
    assert.equal(e.cause, cause);
    assert.equal(e.code, 'LBDSR_INTERNAL');
  });
});
