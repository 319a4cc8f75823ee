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
 * How it decides with little noise: both agents are measured in interleaved rounds (C agent, ours,
 * then ours, C agent, …), each run on a fresh agent process warmed with a second of the same load,
 * and compared by medians, with each figure's range printed beside it. And
 * each condition is measured in two placements:
 *
 *  - pinned: the agent on CPU 0, the load generator on CPU 1 (and one hog on each CPU): the same
 *    CPUs for both agents, so the ratio compares the agents and not the scheduler's choices;
 *  - free: wherever the scheduler puts them. With two hogs on two CPUs the scheduler sometimes puts
 *    the agent and the load generator on one CPU (each then gets about a third of it) and sometimes
 *    on two (about half each), and an agent's throughput differs by 1.5× between the two; the
 *    agent's CPU share per run, printed beside it, shows which one a run got.
 *
 * Also printed: both agents' CPU time per report and system calls per report (counted by
 * `perf stat` in separate short runs, since counting costs each call something).
 *
 * Run: `npm run bench -- ipc`, or `node --import tsx bench/ipc/run.ts [seconds per run]
 * [--rounds N] [--only idle/pinned,idle/free,hogs/pinned,hogs/free]` (default 2 s and 3 rounds:
 * about 4 minutes). `bench/ipc/cpu.ts` prints just the CPU and system call figures, quickly;
 * `bench/ipc/dispatch.ts` measures the runtime alone, in process.
 * @module
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCTools, type CTools } from './c/build.ts';
import {
  busy,
  canPin,
  captureTemplates,
  loadgen,
  processCpuUs,
  run,
  start,
  startOurs,
  syscallsPerReport,
  type LoadResult,
  type Proc,
} from './harness.ts';
import { median } from '../sim/stats.ts';
import { tempDir } from '../../test/ipc/helpers.ts';

const args = process.argv.slice(2);
const roundsAt = args.indexOf('--rounds');
const ROUNDS = roundsAt >= 0 ? Number(args[roundsAt + 1]) : 3;
const SECONDS = Number(args.find((a, i) => /^\d/.test(a) && i !== roundsAt + 1) ?? 2);
const FLOWS = 1000;
const onlyAt = args.indexOf('--only');
/** `--only hogs/pinned` (or idle/free, …): just those sessions. */
const ONLY = onlyAt >= 0 ? args[onlyAt + 1]!.split(',') : null;
const AGENT_CPU = 0;
const LOADGEN_CPU = 1;
/** Load given to each fresh agent before its measured run (s). */
const WARM_SECONDS = 1;

/** One loadgen run against one agent. */
interface Run {
  load: LoadResult;
  /** The agent's CPU time (user + system) per answered report, µs. */
  cpuUs: number;
  /** The agent's CPU time over the run's wall time (1 = one whole CPU). */
  share: number;
}
type Who = 'c' | 'ours';
type Runs = Record<Who, { one: Run[]; many: Run[] }>;

interface Session {
  name: string;
  runs: Runs;
  heapPerReport: number | null;
}

/** Run the load generator against `proc` (listening at `sock`) and take the agent's CPU time. */
async function measured(tools: CTools, proc: Proc, sock: string, dir: string, flows: number, cpu?: number) {
  const pid = proc.child.pid!;
  const a = processCpuUs(pid);
  const load = await loadgen(tools, sock, dir, flows, SECONDS, cpu);
  const b = processCpuUs(pid);
  const us = b.user - a.user + b.sys - a.sys;
  return { load, cpuUs: us / Math.max(1, load.answered), share: us / 1e6 / load.seconds } satisfies Run;
}

/**
 * One condition in one placement: ROUNDS interleaved rounds of both agents at 1 and FLOWS flows.
 * Both agents are treated alike: every run starts a fresh agent process, warms it with
 * WARM_SECONDS of the same load (our agent's hot paths get compiled), then measures.
 */
