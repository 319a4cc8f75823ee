/**
 * Scenario files (`portus sim scenario.json`) and their resolution into a {@link NetworkConfig}.
 * The format is documented in docs/sim.md; every field is optional except `flows`.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, PortusError } from '../errors.ts';
import type { FlowConfig, NetworkConfig } from './network.ts';
import { loadTrace, traceRate, type Trace } from './trace.ts';
import { parseProbability, parseRate, parseSize, parseTime, sizeToBytes } from './units.ts';

/** A group of identical flows in a scenario. */
export interface ScenarioFlow {
  /** Algorithm name (`aimd`, `const`, `reno`, `cubic`). */
  alg: string;
  /** Algorithm parameters (as `portus run` takes them), e.g. `{ "cwnd": "20" }` for const. */
  params?: Record<string, string>;
  /** How many such flows (default 1). */
  count?: number;
  /** Propagation RTT (default: the scenario's `rtt`). */
  rtt?: string | number;
  /** Start time (default 0). With `count` > 1, `stagger` spaces the starts. */
  start?: string | number;
  /** Time between the starts of the flows of this group (default 0). */
  stagger?: string | number;
  /** Stop time (default: end of the run). */
  stop?: string | number;
  /** Bytes to transfer (default: unlimited). */
  bytes?: string | number;
  /** Packet size in bytes (default 1500). */
  mss?: number;
  /** Initial window (default `10pkts`). */
  initCwnd?: string | number;
}

/** A scenario, as written in JSON. */
export interface Scenario {
  /** Shown in the report. */
  name?: string;
  /** Bottleneck rate, e.g. `48mbps` (default 48mbps; ignored with `trace`). */
  link?: string | number;
  /** Mahimahi trace file (relative paths are relative to the scenario file). */
  trace?: string;
  /** Default propagation RTT of the flows (default 50ms). */
  rtt?: string | number;
  /** Buffer: bytes (`300kb`), packets (`200pkts`) or BDP multiple (`1bdp`; default). */
  buffer?: string | number;
  /** Simulated duration (default 30s). */
  duration?: string | number;
  /** Random loss probability (default 0), e.g. `0.01%`. */
  loss?: string | number;
  /** ECN marking threshold on queue occupancy (default: off), e.g. `30kb`. */
  ecnThreshold?: string | number;
  /** Seed of the random-loss generator (default 1). */
  seed?: number;
  /** One-way delay of agent messages, in simulated time (default 20us). */
  ipcDelay?: string | number;
  /** Time-series sampling interval (default: duration / 500, between 10 ms and 1 s). */
  sampleInterval?: string | number;
  /** The flows. */
  flows: ScenarioFlow[];
}

/** One flow after resolution: the network's view plus its algorithm. */
export interface ResolvedFlow {
  alg: string;
  params: Record<string, string>;
}

/** A scenario resolved into concrete numbers. */
export interface ResolvedScenario {
  /** Title of the run (the scenario's `name`, else the algorithm names). */
  name: string;
  net: NetworkConfig;
  flows: ResolvedFlow[];
  /** One-way agent message delay in µs. */
  ipcDelayUs: number;
  /** Human description of the link, e.g. `48.00 Mbit/s` or `trace foo.up (avg 12.0 Mbit/s)`. */
  linkLabel: string;
  /** Bandwidth-delay product in bytes (link rate × default RTT). */
  bdpBytes: number;
  /** The scenario as given (for the report). */
  source: Scenario;
}

const SCENARIO_KEYS = new Set([
  'name',
  'link',
  'trace',
  'rtt',
  'buffer',
  'duration',
  'loss',
  'ecnThreshold',
  'seed',
  'ipcDelay',
  'sampleInterval',
  'flows',
  '$schema',
  'description',
]);
const FLOW_KEYS = new Set([
  'alg',
  'params',
  'count',
  'rtt',
  'start',
  'stagger',
  'stop',
  'bytes',
  'mss',
  'initCwnd',
]);

function fail(msg: string): never {
  throw new PortusError(ErrorCodes.SIM_CONFIG, msg);
}

