// The live status page (src/web/, src/daemon/routes/web.ts) in a real headless Chromium (puppeteer-core,
// Debian's /usr/bin/chromium) against a real lbdsrd: it renders the instance, its service and backends;
// a backend added or removed through the API appears or goes without a reload; with a token the page
// asks for it before any API request and then shows the same; no console error, no failed request.
// A backend going DOWN when its server is killed: status-page-health.test.ts (root, namespaces).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { Daemon, freePort } from '../../testkit/daemon.js';
import { LBDSRD } from '../../testkit/paths.js';
import { skipFor } from '../../testkit/root.js';
import { mustWaitFor } from '../../testkit/timing.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = skipFor(
  existsSync(CHROMIUM) ? undefined : `the status page test needs ${CHROMIUM} (apt-get install chromium)`,
);

/** A page that records every console error, page error, failed request and HTTP error answer. */
async function openPage(
  browser: Browser,
): Promise<{ page: Page; problems: string[]; apiRequests: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const apiRequests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('requestfailed', (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    if (r.url().includes('/polycube/')) apiRequests.push(r.url());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return { page, problems, apiRequests };
}

const text = (page: Page, selector: string) =>
  page.$eval(selector, (e) => e.textContent?.trim() ?? '').catch(() => undefined);

describe('the live status page in a headless browser', { skip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });
  after(async () => {
    await browser?.close();
  });

  test('renders the instance and follows changes made through the API', { timeout: 120_000 }, async () => {
    const d = new Daemon({ logLevel: 'warn' });
    try {
      await d.start();
      await d.mustCtl('lbdsr', 'add', 'lb1');
      await d.mustCtl('lbdsr', 'lb1', 'frontend', 'set', 'vip=10.0.0.100', 'mac=aa:bb:cc:dd:ee:ff');
      await d.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=02:00:00:00:00:01');
      const { page, problems } = await openPage(browser);
      const res = await page.goto(`${d.url}/`);
      assert.equal(res?.status(), 200);
      assert.match(res?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
      const lb1 = '[data-instance="lb1"]';
      await page.waitForSelector(`${lb1} [data-backend="1"]`, { timeout: 20_000 });
      assert.equal(await text(page, `${lb1} [data-service="default"] [data-field="vip"]`), '10.0.0.100');
      const row1 = await text(page, `${lb1} [data-backend="1"]`);
      assert.match(row1 ?? '', /02:00:00:00:00:01/);
      assert.match(row1 ?? '', /UP/);
      assert.equal(await text(page, `${lb1} [data-drop="NO_BACKEND"] [data-field="count"]`), '0');
      assert.equal(await text(page, '#connection'), 'live');
      // no token here: the token form stays hidden; no port, so no data plane and the service is not ready
      assert.equal(await page.$('#login:not([hidden])'), null);
      await page.waitForSelector('#login', { hidden: true, timeout: 1000 }); // throws while it shows
      assert.equal(await text(page, `${lb1} [data-field="plane"]`), 'no data plane');
      assert.equal(await text(page, `${lb1} [data-service="default"] [data-field="state"]`), 'NOT READY');

      // changes through the API show without a reload
      await d.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'add', '2', 'mac=02:00:00:00:00:02');
      await page.waitForSelector(`${lb1} [data-backend="2"]`, { timeout: 20_000 });
      await d.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'del', '1');
      await page.waitForSelector(`${lb1} [data-backend="1"]`, { hidden: true, timeout: 20_000 });
      // IPv6: a dual-stack default service shows both VIPs, an IPv6 service its own; ND replies counted
      await d.mustCtl('lbdsr', 'lb1', 'frontend', 'set', 'vip6=fd00:0::1');
      await d.mustCtl('lbdsr', 'lb1', 'services', 'add', 'web6', 'vip=FD00::100', 'protocol=TCP', 'port=80');
      await page.waitForSelector(`${lb1} [data-service="web6"]`, { timeout: 20_000 });
      assert.equal(await text(page, `${lb1} [data-service="web6"] [data-field="vip"]`), 'fd00::100');
      const defaultVip = `${lb1} [data-service="default"] [data-field="vip"]`;
      await page.waitForFunction(
        `document.querySelector('${defaultVip}')?.textContent.trim() === '10.0.0.100 fd00::1'`,
        { timeout: 20_000 },
      );
      assert.equal(await text(page, `${lb1} [data-field="nd"]`), '0');
      await d.mustCtl('lbdsr', 'add', 'lb2');
      await page.waitForSelector('[data-instance="lb2"]', { timeout: 20_000 });
      // the graph gathers readings as they come
      const graph = `${lb1} [data-field="graph"]`;
      await page.waitForFunction(
        `Number(document.querySelector('${graph}')?.getAttribute('data-points')) >= 2`,
        {
          timeout: 20_000,
        },
      );
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await d.dispose();
    }
  });

  test('with a token the page asks for it first, then shows the status', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lbdsr-web-'));
    const token = randomBytes(24).toString('hex');
    writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let daemon: ChildProcess | undefined;
    try {
      daemon = spawn(
        process.execPath,
        [
          LBDSRD,
          '--listen',
          `127.0.0.1:${port}`,
          '--state-dir',
          join(dir, 'state'),
          '--token-file',
          join(dir, 'token'),
        ],
        { stdio: 'ignore', env: { ...process.env, LBDSR_CONFIG: '' } },
      );
      // the page itself is served without the token: it holds no data
      await mustWaitFor(
        'lbdsrd serving its page',
        async () => (await fetch(`${url}/`).catch(() => undefined))?.ok === true,
        {
          timeoutMs: 20_000,
          intervalMs: 100,
        },
      );
      assert.equal((await fetch(`${url}/polycube/v1/lbdsr/`)).status, 401);
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const created = await fetch(`${url}/polycube/v1/lbdsr/lbt/`, {
        method: 'POST',
        headers: auth,
        body: '{}',
      });
      assert.equal(created.status, 201);

      const { page, problems, apiRequests } = await openPage(browser);
      await page.goto(`${url}/`);
      await page.waitForSelector('#login', { visible: true, timeout: 20_000 });
      assert.deepEqual(apiRequests, [], 'no API request before the token is given');
      await page.type('#token', token);
      await page.click('#login button');
      await page.waitForSelector('[data-instance="lbt"]', { timeout: 20_000 });
      await page.waitForSelector('#login', { hidden: true, timeout: 20_000 });
      assert.equal(await text(page, '#connection'), 'live');
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      if (daemon && daemon.exitCode === null) {
        const gone = new Promise((res) => daemon?.once('exit', res));
        daemon.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
