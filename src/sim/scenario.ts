/**
 * Scenario files (`portus sim scenario.json`) and their resolution into a {@link NetworkConfig}.
 * The format is documented in docs/sim.md; every field is optional except `flows`.
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, PortusError } from '../errors.ts';
import type { FlowConfig, NetworkConfig } from './network.ts';
import { loadTrace, traceRate, type Trace } from './trace.ts';
import { formatRate, parseProbability, parseRate, parseSize, parseTime, sizeToBytes } from './units.ts';

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
  /** Payload bytes per packet (default 1448: 1500 on the wire with the default `headers`). */
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
  /**
   * Where random loss happens: `after-queue` (default; the packet used the link, as in ns-3) or
   * `before-queue`.
   */
  lossPlacement?: 'after-queue' | 'before-queue';
  /** Each sender's access link (NIC) rate, e.g. `1gbps`, or `none` (default: 1gbps, or 10× a faster link). */
  access?: string | number;
  /** Delayed-ACK timer (ACK every 2nd packet, or after this), e.g. `40ms` (Linux's minimum; default), or `off`. */
  delayedAck?: string | number;
  /** Header bytes per packet on the wire, e.g. `52b` (TCP/IP with timestamps; default). */
  headers?: string | number;
  /** Seed of the random-loss generator (default 1). */
  seed?: number;
  /** Metrics cover [warmup, end] (default 0: the whole run), e.g. `10s`. */
  warmup?: string | number;
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
  /** Metrics window start, µs (0: the whole run). */
  warmupUs: number;
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
  'lossPlacement',
  'access',
  'delayedAck',
  'headers',
  'warmup',
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

/**
 * Limits checked before anything is allocated, so a typo (`count: 1e9`, `duration: "1e308s"`)
 * is a clear error rather than an out-of-memory abort.
 */
export const SIM_LIMITS = {
  /** Flows in one scenario (all groups together). */
  flows: 10_000,
  /** Simulated duration, µs (one day). */
  durationUs: 86_400e6,
  /** Time-series samples (duration / sampleInterval). */
  samples: 1_000_000,
  /** Propagation RTT of a flow, µs. */
  rttUs: 60e6,
  /** Bottleneck rate, bit/s. */
  rateBps: 1e12,
  /** Buffer, bytes. */
  bufferBytes: 1e10,
  /** Scenario file size, bytes. */
  scenarioFileBytes: 1 << 20,
} as const;

/**
 * Read a small text file given by the user, refusing devices, folders and anything larger than
 * `maxBytes` (so `/dev/zero` cannot exhaust memory).
 */