/** Read a scenario JSON file; a relative `trace` is resolved against the file's folder. */
export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`cannot read scenario ${path}: ${(e as Error).message}`);
  }
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (e) {
    fail(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  const sc = validateScenario(s, path);
  if (sc.trace !== undefined) sc.trace = resolve(dirname(path), sc.trace);
  return sc;
}

/** Check the shape of a parsed scenario (unknown keys are errors, to catch typos). */
export function validateScenario(s: unknown, where = 'scenario'): Scenario {
  if (typeof s !== 'object' || s === null || Array.isArray(s)) fail(`${where}: expected a JSON object`);
  const o = s as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!SCENARIO_KEYS.has(k)) fail(`${where}: unknown key '${k}'`);
  if (!Array.isArray(o.flows) || o.flows.length === 0) fail(`${where}: 'flows' must be a non-empty array`);
  o.flows.forEach((f: unknown, i: number) => {
    if (typeof f !== 'object' || f === null) fail(`${where}: flows[${i}] must be an object`);
    const fo = f as Record<string, unknown>;
    for (const k of Object.keys(fo)) if (!FLOW_KEYS.has(k)) fail(`${where}: flows[${i}]: unknown key '${k}'`);
    if (typeof fo.alg !== 'string' || fo.alg === '')
      fail(`${where}: flows[${i}].alg must be an algorithm name`);
    if (fo.count !== undefined && (!Number.isInteger(fo.count) || (fo.count as number) < 1)) {
      fail(`${where}: flows[${i}].count must be a positive integer`);
    }
    if (fo.params !== undefined) {
      if (typeof fo.params !== 'object' || fo.params === null)
        fail(`${where}: flows[${i}].params must be an object`);
      for (const [k, v] of Object.entries(fo.params)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
          fail(`${where}: flows[${i}].params.${k} must be a string or number`);
        }
      }
    }
  });
  if (o.seed !== undefined && !Number.isInteger(o.seed)) fail(`${where}: 'seed' must be an integer`);
  return o as unknown as Scenario;
}

/** Resolve units, defaults, the trace and the BDP into a runnable configuration. */
export function resolveScenario(sc: Scenario, traceLoaded?: Trace): ResolvedScenario {
  const durationUs = parseTime(sc.duration ?? '30s');
  if (!(durationUs > 0)) fail('duration must be positive');
  const rttUs = parseTime(sc.rtt ?? '50ms');
  let trace: Trace | undefined = traceLoaded;
  if (!trace && sc.trace !== undefined) trace = loadTrace(sc.trace);
  const rateBps = trace ? traceRate(trace) : parseRate(sc.link ?? '48mbps');
  const bdpBytes = Math.floor(((rateBps / 8) * rttUs) / 1e6);
  const bufferBytes = sizeToBytes(parseSize(sc.buffer ?? '1bdp'), 1500, bdpBytes);
  if (bufferBytes < 1500) fail(`buffer of ${bufferBytes} bytes cannot hold one 1500-byte packet`);
  const ecn =
    sc.ecnThreshold === undefined ? Infinity : sizeToBytes(parseSize(sc.ecnThreshold), 1500, bdpBytes);
  const sampleIntervalUs =
    sc.sampleInterval !== undefined
      ? parseTime(sc.sampleInterval)
      : Math.min(1e6, Math.max(10_000, Math.round(durationUs / 500 / 1000) * 1000));
  if (!(sampleIntervalUs > 0)) fail('sampleInterval must be positive');
  const flows: FlowConfig[] = [];
  const algs: ResolvedFlow[] = [];
  for (const g of sc.flows) {
    const count = g.count ?? 1;
    const mss = g.mss ?? 1500;
    if (!Number.isInteger(mss) || mss < 64 || mss > 1500)
      fail(`mss must be an integer in 64..1500, got ${mss}`);
    const start = parseTime(g.start ?? 0);
    const stagger = parseTime(g.stagger ?? 0);
    const stop = g.stop === undefined ? Infinity : parseTime(g.stop);
    const bytes = g.bytes === undefined ? Infinity : sizeToBytes(parseSize(g.bytes), mss, bdpBytes);
    const init = sizeToBytes(parseSize(g.initCwnd ?? '10pkts'), mss, bdpBytes);
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(g.params ?? {})) params[k] = String(v);
    for (let i = 0; i < count; i++) {
      const s = start + i * stagger;
      if (stop <= s) fail(`flow ${flows.length}: stop (${stop / 1e6}s) must be after start (${s / 1e6}s)`);
      flows.push({
        rttUs: g.rtt === undefined ? rttUs : parseTime(g.rtt),
        startUs: s,
        stopUs: stop,
        bytes,
        mss,
        initCwndBytes: Math.max(mss, init),
      });
      algs.push({ alg: g.alg, params });
    }
  }
  for (const f of flows) if (!(f.rttUs > 0)) fail('every flow needs a positive rtt');
  const linkLabel = trace
    ? `trace ${trace.source} (avg ${(rateBps / 1e6).toFixed(2)} Mbit/s)`
    : `${(rateBps / 1e6).toFixed(2)} Mbit/s`;
  return {
    name: sc.name ?? algs.map((a) => a.alg).join(' vs '),
    net: {
      link: trace ? { trace, rateBps } : { rateBps },
      bufferBytes,
      ecnThresholdBytes: ecn,
      lossRate: parseProbability(sc.loss ?? 0),
      seed: sc.seed ?? 1,
      flows,
      durationUs,
      sampleIntervalUs,
    },
    flows: algs,
    ipcDelayUs: parseTime(sc.ipcDelay ?? '20us'),
    linkLabel,
    bdpBytes,
    source: sc,
  };
}
