// A full disk (issue 9, item 13): the configuration is written whole or not at all. On a 64 KiB tmpfs left
// with one free page, a change whose configuration needs more than that answers 507 LBDSR_NO_SPACE, leaves
// the previous config.json intact with no temp file behind, and serves the old configuration; once space
// is back, a restarted daemon serves that configuration and takes changes again. (Before the fix, the short
// write went unchecked: the API answered 200 and config.json was left truncated.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Daemon, needRoot, startDaemon, tempDir } from './helpers.js';

const LB = '/polycube/v1/lbdsr/lb1/';

function pool(n: number): Array<{ id: number; mac: string }> {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    mac: `02:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
  }));
}

/** Fills the file system of `path` in whole pages, then frees one page: the next large write is short. */
function fillLeavingOnePage(path: string): void {
  const fd = openSync(path, 'w', 0o600);
  const page = Buffer.alloc(4096, 0x5a);
  try {
    for (;;) {
      try {
        if (writeSync(fd, page) < page.length) break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw e;
      }
    }
    const size = fstatSync(fd).size;
    ftruncateSync(fd, Math.max(0, Math.floor(size / 4096) * 4096 - 4096));
  } finally {
    closeSync(fd);
  }
}

test('a full disk fails the change with 507 and keeps the previous configuration', {
  skip: needRoot(),
}, async () => {
  const tmp = tempDir('diskfull');
  const mnt = join(tmp.dir, 'mnt');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt]);
  let d: Daemon | undefined;
  try {
    const state = join(mnt, 'state');
    mkdirSync(state, { mode: 0o700 });
    d = await startDaemon(state);
    const url = d.url;
    const call = (method: string, body?: unknown) =>
      fetch(`${url}${LB}`, {
        method,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
    assert.equal((await call('POST', { backend: { pool: pool(2) } })).status, 201);
    const before = readFileSync(join(state, 'config.json'), 'utf8');

    fillLeavingOnePage(join(mnt, 'filler'));
    const r = await call('PATCH', { algorithm: 'HASH_SRC_IP', backend: { pool: pool(200) } });
    const body = (await r.json()) as { code: string; message: string };
    assert.equal(r.status, 507, JSON.stringify(body));
    assert.equal(body.code, 'LBDSR_NO_SPACE');
    assert.equal(readFileSync(join(state, 'config.json'), 'utf8'), before, 'config.json unchanged');
    assert.deepEqual(
      readdirSync(state).filter((f) => f.includes('.tmp')),
      [],
      'no temp file left behind',
    );
    const live = (await (await call('GET')).json()) as { algorithm: string; backend: { pool: unknown[] } };
    assert.equal(live.algorithm, 'HASH_SESSION', 'the change was rolled back');
    assert.equal(live.backend.pool.length, 2);

    rmSync(join(mnt, 'filler'));
    await d.stop();
    d = await startDaemon(state);
    const again = (await (await fetch(`${d.url}${LB}`)).json()) as { backend: { pool: unknown[] } };
    assert.equal(again.backend.pool.length, 2, 'the restarted daemon serves the previous configuration');
    const ok = await fetch(`${d.url}${LB}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ backend: { pool: pool(200) } }),
    });
    assert.equal(ok.status, 200, 'with space back, the change goes through');
  } finally {
    await d?.dispose();
    execFileSync('umount', ['-l', mnt]);
    tmp.cleanup();
  }
});
