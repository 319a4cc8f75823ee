/**
 * What the live dashboard costs the agent (issue: ≥ 95 % of the report throughput without it).
 *
 * The closed-loop IPC benchmark's set-up (bench/ipc): our agent (`portus run aimd`, its own process)
 * driven by the load generator built on the real libccp (`bench/ipc/c/loadgen.c`: 1000 flows, one
 * report outstanding per flow), measured alternately without and with `--dashboard`, the page open
 * in Debian's Chromium (playwright-core) with a flow selected, so the sampler, the flows-table
 * stream all run. Prints, per round and as medians: the reports/s answered; the agent process's CPU
 * time (all its threads) per report over the run; and, after the run, the agent's CPU per second
 * while the 1000 flows sit idle, which is the dashboard's own work (see docs/dashboard.md, "Cost to
 * the agent", for what each ratio means on a loaded machine).
 *
 * Run: `npm run bench -- dashboard` or `node --import tsx bench/dashboard/run.ts [seconds] [rounds]`.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildCTools } from '../ipc/c/build.ts';

const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
const FLOWS = 1000;
const CHROMIUM = process.env.PORTUS_CHROMIUM ?? '/usr/bin/chromium';
const BIN = fileURLToPath(new URL('../../bin/portus.js', import.meta.url));

interface Agent {
  child: ChildProcess;
  url: string | null;
}

function startAgent(sock: string, dashboard: boolean): Promise<Agent> {
  const args = [BIN, 'run', 'aimd', '--socket', sock, '--quiet', '--log-level', 'error'];
  if (dashboard) args.push('--dashboard', '127.0.0.1:0');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let running = false;
    child.once('exit', (code) => reject(new Error(`agent exited early (${code})`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('portus: running')) {
        running = true;
        if (!dashboard) resolve({ child, url: null });
      }
      const m = /dashboard at (http\S+)/.exec(l);
      if (m && running) resolve({ child, url: m[1]! });
    });
  });
}

async function stop(a: Agent): Promise<void> {
  a.child.removeAllListeners('exit');
  const done = new Promise((r) => a.child.once('exit', r));
  a.child.kill('SIGTERM');
  await done;
}

/** One closed-loop run of the load generator; resolves to the reports/s answered. */
function loadgen(exe: string, sock: string, me: string): Promise<number> {
  const child = spawn(exe, [sock, me, String(FLOWS), String(SECONDS)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        resolve((JSON.parse(out.trim().split('\n').pop() ?? '') as { perSec: number }).perSec);
      } catch {
        reject(new Error(`loadgen failed (exit ${code}): ${err.trim()}`));
      }
    });
  });
}

async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
  return page;
}

/**
 * CPU time of process `pid` so far, µs: the sum over its threads (the main thread, V8's GC helpers,
 * libuv's pool) of the scheduler's run time, in nanoseconds, so that a few milliseconds show (the
 * utime/stime of /proc/PID/stat count 10 ms ticks).
 */
function cpuUs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1e3;
}

/** CPU time of process `root` and all its descendants (the browser's renderer and GPU processes), µs. */
function treeCpuUs(root: number): number {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  for (const pid of parent.keys()) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p !== root) continue;
      try {
        total += cpuUs(pid);
      } catch {
        // gone meanwhile
      }
      break;
    }
  }
  return total;
}

/** The browser playwright-core launched: this process's only child once it runs. */
function browserProcess(): number {
  const children = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false;
      }
    });
  return Math.max(...children);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

