/**
 * IPC benchmark: our agent over unix datagram sockets against a minimal C agent, both driven by
 * the same load generator built on the real libccp (`bench/ipc/c/`), with a C ping-pong as the
 * floor — all measured in the same run, on an idle machine and with two CPU-bound processes
 * beside it. Prints ratios against the targets of issue 9:
 *
 *  - 1000 flows, one report outstanding per flow: round trips/s ≥ 0.8× the C agent's;
 *  - 1 flow: report→update p50 ≤ 1.3× the C agent's;
 *  - ≤ 200 bytes of heap per report; agent CPU per report no higher at 1000 flows than at 1.
 *
 * Run: `npm run bench -- ipc` or `node --import tsx bench/ipc/run.ts [seconds per run]`.
 * (`bench/ipc/node-driver.ts` is the older driver written in Node; `bench/ipc/dispatch.ts` the
 * runtime alone, in process.) The machine is often shared: idle figures are noisy.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rawUnixSocket } from '../../src/ipc/unix.ts';
import { encodeCreate, encodeMeasure, encodeReady, MsgType } from '../../src/wire/index.ts';
import { buildCTools, type CTools } from './c/build.ts';

const SECONDS = Number(process.argv[2] ?? 3);
const FLOWS = 1000;
const AGENT_PROC = fileURLToPath(new URL('./agent-proc.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LoadResult {
  answered: number;
  unanswered: number;
  perSec: number;
  p50us: number;
  p99us: number;
}
interface Proc {
  child: ChildProcess;
  next(): Promise<string>;
  send(line: string): void;
  stop(): Promise<void>;
}

/** Spawn a process that prints `ready` once listening; lines of its stdout come from next(). */
async function start(cmd: string, args: string[]): Promise<Proc> {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
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

const startOurs = (sock: string) =>
  start(process.execPath, [
    '--expose-gc',
    '--max-semi-space-size=128',
    '--min-semi-space-size=128',
    '--import',
    'tsx',
    AGENT_PROC,
    sock,
  ]);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim().split('\n').pop() ?? ''));
  });
}

async function loadgen(tools: CTools, agent: string, dir: string, flows: number): Promise<LoadResult> {
  const r = JSON.parse(
    await run(tools.loadgen, [agent, join(dir, `lg-${flows}`), String(flows), String(SECONDS)]),
  );
  return r as LoadResult;
}

/**
 * What our agent sends for READY, the first CREATE, a later CREATE and a report: the C agent's
 * templates, so that both agents put the same bytes on the wire.
 */
async function captureTemplates(dir: string): Promise<string[]> {
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
  const create = (sid: number) =>
    encodeCreate({
      sid,
      initCwnd: 14480,
      mss: 1448,
      srcIp: 0,
      srcPort: sid,
      dstIp: 0,
      dstPort: 0,
      congAlg: '',
    });
  const t = [
    await step(encodeReady(1)),
    await step(create(1)),
    await step(create(2)),
    await step(encodeMeasure(1, 1, [1448n, 0n, 0n, 0n, 10000n, 10n])),
  ];
  s.close();
  await ours.stop();
  if (!t[3]!.startsWith(MsgType.UPDATE_FIELDS.toString(16).padStart(2, '0'))) {
    throw new Error(`unexpected reply to a report: ${t[3]}`);
  }
  return t;
}

interface Figures {
  floor: { p50us: number; p99us: number };
  c1: LoadResult;
  cN: LoadResult;
  o1: LoadResult;
  oN: LoadResult;
  cpu1: number;
  cpuN: number;
  heapPerReport: number | null;
}

