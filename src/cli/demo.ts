/**
 * `portus demo`: what CCP is for, live, with nothing but `npm install`. Several built-in
 * algorithms (one flow each, joining a few seconds apart) share one simulated bottleneck; one agent
 * process serves them all (`portus demo-agent`, the real agent runtime over a real Unix socket),
 * each flow naming its algorithm in CREATE as a kernel socket would. Prints one status line per
 * second, then the table, a short explanation of who got what and why, and the HTML report's path.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { openIpc, startAgent, untilSignal, createLogger } from '../agent/index.ts';
import { algorithmNames, getAlgorithm } from '../algorithms/index.ts';
import { startDashboard, type Dashboard } from '../dashboard/index.ts';
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
  type SimResult,
} from '../sim/index.ts';

interface DemoOptions {
  alg: string[];
  stagger: string;
  duration: string;
  link: string;
  rtt: string;
  buffer: string;
  param: string[];
  out?: string;
  /** `--dashboard [host:port]`: the agent process serves the live dashboard. */
  dashboard?: string | boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/**
 * Algorithms shown by default, in order of preference: whichever of these are built in (the zoo's
 * BBR, Copa and Vegas appear here as soon as they are registered), at most four.
 */
const PREFERRED = ['cubic', 'bbr', 'reno', 'copa', 'vegas', 'aimd'];

/** The demo's default algorithm set: the preferred ones that exist, at most four. */
export function demoAlgorithms(available: readonly string[] = algorithmNames()): string[] {
  return PREFERRED.filter((a) => available.includes(a)).slice(0, 4);
}

/**
 * How an algorithm reacts to congestion, judged from its own flows only (the queue is shared, so
 * every flow sees the same queueing delay whatever it does): each window cut in the metrics
 * window (a drop of at least one whole packet: the simulator logs nothing else, see
 * `Network.setCwnd`) is loss-driven when one of the same flow's own loss or timeout events came
 * within two of its median RTTs before it, and otherwise driven by delay or by the algorithm's
 * model (Vegas, Copa, BBR). Mostly loss-driven cuts make an algorithm loss-based.
 */
export function congestionStyle(r: SimResult, alg: string): string {
  const w = r.summary.window;
  const from = w.fromS * 1e6;
  const to = w.toS * 1e6;
  let lossDriven = 0;
  let delayDriven = 0;
  let losses = 0;
  let paced = false;
  for (const f of r.summary.flows) {
    if (f.alg !== alg) continue;
    const reach = 2 * (Number.isFinite(f.rttMs.p50) ? f.rttMs.p50 : f.propRttMs) * 1000;
    let lastLoss = -Infinity;
    for (const e of r.events.events) {
      if (e.flow !== f.flow) continue;
      if (e.kind !== 'cut') {
        lastLoss = e.timeUs;
        if (e.kind === 'loss' && e.timeUs >= from && e.timeUs <= to) losses += e.a;
        continue;
      }
      if (e.timeUs < from || e.timeUs > to) continue;
      if (e.timeUs - lastLoss <= reach) lossDriven++;
      else delayDriven++;
    }
    paced ||= r.series.rate[f.flow]?.some((x) => x > 0) ?? false;
  }
  const cuts = lossDriven + delayDriven;
  const lost = `${losses} packet${losses === 1 ? '' : 's'} lost`;
  if (cuts === 0) {
    return paced
      ? `paces at its own rate estimate, no window cuts (${lost})`
      : `never cut its window here (${lost})`;
  }
  if (lossDriven >= 0.7 * cuts) return `cuts its window after its own losses (loss-based; ${lost})`;
  if (delayDriven >= 0.7 * cuts)
    return `cuts its window without waiting for its own losses (reacts to delay or to its model; ${lost})`;
  return `cuts its window both on delay and on loss (${lost})`;
}

/** A few sentences a person can read in a minute: who got what, at what delay, and why. */
export function explain(r: SimResult): string[] {
  const s = r.summary;
  const sc = r.scenario;
  const bufferMs = (sc.net.bufferBytes * 8e3) / Math.max(1, s.capacityBps);
  const lines: string[] = [];
  const w = s.window;
  lines.push(
    `Flows joined ${sc.net.flows.map((f) => `${+(f.startUs / 1e6).toFixed(1)} s`).join(', ')}; ` +
      `the figures below cover [${+w.fromS.toFixed(1)} s, ${+w.toS.toFixed(1)} s], when all of them were running.`,
  );
  const byTput = [...s.flows].sort((a, b) => b.throughputBps - a.throughputBps);
  for (const f of byTput) {
    const share = s.linkThroughputBps > 0 ? (100 * f.throughputBps) / s.linkThroughputBps : 0;
    lines.push(
      `  ${f.alg.padEnd(8)} ${formatRate(f.throughputBps).padStart(12)} (${share.toFixed(0).padStart(3)}% of the link), ` +
        `RTT p95 ${f.rttMs.p95.toFixed(0)} ms: ${congestionStyle(r, f.alg)}`,
    );
  }
  lines.push(
    `Jain's fairness index ${s.jain.toFixed(2)} (1 = equal shares). The buffer holds ${bufferMs.toFixed(0)} ms of ` +
      `traffic; a flow's queueing delay is paid by every flow on the link, so the algorithm that fills the ` +
      `buffer sets everyone's RTT.`,
  );
  lines.push(
    `Each flow's window came from the agent process (${r.agentMessages.fromAgent} messages to the datapath): ` +
      `the same algorithms, unchanged, would steer Linux sockets through ccp-kernel.`,
  );
  return lines;
}

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

