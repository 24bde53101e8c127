// The live status page with real frames: lbdsrd runs a USERSPACE plane in a namespace line (client ns
// --veth-- balancer ns --veth-- backend ns), Chromium runs inside the balancer's namespace (its
// loopback is the daemon's), and a client pings the VIP: the page shows the frames received and sent to
// the backend, a non-zero rate and a graph that rises, without a reload. Root, under the shared lock.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { Daemon } from '../../testkit/daemon.js';
import { ipSync } from '../../testkit/exec.js';
import { makeTopo, type Topo } from '../../testkit/line.js';
import { rootSkip, skipFor } from '../../testkit/root.js';

const CHROMIUM = '/usr/bin/chromium';
const skip =
  rootSkip('the status page with frames (namespaces)') ??
  skipFor(
    existsSync(CHROMIUM) ? undefined : `the status page test needs ${CHROMIUM} (apt-get install chromium)`,
  );

const cell = (page: Page, selector: string) =>
  page.$eval(selector, (e) => e.textContent?.trim() ?? '').catch(() => '');

describe('the live status page shows real frames', { skip }, () => {
  let topo: Topo;
  let d: Daemon;
  let browser: Browser | undefined;
  let pinger: ChildProcess | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'lbdsr-web-frames-'));

  before(async () => {
    topo = makeTopo('web');
    ipSync('-n', topo.cl, 'addr', 'add', '10.0.0.11/24', 'dev', topo.clIf);
    d = new Daemon({ ns: topo.lb, logLevel: 'warn' });
    await d.start();
    await d.mustCtl('lbdsr', 'add', 'lb1', 'type=USERSPACE');
    await d.mustCtl('lbdsr', 'lb1', 'ports', 'add', 'fp', 'type=FRONTEND', `peer=${topo.fe}`);
    await d.mustCtl('lbdsr', 'lb1', 'ports', 'add', 'bp', 'type=BACKEND', `peer=${topo.be}`);
    await d.mustCtl('lbdsr', 'lb1', 'frontend', 'set', 'vip=10.0.0.100', 'mac=aa:bb:cc:dd:ee:ff');
    await d.mustCtl('lbdsr', 'lb1', 'backend', 'pool', 'add', '1', 'mac=02:00:00:00:00:01');
    // Chromium in the balancer's namespace, driven over pipes (fds survive `ip netns exec`)
    const wrapper = join(dir, 'chromium-in-ns');
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${topo.lb} ${CHROMIUM} "$@"\n`);
    chmodSync(wrapper, 0o755);
    browser = await puppeteer.launch({
      executablePath: wrapper,
      pipe: true,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
  });

  after(async () => {
    pinger?.kill('SIGKILL');
    await browser?.close();
    await d?.dispose();
    topo?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('frames, rates and the graph follow the traffic', { timeout: 120_000 }, async () => {
    const page = await (browser as Browser).newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
    page.on('requestfailed', (r) => problems.push(`failed: ${r.url()}`));
    await page.goto(`${d.url}/`);
    const lb1 = '[data-instance="lb1"]';
    await page.waitForSelector(`${lb1} [data-backend="1"]`, { timeout: 20_000 });
    assert.equal(await cell(page, `${lb1} [data-field="plane"]`), 'plane USERSPACE');
    assert.equal(await cell(page, `${lb1} [data-field="rx-packets"]`), '0');
    assert.equal(await cell(page, `${lb1} [data-service="default"] [data-field="state"]`), 'SERVING');

    pinger = spawn('ip', ['netns', 'exec', topo.cl, 'ping', '-q', '-i', '0.2', '-w', '100', '10.0.0.100'], {
      stdio: 'ignore',
    });
    const rate = `${lb1} [data-field="rx-rate"]`;
    await page.waitForFunction(
      `(() => { const t = document.querySelector('${rate}')?.textContent ?? ''; return t !== '' && t !== '0' && t !== '–'; })()`,
      { timeout: 30_000 },
    );
    await page.waitForFunction(
      `document.querySelector('${lb1} [data-backend="1"] [data-field="frames"]')?.textContent !== '0'`,
      { timeout: 30_000 },
    );
    assert.notEqual(await cell(page, `${lb1} [data-field="tx-backend"]`), '0');
    assert.match(await cell(page, `${lb1} [data-field="graph"]`), /max \d/);
    assert.deepEqual(problems, []);
    await page.close();
  });
});
