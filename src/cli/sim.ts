/**
 * `portus sim`: run the network simulator with the real agent in-process, in simulated time.
 *
 * ```
 * portus sim --alg cubic --alg reno --flows 2 --link 48mbps --rtt 50ms --buffer 1bdp --duration 30s --out out/
 * portus sim examples/scenarios/two-cubic.json --json
 * portus sim --alg cubic --alg bbr --duration 20s --live     # paced to the wall clock, live dashboard
 * ```
 * @module
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { ErrorCodes, PortusError } from '../errors.ts';
import {
  formatTable,
  loadScenario,
  resolveScenario,
  runSimulation,
  toJson,
  validateScenario,
  writeOutputs,
  type Scenario,
  type ScenarioFlow,
} from '../sim/index.ts';
import { STOP_SIGNALS, type Agent, type Algorithm } from '../agent/index.ts';
import { isLoopback, startDashboard, type Dashboard } from '../dashboard/index.ts';
import { resolveAlgorithm } from '../algorithms/index.ts';

/** Options of `portus sim` as commander parses them. */
interface SimOptions {
  alg: string[];
  flows?: string;
  link?: string;
  rtt?: string;
  buffer?: string;
  duration?: string;
  trace?: string;
  loss?: string;
  ecnThreshold?: string;
  seed?: string;
  ipcDelay?: string;
  sampleInterval?: string;
  param: string[];
  out?: string;
  json?: boolean;
  progress: boolean;
  keepGoing?: boolean;
  access?: string;
  warmup?: string;
  delayedAck?: string;
  headers?: string;
  lossPlacement?: string;
  /** `--live [host:port]`: true without a value. */
  live?: string | boolean;
  dashboardRemote?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Distinct warnings printed after a run; the rest are counted. */
const MAX_WARNINGS = 5;

function usage(msg: string): never {
  throw new PortusError(ErrorCodes.USAGE, msg);
}

/** `k=v` applies to every algorithm, `alg:k=v` to one. */
function paramsFor(alg: string, list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const m = /^(?:([A-Za-z0-9_-]+):)?([A-Za-z0-9_]+)=(.*)$/.exec(p);
    if (!m) usage(`--param expects k=v or alg:k=v, got '${p}'`);
    if (m[1] !== undefined && m[1] !== alg) continue;
    out[m[2]!] = m[3]!;
  }
  return out;
}

/** Build a scenario from command-line flags (no scenario file). */
export function scenarioFromFlags(o: SimOptions): Scenario {
  const algs = o.alg.length > 0 ? o.alg : ['cubic'];
  const n = o.flows === undefined ? algs.length : Number(o.flows);
  if (!Number.isInteger(n) || n < 1) usage(`--flows expects a positive integer, got '${o.flows}'`);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const a = algs[i % algs.length]!;
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  const flows: ScenarioFlow[] = [...counts].map(([alg, count]) => ({
    alg,
    count,
    params: paramsFor(alg, o.param),
  }));
  const sc: Scenario = { flows };
  applyOverrides(sc, o);
  return sc;
}

function applyOverrides(sc: Scenario, o: SimOptions): void {
  if (o.link !== undefined) sc.link = o.link;
  if (o.trace !== undefined) sc.trace = o.trace;
  if (o.rtt !== undefined) sc.rtt = o.rtt;
  if (o.buffer !== undefined) sc.buffer = o.buffer;
  if (o.duration !== undefined) sc.duration = o.duration;
  if (o.loss !== undefined) sc.loss = o.loss;
  if (o.ecnThreshold !== undefined) sc.ecnThreshold = o.ecnThreshold;
  if (o.ipcDelay !== undefined) sc.ipcDelay = o.ipcDelay;
  if (o.sampleInterval !== undefined) sc.sampleInterval = o.sampleInterval;
  if (o.access !== undefined) sc.access = o.access;
  if (o.warmup !== undefined) sc.warmup = o.warmup;
  if (o.delayedAck !== undefined) sc.delayedAck = o.delayedAck;
  if (o.headers !== undefined) sc.headers = o.headers;
  if (o.lossPlacement !== undefined)
    sc.lossPlacement = o.lossPlacement as NonNullable<Scenario['lossPlacement']>;
  if (o.seed !== undefined) {
    const s = Number(o.seed);
    if (!Number.isInteger(s)) usage(`--seed expects an integer, got '${o.seed}'`);
    sc.seed = s;
  }
}