async function measure(tools: CTools, dir: string, templates: string[]): Promise<Figures> {
  const floor = JSON.parse(await run(tools.pingpong, [dir, '20000'])) as Figures['floor'];
  const cSock = join(dir, 'c-agent.sock');
  const c = await start(tools.agent, [cSock, ...templates]);
  const c1 = await loadgen(tools, cSock, dir, 1);
  await c.stop();
  const c2 = await start(tools.agent, [cSock, ...templates]); // a fresh agent: one datapath each
  const cN = await loadgen(tools, cSock, dir, FLOWS);
  await c2.stop();
  rmSync(cSock, { force: true });

  const oSock = join(dir, 'our-agent.sock');
  const o = await startOurs(oSock);
  const stats = async (): Promise<{ reports: number; heapBytes: number; cpuUs: number; gcs: number }> => {
    o.send('measure');
    return JSON.parse(await o.next());
  };
  o.send('mark');
  await o.next();
  const o1 = await loadgen(tools, oSock, dir, 1);
  const s1 = await stats();
  o.send('mark');
  await o.next();
  const oN = await loadgen(tools, oSock, dir, FLOWS);
  const sN = await stats();
  await o.stop();
  return {
    floor,
    c1,
    cN,
    o1,
    oN,
    cpu1: s1.cpuUs / Math.max(1, s1.reports),
    cpuN: sN.cpuUs / Math.max(1, sN.reports),
    heapPerReport: sN.gcs === 0 ? sN.heapBytes / Math.max(1, sN.reports) : null,
  };
}

/** Two CPU-bound processes beside the benchmark. */
function busy(): () => void {
  const hogs = [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
  return () => hogs.forEach((h) => h.kill('SIGKILL'));
}

const f1 = (x: number) => x.toFixed(1);
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
const ok = (b: boolean) => (b ? 'meets' : 'MISSES');

function print(name: string, f: Figures): void {
  const lat = f.o1.p50us / f.c1.p50us;
  const thr = f.oN.perSec / f.cN.perSec;
  console.log(`\n-- ${name}`);
  console.log(`floor, C ping-pong (64 B):     p50 ${f1(f.floor.p50us)} µs   p99 ${f1(f.floor.p99us)} µs`);
  console.log(
    `1 flow       C agent:   p50 ${f1(f.c1.p50us)} µs  p99 ${f1(f.c1.p99us)} µs  ${k(f.c1.perSec)} reports/s`,
  );
  console.log(
    `1 flow       ours:      p50 ${f1(f.o1.p50us)} µs  p99 ${f1(f.o1.p99us)} µs  ${k(f.o1.perSec)} reports/s` +
      `   p50 ${lat.toFixed(2)}x C (target ≤ 1.3x: ${ok(lat <= 1.3)})`,
  );
  console.log(
    `${FLOWS} flows   C agent:   ${k(f.cN.perSec)} reports/s  p50 ${f1(f.cN.p50us)} µs  p99 ${f1(f.cN.p99us)} µs`,
  );
  console.log(
    `${FLOWS} flows   ours:      ${k(f.oN.perSec)} reports/s  p50 ${f1(f.oN.p50us)} µs  p99 ${f1(f.oN.p99us)} µs` +
      `   ${thr.toFixed(2)}x C (target ≥ 0.8x: ${ok(thr >= 0.8)})`,
  );
  console.log(
    `our CPU per report: ${f1(f.cpu1)} µs at 1 flow, ${f1(f.cpuN)} µs at ${FLOWS} flows ` +
      `(target: no higher at ${FLOWS}: ${ok(f.cpuN <= f.cpu1)})`,
  );
  console.log(
    f.heapPerReport === null
      ? 'our heap per report: not measured (a garbage collection ran during the run)'
      : `our heap per report: ${f.heapPerReport.toFixed(0)} bytes (target ≤ 200: ${ok(f.heapPerReport <= 200)})`,
  );
  const lost = f.c1.unanswered + f.cN.unanswered + f.o1.unanswered + f.oN.unanswered;
  if (lost > 0) console.log(`WARNING: ${lost} reports unanswered`);
}

const tools = buildCTools();
const dir = mkdtempSync(join(tmpdir(), 'portus-bench-ipc-'));
try {
  console.log(
    `bench/ipc — libccp load generator (${SECONDS} s per run) against our agent (aimd) and a minimal C agent; node ${process.version}`,
  );
  const templates = await captureTemplates(dir);
  print('idle machine (shared with whatever else runs: noisy)', await measure(tools, dir, templates));
  const stop = busy();
  try {
    print('two CPU-bound processes beside it', await measure(tools, dir, templates));
  } finally {
    stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
