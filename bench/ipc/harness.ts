/**
 * What the IPC benchmarks share: starting the agents (ours in its own process, the minimal C
 * agent), running the libccp load generator, capturing our agent's replies as the C agent's
 * templates, CPU-bound hogs, and per-process CPU time and syscall counts.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rawUnixSocket } from '../../src/ipc/unix.ts';
import { encodeMeasure, encodeReady, MsgType } from '../../src/wire/index.ts';
import { createMessage } from '../../test/ipc/helpers.ts';
import type { CTools } from './c/build.ts';

/** Length of the extra runs in which `perf stat` counts system calls (kept apart: it costs each call). */
const SYSCALL_SECONDS = 1;
const AGENT_PROC = fileURLToPath(new URL('./agent-proc.ts', import.meta.url));
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The load generator's result line. */
export interface LoadResult {
  /** How long the reports were sent (s). */
  seconds: number;
  answered: number;
  unanswered: number;
  perSec: number;
  p50us: number;
  p99us: number;
}

/** A started agent process. */
export interface Proc {
  child: ChildProcess;
  next(): Promise<string>;
  send(line: string): void;
  stop(): Promise<void>;
}

/** `cmd args`, or `taskset -c CPU cmd args` to keep it (and its threads) on one CPU. */
const onCpu = (cmd: string, args: string[], cpu?: number): [string, string[]] =>
  cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];

/**
 * Whether processes can be pinned to CPUs 0 and 1 (`taskset` from util-linux, two CPUs allowed):
 * the benchmark's pinned placement needs it.
 */
export function canPin(): boolean {
  const r = spawnSync('taskset', ['-c', '1', 'true']);
  return r.status === 0;
}

/**
 * Spawn a process that prints `ready` once listening; lines of its stdout come from next().
 * With `cpu`, it runs on that CPU only.
 */
export async function start(cmd: string, args: string[], cpu?: number): Promise<Proc> {
  const child = spawn(...onCpu(cmd, args, cpu), { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiter: ((l: string) => void) | null = null;
  createInterface({ input: child.stdout! }).on('line', (l) => {
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w(l);
    } else lines.push(l);
  });
  const next = (): Promise<string> =>
    lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise((r) => (waiter = r));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  if ((await Promise.race([next(), exited.then(() => 'exited')])) !== 'ready') {
    throw new Error(`${cmd} did not start`);
  }
  return {
    child,
    next,
    send: (l) => child.stdin!.write(`${l}\n`),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Our agent (aimd on the unix transport) in its own process: `bench/ipc/agent-proc.ts`. */
export const startOurs = (sock: string, cpu?: number): Promise<Proc> =>
  start(
    process.execPath,
    [
      '--expose-gc',
      '--max-semi-space-size=128',
      '--min-semi-space-size=128',
      '--import',
      'tsx',
      AGENT_PROC,
      sock,
    ],
    cpu,
  );

/** Run a program to completion; resolves with its last stdout line. */
export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim().split('\n').pop() ?? ''));
  });
}

/** Drive the agent at `agent` with `flows` closed-loop libccp flows for `seconds` (on `cpu`, if given). */
export async function loadgen(
  tools: CTools,
  agent: string,
  dir: string,
  flows: number,
  seconds: number,
  cpu?: number,
): Promise<LoadResult> {
  const out = await run(
    ...onCpu(tools.loadgen, [agent, join(dir, `lg-${flows}`), String(flows), String(seconds)], cpu),
  );
  return JSON.parse(out) as LoadResult;
}

/**
 * What our agent sends for READY, the first CREATE, a later CREATE and a report: the C agent's
 * templates, so that both agents put the same bytes on the wire.
 */
export async function captureTemplates(dir: string): Promise<string[]> {
  const sock = join(dir, 'capture.sock');
  const ours = await startOurs(sock);
  const got: string[] = [];
  const s = rawUnixSocket(
    (st, buf) => {
      if (st >= 0 && buf !== null) got.push(buf.toString('hex'));
    },
    join(dir, 'capture-dp'),
  );
  const step = async (msg: Buffer): Promise<string> => {
    got.length = 0;
    s.sendto(msg, sock);
    await sleep(300);
    return got.length === 0 ? '-' : got.join(',');
  };
  const t = [
    await step(encodeReady(1)),
    await step(createMessage(1)),
    await step(createMessage(2)),
    await step(encodeMeasure(1, 1, [1448n, 0n, 0n, 0n, 10000n, 10n])),
  ];
  s.close();
  await ours.stop();
  if (!t[3]!.startsWith(MsgType.UPDATE_FIELDS.toString(16).padStart(2, '0'))) {
    throw new Error(`unexpected reply to a report: ${t[3]}`);
  }
  return t;
}

/**
 * Two CPU-bound processes beside the benchmark (with `pinned`, one on CPU 0 and one on CPU 1);
 * returns the function that stops them.
 */
export function busy(pinned = false): () => void {
  const hogs = [0, 1].map((cpu) =>
    spawn(...onCpu(process.execPath, ['-e', 'for(;;){}'], pinned ? cpu : undefined), { stdio: 'ignore' }),
  );
  return () => hogs.forEach((h) => h.kill('SIGKILL'));
}

/** CPU time (µs) a process has used so far in user and in system mode, from /proc/PID/stat. */
export function processCpuUs(pid: number): { user: number; sys: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 (utime, stime) are the 12th and 13th after the command name
  return { user: (Number(f[11]) * 1e6) / clockTicks, sys: (Number(f[12]) * 1e6) / clockTicks };
}
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100);

/**
 * Count a process's system calls while `during` runs, with `perf stat` (linux-perf) on the
 * raw_syscalls tracepoint; null when perf is missing or not permitted.
 */
export async function countSyscalls<T>(pid: number, during: () => Promise<T>): Promise<[T, number | null]> {
  const perf = spawn('perf', ['stat', '-x', ',', '-e', 'raw_syscalls:sys_enter', '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  perf.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const failed = new Promise<boolean>((r) => {
    perf.once('error', () => r(true));
    perf.once('exit', () => r(true));
  });
  await sleep(200); // perf attaches
  const result = await during();
  const closed = new Promise<void>((r) => perf.once('close', () => r()));
  if (perf.exitCode === null && perf.pid !== undefined) perf.kill('SIGINT');
  await Promise.race([closed, failed.then(() => sleep(500))]);
  const m = /^(\d+),/m.exec(err);
  return [result, m === null ? null : Number(m[1])];
}

/** CPU time (µs, user + system) `proc` spends while `during` runs. */
export async function cpuDuring<T>(proc: Proc, during: () => Promise<T>): Promise<[T, number]> {
  const pid = proc.child.pid!;
  const a = processCpuUs(pid);
  const r = await during();
  const b = processCpuUs(pid);
  return [r, b.user - a.user + b.sys - a.sys];
}

/** System calls per answered report of a fresh agent at `flows` flows (null without perf). */
export async function syscallsPerReport(
  tools: CTools,
  startAgent: (sock: string) => Promise<Proc>,
  dir: string,
  flows: number,
): Promise<number | null> {
  const sock = join(dir, `sys-${flows}.sock`);
  const p = await startAgent(sock);
  try {
    const [r, n] = await countSyscalls(p.child.pid!, () => loadgen(tools, sock, dir, flows, SYSCALL_SECONDS));
    return n === null ? null : n / Math.max(1, r.answered);
  } finally {
    await p.stop();
    rmSync(sock, { force: true });
  }
}