async function action(file: string | undefined, o: SimOptions): Promise<void> {
  let sc: Scenario;
  if (file !== undefined) {
    if (o.alg.length > 0 || o.flows !== undefined || o.param.length > 0) {
      usage('with a scenario file, give flows in the file (not --alg/--flows/--param)');
    }
    sc = loadScenario(file);
    applyOverrides(sc, o);
    validateScenario(sc, file);
  } else sc = scenarioFromFlags(o);
  const resolved = resolveScenario(sc);
  // built-in names or algorithm files (./my-alg.ts), as `portus run` takes them; one agent serves all
  const bySpec = new Map<string, Algorithm>();
  for (const f of resolved.flows) {
    const key = `${f.alg}\0${JSON.stringify(f.params)}`;
    let a = bySpec.get(key);
    if (a === undefined) {
      a = await resolveAlgorithm(f.alg, f.params);
      bySpec.set(key, a);
    }
    f.alg = a.name;
  }
  const algorithms = [...bySpec.values()];
  if (sc.name === undefined) resolved.name = [...new Set(resolved.flows.map((f) => f.alg))].join(' vs ');
  const names = algorithms.map((a) => a.name);
  if (new Set(names).size !== names.length) {
    usage(
      `one agent serves every flow: '${names.find((n, i) => names.indexOf(n) !== i)}' appears with different params`,
    );
  }

  // Progress bar on stderr, only once the run has taken more than a second of wall time.
  const t0 = performance.now();
  let bar: cliProgress.SingleBar | null = null;
  const onProgress = (fraction: number): void => {
    if (!o.progress) return;
    if (bar === null) {
      if (performance.now() - t0 < 1000) return;
      bar = new cliProgress.SingleBar(
        { format: 'simulating [{bar}] {percentage}% | {value}/{total} s simulated', stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.round(resolved.net.durationUs / 1e6), 0);
    }
    bar.update(Math.round((fraction * resolved.net.durationUs) / 1e6));
  };
  const warnings = new Set<string>();
  const live = o.live !== undefined && o.live !== false;
  let dashboard: Dashboard | null = null;
  const serve = async (agent: Agent): Promise<void> => {
    dashboard = await startDashboard(agent, {
      listen: o.live === true ? undefined : (o.live as string),
      allowRemote: o.dashboardRemote === true,
      title: `Portus sim: ${resolved.name}`,
    });
    if (!isLoopback(dashboard.host)) {
      console.error(`portus sim: warning: the dashboard is served on ${dashboard.host}, not loopback`);
    }
    console.log(
      `portus sim: dashboard at ${dashboard.url}\n` +
        `portus sim: simulating ${resolved.net.durationUs / 1e6} s in real time`,
    );
  };
  let result;
  try {
    result = await runSimulation(resolved, {
      onProgress: (fraction, net) => {
        // the last sample shows the flows as the run left them (before the agent closes them)
        if (net.done) (dashboard as Dashboard | null)?.end(`run finished at ${net.now / 1e6} s`);
        onProgress(fraction);
      },
      warn: (m) => warnings.add(m),
      algorithms,
      keepGoing: o.keepGoing === true,
      pace: live ? 1 : undefined,
      onAgent: live ? serve : undefined,
    });
  } catch (e) {
    await (dashboard as Dashboard | null)?.close();
    throw e;
  } finally {
    (bar as cliProgress.SingleBar | null)?.stop();
  }
  const shown = [...warnings].slice(0, MAX_WARNINGS);
  for (const w of shown) console.error(`portus sim: warning: ${w}`);
  if (warnings.size > shown.length) {
    console.error(`portus sim: warning: ${warnings.size - shown.length} more distinct warnings not shown`);
  }
  let report: string | null = null;
  if (o.out !== undefined) report = writeOutputs(result, o.out);
  if (o.json) {
    process.stdout.write(JSON.stringify(toJson(result), null, 2) + '\n');
  } else {
    console.log(formatTable(result));
    if (report !== null) console.log(`\nreport: ${report}`);
  }
  if (dashboard !== null) await serveUntilSignal(dashboard);
}

/** After a live run: keep the dashboard (frozen at the run's end) up until Ctrl-C. */
async function serveUntilSignal(dashboard: Dashboard): Promise<void> {
  console.error('portus sim: run finished; the dashboard keeps showing it until Ctrl-C');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      for (const s of STOP_SIGNALS) process.off(s, stop);
      resolve();
    };
    for (const s of STOP_SIGNALS) process.on(s, stop);
  });
  await dashboard.close();
}

