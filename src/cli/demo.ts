/**
 * `portus demo`: the whole system, live, with nothing but `npm install`. Starts the agent as its
 * own process (`portus run cubic --socket <tmp> --quiet`), then simulates a bottleneck link in
 * real time whose TypeScript libccp datapath talks to that agent over a real Unix socket. Prints
 * one status line per second, then the summary table and the path of the HTML report.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ErrorCodes, PortusError } from '../errors.ts';
import {
  formatRate,
  formatTable,
  parseTime,
  resolveScenario,
  runRealtime,
  writeOutputs,
  type LiveStatus,
  type Scenario,
} from '../sim/index.ts';

interface DemoOptions {
  alg: string;
  flows: string;
  duration: string;
  link: string;
  rtt: string;
  buffer: string;
  param: string[];
  out?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Path of bin/portus.js, relative to this file (works from a checkout or an installed package). */
const BIN = fileURLToPath(new URL('../../bin/portus.js', import.meta.url));

function waitForSocket(
  path: string,
  child: ChildProcess,
  stderr: () => string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const onExit = (code: number | null): void => {
      clearInterval(timer);
      reject(
        new PortusError(
          ErrorCodes.IPC_UNAVAILABLE,
          `the agent exited (code ${code}) before listening:\n${stderr()}`,
        ),
      );
    };
    child.once('exit', onExit);
    const timer = setInterval(() => {
      if (existsSync(path)) {
        clearInterval(timer);
        child.off('exit', onExit);
        resolve();
      } else if (Date.now() - t0 > timeoutMs) {
        clearInterval(timer);
        child.off('exit', onExit);
        reject(
          new PortusError(
            ErrorCodes.IPC_UNAVAILABLE,
            `the agent did not open ${path} within ${timeoutMs} ms`,
          ),
        );
      }
    }, 20);
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function statusLine(s: LiveStatus): string {
  const flows = s.flows
    .map((f, i) =>
      f.active
        ? `flow ${i}: ${formatRate(f.throughputBps).padStart(12)} cwnd ${(f.cwndBytes / 1000).toFixed(0).padStart(4)} kB ` +
          `rtt ${f.rttMs.toFixed(0).padStart(3)} ms`
        : `flow ${i}: ${'idle'.padStart(12)}`,
    )
    .join(' | ');
  return `t=${String(s.t).padStart(3)}s  ${flows} | queue ${(s.queueBytes / 1000).toFixed(0).padStart(4)} kB`;
}

async function action(o: DemoOptions): Promise<void> {
  const n = Number(o.flows);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    throw new PortusError(ErrorCodes.USAGE, `--flows expects 1..16, got '${o.flows}'`);
  }
  const durationUs = parseTime(o.duration);
  const dir = mkdtempSync(join(tmpdir(), 'portus-demo-'));
  const agentPath = join(dir, 'agent.sock');
  const datapathPath = join(dir, 'datapath.sock');
  // flows join one after the other over the first half of the run, to show convergence
  const sc: Scenario = {
    name: `portus demo: ${n} ${o.alg} flow${n === 1 ? '' : 's'}, agent in its own process`,
    link: o.link,
    rtt: o.rtt,
    buffer: o.buffer,
    duration: o.duration,
    sampleInterval: '50ms',
    flows: Array.from({ length: n }, (_, i) => ({
      alg: o.alg,
      start: `${Math.round((i * durationUs) / (2 * n))}us`,
    })),
  };
  const resolved = resolveScenario(sc);

  const args = [BIN, 'run', o.alg, '--socket', agentPath, '--quiet'];
  for (const p of o.param) args.push('--param', p);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  try {
    await waitForSocket(agentPath, child, () => err, 20_000);
    console.log(
      `agent: ${o.alg} (pid ${child.pid}) on ${agentPath}\n` +
        `link: ${resolved.linkLabel}, RTT ${o.rtt}, buffer ${(resolved.net.bufferBytes / 1000).toFixed(0)} kB, ` +
        `${n} flow${n === 1 ? '' : 's'}, ${durationUs / 1e6} s in real time\n`,
    );
    const result = await runRealtime(resolved, {
      agentPath,
      datapathPath,
      onStatus: (s) => console.log(statusLine(s)),
    });
    console.log('\n' + formatTable(result));
    const report = writeOutputs(result, o.out ?? join(dir, 'report'));
    console.log(`\nreport: ${report}`);
  } finally {
    await stopChild(child);
  }
}

/** Register `portus demo`. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'run the agent as a process and a simulated link + datapath against it, live, over a Unix socket',
    )
    .option('--alg <name>', 'algorithm the agent runs', 'cubic')
    .option('--flows <n>', 'number of flows (they join one after another)', '2')
    .option('--duration <time>', 'how long to run (real time)', '10s')
    .option('--link <rate>', 'bottleneck rate', '48mbps')
    .option('--rtt <time>', 'propagation RTT', '50ms')
    .option('--buffer <size>', 'bottleneck buffer', '1bdp')
    .option('--param <k=v>', 'algorithm parameter passed to the agent; repeatable', collect, [])
    .option('--out <dir>', 'where to write the report (default: a temporary folder)')
    .action(action);
}
