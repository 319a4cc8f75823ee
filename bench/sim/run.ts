/**
 * Simulator throughput: simulated packets per wall-clock second for one Cubic flow at
 * 100 Mbit/s, 50 ms RTT, 1 BDP buffer, 60 s simulated — the full stack (network + TypeScript
 * libccp datapath invoked on every ACK + the agent in-process over the byte-encoded channel).
 * Target: ≥ 300k packets/s.
 *
 * Baselines measured in the same run:
 * - the raw event queue alone, pushing and popping the same number of events with the same
 *   number pending (the floor any discrete-event simulator pays);
 * - the network alone with a fixed window and no congestion control (what the datapath + agent
 *   add on top).
 *
 * Run: `node --expose-gc --import tsx bench/sim/run.ts`
 * @module
 */
import { pathToFileURL } from 'node:url';
import { EventQueue, Network, resolveScenario, runSimulation } from '../../src/sim/index.ts';

/** One bench result. */
export interface SimBenchResult {
  packets: number;
  events: number;
  wallMs: number;
  packetsPerSec: number;
  utilisation: number;
  /** The raw event queue: same number of events, same number pending. */
  queueEventsPerSec: number;
  /** Network alone (fixed window, no datapath/agent): packets per second. */
  networkPacketsPerSec: number;
  /** Network alone: JS heap growth per packet, bytes (meaningful with --expose-gc). */
  networkHeapBytesPerPacket: number;
}

function queueBaseline(events: number, pending: number): number {
  const q = new EventQueue(1024);
  let t = 0;
  for (let i = 0; i < pending; i++) q.push(i * 10, 1, i);
  const t0 = performance.now();
  for (let i = 0; i < events; i++) {
    q.pop();
    t = q.time;
    q.push(t + 50_000 + (i % 97), 1, i); // like an ACK one RTT later
  }
  return events / ((performance.now() - t0) / 1000);
}

function networkBaseline(): { pps: number; heapPerPacket: number } {
  const n = new Network({
    link: { rateBps: 100e6 },
    bufferBytes: 625_000,
    ecnThresholdBytes: Infinity,
    lossRate: 0,
    seed: 1,
    flows: [
      { rttUs: 50_000, startUs: 0, stopUs: Infinity, bytes: Infinity, mss: 1500, initCwndBytes: 600 * 1500 },
    ],
    durationUs: 60e6,
    sampleIntervalUs: 100_000,
  });
  n.setHooks({ ack() {}, timeout() {} });
  n.runUntil(2e6); // warm up; pools and buffers reach their working size
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const p0 = n.flows[0]!.sentPkts;
  const t0 = performance.now();
  n.runUntil(Infinity);
  const wall = (performance.now() - t0) / 1000;
  const pkts = n.flows[0]!.sentPkts - p0;
  return { pps: pkts / wall, heapPerPacket: Math.max(0, process.memoryUsage().heapUsed - heap0) / pkts };
}

/** Run the benchmark (one warm-up run of 5 s first, for the JIT). */
export async function benchSim(): Promise<SimBenchResult> {
  const sc = (d: string) =>
    resolveScenario({ link: '100mbps', rtt: '50ms', buffer: '1bdp', duration: d, flows: [{ alg: 'cubic' }] });
  await runSimulation(sc('5s'));
  const r = await runSimulation(sc('60s'));
  const packets = r.summary.packets;
  const queueEventsPerSec = queueBaseline(r.summary.events, 1000);
  const net = networkBaseline();
  return {
    packets,
    events: r.summary.events,
    wallMs: r.wallMs,
    packetsPerSec: packets / (r.wallMs / 1000),
    utilisation: r.summary.utilisation,
    queueEventsPerSec,
    networkPacketsPerSec: net.pps,
    networkHeapBytesPerPacket: net.heapPerPacket,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const r = await benchSim();
  const k = (v: number): string => `${(v / 1000).toFixed(0)}k`;
  console.log(`sim: one Cubic flow, 100 Mbit/s, 50 ms RTT, 1 BDP buffer, 60 s simulated (full stack)`);
  console.log(
    `  ${r.packets} packets, ${r.events} events in ${(r.wallMs / 1000).toFixed(2)} s wall: ` +
      `${k(r.packetsPerSec)} packets/s (target >= 300k), utilisation ${(r.utilisation * 100).toFixed(1)}%`,
  );
  const eventsPerSec = r.events / (r.wallMs / 1000);
  console.log(
    `  baseline, raw event queue (same ${r.events} events, 1000 pending): ${k(r.queueEventsPerSec)} events/s; ` +
      `the full stack runs at ${k(eventsPerSec)} events/s = ${((eventsPerSec / r.queueEventsPerSec) * 100).toFixed(1)}% of it`,
  );
  console.log(
    `  baseline, network alone (fixed window, no datapath/agent): ${k(r.networkPacketsPerSec)} packets/s; ` +
      `datapath + agent cost ${((1 - r.packetsPerSec / r.networkPacketsPerSec) * 100).toFixed(0)}% of it; ` +
      `heap growth ${r.networkHeapBytesPerPacket.toFixed(2)} B/packet (run with --expose-gc for a clean figure)`,
  );
  if (r.packetsPerSec < 300_000) process.exitCode = 1;
}
