// The dashboard in a real browser (Debian's chromium, driven by playwright-core; no browser
// download): a real agent process with --dashboard, a real `portus datapath` with 3 flows, and the
// page checked for live rows, growing charts, the close events, and a clean console. A screenshot
// is saved to test-artifacts/dashboard.png. Every wait is on a condition, with generous timeouts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { portus, tempDir, type Proc } from '../e2e/helpers.ts';

const CHROMIUM = process.env.PORTUS_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const haveBrowser = existsSync(CHROMIUM);
// CI installs chromium; a missing browser there is a failure, not a skip.
const skip =
  !haveBrowser && process.env.CI !== 'true' ? `no browser at ${CHROMIUM} (apt-get install chromium)` : false;

const procs: Proc[] = [];
let browser: Browser | null = null;
after(async () => {
  await browser?.close();
  for (const p of procs) p.kill('SIGKILL');
});

test(
  'dashboard: live flows, charts, close events and a clean console in Chromium',
  { skip, timeout: 240_000 },
  async () => {
    assert.ok(haveBrowser, `CI needs a browser at ${CHROMIUM}`);
    const dir = tempDir();
    const sock = join(dir.dir, 'agent.sock');
    const agent = portus(['run', 'reno', '--socket', sock, '--quiet', '--dashboard', '127.0.0.1:0']);
    procs.push(agent);
    const line = await agent.waitFor(/dashboard at http/, 'out', 90_000);
    const url = line.slice(line.indexOf('http'));
    const base = url.slice(0, url.indexOf('/?token='));

    // Without the token, or with a wrong one, nothing is served.
    assert.equal((await fetch(`${base}/`)).status, 403);
    assert.equal((await fetch(`${base}/api/flows?token=wrong`)).status, 403);
    assert.equal((await fetch(url, { method: 'POST' })).status, 405);

    const dp = portus(['datapath', '--agent', sock, '--flows', '3', '--duration', '12', '--rate', '500']);
    procs.push(dp);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);

    // Three rows with live values (a window and an RTT the datapath reported).
    await page.waitForFunction(
      () => {
        const rows = [...document.querySelectorAll('#flows tbody tr')];
        return rows.length === 3 && rows.every((r) => r.children[7]?.textContent?.endsWith(' ms'));
      },
      undefined,
      { timeout: 60_000 },
    );
    const cells = await page.$$eval('#flows tbody tr', (rows) =>
      rows.map((r) => [...r.children].map((c) => c.textContent)),
    );
    assert.deepEqual(
      cells.map((c) => c[2]),
      ['reno', 'reno', 'reno'],
    );
    for (const c of cells) assert.match(c[5] ?? '', /KB|MB/);

    // Select a flow: its charts gain points over time.
    await page.click('#flows tbody tr');
    await page.waitForFunction(() => window.portusDashboard.points().flow >= 2, undefined, {
      timeout: 30_000,
    });
    const before = await page.evaluate(() => window.portusDashboard.points().flow);
    await page.waitForFunction((n) => window.portusDashboard.points().flow >= n + 3, before, {
      timeout: 30_000,
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

    // The datapath ends its flows: the closes show in the event log.
    assert.equal(await dp.exited, 0);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('#events li')].filter((li) => / closed: /.test(li.textContent ?? ''))
          .length === 3,
      undefined,
      { timeout: 30_000 },
    );
    const log = await page.$$eval('#events li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.ok(
      log.some((l) => /datapath .* registered/.test(l)),
      log.join('\n'),
    );
    assert.equal(log.filter((l) => / created, algorithm reno/.test(l)).length, 3, log.join('\n'));
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-closed.png'), fullPage: true });
    assert.deepEqual(problems, []);

    agent.kill('SIGINT');
    assert.equal(await agent.exited, 0);
    dir.cleanup();
  },
);

// Minimal DOM shapes for the functions evaluated in the page (the project compiles without lib.dom).
interface PageEl {
  readonly textContent: string | null;
  readonly children: ArrayLike<PageEl>;
}
declare const document: { querySelectorAll(selector: string): ArrayLike<PageEl> & Iterable<PageEl> };
declare const window: {
  portusDashboard: { points(): { aggregate: number; flow: number }; selected(): string | null };
};
