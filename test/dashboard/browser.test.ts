// The dashboard in a real browser (Debian's chromium, driven by playwright-core; no browser
// download): a real agent process with --dashboard, a real `portus datapath` with 3 flows, and the
// page checked for live rows, growing charts, the close events, and a clean console. A screenshot
// is saved to test-artifacts/dashboard.png. Every wait is on a condition, with generous timeouts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
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

/** One browser for the file's tests (a launch costs seconds on a loaded machine). */
async function launch(): Promise<Browser> {
  browser ??= await chromium.launch({
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
  return browser;
}

/**
 * Open the dashboard at `url`, collecting console errors and page errors, and wait until the
 * flows table shows `n` rows with live values (a window and an RTT); returns the rows' cell texts.
 */
async function openWithRows(
  url: string,
  n: number,
): Promise<{ page: Page; problems: string[]; cells: (string | null)[][] }> {
  const page = await (await launch()).newPage({ viewport: { width: 1280, height: 1400 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(url);
  await page.waitForFunction(
    (count) => {
      const rows = [...document.querySelectorAll('#flows tbody tr')];
      return rows.length === count && rows.every((r) => r.children[7]?.textContent?.endsWith(' ms'));
    },
    n,
    { timeout: 60_000 },
  );
  const cells = await page.$$eval('#flows tbody tr', (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)),
  );
  return { page, problems, cells };
}

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

    // Three rows with live values (a window and an RTT the datapath reported).
    const { page, problems, cells } = await openWithRows(url, 3);
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

test(
  'portus sim --live: the simulated run in the same dashboard, paced to the wall clock, kept until Ctrl-C',
  { skip, timeout: 180_000 },
  async () => {
    assert.ok(haveBrowser, `CI needs a browser at ${CHROMIUM}`);
    const sim = portus([
      'sim',
      '--alg',
      'reno',
      '--alg',
      'cubic',
      '--duration',
      '5s',
      '--live',
      '--no-progress',
    ]);
    procs.push(sim);
    const line = await sim.waitFor(/dashboard at http/, 'out', 90_000);
    const url = line.slice(line.indexOf('http'));
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{22}$/);
    assert.equal((await fetch(url.slice(0, url.indexOf('?')))).status, 403);

    // The two simulated flows, with the simulator's addresses and live RTTs, while the run goes on.
    const { page, problems, cells } = await openWithRows(url, 2);
    assert.deepEqual(
      cells.map((c) => [c[2], c[4]]),
      [
        ['reno', '10.0.0.1:40000 > 10.0.0.254:5001'],
        ['cubic', '10.0.0.2:40001 > 10.0.0.254:5001'],
      ],
    );
    await page.click('#flows tbody tr');
    await page.waitForFunction(() => window.portusDashboard.points().flow >= 3, undefined, {
      timeout: 30_000,
    });

    // The run ends: the page says so, keeps the flows' final state, and logs their closes.
    await sim.waitFor(/run finished; the dashboard keeps showing it until Ctrl-C/, 'err', 60_000);
    await page.waitForFunction(
      () =>
        /run finished at 5 s/.test(document.querySelectorAll('#status')[0]?.textContent ?? '') &&
        [...document.querySelectorAll('#events li')].filter((li) => / closed: /.test(li.textContent ?? ''))
          .length === 2,
      undefined,
      { timeout: 30_000 },
    );
    assert.equal(await page.$$eval('#flows tbody tr', (rows) => rows.length), 2);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-sim.png'), fullPage: true });
    assert.deepEqual(problems, []);
    assert.ok(
      sim.out.some((l) => /reno vs cubic: 48\.00 Mbit\/s/.test(l)),
      sim.out.join('\n'),
    );
    await page.close();

    sim.kill('SIGINT');
    assert.equal(await sim.exited, 0);
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