function statusLine(s: LiveStatus, algs: readonly string[]): string {
  const flows = s.flows
    .map((f, i) =>
      f.active
        ? `${algs[i]}: ${formatRate(f.throughputBps).padStart(12)} cwnd ${(f.cwndBytes / 1000).toFixed(0).padStart(4)} kB ` +
          `rtt ${f.rttMs.toFixed(0).padStart(3)} ms`
        : `${algs[i]}: ${'idle'.padStart(12)}`,
    )
    .join(' | ');
  return `t=${String(s.t).padStart(3)}s  ${flows} | queue ${(s.queueBytes / 1000).toFixed(0).padStart(4)} kB`;
}

async function action(o: DemoOptions): Promise<void> {
  const algs = o.alg.length > 0 ? o.alg : demoAlgorithms();
  for (const a of algs) {
    if (!algorithmNames().includes(a)) {
      throw new PortusError(
        ErrorCodes.USAGE,
        `--alg: no built-in algorithm '${a}' (${algorithmNames().join(', ')})`,
      );
    }
  }
  const n = algs.length;
  const durationUs = parseTime(o.duration);
  if (durationUs > 40e6) throw new PortusError(ErrorCodes.USAGE, `--duration: the demo runs at most 40s`);
  const staggerUs = parseTime(o.stagger);
  const lastStart = (n - 1) * staggerUs;
  if (lastStart >= durationUs / 2) {
    throw new PortusError(
      ErrorCodes.USAGE,
      `--stagger ${o.stagger}: the last of ${n} flows would join after half the run; use a longer --duration`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'portus-demo-'));
  const agentPath = join(dir, 'agent.sock');
  const datapathPath = join(dir, 'datapath.sock');
  // flows join one after another; the metrics window starts once all are running
  const sc: Scenario = {
    name: `portus demo: ${algs.join(' vs ')} on one link, one agent process`,
    link: o.link,
    rtt: o.rtt,
    buffer: o.buffer,
    duration: o.duration,
    sampleInterval: '50ms',
    warmup: `${lastStart + Math.min(1e6, staggerUs)}us`,
    flows: algs.map((alg, i) => ({ alg, start: `${i * staggerUs}us` })),
  };
  const resolved = resolveScenario(sc);

  const args = [BIN, 'demo-agent', agentPath, ...algs];
  for (const p of o.param) args.push('--param', p);
  if (o.dashboard !== undefined && o.dashboard !== false) {
    args.push('--dashboard');
    if (typeof o.dashboard === 'string') args.push(o.dashboard);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // the agent prints the dashboard's URL (with its token) once it serves it
  child.stdout!.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.includes('dashboard at ')) console.log(line);
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  try {
    await waitForSocket(agentPath, child, () => err, 20_000);
    console.log(
      `agent: ${algs.join(', ')} (pid ${child.pid}) on ${agentPath}\n` +
        `link: ${resolved.linkLabel}, RTT ${o.rtt}, buffer ${(resolved.net.bufferBytes / 1000).toFixed(0)} kB, ` +
        `${n} flow${n === 1 ? '' : 's'} joining ${staggerUs / 1e6} s apart, ${durationUs / 1e6} s in real time\n` +
        algs.map((a, i) => `flow ${i}: ${a}`).join(', ') +
        '\n',
    );
    const result = await runRealtime(resolved, {
      agentPath,
      datapathPath,
      onStatus: (s) => console.log(statusLine(s, algs)),
    });
    result.notes = explain(result);
    console.log('\n' + formatTable(result));
    console.log('\n' + result.notes.join('\n'));
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
    .option(
      '--alg <name>',
      `built-in algorithm, one flow each; repeatable (default: ${demoAlgorithms().join(', ')})`,
      collect,
      [],
    )
    .option('--stagger <time>', 'time between flows joining', '2s')
    .option('--duration <time>', 'how long to run (real time, at most 40s)', '20s')
    .option('--link <rate>', 'bottleneck rate', '48mbps')
    .option('--rtt <time>', 'propagation RTT', '50ms')
    .option('--buffer <size>', 'bottleneck buffer', '1bdp')
    .option('--param <k=v>', 'algorithm parameter passed to the agent; repeatable', collect, [])
    .option('--out <dir>', 'where to write the report (default: a temporary folder)')
    .option(
      '--dashboard [host:port]',
      'the agent also serves the live dashboard (default 127.0.0.1, a free port); its URL is printed',
    )
    .action(action);

  // The demo's agent process: the real runtime serving several algorithms on a Unix socket.
  program
    .command('demo-agent', { hidden: true })
    .argument('<socket>', 'socket path to serve')
    .argument('<algorithms...>', 'built-in algorithms')
    .option('--param <k=v>', 'algorithm parameter; repeatable', collect, [])
    .option('--dashboard [host:port]', 'serve the live dashboard (loopback)')
    .action(
      async (socket: string, names: string[], opts: { param: string[]; dashboard?: string | boolean }) => {
        const params: Record<string, string> = {};
        for (const p of opts.param) {
          const i = p.indexOf('=');
          if (i > 0) params[p.slice(0, i)] = p.slice(i + 1);
        }
        const agent = startAgent({
          transport: await openIpc('unix', { socketPath: socket }),
          algorithms: names.map((a) => getAlgorithm(a, params)),
          log: createLogger('warn'),
        });
        let dashboard: Dashboard | null = null;
        if (opts.dashboard !== undefined) {
          dashboard = await startDashboard(agent, {
            listen: typeof opts.dashboard === 'string' ? opts.dashboard : undefined,
            title: `Portus demo: ${names.join(', ')}`,
          });
          process.stdout.write(`demo: dashboard at ${dashboard.url}\n`);
        }
        await untilSignal(agent);
        await dashboard?.close();
      },
    );
}
