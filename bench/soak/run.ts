/**
 * Soak benchmark (issue 12): one agent (`portus run aimd`, a real process) and 10 datapath slots,
 * each running `portus datapath` with 1000 flows again and again for random lifetimes, about one
 * run in five killed with SIGKILL (flows never closed). Samples the agent's RSS and its status line
 * (flows, datapaths) every 2 s, then stops every datapath and checks that the agent counts every
 * flow out: closed ones at once, killed ones when the idle probe finds their socket gone.
 *
 *   node --import tsx bench/soak/run.ts [--seconds 600] [--slots 10] [--flows 1000] [--rate 1]
 *
 * Prints RSS (min / median / max over the run, and at the end) and the flow counts; never fails on
 * numbers (exit 1 only if flows are left behind at the end).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/portus.js');

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const SECONDS = arg('seconds', 600);
const SLOTS = arg('slots', 10);
const FLOWS = arg('flows', 1000);
const RATE = arg('rate', 1);
const IDLE_S = 5;

let seed = 42;
const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;

const dir = mkdtempSync(join(tmpdir(), 'portus-soak-'));
const agentSock = join(dir, 'agent.sock');

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

const agent = spawn(
  process.execPath,
  [BIN, 'run', 'aimd', '--socket', agentSock, '--log-level', 'warn', '--idle-timeout', String(IDLE_S)],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
);
let status = { flows: 0, datapaths: 0 };
let warnLines = 0;
const kinds = new Map<string, number>();
createInterface({ input: agent.stdout! }).on('line', (l) => {
  const m = /^portus: (\d+) flow\(s\) on (\d+) datapath\(s\)/.exec(l);
  if (m) status = { flows: Number(m[1]), datapaths: Number(m[2]) };
});
createInterface({ input: agent.stderr! }).on('line', (l) => {
  warnLines++;
  const kind = l.slice(25).replace(/\/\S+/g, 'PATH').replace(/\d+/g, 'N').slice(0, 90);
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
});
const agentUp = new Promise<void>((resolve) => {
  createInterface({ input: agent.stdout! }).once('line', () => resolve());
});

let stopping = false;
let runs = 0;
let killed = 0;
const live = new Set<ChildProcess>();

function slot(i: number): Promise<void> {
  return new Promise((resolve) => {
    const next = (): void => {
      if (stopping) return resolve();
      const life = 5 + rnd() * 25;
      const kill = rnd() < 0.2;
      const dp = spawn(
        process.execPath,
        [BIN, 'datapath', '--agent', agentSock, '--socket', join(dir, `dp-${i}-${runs}.sock`)].concat([
          '--flows',
          String(FLOWS),
          '--rate',
          String(RATE),
          '--duration',
          String(life),
          '--alg',
          'aimd',
          '--log-level',
          'error',
        ]),
        { cwd: ROOT, stdio: 'ignore' },
      );
      runs++;
      live.add(dp);
      let t: NodeJS.Timeout | null = null;
      if (kill) {
        t = setTimeout(() => {
          killed++;
          dp.kill('SIGKILL');
        }, life * 500);
      }
      dp.on('close', () => {
        if (t) clearTimeout(t);
        live.delete(dp);
        next();
      });
    };
    next();
  });
}

async function main(): Promise<void> {
  await agentUp;
  const samples: number[] = [];
  const t0 = Date.now();
  const slots = Array.from({ length: SLOTS }, (_, i) => slot(i));
  console.log(
    `soak: ${SLOTS} datapaths x ${FLOWS} flows, ${RATE} ACK/s per flow, churn 5-30 s lifetimes (1 in 5 killed), ${SECONDS} s`,
  );
  while (Date.now() - t0 < SECONDS * 1000) {
    await new Promise((r) => setTimeout(r, 2000));
    const kb = rssKb(agent.pid!);
    samples.push(kb);
    const s = Math.round((Date.now() - t0) / 1000);
    if (s % 30 < 2) {
      console.log(
        `  t=${s}s rss=${(kb / 1024).toFixed(0)} MB flows=${status.flows} datapaths=${status.datapaths} runs=${runs}`,
      );
    }
  }
  stopping = true;
  for (const dp of live) dp.kill('SIGTERM');
  await Promise.all(slots);
  // closed flows leave at once; killed datapaths' flows when the idle probe finds them gone
  const deadline = Date.now() + (IDLE_S * 3 + 10) * 1000;
  while ((status.flows > 0 || status.datapaths > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 1000));
  }
  const end = rssKb(agent.pid!);
  const sorted = [...samples].sort((a, b) => a - b);
  const mb = (kb: number): string => (kb / 1024).toFixed(0);
  console.log(
    `agent RSS: min ${mb(sorted[0] ?? 0)} MB, median ${mb(sorted[sorted.length >> 1] ?? 0)} MB, ` +
      `max ${mb(sorted.at(-1) ?? 0)} MB, at the end ${mb(end)} MB`,
  );
  console.log(
    `datapath runs: ${runs} (${killed} killed with SIGKILL); left at the end: ${status.flows} flows on ` +
      `${status.datapaths} datapaths; agent stderr lines: ${warnLines}`,
  );
  for (const [k, n] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${n} x ${k}`);
  agent.kill('SIGTERM');
  await new Promise((r) => agent.on('close', r));
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = status.flows === 0 ? 0 : 1;
}

void main();
