// The live status page shows a backend going DOWN: the topology of the e2e suite (test/e2e/backends-env.ts)
// with a TCP health check, lbdsrd in the balancer's namespace, and a headless Chromium started in that
// namespace too (a wrapper script: `ip netns exec NS chromium ARGS`). Killing a server turns its row
// DOWN (red, the reason as the badge's title) without a reload; it comes back UP after a restart.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import { rootSkip } from '../../testkit/root.js';
import { Bed } from '../e2e/backends-env.js';

const CHROMIUM = '/usr/bin/chromium';
const skip =
  rootSkip('the status page health test (network namespaces)') ??
  (existsSync(CHROMIUM) ? undefined : `the status page test needs ${CHROMIUM} (apt-get install chromium)`);

describe('the status page shows a DOWN backend', { skip, timeout: 120_000 }, () => {
  let bed: Bed;
  let browser: Browser;
  let dir: string;

  before(async () => {
    bed = await Bed.up('USERSPACE');
    await bed.ctl(
      'lbdsr',
      'lb1',
      'backend',
      'healthcheck',
      'set',
      'type=TCP',
      'port=80',
      'interval=1',
      'timeout=0.5',
      'rise=2',
      'fall=2',
    );
    dir = mkdtempSync(join(tmpdir(), 'lbdsr-web-'));
    const wrapper = join(dir, 'chromium-in-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${bed.topo.lbNs} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await puppeteer.launch({
      executablePath: wrapper,
      headless: true,
      // DevTools over the process's pipes: its TCP port would be in the namespace, out of reach
      pipe: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    await browser?.close();
    await bed?.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a killed server turns its row DOWN, and UP again after a restart', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(String(e)));
    await page.goto(`${bed.d.url}/`);
    const health = '[data-instance="lb1"] [data-backend="2"] [data-field="health"]';
    const healthIs = (h: string) =>
      page.waitForFunction(`document.querySelector('${health}')?.textContent?.trim() === '${h}'`, {
        timeout: 30_000,
      });
    await healthIs('UP');
    bed.killServer('b2');
    await healthIs('DOWN');
    const row = await page.$eval('[data-instance="lb1"] [data-backend="2"]', (e) => ({
      cls: e.getAttribute('class'),
      title: e.querySelector('[data-field="health"] span')?.getAttribute('title') ?? '',
      badge: e.querySelector('[data-field="health"] span')?.getAttribute('class'),
    }));
    assert.equal(row.cls, 'is-down');
    assert.equal(row.badge, 'down');
    assert.ok(row.title.length > 0, 'the reason of the change');
    await bed.startServer('b2');
    await healthIs('UP');
    assert.deepEqual(problems, []);
  });
});