async function session(tools: CTools, dir: string, templates: string[], name: string, pinned: boolean) {
  const agentCpu = pinned ? AGENT_CPU : undefined;
  const lgCpu = pinned ? LOADGEN_CPU : undefined;
  const runs: Runs = { c: { one: [], many: [] }, ours: { one: [], many: [] } };
  let heapPerReport: number | null = null;
  for (let round = 0; round < ROUNDS; round++) {
    for (const flows of [1, FLOWS]) {
      for (const who of round % 2 === 0 ? (['c', 'ours'] as const) : (['ours', 'c'] as const)) {
        const sock = join(dir, `${who}-agent.sock`);
        const agent =
          who === 'c'
            ? await start(tools.agent, [sock, ...templates], agentCpu)
            : await startOurs(sock, agentCpu);
        try {
          await loadgen(tools, sock, dir, flows, WARM_SECONDS, lgCpu);
          // our heap per report, over the first 1000-flow run (the measured stretch has no collection)
          const heap = who === 'ours' && round === 0 && flows === FLOWS;
          if (heap) {
            agent.send('mark');
            await agent.next();
          }
          runs[who][flows === 1 ? 'one' : 'many'].push(await measured(tools, agent, sock, dir, flows, lgCpu));
          if (heap) {
            agent.send('measure');
            const s = JSON.parse(await agent.next()) as { reports: number; heapBytes: number; gcs: number };
            heapPerReport = s.gcs === 0 ? s.heapBytes / Math.max(1, s.reports) : null;
          }
        } finally {
          await agent.stop();
          rmSync(sock, { force: true });
        }
      }
    }
  }
  return { name, runs, heapPerReport } satisfies Session;
}

const f1 = (x: number) => x.toFixed(1);
const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
const ok = (b: boolean) => (b ? 'meets' : 'MISSES');
/** Median and range of a figure over the runs, formatted: `12.3 (11.9–13.0) µs`. */
const med = (runs: Run[], pick: (r: Run) => number, fmt: (x: number) => string, unit = '') => {
  const xs = runs.map(pick);
  const range = xs.length > 1 ? ` (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})` : '';
  return { m: median(xs), text: `${fmt(median(xs))}${range}${unit}` };
};

/** The targets of one session: 1-flow p50 ratio and FLOWS-flow throughput ratio (medians). */
function ratios(s: Session) {
  const p50 = (w: Who) => median(s.runs[w].one.map((r) => r.load.p50us));
  const rate = (w: Who) => median(s.runs[w].many.map((r) => r.load.perSec));
  return { lat: p50('ours') / p50('c'), thr: rate('ours') / rate('c') };
}

function print(s: Session): void {
  const { c, ours } = s.runs;
  const { lat, thr } = ratios(s);
  const us = f1;
  const row = (label: string, a: string, b: string, ratio: string, target = '') =>
    console.log(`${label.padEnd(24)} ${a.padEnd(28)} ${b.padEnd(28)} ${ratio.padEnd(8)} ${target}`.trimEnd());
  console.log(`\n-- ${s.name} (${ROUNDS} rounds of ${SECONDS} s; median (range))`);
  row('', 'C agent', 'ours', 'ours ÷ C', 'target');
  row(
    '1 flow, p50',
    med(c.one, (r) => r.load.p50us, us, ' µs').text,
    med(ours.one, (r) => r.load.p50us, us, ' µs').text,
    `${lat.toFixed(2)}x`,
    `≤ 1.3x: ${ok(lat <= 1.3)}`,
  );
  /** A latency row without a target: medians, ranges, ratio. */
  const latency = (label: string, a: Run[], b: Run[], pick: (r: Run) => number) => {
    const [x, y] = [med(a, pick, us, ' µs'), med(b, pick, us, ' µs')];
    row(label, x.text, y.text, `${(y.m / x.m).toFixed(2)}x`);
  };
  latency('1 flow, p99', c.one, ours.one, (r) => r.load.p99us);
  row(
    `${FLOWS} flows, reports/s`,
    med(c.many, (r) => r.load.perSec, k, '/s').text,
    med(ours.many, (r) => r.load.perSec, k, '/s').text,
    `${thr.toFixed(2)}x`,
    `≥ 0.8x: ${ok(thr >= 0.8)}`,
  );
  latency(`${FLOWS} flows, p50`, c.many, ours.many, (r) => r.load.p50us);
  latency(`${FLOWS} flows, p99`, c.many, ours.many, (r) => r.load.p99us);
  const cpu = (runs: Run[]) => med(runs, (r) => r.cpuUs, us, ' µs');
  const cpu1 = [cpu(c.one), cpu(ours.one)] as const;
  const cpuN = [cpu(c.many), cpu(ours.many)] as const;
  row('CPU per report, 1 flow', cpu1[0].text, cpu1[1].text, `${(cpu1[1].m / cpu1[0].m).toFixed(2)}x`);
  row(
    `CPU per report, ${FLOWS}`,
    cpuN[0].text,
    cpuN[1].text,
    `${(cpuN[1].m / cpuN[0].m).toFixed(2)}x`,
    `ours at ${FLOWS} ≤ at 1: ${ok(cpuN[1].m <= cpu1[1].m)}`,
  );
  const shares = (runs: Run[]) => runs.map((r) => r.share.toFixed(2)).join(' ');
  row(`CPU share, ${FLOWS} flows`, shares(c.many), shares(ours.many), '', '(per run: 1 = a whole CPU)');
  console.log(
    s.heapPerReport === null
      ? 'our heap per report: not measured (a garbage collection ran during the run)'
      : `our heap per report: ${s.heapPerReport.toFixed(0)} bytes (target ≤ 200: ${ok(s.heapPerReport <= 200)})`,
  );
  const lost = [...c.one, ...c.many, ...ours.one, ...ours.many].reduce((n, r) => n + r.load.unanswered, 0);
  if (lost > 0) console.log(`WARNING: ${lost} reports unanswered`);
}

