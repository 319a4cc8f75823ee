/**
 * Running a resolved scenario: in simulated time with the in-process agent (deterministic), or
 * paced to the wall clock against an agent process over a Unix socket (`portus demo`).
 * @module
 */
import type { Agent, Algorithm } from '../agent/index.ts';
import { attachInProcessAgent, attachRealtimeAgent, slotWarning } from './ccp.ts';
import { AlgorithmFailedError, type AlgorithmFailure } from './guard.ts';
import { summarize } from './metrics.ts';
import { Network } from './network.ts';
import type { SimResult } from './output.ts';
import type { ResolvedScenario } from './scenario.ts';

/** Failures kept for the report (all are counted). */
const MAX_KEPT_FAILURES = 100;

/** Options of {@link runSimulation}. */
export interface RunOptions {
  /** Called between chunks of simulated time with the fraction done and the network. */
  onProgress?(fraction: number, net: Network): void;
  /** Simulated time per chunk, µs (default 100 ms). */
  chunkUs?: number | undefined;
  /** Warnings from the datapath (fallback, full tables...). */
  warn?(msg: string): void;
  /**
   * Algorithms for the agent instead of the built-ins looked up by name (e.g. loaded from a file);
   * each flow's `alg` must be the `name` of one of them.
   */
  algorithms?: readonly Algorithm[];
  /**
   * Continue after an algorithm throws (or a classic `install()` fails to compile) instead of
   * failing the run with {@link AlgorithmFailedError}; failures are counted per flow.
   */
  keepGoing?: boolean;
  /**
   * Pace simulated time to the wall clock: this many simulated seconds per wall second (1 = real
   * time), yielding to the event loop between chunks so that timers (e.g. a live dashboard) run.
   * The run stays deterministic (the agent's clock is the simulated one); it only takes longer.
   * Default: as fast as possible.
   */
  pace?: number | undefined;
  /** Called with the in-process agent once it runs, before the first simulated event. */
  onAgent?: ((agent: Agent) => void | Promise<void>) | undefined;
}

/** Run a scenario in simulated time with the in-process agent. Deterministic for a given seed. */
export async function runSimulation(sc: ResolvedScenario, opts: RunOptions = {}): Promise<SimResult> {
  const net = new Network(sc.net);
  const failures: AlgorithmFailure[] = [];
  const errorsPerFlow = sc.flows.map(() => 0);
  const onFailure = (f: AlgorithmFailure): void => {
    if (f.flow >= 0 && f.flow < errorsPerFlow.length) errorsPerFlow[f.flow]!++;
    if (failures.length < MAX_KEPT_FAILURES) failures.push(f);
  };
  const link = attachInProcessAgent(net, sc.flows, sc.ipcDelayUs, opts.warn, opts.algorithms, onFailure);
  if (sc.warmupUs > 0) net.schedule(sc.warmupUs, () => net.markWindow());
  const t0 = performance.now();
  const chunk = opts.chunkUs ?? 100_000;
  const pace = opts.pace;
  try {
    await opts.onAgent?.(link.agent);
    const paceFrom = performance.now();
    while (!net.done) {
      if (pace === undefined) net.runUntil(net.now + chunk);
      else {
        // paced: catch up with the wall clock, at most one chunk at a time, then let timers run
        const due = (performance.now() - paceFrom) * 1000 * pace;
        if (due > net.now) net.runUntil(Math.min(due, net.now + chunk));
        await new Promise((resolve) => setTimeout(resolve, due > net.now + chunk ? 0 : 10));
      }
      if (failures.length > 0 && opts.keepGoing !== true) throw new AlgorithmFailedError(failures[0]!);
      opts.onProgress?.(net.now / sc.net.durationUs, net);
    }
  } finally {
    await link.close();
  }
  if (failures.length > 0 && opts.keepGoing !== true) throw new AlgorithmFailedError(failures[0]!);
  const slots = slotWarning(link.counters, sc.flows.length);
  if (slots !== null) opts.warn?.(slots);
  const wallMs = performance.now() - t0;
  const summary = summarize(
    net,
    sc.flows.map((f) => f.alg),
  );
  summary.flows.forEach((f, i) => (f.algorithmErrors = errorsPerFlow[i]!));
  return {
    scenario: sc,
    summary,
    failures,
    events: net.log,
    series: net.series,
    wallMs,
    agentMode: `in-process (IPC delay ${sc.ipcDelayUs} µs)`,
    agentMessages: { ...link.counters },
  };
}

/** One line of live status (real-time mode), emitted once per simulated second. */
export interface LiveStatus {
  /** Simulated = wall seconds since start. */
  t: number;
  /** Per flow: goodput over the last second (bit/s), cwnd (bytes), latest RTT (ms). */
  flows: { throughputBps: number; cwndBytes: number; rttMs: number; active: boolean }[];
  /** Queue occupancy now, bytes. */
  queueBytes: number;
  /** Link throughput over the last second, bit/s. */
  linkBps: number;
}

/** Options of {@link runRealtime}. */
export interface RealtimeOptions {
  /** The agent's socket path. */
  agentPath: string;
  /** Path to bind the datapath's socket to. */
  datapathPath: string;
  /** Called once per second of (simulated = wall) time. */
  onStatus?(s: LiveStatus): void;
  warn?(msg: string): void;
}

/**
 * Run a scenario paced to the wall clock, its datapath talking to an agent process over a Unix
 * socket. Not deterministic (message timing is real), by design.
 */
export async function runRealtime(sc: ResolvedScenario, opts: RealtimeOptions): Promise<SimResult> {
  const net = new Network(sc.net);
  if (sc.warmupUs > 0) net.schedule(sc.warmupUs, () => net.markWindow());
  const wall0 = performance.now();
  const catchUp = (): void => net.runUntil((performance.now() - wall0) * 1000);
  const link = await attachRealtimeAgent(net, sc.flows, {
    agentPath: opts.agentPath,
    datapathPath: opts.datapathPath,
    catchUp,
    warn: opts.warn,
  });
  const lastGood = net.flows.map(() => 0);
  let lastLink = 0;
  let nextStatus = 1;
  try {
    await new Promise<void>((resolveRun, reject) => {
      const tick = (): void => {
        try {
          catchUp();
          while (net.now >= nextStatus * 1e6 && nextStatus * 1e6 <= sc.net.durationUs) {
            const st: LiveStatus = {
              t: nextStatus,
              flows: net.flows.map((f, i) => {
                const d = f.goodputBytes - lastGood[i]!;
                lastGood[i] = f.goodputBytes;
                return {
                  throughputBps: d * 8,
                  cwndBytes: f.cwndBytes,
                  rttMs: f.lastRtt / 1000,
                  active: f.active,
                };
              }),
              queueBytes: net.queueBytes,
              linkBps: (net.linkBytes - lastLink) * 8,
            };
            lastLink = net.linkBytes;
            nextStatus++;
            opts.onStatus?.(st);
          }
          if (net.done) resolveRun();
          else setTimeout(tick, 1);
        } catch (e) {
          reject(e as Error);
        }
      };
      tick();
    });
  } finally {
    await link.close();
  }
  return {
    scenario: sc,
    summary: summarize(
      net,
      sc.flows.map((f) => f.alg),
    ),
    series: net.series,
    wallMs: performance.now() - wall0,
    failures: [],
    events: net.log,
    agentMode: `unix socket ${opts.agentPath} (real time)`,
    agentMessages: { ...link.counters },
  };
}