const tools = buildCTools();
if (!existsSync(CHROMIUM)) {
  console.log(`bench/dashboard: no browser at ${CHROMIUM} (apt-get install chromium); skipped`);
  process.exit(0);
}
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const browserPid = browserProcess();
const dir = mkdtempSync(join(tmpdir(), 'portus-bench-dash-'));
const MODES = ['without the dashboard', 'dashboard, no page open', 'dashboard, page open'] as const;
const results: number[][] = MODES.map(() => []);
const cpuPerReport: number[][] = MODES.map(() => []);
const idleCost: number[][] = MODES.map(() => []);
/** Wall seconds the agent is watched idle after each run (its 1000 flows stay open). */
const IDLE_S = 3;
try {
  console.log(
    `bench/dashboard — aimd agent, ${FLOWS} flows closed loop (libccp load generator), ${SECONDS} s per round`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (let mode = 0; mode < MODES.length; mode++) {
      const dash = mode > 0;
      const sock = join(dir, `agent-${round}-${mode}.sock`);
      const agent = await startAgent(sock, dash);
      let page: Page | null = null;
      try {
        // the page opens before the load: it watches the whole run, with a flow selected once
        // the flows exist (so the selected-flow stream runs too)
        if (agent.url !== null && mode === 2) page = await openPage(browser, agent.url);
        const cpu0 = cpuUs(agent.child.pid!);
        const browser0 = page === null ? 0 : treeCpuUs(browserPid);
        const wall0 = performance.now();
        const running = loadgen(tools.loadgen, sock, join(dir, `dp-${round}-${mode}.sock`));
        if (page !== null) {
          await page.waitForSelector('#flows tbody tr', { timeout: 30_000 });
          await page.click('#flows tbody tr');
        }
        const run = await running;
        const cpu1 = cpuUs(agent.child.pid!);
        const perReport = (cpu1 - cpu0) / (run * SECONDS);
        const browserMs =
          page === null ? null : (treeCpuUs(browserPid) - browser0) / (performance.now() - wall0);
        // The load generator leaves its 1000 flows open: with no reports, what the agent spends is
        // the dashboard's own work (sampling 1000 flows, table, stream), whatever the machine's load.
        const t1 = performance.now();
        await new Promise((r) => setTimeout(r, IDLE_S * 1000));
        const idle = (cpuUs(agent.child.pid!) - cpu1) / ((performance.now() - t1) / 1e3) / 1e3;
        results[mode]!.push(run);
        cpuPerReport[mode]!.push(perReport);
        idleCost[mode]!.push(idle);
        console.log(
          `round ${round + 1}: ${MODES[mode]!.padEnd(26)} ${run.toFixed(0).padStart(7)} reports/s  ` +
            `agent CPU ${perReport.toFixed(2)} µs/report, idle with ${FLOWS} flows ${idle.toFixed(1)} ms/s` +
            (browserMs === null ? '' : `; the browser used ${browserMs.toFixed(0)} ms CPU/s`),
        );
      } finally {
        await page?.close();
        await stop(agent);
      }
    }
  }
  const base = median(results[0]!);
  const baseCpu = median(cpuPerReport[0]!);
  const baseIdle = median(idleCost[0]!);
  for (let m = 0; m < MODES.length; m++) {
    const v = median(results[m]!);
    const c = median(cpuPerReport[m]!);
    const extra = Math.max(0, median(idleCost[m]!) - baseIdle);
    console.log(
      `median, ${MODES[m]!.padEnd(26)} ${v.toFixed(0).padStart(7)} reports/s  ratio ${(v / base).toFixed(3)}  |  ` +
        `agent CPU ${c.toFixed(2)} µs/report  ratio ${(baseCpu / c).toFixed(3)}  |  ` +
        `dashboard ${extra.toFixed(1)} ms CPU/s  ratio ${(1 - extra / 1000).toFixed(3)}`,
    );
  }
  console.log(
    'target: page open ≥ 0.95 of without. Three ratios: reports/s (the agent shares the cores with the\n' +
      'load generator and the browser, and on a loaded machine with everything else); agent CPU per report,\n' +
      'without ÷ with (less disturbed by load, but a slower agent batches less, so it rises when throughput\n' +
      'falls); and 1 − the CPU the dashboard costs an agent with 1000 idle flows per second of one core,\n' +
      'which is the throughput left to an agent that keeps a core busy with reports.',
  );
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