/** Register `portus sim`. */
export function register(program: Command): void {
  program
    .command('sim')
    .description('simulate flows over a bottleneck, driven by the real agent and datapath (simulated time)')
    .argument('[scenario]', 'scenario JSON file (see docs/sim.md); otherwise build one from the flags')
    .option(
      '--alg <name|file>',
      'algorithm: a built-in name or a .ts/.js file; repeat for several (flows are assigned round-robin)',
      collect,
      [],
    )
    .option('--flows <n>', 'number of flows (default: one per --alg)')
    .option('--link <rate>', 'bottleneck rate with its unit, e.g. 48mbps (default 48mbps)')
    .option('--rtt <time>', 'propagation RTT with its unit, e.g. 50ms (default 50ms)')
    .option('--buffer <size>', 'buffer: 1bdp, 300kb, 200pkts (default 1bdp)')
    .option('--duration <time>', 'simulated time with its unit, e.g. 30s (default 30s)')
    .option('--trace <file>', 'mahimahi trace for the bottleneck (replaces --link)')
    .option('--loss <p>', 'random loss probability, e.g. 0.01%')
    .option('--ecn-threshold <size>', 'mark CE above this queue occupancy, e.g. 30kb')
    .option('--loss-placement <where>', 'random loss after-queue (default, as ns-3) or before-queue')
    .option('--access <rate>', "senders' access link (NIC) rate, or none (default 1gbps)")
    .option('--delayed-ack <time>', 'delayed-ACK timer, or off (default 40ms: ACK every 2nd packet)')
    .option('--headers <size>', 'header bytes per packet on the wire (default 52b: payload 1448)')
    .option('--seed <n>', 'random seed (default 1)')
    .option('--ipc-delay <time>', 'one-way agent message delay in simulated time (default 20us)')
    .option('--warmup <time>', 'compute every metric over [warmup, end], e.g. 10s (default: the whole run)')
    .option('--sample-interval <time>', 'time-series sampling interval (default duration/500)')
    .option('--param <k=v>', 'algorithm parameter (k=v for all, alg:k=v for one); repeatable', collect, [])
    .option('--out <dir>', 'write summary.json, timeseries.csv, events.csv, *.svg and report.html here')
    .option('--json', 'print the result as JSON instead of the table')
    .option('--no-progress', 'never show the progress bar')
    .option(
      '--keep-going',
      'continue when the algorithm throws; count the errors per flow (default: fail the run)',
    )
    .option(
      '--live [host:port]',
      'watch the run in the live dashboard: simulated time is paced to the wall clock (a 30s run takes ' +
        '30 s), the agent serves the dashboard (default 127.0.0.1, a free port; the URL with its token ' +
        'is printed); after the run the dashboard keeps showing its final state until Ctrl-C',
    )
    .option('--dashboard-remote', 'allow --live on a non-loopback address')
    .action(action);
}
