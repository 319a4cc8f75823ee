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
 * Also printed: both agents' CPU time per report (with two CPU-bound processes beside them their
 * throughput follows it) and system calls per report (counted by `perf stat` in separate short
 * runs, since counting costs each call something).
 *
 * Run: `npm run bench -- ipc` or `node --import tsx bench/ipc/run.ts [seconds per run]`.
 * (`bench/ipc/node-driver.ts` is the older driver written in Node; `bench/ipc/dispatch.ts` the
 * runtime alone, in process.) The machine is often shared: idle figures are noisy.
 * @module
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCTools, type CTools } from './c/build.ts';
import {
  busy,
  captureTemplates,
  cpuDuring,
  loadgen as runLoadgen,
  run,
  start,
  startOurs,
  syscallsPerReport,
  type LoadResult,
} from './harness.ts';
import { tempDir } from '../../test/ipc/helpers.ts';

const SECONDS = Number(process.argv[2] ?? 3);
const FLOWS = 1000;

const loadgen = (tools: CTools, agent: string, dir: string, flows: number): Promise<LoadResult> =>
  runLoadgen(tools, agent, dir, flows, SECONDS);

interface Figures {
  floor: { p50us: number; p99us: number };
  c1: LoadResult;
  cN: LoadResult;
  o1: LoadResult;
  oN: LoadResult;
  /** CPU µs per report: ours and the C agent's, at 1 flow and at FLOWS. */
  cpu1: number;
  cpuN: number;
  cCpu1: number;
  cCpuN: number;
  /** System calls per report at 1 flow and at FLOWS (null without perf). */
  sys: { c1: number | null; cN: number | null; o1: number | null; oN: number | null };
  heapPerReport: number | null;
}

async function measure(tools: CTools, dir: string, templates: string[]): Promise<Figures> {
  const floor = JSON.parse(await run(tools.pingpong, [dir, '20000'])) as Figures['floor'];
  const cSock = join(dir, 'c-agent.sock');
  const startC = (sock: string) => start(tools.agent, [sock, ...templates]);
  const c = await startC(cSock);
  const [c1, cCpu1] = await cpuDuring(c, () => loadgen(tools, cSock, dir, 1));
  await c.stop();
  const c2 = await startC(cSock); // a fresh agent: one datapath each
  const [cN, cCpuN] = await cpuDuring(c2, () => loadgen(tools, cSock, dir, FLOWS));
  await c2.stop();
  rmSync(cSock, { force: true });

  const oSock = join(dir, 'our-agent.sock');
  const o = await startOurs(oSock);
  const stats = async (): Promise<{ reports: number; heapBytes: number; gcs: number }> => {
    o.send('measure');
    return JSON.parse(await o.next());
  };
  o.send('mark');
  await o.next();
  const [o1, cpu1] = await cpuDuring(o, () => loadgen(tools, oSock, dir, 1));
  await stats();
  o.send('mark');
  await o.next();
  const [oN, cpuN] = await cpuDuring(o, () => loadgen(tools, oSock, dir, FLOWS));
  const sN = await stats();
  await o.stop();
  const sys = {
    c1: await syscallsPerReport(tools, startC, dir, 1),
    cN: await syscallsPerReport(tools, startC, dir, FLOWS),
    o1: await syscallsPerReport(tools, startOurs, dir, 1),
    oN: await syscallsPerReport(tools, startOurs, dir, FLOWS),
  };
  const per = (us: number, r: LoadResult) => us / Math.max(1, r.answered);
  return {
    floor,
    c1,
    cN,
    o1,
    oN,
    cpu1: per(cpu1, o1),
    cpuN: per(cpuN, oN),
    cCpu1: per(cCpu1, c1),
    cCpuN: per(cCpuN, cN),
    sys,
    heapPerReport: sN.gcs === 0 ? sN.heapBytes / Math.max(1, sN.reports) : null,
  };
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
  const sys = (x: number | null) => (x === null ? 'n/a (no perf)' : x.toFixed(2));
  console.log(
    `C agent's CPU per report: ${f1(f.cCpu1)} µs at 1 flow, ${f1(f.cCpuN)} µs at ${FLOWS} flows; ` +
      `ours ÷ C at ${FLOWS}: ${(f.cpuN / f.cCpuN).toFixed(2)}x`,
  );
  console.log(
    `system calls per report: C agent ${sys(f.sys.c1)} at 1 flow, ${sys(f.sys.cN)} at ${FLOWS}; ` +
      `ours ${sys(f.sys.o1)} at 1 flow, ${sys(f.sys.oN)} at ${FLOWS}`,
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
const { dir, cleanup } = tempDir('bench-ipc');
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
  cleanup();
}