export function readUserFile(path: string, what: string, maxBytes: number): string {
  try {
    const st = statSync(path);
    if (!st.isFile()) fail(`cannot read ${what} ${path}: not a regular file`);
    if (st.size > maxBytes) fail(`cannot read ${what} ${path}: larger than ${maxBytes} bytes`);
    return readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (e) {
    if (e instanceof PortusError) throw e;
    fail(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Where JSON.parse fails, as a 1-based line number, found without quoting the text: V8's message
 * echoes the input (a scenario pointed at a password file would print a hash). The failing prefix
 * is found by bisection: a proper prefix of valid JSON only ever fails at its end.
 */
export function jsonErrorLine(text: string): number {
  const badPrefix = (n: number): boolean => {
    try {
      JSON.parse(text.slice(0, n));
      return false;
    } catch (e) {
      // incomplete (not wrong): "end of JSON input", or a complaint about the very end of the
      // prefix ("Unterminated string in JSON at position n")
      const m = (e as Error).message;
      if (/end of JSON input/i.test(m)) return false;
      const at = /at position (\d+)/.exec(m);
      return !(at !== null && Number(at[1]) >= n);
    }
  };
  let lo = 1;
  let hi = text.length;
  if (!badPrefix(hi)) return text.split('\n').length; // truncated: blame the last line
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (badPrefix(mid)) hi = mid;
    else lo = mid + 1;
  }
  let line = 1;
  for (let i = 0; i < lo - 1; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Read a scenario JSON file; a relative `trace` is resolved against the file's folder. */
export function loadScenario(path: string): Scenario {
  const text = readUserFile(path, 'scenario', SIM_LIMITS.scenarioFileBytes);
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch {
    // never quote the file: only its name and the line
    fail(`${path}:${jsonErrorLine(text)}: not valid JSON`);
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
    if ((fo.count as number | undefined) !== undefined && (fo.count as number) > SIM_LIMITS.flows) {
      fail(`${where}: flows[${i}].count ${String(fo.count)} is above the limit of ${SIM_LIMITS.flows} flows`);
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

/** The fidelity knobs (docs/sim.md, "Fidelity"), with their defaults. */
function resolveFidelity(
  sc: Scenario,
  rateBps: number,
): Required<Pick<NetworkConfig, 'lossPlacement' | 'headerBytes'>> &
  Pick<NetworkConfig, 'accessRateBps' | 'delayedAck'> {
  const lp = sc.lossPlacement ?? 'after-queue';
  if (lp !== 'after-queue' && lp !== 'before-queue') {
    fail(`lossPlacement must be 'after-queue' or 'before-queue', got ${JSON.stringify(lp)}`);
  }
  const off = (v: unknown): boolean => v === 'none' || v === 'off' || v === false;
  let accessRateBps: number | undefined;
  if (sc.access === undefined) accessRateBps = Math.max(1e9, 10 * rateBps);
  else if (!off(sc.access)) accessRateBps = parseRate(sc.access);
  let delayedAck: NetworkConfig['delayedAck'];
  if (sc.delayedAck === undefined) delayedAck = { every: 2, timeoutUs: 40_000 };
  else if (!off(sc.delayedAck)) {
    const t = parseTime(sc.delayedAck);
    if (!(t > 0) || t > 1e6) fail(`delayedAck ${String(sc.delayedAck)} must be a time in (0, 1s], or 'off'`);
    delayedAck = { every: 2, timeoutUs: t };
  }
  const headerBytes = sc.headers === undefined ? 52 : sizeToBytes(parseSize(sc.headers), 1500, 0);
  if (headerBytes > 1400)
    fail(`headers ${String(sc.headers)} leaves no room for payload in 1500-byte packets`);
  return {
    lossPlacement: lp,
    headerBytes,
    ...(accessRateBps !== undefined ? { accessRateBps } : {}),
    ...(delayedAck !== undefined ? { delayedAck } : {}),
  };
}

/** Resolve units, defaults, the trace and the BDP into a runnable configuration. */
export function resolveScenario(sc: Scenario, traceLoaded?: Trace): ResolvedScenario {
  const durationUs = parseTime(sc.duration ?? '30s');
  if (!(durationUs > 0)) fail('duration must be positive');
  if (durationUs > SIM_LIMITS.durationUs) {
    fail(`duration ${String(sc.duration)} is above the limit of ${SIM_LIMITS.durationUs / 1e6} s`);
  }
  const rttUs = parseTime(sc.rtt ?? '50ms');
  if (!(rttUs > 0) || rttUs > SIM_LIMITS.rttUs) {
    fail(`rtt ${String(sc.rtt)} must be positive and at most ${SIM_LIMITS.rttUs / 1e6} s`);
  }
  let trace: Trace | undefined = traceLoaded;
  if (!trace && sc.trace !== undefined) trace = loadTrace(sc.trace);
  const rateBps = trace ? traceRate(trace) : parseRate(sc.link ?? '48mbps');
  if (rateBps > SIM_LIMITS.rateBps) fail(`link ${String(sc.link)} is above the limit of 1 Tbit/s`);
  const bdpBytes = Math.floor(((rateBps / 8) * rttUs) / 1e6);
  const bufferBytes = sizeToBytes(parseSize(sc.buffer ?? '1bdp'), 1500, bdpBytes);
  if (bufferBytes < 1500) {
    // name every value that went into it: with a BDP-relative buffer the culprit may be the link
    const how =
      sc.buffer === undefined || /bdp/i.test(String(sc.buffer))
        ? ` (${sc.buffer ?? '1bdp'} of link ${formatRate(rateBps)} × rtt ${rttUs / 1000} ms)`
        : '';
    fail(`buffer of ${bufferBytes} bytes${how} cannot hold one 1500-byte packet`);
  }
  if (bufferBytes > SIM_LIMITS.bufferBytes) fail(`buffer ${String(sc.buffer)} is above the limit of 10 GB`);
  const ecn =
    sc.ecnThreshold === undefined ? Infinity : sizeToBytes(parseSize(sc.ecnThreshold), 1500, bdpBytes);
  const sampleIntervalUs =
    sc.sampleInterval !== undefined
      ? parseTime(sc.sampleInterval)
      : Math.min(1e6, Math.max(10_000, Math.round(durationUs / 500 / 1000) * 1000));
  if (!(sampleIntervalUs > 0)) fail('sampleInterval must be positive');
  if (durationUs / sampleIntervalUs > SIM_LIMITS.samples) {
    fail(
      `sampleInterval ${String(sc.sampleInterval)} gives more than ${SIM_LIMITS.samples} samples over the duration`,
    );
  }
  const total = sc.flows.reduce((n, g) => n + (g.count ?? 1), 0);
  if (total > SIM_LIMITS.flows) fail(`${total} flows is above the limit of ${SIM_LIMITS.flows}`);
  const ipcDelayUs = parseTime(sc.ipcDelay ?? '20us');
  const warmupUs = parseTime(sc.warmup ?? 0);
  if (warmupUs >= durationUs) {
    fail(`warmup ${String(sc.warmup)} leaves nothing to measure in a ${durationUs / 1e6} s run`);
  }
  if (ipcDelayUs > 10e6) fail(`ipcDelay ${String(sc.ipcDelay)} is above the limit of 10 s`);
  const fid = resolveFidelity(sc, rateBps);
  const flows: FlowConfig[] = [];
  const algs: ResolvedFlow[] = [];
  sc.flows.forEach((g, gi) => {
    const count = g.count ?? 1;
    const mss = g.mss ?? 1500 - fid.headerBytes;
    if (!Number.isInteger(mss) || mss < 64 || mss + fid.headerBytes > 1500) {
      fail(
        `flows[${gi}].mss must be an integer in 64..${1500 - fid.headerBytes} ` +
          `(packets are at most 1500 bytes with ${fid.headerBytes} header bytes), got ${mss}`,
      );
    }
    const start = parseTime(g.start ?? 0);
    const stagger = parseTime(g.stagger ?? 0);
    const stop = g.stop === undefined ? Infinity : parseTime(g.stop);
    const bytes = g.bytes === undefined ? Infinity : sizeToBytes(parseSize(g.bytes), mss, bdpBytes);
    const init = sizeToBytes(parseSize(g.initCwnd ?? '10pkts'), mss, bdpBytes);
    const flowRtt = g.rtt === undefined ? rttUs : parseTime(g.rtt);
    if (!(flowRtt > 0) || flowRtt > SIM_LIMITS.rttUs) {
      fail(`flows[${gi}].rtt ${String(g.rtt)} must be positive and at most ${SIM_LIMITS.rttUs / 1e6} s`);
    }
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(g.params ?? {})) params[k] = String(v);
    for (let i = 0; i < count; i++) {
      const s = start + i * stagger;
      const at = `flows[${gi}]${count > 1 ? ` #${i}` : ''} (flow ${flows.length})`;
      if (s >= durationUs) {
        fail(`${at} starts at ${s / 1e6} s, at or after the end of the run (duration ${durationUs / 1e6} s)`);
      }
      if (stop <= s) fail(`${at}: stop (${stop / 1e6}s) must be after start (${s / 1e6}s)`);
      flows.push({
        rttUs: flowRtt,
        startUs: s,
        stopUs: stop,
        bytes,
        mss,
        initCwndBytes: Math.max(mss, init),
      });
      algs.push({ alg: g.alg, params });
    }
  });
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
      ...fid,
      seed: sc.seed ?? 1,
      flows,
      durationUs,
      sampleIntervalUs,
    },
    flows: algs,
    ipcDelayUs,
    warmupUs,
    linkLabel,
    bdpBytes,
    source: sc,
  };
}
