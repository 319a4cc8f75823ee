/**
 * The agents' cost per report, which load disturbs far less than wall-clock figures: CPU time
 * (user + system) and system calls per answered report, for our agent and the minimal C agent,
 * at 1 flow and at 1000 flows, driven by the libccp load generator (`bench/ipc/c/`). With two
 * CPU-bound processes beside them the agents' throughput follows their CPU per report, so the
 * ratio of the two is what the 1000-flow target under load comes down to. A quicker companion of
 * `bench/ipc/run.ts` (which prints the same figures among the targets).
 *
 * Run: `node --import tsx bench/ipc/cpu.ts [seconds per run] [--hogs]`. System calls are counted
 * with `perf stat` (linux-perf) in separate short runs, when perf is present.
 * @module
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildCTools } from './c/build.ts';
import {
  busy,
  captureTemplates,
  loadgen,
  processCpuUs,
  start,
  startOurs,
  syscallsPerReport,
  type Proc,
} from './harness.ts';
import { tempDir } from '../../test/ipc/helpers.ts';

const args = process.argv.slice(2);
const SECONDS = Number(args.find((a) => !a.startsWith('--')) ?? 3);
const HOGS = args.includes('--hogs');

const tools = buildCTools();
const { dir, cleanup } = tempDir('bench-ipc-cpu');
const stop = HOGS ? busy() : () => {};
try {
  const templates = await captureTemplates(dir);
  const agents: [string, (sock: string) => Promise<Proc>][] = [
    ['C agent', (sock) => start(tools.agent, [sock, ...templates])],
    ['ours', startOurs],
  ];
  console.log(
    `bench/ipc/cpu — agent CPU and system calls per report (${SECONDS} s per run${HOGS ? ', two CPU hogs beside it' : ''})`,
  );
  const cpu = new Map<string, number>();
  for (const flows of [1, 1000]) {
    for (const [name, startAgent] of agents) {
      const sock = join(dir, `agent-${flows}.sock`);
      const p = await startAgent(sock);
      const pid = p.child.pid!;
      const a = processCpuUs(pid);
      const r = await loadgen(tools, sock, dir, flows, SECONDS);
      const b = processCpuUs(pid);
      await p.stop();
      rmSync(sock, { force: true });
      const n = Math.max(1, r.answered);
      const us = (b.user - a.user + b.sys - a.sys) / n;
      cpu.set(`${name}/${flows}`, us);
      const sys = await syscallsPerReport(tools, startAgent, dir, flows);
      console.log(
        `${String(flows).padStart(4)} flows  ${name.padEnd(8)} ${(r.perSec / 1000).toFixed(1).padStart(6)}k reports/s  ` +
          `CPU ${us.toFixed(2).padStart(6)} µs/report (user ${((b.user - a.user) / n).toFixed(2)})  ` +
          `syscalls ${sys === null ? 'n/a' : sys.toFixed(2)}/report`,
      );
    }
    const ratio = cpu.get(`ours/${flows}`)! / cpu.get(`C agent/${flows}`)!;
    console.log(`${String(flows).padStart(4)} flows  ours ÷ C: CPU per report ${ratio.toFixed(2)}x`);
  }
} finally {
  stop();
  cleanup();
}