const tools = buildCTools();
const { dir, cleanup } = tempDir('bench-ipc');
try {
  const pin = canPin();
  console.log(
    `bench/ipc — libccp load generator against our agent (aimd) and a minimal C agent; node ${process.version}`,
  );
  if (!pin) console.log('(no pinned placement: needs `taskset` from util-linux and two CPUs)');
  const templates = await captureTemplates(dir);
  const sessions: Session[] = [];
  const floors: string[] = [];
  for (const hogs of [false, true]) {
    const cond = hogs ? 'two CPU-bound processes beside it' : 'idle machine';
    for (const pinned of pin ? [true, false] : [false]) {
      if (ONLY !== null && !ONLY.includes(`${hogs ? 'hogs' : 'idle'}/${pinned ? 'pinned' : 'free'}`))
        continue;
      const stop = hogs ? busy(pinned) : () => {};
      try {
        const where = pinned
          ? `pinned: agent on CPU ${AGENT_CPU}, load generator on CPU ${LOADGEN_CPU}`
          : 'free placement';
        const s = await session(tools, dir, templates, `${cond}, ${where}`, pinned);
        print(s);
        sessions.push(s);
        if (!pinned) {
          const floor = JSON.parse(await run(tools.pingpong, [dir, '20000'])) as {
            p50us: number;
            p99us: number;
          };
          floors.push(`${cond}: p50 ${f1(floor.p50us)} µs, p99 ${f1(floor.p99us)} µs`);
        }
      } finally {
        stop();
      }
    }
  }
  console.log('\n-- floor: C two-process ping-pong over the same socket type (64 B), free placement');
  for (const f of floors) console.log(f);
  const startC = (sock: string) => start(tools.agent, [sock, ...templates]);
  const sys = async (startAgent: (sock: string) => Promise<Proc>, flows: number) => {
    const n = await syscallsPerReport(tools, startAgent, dir, flows);
    return n === null ? 'n/a (no perf)' : n.toFixed(2);
  };
  if (ONLY === null) {
    console.log(
      `\nsystem calls per report (idle, free): C agent ${await sys(startC, 1)} at 1 flow, ` +
        `${await sys(startC, FLOWS)} at ${FLOWS}; ours ${await sys(startOurs, 1)} at 1 flow, ${await sys(startOurs, FLOWS)} at ${FLOWS}`,
    );
  }
  console.log('\n-- summary: ours ÷ C agent (medians)');
  for (const s of sessions) {
    const { lat, thr } = ratios(s);
    console.log(
      `${s.name.padEnd(82)} 1 flow p50 ${lat.toFixed(2)}x (${ok(lat <= 1.3)})  ${FLOWS} flows ${thr.toFixed(2)}x (${ok(thr >= 0.8)})`,
    );
  }
} finally {
  cleanup();
}
